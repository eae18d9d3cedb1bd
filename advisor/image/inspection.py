"""Read an image back: its labels and the files they name (lock, SBOM, constraints).

Sits beside :mod:`advisor.image.registry`, after a build or a push: ``advisor image
inspect`` (:func:`inspect_reference`, called by :mod:`advisor.api.publishing`) asks buildah
for a working container of the image (``buildah from``: a local image as it is, a registry
reference pulled, an ``oci-archive:`` unpacked), reads its configuration (``buildah
inspect``), mounts its root filesystem (``buildah mount``) to read the files the
``io.stack-advisor.*`` labels name, and removes the container whatever happens. buildah
shares its storage with podman, so images either built are read the same way. Mounting
needs root, or ``buildah unshare``.

:func:`describe_image` then turns what was read into an :class:`ImageInspection`: the recipe,
the lock digest (checked against the lock file the image carries), the advice summary and
the SBOM's components. Nothing in the image is run."""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import InputError
from advisor.image.sbom import SbomSummary, read_sbom

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "FILE_LABELS",
    "ImageInspection",
    "RawImage",
    "describe_image",
    "inspect_reference",
    "read_image",
]

_PREFIX = "io.stack-advisor."
#: The labels that name a file in the image, by what the file is.
FILE_LABELS: Mapping[str, str] = {
    "lock": f"{_PREFIX}lock",
    "sbom": f"{_PREFIX}sbom",
    "constraints": f"{_PREFIX}constraints",
}
_MAX_FILE = 32 << 20  # a label pointing at something huge is not ours
_TIMEOUT = 1800.0  # a pull of a large image


@dataclass(frozen=True, slots=True, kw_only=True)
class RawImage:
    """What was read from an image: its id, the manifest digest it was pulled by (when the
    tool knows one), its labels, and the text of each file a label names (``None`` when
    the image has no such file)."""

    image_id: str | None
    digest: str | None
    labels: Mapping[str, str]
    files: Mapping[str, str | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageInspection:
    """An image described from its labels and files. ``lock_verified`` says whether the
    lock file in the image has the digest its label claims; ``advice`` is the advice
    summary of an advised image (``None`` for ``latest``); ``pins`` come from the
    constraints file the image carries."""

    reference: str
    image_id: str | None
    digest: str | None
    recipe: str | None
    base_image: str | None
    recommendation: str | None
    lock_digest: str | None
    lock_verified: bool
    advice: Mapping[str, Any] | None
    sbom: SbomSummary | None
    pins: Mapping[str, str]
    paths: Mapping[str, str]
    sbom_text: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def _run(argv: Sequence[str], *, environ: Mapping[str, str]) -> str:
    try:
        done = subprocess.run(
            list(argv),
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"cannot run {' '.join(argv[:2])}: {exc}") from exc
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        said = lines[-1].strip() if lines else f"exit code {done.returncode}"
        raise InputError(f"{' '.join(argv[:2])} failed: {said}")
    return done.stdout.strip()


def _read_inside(root: Path, path: str) -> str | None:
    """The text of ``path`` inside the mounted ``root``; ``None`` when missing. A path that
    leaves ``root`` (``..``, or a link to the host's files) is refused."""
    if not path.startswith("/"):
        raise InputError(f"label path {path!r} is not absolute")
    target = (root / path.lstrip("/")).resolve()
    if not target.is_relative_to(root.resolve()):
        raise InputError(f"label path {path!r} leaves the image's file system")
    try:
        if target.stat().st_size > _MAX_FILE:
            raise InputError(f"{path} in the image is larger than {_MAX_FILE >> 20} MiB")
        return target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} in the image: {exc}") from exc


def read_image(
    reference: str,
    *,
    executable: str,
    environ: Mapping[str, str],
    tls_verify: bool | None = None,
) -> RawImage:
    """Labels and labelled files of ``reference`` through buildah (``executable``). A
    registry reference is pulled when the storage lacks it; ``tls_verify`` as for a push
    (``None``: registries.conf decides). Raises :class:`InputError` with buildah's own
    last line when the image cannot be had or mounted."""
    argv = [executable, "from", "--quiet", "--pull=missing"]
    if tls_verify is not None:
        argv.append(f"--tls-verify={'true' if tls_verify else 'false'}")
    container = _run([*argv, reference], environ=environ).splitlines()[-1]
    try:
        info: Any = json.loads(_run([executable, "inspect", container], environ=environ))
        config = (info.get("OCIv1") or {}).get("config") or {}
        labels = {str(k): str(v) for k, v in (config.get("Labels") or {}).items()}
        try:
            root = Path(_run([executable, "mount", container], environ=environ))
        except InputError as exc:
            raise InputError(
                f"{exc.message} (mounting an image needs root, or 'buildah unshare')"
            ) from exc
        try:
            files = {
                what: _read_inside(root, labels[label])
                for what, label in FILE_LABELS.items()
                if label in labels
            }
        finally:
            _run([executable, "umount", container], environ=environ)
    finally:
        _run([executable, "rm", container], environ=environ)
    return RawImage(
        image_id=info.get("FromImageID") or None,
        digest=info.get("FromImageDigest") or None,
        labels=labels,
        files=files,
    )


def _pins(constraints: str | None) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (constraints or "").splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not name.startswith("#"):
            pins[name.strip()] = version.strip()
    return pins


def describe_image(reference: str, raw: RawImage) -> ImageInspection:
    """What ``raw`` says, checked: the lock's digest against its label, the SBOM parsed.
    An image advisor did not make (no ``io.stack-advisor.recipe`` label) raises
    :class:`InputError`."""
    labels = raw.labels
    if f"{_PREFIX}recipe" not in labels:
        raise InputError(f"{reference}: not an image made by advisor (no {_PREFIX}recipe label)")
    problems = [
        f"{labels[label]} ({what}) is not in the image"
        for what, label in FILE_LABELS.items()
        if label in labels and raw.files.get(what) is None
    ]
    lock_digest = labels.get(f"{_PREFIX}lock-digest")
    lock = raw.files.get("lock")
    verified = lock is not None and lock_digest == (
        "sha256:" + hashlib.sha256(lock.encode("utf-8")).hexdigest()
    )
    if lock is not None and not verified:
        problems.append(f"the lock in the image does not have the labelled digest {lock_digest}")
    sbom = None
    if raw.files.get("sbom") is not None:
        sbom = read_sbom(
            str(raw.files["sbom"]), source=f"{reference}: {labels[FILE_LABELS['sbom']]}"
        )
    advice = None
    if f"{_PREFIX}advice" in labels:
        try:
            advice = json.loads(labels[f"{_PREFIX}advice"])
        except ValueError:
            problems.append(f"the {_PREFIX}advice label is not JSON")
    return ImageInspection(
        reference=reference,
        image_id=raw.image_id,
        digest=raw.digest,
        recipe=labels.get(f"{_PREFIX}recipe"),
        base_image=labels.get("org.opencontainers.image.base.name"),
        recommendation=labels.get(f"{_PREFIX}recommendation"),
        lock_digest=lock_digest,
        lock_verified=verified,
        advice=advice,
        sbom=sbom,
        pins=_pins(raw.files.get("constraints")),
        paths={what: labels[label] for what, label in FILE_LABELS.items() if label in labels},
        sbom_text=raw.files.get("sbom"),
        labels=dict(sorted(labels.items())),
        problems=tuple(problems),
    )


def inspect_reference(
    reference: str, *, environ: Mapping[str, str], tls_verify: bool | None = None
) -> ImageInspection:
    """The image ``reference`` (a local image name or id, a registry reference, pulled when
    missing, or ``oci-archive:PATH``; a ``docker://`` prefix is dropped) read through
    buildah and described. Raises :class:`InputError` for an empty reference, when buildah
    does not work here or cannot get or mount the image, or when it is not an image
    advisor made."""
    from advisor.image.tools import probe_tool

    ref = reference.strip().removeprefix("docker://")
    if not ref:
        raise InputError("advisor image inspect: name an image")
    probe = probe_tool("buildah", environ=environ)
    if not probe.works or probe.executable is None:
        raise InputError(f"advisor image inspect reads images with buildah: {probe.reason}")
    raw = read_image(ref, executable=probe.executable, environ=environ, tls_verify=tls_verify)
    return describe_image(ref, raw)
