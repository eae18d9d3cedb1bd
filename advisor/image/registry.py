"""Pushing a built image to a registry: the destination, the tool's command line, and what a
failed push means.

Sits between ``advisor image push`` (:mod:`advisor.image.push`) and the tool's process
(run by :func:`advisor.image.build.run_build`, which streams any command's output). The
image is pushed by the tool that built it: ``buildah push`` or ``podman push`` from its
storage, ``skopeo copy`` for an OCI archive (what the pipeline script saves). Each writes
the manifest digest it pushed to a ``--digestfile``, which is what gets recorded.

Credentials and trust are the tool's: its own auth files (``REGISTRY_AUTH_FILE``, the
file ``buildah login`` / ``podman login`` write, ``~/.docker/config.json``) and its
``registries.conf``. TLS verification stays on unless the caller says otherwise
(``tls_verify=False``) or the registry is configured ``insecure = true`` in
``registries.conf``: with ``tls_verify=None`` no flag is passed, so the tool's
configuration decides, and an explicit value overrides it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "PUSH_TOOLS",
    "PushSource",
    "classify_push",
    "push_argv",
    "push_destination",
    "push_hint",
    "read_digest",
]

#: The tools that push: buildah and podman from their storage, skopeo from an OCI archive.
PUSH_TOOLS: tuple[str, ...] = ("buildah", "podman", "skopeo")

# docker's reference grammar, simplified: an optional registry host (with a dot or a port,
# or "localhost"), lower-case path components, an optional tag
_HOST = r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]+)?|\[[0-9A-Fa-f:]+\](?::[0-9]+)?)"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"^(?:(?P<host>{_HOST})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?$"
)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")

_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "tls",
        re.compile(
            r"server gave HTTP response to HTTPS client|x509:|certificate signed by unknown"
            r"|tls: |certificate is not valid",
            re.I,
        ),
    ),
    (
        "auth",
        re.compile(
            r"unauthorized|authentication required|requested access to the resource is denied"
            r"|invalid username/password|denied:",
            re.I,
        ),
    ),
    (
        "image-missing",
        re.compile(
            r"image not known|no such image|image not found|no such file or directory", re.I
        ),
    ),
    (
        "unreachable",
        re.compile(
            r"connection refused|no such host|i/o timeout|network is unreachable"
            r"|no route to host|connection reset",
            re.I,
        ),
    ),
)
_HINTS = {
    "tls": (
        "TLS verification failed: the registry speaks plain HTTP or its certificate is not"
        " trusted. For a registry you trust on a private network pass --no-tls-verify, or"
        " mark it 'insecure = true' in registries.conf"
    ),
    "auth": (
        "the registry refused the credentials: log in with the tool ('buildah login HOST',"
        " 'podman login HOST', 'skopeo login HOST'); they stay in its own auth file"
    ),
    "image-missing": "the image to push is not there: build it again, or pass --archive",
    "unreachable": "the registry cannot be reached (is it running, is the host right?)",
    "timeout": "the push ran out of time (--timeout)",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PushSource:
    """What to push: a local image (``image``: its id or name in ``tool``'s storage) or an
    OCI archive (``archive``, pushed with skopeo)."""

    tool: str
    executable: str
    image: str | None = None
    archive: Path | None = None


def push_destination(reference: str, *, default_tag: str) -> str:
    """``reference`` (``[docker://]HOST[:PORT]/PATH[:TAG]``) as the tools take it after
    ``docker://``, with ``default_tag`` when it names none. Raises :class:`InputError` for
    a reference that is not one, or that carries a digest (the registry gives that)."""
    ref = reference.strip().removeprefix("docker://")
    if "@" in ref:
        raise InputError(
            f"push destination {reference!r}: name a tag, not a digest (the registry gives"
            " the digest, and the push records it)"
        )
    match = _REFERENCE.match(ref)
    if match is None:
        raise InputError(
            f"push destination {reference!r} is not an image reference"
            " (REGISTRY[:PORT]/NAME[:TAG], lower-case name)"
        )
    if match["host"] is None or not re.search(r"[.:]|^localhost$", match["host"]):
        raise InputError(
            f"push destination {reference!r}: name the registry (HOST[:PORT]/NAME[:TAG]);"
            " a short name would go wherever the tool's search list says"
        )
    return ref if match["tag"] else f"{ref}:{default_tag}"


def push_argv(
    source: PushSource, destination: str, *, digestfile: Path, tls_verify: bool | None
) -> list[str]:
    """The command line that pushes ``source`` to ``destination`` (from
    :func:`push_destination`) and writes the manifest digest to ``digestfile``.
    ``tls_verify=None`` passes no flag (the tool's registries.conf decides)."""
    flag = None if tls_verify is None else ("true" if tls_verify else "false")
    if source.tool == "skopeo":
        if source.archive is None:
            raise InputError("skopeo pushes an OCI archive: pass --archive PATH")
        argv = [source.executable, "copy", "--digestfile", str(digestfile)]
        argv += [f"--dest-tls-verify={flag}"] if flag else []
        return [*argv, f"oci-archive:{source.archive}", f"docker://{destination}"]
    if source.tool not in PUSH_TOOLS or source.image is None:
        raise InputError(f"cannot push with {source.tool!r} (push with one of buildah, podman)")
    argv = [source.executable, "push", "--digestfile", str(digestfile)]
    argv += [f"--tls-verify={flag}"] if flag else []
    return [*argv, source.image, f"docker://{destination}"]


def read_digest(digestfile: Path) -> str | None:
    """The manifest digest the tool wrote (``sha256:…``), or ``None`` when it wrote none
    or something else."""
    try:
        text = digestfile.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text if _DIGEST.match(text) else None


def classify_push(output: str, *, timed_out: bool) -> str:
    """Why a push failed, in one word: ``timeout``, ``tls``, ``auth``, ``image-missing``,
    ``unreachable`` or ``unknown`` (checked in that order)."""
    if timed_out:
        return "timeout"
    for name, pattern in _CLASSES:
        if pattern.search(output):
            return name
    return "unknown"


def push_hint(failure_class: str) -> str | None:
    """What to do about a push that failed for ``failure_class``, if there is advice."""
    return _HINTS.get(failure_class)
