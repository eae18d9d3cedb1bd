"""Publish a built image: push it to a registry and record where it went.

Sits after :mod:`advisor.image.builder`, under the composition root (``advisor image push``
and ``advisor image build --push``, :mod:`advisor.api.publishing`, pass in the store's URL,
the environment and the job's :class:`~advisor.image.options.PushOptions`). A push takes a
build context (its ``image.json`` names the last build: tool, tag, image id), pushes that
image with the tool that built it (or an OCI archive with skopeo), and records the manifest
digest the registry got twice: in ``image.json`` (``pushed``) and in the knowledge store, as
the stack's build observation with the digest reference added (so ``advisor image list``
and the team know where the image of that stack lives). A push that fails is an outcome
(its class and a hint), not an exception; nothing is recorded for it.
:mod:`advisor.image.registry` builds the command line and reads the digest.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor._version import TOOL
from advisor.errors import AdvisorError, InputError
from advisor.image.options import DEFAULT_PUSH_TIMEOUT, PushOptions

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from advisor.environment import RuntimeEnvironment
    from advisor.image.build import BuildRun
    from advisor.image.context import ContextInfo
    from advisor.image.registry import PushSource
    from advisor.knowledge.schema import BuildObservation, Provenance

__all__ = ["DEFAULT_PUSH_TIMEOUT", "PushOptions", "PushOutcome", "push_context"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PushOutcome:
    """A finished push: the tool, what was pushed (an image id or an archive), the
    destination (``HOST/NAME:TAG``), the run, the manifest digest (``None`` when it
    failed), the failure class and a hint, and what was recorded."""

    folder: Path
    tool: str
    source: str
    destination: str
    run: BuildRun
    digest: str | None
    failure_class: str | None = None
    hint: str | None = None
    observation: BuildObservation | None = None
    store_url: str | None = None
    #: why the push could not be recorded (the push itself stands regardless)
    record_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.run.ok and self.digest is not None

    @property
    def reference(self) -> str | None:
        """The pushed image by digest (``HOST/NAME@sha256:…``): what to pull and run."""
        if self.digest is None:
            return None
        return f"{_repository(self.destination)}@{self.digest}"


def _repository(reference: str) -> str:
    """``reference`` without its tag (a port's colon is before the last slash)."""
    head, _, last = reference.rpartition("/")
    name = last.partition(":")[0]
    return f"{head}/{name}" if head else name


def _source(
    info: ContextInfo,
    folder: Path,
    *,
    tool: str | None,
    archive: Path | None,
    environ: Mapping[str, str],
) -> PushSource:
    """What to push and with which tool: the ``archive`` with skopeo, else the context's
    last build with the tool that built it (``tool`` overrides); :class:`InputError` when
    that cannot be pushed here."""
    from advisor.image.registry import PushSource
    from advisor.image.tools import probe_tool

    if archive is not None:
        if tool not in (None, "skopeo"):
            raise InputError(f"--archive is pushed with skopeo, not {tool}")
        if not archive.is_file():
            raise InputError(f"{archive}: no such OCI archive")
        executable = shutil.which("skopeo", path=environ.get("PATH"))
        if executable is None:
            raise InputError(
                "skopeo is not installed: it pushes OCI archives (apt-get install skopeo)"
            )
        return PushSource(tool="skopeo", executable=executable, archive=archive.resolve())
    build = info.build or {}
    if build.get("outcome") != "ok":
        raise InputError(
            f"{folder}: no successful build to push; run 'advisor image build {folder}' first"
            " (or pass --archive with a saved OCI archive)"
        )
    name = tool or str(build.get("tool"))
    if name == "docker":
        raise InputError(
            "the image was built with docker: push it with 'docker push', or save it as an"
            " OCI archive and pass --archive (skopeo pushes it)"
        )
    if name not in ("buildah", "podman"):
        raise InputError(f"cannot push with {name!r}: buildah, podman, or skopeo with --archive")
    probe = probe_tool(name, environ=environ)
    if not probe.works or probe.executable is None:
        raise InputError(f"{name} cannot push here: {probe.reason}")
    image = build.get("image-id") or build.get("tag")
    return PushSource(tool=name, executable=probe.executable, image=str(image))


def push_context(
    folder: Path,
    destination: str,
    *,
    opts: PushOptions,
    store_url: str,
    host: Callable[[], RuntimeEnvironment],
    environ: Mapping[str, str],
    now: datetime,
) -> PushOutcome:
    """Push the last build of the context ``folder`` (or the OCI ``opts.archive``) to
    ``destination`` (``HOST[:PORT]/NAME[:TAG]``; the tag defaults to the build's) as
    ``opts`` says, with TLS verification unless ``opts.tls_verify`` is ``False`` or the
    tool's registries.conf marks the registry insecure. On success the manifest digest goes
    to ``image.json`` and the store at ``store_url`` (``host`` is asked only when the store
    has no build of the stack to add it to). Raises :class:`InputError` when no push can
    start (not a context, nothing built, a bad destination, no tool)."""
    from advisor.image.build import run_build
    from advisor.image.context import read_context
    from advisor.image.registry import (
        classify_push,
        push_argv,
        push_destination,
        push_hint,
        read_digest,
    )
    from advisor.knowledge.schema import Provenance
    from advisor.observe.recorder import detect_recorder

    folder = folder.resolve()
    info = read_context(folder, today=now.date().isoformat())
    source = _source(info, folder, tool=opts.tool, archive=opts.archive, environ=environ)
    built_tag = str((info.build or {}).get("tag") or "")
    default_tag = built_tag.rpartition(":")[2] if ":" in built_tag.rpartition("/")[2] else ""
    default_tag = default_tag or info.lock_digest.removeprefix("sha256:")[:12] or "latest"
    target = push_destination(destination, default_tag=default_tag)
    with tempfile.TemporaryDirectory(prefix="advisor-push-") as scratch:
        digestfile = Path(scratch) / "digest"
        argv = push_argv(source, target, digestfile=digestfile, tls_verify=opts.tls_verify)
        run = run_build(
            argv, environ=environ, cwd=folder, timeout=opts.timeout, on_line=opts.on_line
        )
        digest = read_digest(digestfile) if run.ok else None
    shown = str(source.archive) if source.archive else str(source.image)
    pushed = PushOutcome(
        folder=folder, tool=source.tool, source=shown, destination=target, run=run, digest=digest
    )
    if digest is None:
        failure = classify_push(run.output, timed_out=run.timed_out)
        return dataclasses.replace(pushed, failure_class=failure, hint=push_hint(failure))
    provenance = Provenance(
        source=f"image-push:{source.tool}",
        date=now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        tool=TOOL,
        recorder=detect_recorder(environ),
    )
    reference = f"{_repository(target)}@{digest}"
    errors: list[str] = []
    try:
        _record_in_context(folder, target, digest, source.tool, provenance.date)
    except InputError as exc:
        errors.append(exc.message)
    observation, store_error = _record_in_store(info, reference, provenance, store_url, host)
    if store_error:
        errors.append(store_error)
    return dataclasses.replace(
        pushed,
        observation=observation,
        store_url=store_url,
        record_error="; ".join(errors) or None,
    )


def _record_in_context(folder: Path, target: str, digest: str, tool: str, date: str) -> None:
    """Add the push to ``image.json``'s ``pushed`` list (one entry per destination)."""
    import json

    from advisor.image.context import update_record

    record: Any = json.loads((folder / "image.json").read_text(encoding="utf-8"))
    earlier = [p for p in record.get("pushed", ()) if isinstance(p, dict)]
    entry = {"reference": target, "digest": digest, "tool": tool, "date": date}
    pushed = [p for p in earlier if p.get("reference") != target] + [entry]
    update_record(folder, {"pushed": sorted(pushed, key=lambda p: str(p.get("reference")))})


def _record_in_store(
    info: ContextInfo,
    reference: str,
    provenance: Provenance,
    store_url: str,
    host: Callable[[], RuntimeEnvironment],
) -> tuple[BuildObservation | None, str | None]:
    """The stack's newest build observation with ``reference`` added to its ``pushed``
    (a new one when the store has none for this stack), stored; returns it and why it
    could not be stored."""
    import msgspec

    from advisor.image.target import recipe_target
    from advisor.knowledge.schema import BuildObservation, stack_digest
    from advisor.knowledge.store import open_store
    from advisor.observe.fingerprint import build_predicate

    digest = stack_digest(info.pins)
    try:
        with open_store(store_url) as store:
            builds = [
                o
                for o in store.iter_kind("build")
                if isinstance(o, BuildObservation)
                and o.package is None
                and o.image == info.recipe.name
                and o.stack_digest == digest
                and o.outcome == "ok"
            ]
            if builds:
                newest = max(builds, key=lambda o: o.provenance.date)
                pushed = tuple(sorted({*newest.pushed, reference}))
                obs = msgspec.structs.replace(newest, pushed=pushed, provenance=provenance)
            else:
                target = recipe_target(info.recipe, host=host())
                obs = BuildObservation(
                    image=info.recipe.name,
                    stack_digest=digest,
                    environment=build_predicate(target),
                    outcome="ok",
                    pushed=(reference,),
                    provenance=provenance,
                )
            store.put([obs])
    except AdvisorError as exc:  # a store that is down must not hide the push's outcome
        return None, exc.message
    return obs, None
