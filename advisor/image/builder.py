"""Build a generated context with a working tool and record the outcome in the knowledge store.

Sits after :mod:`advisor.image.assembly` (which wrote the context), under the composition
root (``advisor image build``, :mod:`advisor.api.building`, passes in the store's URL, the
host, the environment and the job's :class:`~advisor.image.options.BuildOptions`). It reads
the context's ``image.json`` (:func:`~advisor.image.context.read_context`), picks the build tool
(:mod:`advisor.image.tools` probes them), runs the build with its output streamed to the
caller (:mod:`advisor.image.build`), and stores the build observations, so that the next
advice and ``advisor image list`` know how it went; ``image.json`` gets the build (what
``advisor image push`` pushes; :meth:`BuildOutcome.then_push` pushes only a build that
passed). A build that fails is an outcome, not an exception: it is recorded and returned;
only input the build cannot start from (no context, no working tool) raises.

The observations record the environment the build actually ran in: the base image's own
Python and platform, which the install step prints (:func:`advisor.image.base_facts.
observed_base`), or, when that step came from the layer cache, which the built image answers
(:mod:`advisor.image.fact_probe`), not the recipe's declaration; a declaration that differs,
or facts neither gives, are warnings. They name this machine's recorder id
(:mod:`advisor.observe.recorder`).
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor._version import TOOL
from advisor.errors import AdvisorError, InputError
from advisor.image.options import DEFAULT_BUILD_TIMEOUT, BuildOptions

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from advisor.environment import RuntimeEnvironment
    from advisor.image.build import BuildRun, Progress
    from advisor.image.context import ContextInfo
    from advisor.image.fact_probe import ImageProbe
    from advisor.image.push import PushOutcome
    from advisor.image.tools import BuildTool, ToolProbe
    from advisor.knowledge.schema import BuildObservation, Provenance

__all__ = ["DEFAULT_BUILD_TIMEOUT", "BuildOptions", "BuildOutcome", "build_context"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildOutcome:
    """A finished build: the tool used (and every probe made), the image tag, the run, the
    failure class (``None`` when it passed) and the observations stored; ``push``, the push
    that followed a build that passed, when one was asked for."""

    folder: Path
    tool: BuildTool
    probes: tuple[ToolProbe, ...]
    tag: str
    run: BuildRun
    failure_class: str | None
    observations: tuple[BuildObservation, ...]
    store_url: str
    #: why the observations could not be stored (the build's outcome stands regardless)
    record_error: str | None = None
    #: where the recipe's declaration differs from what the base image has, or why the
    #: base's facts were not observed
    warnings: tuple[str, ...] = ()
    push: PushOutcome | None = None

    @property
    def ok(self) -> bool:
        return self.run.ok

    def then_push(
        self, destination: str | None, push: Callable[[str], PushOutcome]
    ) -> BuildOutcome:
        """This outcome with what ``push(destination)`` did, when a ``destination`` is named
        and the build passed; a build that failed is never pushed."""
        if destination is None or not self.ok:
            return self
        return dataclasses.replace(self, push=push(destination))


def _default_tag(info: ContextInfo) -> str:
    digest = info.lock_digest.removeprefix("sha256:")[:12] or "latest"
    return f"localhost/advisor-{info.recipe.name}:{digest}"


def build_context(
    folder: Path,
    *,
    opts: BuildOptions,
    store_url: str,
    host: RuntimeEnvironment,
    environ: Mapping[str, str],
    now: datetime,
) -> BuildOutcome:
    """Build the context ``folder`` as ``opts`` says (the tool, the tag, the build
    arguments, the time limit; the output streamed to ``opts.on_line``), and store the
    outcome's observations in the store at ``store_url`` (for the base as built, ``host``
    giving what the recipe does not say). The options' push is not run here: the caller
    pushes a build that passed (:meth:`BuildOutcome.then_push`).

    Raises :class:`InputError` for a folder that is not a build context, a bad build
    argument name, or when no tool works (no build ran, so nothing is recorded).
    """
    from advisor.image.base_facts import observed_base
    from advisor.image.build import classify_build, image_observations, run_build
    from advisor.image.context import read_context, update_record
    from advisor.image.tools import build_argv, choose_tool
    from advisor.knowledge.schema import Provenance
    from advisor.knowledge.store import open_store
    from advisor.observe.recorder import detect_recorder

    folder = folder.resolve()
    info = read_context(folder, today=now.date().isoformat())
    for key, _ in opts.build_args:
        if not key.isidentifier():
            raise InputError(f"--build-arg {key!r}: not a build argument name")
    recorder = detect_recorder(environ)
    chosen, probes = choose_tool(opts.tool, environ=environ)
    tag = opts.tag or _default_tag(info)
    with tempfile.TemporaryDirectory(prefix="advisor-build-") as scratch:
        iidfile = Path(scratch) / "iid"
        argv = build_argv(
            chosen,
            context=folder,
            containerfile=folder / "Containerfile",
            tag=tag,
            build_args=opts.build_args,
            iidfile=iidfile,
        )
        if opts.on_start is not None:
            opts.on_start(chosen, tag)
        run = run_build(
            argv, environ=environ, cwd=folder, timeout=opts.timeout, on_line=opts.on_line
        )
        image_id = _read_text(iidfile) if run.ok else None
    probe = _probe_if_cached(chosen, tag, run, environ=environ, on_line=opts.on_line)
    observed = observed_base(
        info.recipe, run, host=host, probed=probe.output, probe_error=probe.error
    )
    provenance = Provenance(
        source=f"image-build:{chosen.name}",
        date=now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),  # the newest build wins
        tool=TOOL,
        recorder=recorder,
    )
    observations = image_observations(
        run,
        image=info.recipe.name,
        pins=info.pins,
        files=info.files,
        environment=observed.environment,
        provenance=provenance,
        replace={str(folder): "<context>"},
        interpreter=observed.interpreter,
    )
    record_error = None
    try:
        with open_store(store_url) as store:
            store.put(observations)
    except AdvisorError as exc:  # a store that is down must not hide the build's outcome
        record_error = exc.message
    try:  # what `advisor image push` pushes: this build's image, by id, with its tool
        update_record(folder, {"build": _build_record(chosen.name, tag, image_id, run, provenance)})
    except InputError as exc:
        record_error = "; ".join(e for e in (record_error, exc.message) if e)
    return BuildOutcome(
        folder=folder,
        tool=chosen,
        probes=probes,
        tag=tag,
        run=run,
        failure_class=None if run.ok else classify_build(run.output, timed_out=run.timed_out),
        observations=tuple(observations),
        store_url=store_url,
        record_error=record_error,
        warnings=observed.warnings,
    )


def _probe_if_cached(
    tool: BuildTool,
    tag: str,
    run: BuildRun,
    *,
    environ: Mapping[str, str],
    on_line: Callable[[str, Progress | None], None] | None,
) -> ImageProbe:
    """The base's facts asked from the image ``tag`` when a passing build's log lacks them
    (its install step came from the layer cache); nothing to ask otherwise."""
    from advisor.image.base_facts import parse_base_facts
    from advisor.image.fact_probe import ImageProbe, probe_image

    if not run.ok or parse_base_facts(run.output) is not None:
        return ImageProbe()
    if on_line is not None:  # a container start: say what the wait is for
        on_line("asking the built image for its base's Python and platform (cached step)", None)
    return probe_image(tool, tag, environ=environ)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _build_record(
    tool: str, tag: str, image_id: str | None, run: BuildRun, provenance: Provenance
) -> dict[str, Any]:
    """The ``build`` entry of ``image.json``: the last build of the context."""
    return {
        "tool": tool,
        "tag": tag,
        "image-id": image_id,
        "outcome": "ok" if run.ok else "failed",
        "date": provenance.date,
    }
