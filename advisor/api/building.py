"""``advisor image build``: build a generated context with a working tool and record the
outcome in the knowledge store.

Part of the composition root. It reads the context's ``image.json`` (which recipe, which
pins, which lock), picks the build tool (:mod:`advisor.image.tools` probes them), runs the
build with its output streamed to the caller (:mod:`advisor.image.build`), and stores the
build observations, so that the next advice and ``advisor image list`` know how it went. A
build that fails is an outcome, not an exception: it is recorded and returned; only input
the build cannot start from (no context, no working tool) raises.

The observations record the environment the build actually ran in: the base image's own
Python and platform, which the install step prints (:mod:`advisor.image.base_facts`), not
the recipe's declaration; a declaration that differs, or facts the log lacks, are warnings.
They name this machine's recorder id (:mod:`advisor.observe.recorder`).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor._version import TOOL
from advisor.errors import AdvisorError, InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from advisor.environment import RuntimeEnvironment
    from advisor.image.build import BuildRun, Progress
    from advisor.image.tools import BuildTool, ToolProbe
    from advisor.knowledge.schema import (
        BuildObservation,
        EnvironmentPredicate,
        ImageRecipe,
        Provenance,
    )

__all__ = [
    "DEFAULT_BUILD_TIMEOUT",
    "BuildOutcome",
    "ContextInfo",
    "ObservedBase",
    "build_image",
    "last_builds",
    "observed_base",
    "read_context",
]

DEFAULT_BUILD_TIMEOUT = 3600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextInfo:
    """What a build context's ``image.json`` says: recipe, pins, locked files, lock digest."""

    recipe: ImageRecipe
    pins: Mapping[str, str]
    files: Mapping[str, tuple[str, ...]]
    lock_digest: str
    #: the last build (``tool``, ``tag``, ``image-id``, ``outcome``, ``date``), if any
    build: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildOutcome:
    """A finished build: the tool used (and every probe made), the image tag, the run, the
    failure class (``None`` when it passed) and the observations stored."""

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

    @property
    def ok(self) -> bool:
        return self.run.ok


def read_context(folder: Path, *, today: str) -> ContextInfo:
    """Read ``folder``'s ``image.json``; :class:`InputError` when ``folder`` is not a build
    context made by ``advisor image generate`` (no Containerfile, no or a bad image.json)."""
    import msgspec

    from advisor.knowledge.schema import ImageRecipe
    from advisor.models import parse_dist_filename

    if not (folder / "Containerfile").is_file():
        raise InputError(
            f"{folder}: not a build context (no Containerfile); make one with"
            " 'advisor image generate --recipe NAME -o DIR'"
        )
    path = folder / "image.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        raw_recipe = dict(record["recipe"])
        raw_recipe["provenance"] = {**raw_recipe.get("provenance", {}), "date": today}
        recipe = msgspec.convert(raw_recipe, ImageRecipe)
        pins = {str(k): str(v) for k, v in dict(record["pins"]).items()}
        lock_digest = str(record["lock-digest"])
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (the context was not made by advisor)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (ValueError, KeyError, TypeError, msgspec.ValidationError) as exc:
        raise InputError(f"{path}: not an advisor image record ({exc})") from exc
    files: dict[str, list[str]] = {}
    for name in record.get("wheels", ()):
        parsed = parse_dist_filename(str(name))
        if parsed is not None:
            files.setdefault(str(parsed.name), []).append(str(name))
    return ContextInfo(
        recipe=recipe,
        pins=pins,
        files={k: tuple(v) for k, v in files.items()},
        lock_digest=lock_digest,
        build=record["build"] if isinstance(record.get("build"), dict) else None,
    )


def _default_tag(info: ContextInfo) -> str:
    digest = info.lock_digest.removeprefix("sha256:")[:12] or "latest"
    return f"localhost/advisor-{info.recipe.name}:{digest}"


def build_image(
    folder: Path,
    *,
    tool: str | None = None,
    tag: str | None = None,
    build_args: Sequence[tuple[str, str]] = (),
    store_url: str | None = None,
    timeout: float = DEFAULT_BUILD_TIMEOUT,
    environ: Mapping[str, str] | None = None,
    on_line: Callable[[str, Progress | None], None] | None = None,
    on_start: Callable[[BuildTool, str], None] | None = None,
    now: datetime | None = None,
    host: RuntimeEnvironment | None = None,
) -> BuildOutcome:
    """Build the context ``folder`` with ``tool`` (default: the first of buildah, podman
    and docker that works) as ``tag`` (default ``localhost/advisor-RECIPE:LOCKDIGEST``),
    stream the output to ``on_line``, and store the outcome's observations.

    Raises :class:`InputError` for a folder that is not a build context or when no tool
    works (no build ran, so nothing is recorded).
    """
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.environment import RuntimeEnvironment
    from advisor.image.build import classify_build, image_observations, run_build
    from advisor.image.context import update_record
    from advisor.image.tools import build_argv, choose_tool
    from advisor.knowledge.schema import Provenance
    from advisor.knowledge.store import open_store
    from advisor.observe.recorder import detect_recorder

    environ = dict(os.environ if environ is None else environ)
    now = now or datetime.now(UTC)
    folder = folder.resolve()
    info = read_context(folder, today=now.date().isoformat())
    for key, _ in build_args:
        if not key.isidentifier():
            raise InputError(f"--build-arg {key!r}: not a build argument name")
    url = resolve_store_url(store_url, environ)
    recorder = detect_recorder(environ)
    chosen, probes = choose_tool(tool, environ=environ)
    tag = tag or _default_tag(info)
    with tempfile.TemporaryDirectory(prefix="advisor-build-") as scratch:
        iidfile = Path(scratch) / "iid"
        argv = build_argv(
            chosen,
            context=folder,
            containerfile=folder / "Containerfile",
            tag=tag,
            build_args=build_args,
            iidfile=iidfile,
        )
        if on_start is not None:
            on_start(chosen, tag)
        run = run_build(argv, environ=environ, cwd=folder, timeout=timeout, on_line=on_line)
        image_id = _read_text(iidfile) if run.ok else None
    observed = observed_base(info.recipe, run, host=host or RuntimeEnvironment.detect())
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
        with open_store(url) as store:
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
        store_url=url,
        record_error=record_error,
        warnings=observed.warnings,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservedBase:
    """Where a build's outcome holds: the predicate of the base image's own Python and
    platform (``interpreter`` set) or, when the log does not say, of the recipe's
    declaration (``interpreter`` ``None``); ``warnings`` say which, and any mismatch."""

    environment: EnvironmentPredicate
    interpreter: str | None
    warnings: tuple[str, ...] = ()


def observed_base(recipe: ImageRecipe, run: BuildRun, *, host: RuntimeEnvironment) -> ObservedBase:
    """What ``run``'s log says the base image of ``recipe`` has (see
    :mod:`advisor.image.base_facts`), as the environment its observations hold in.

    A passing build whose log lacks the facts (its install step came from the tool's layer
    cache, or the context was made by an older advisor) is recorded with the recipe's
    declaration, and a warning says so; a failing one is silent about it (it may have
    stopped before the install step).
    """
    import msgspec

    from advisor.api.imaging import recipe_target
    from advisor.image.base_facts import declaration_mismatches, parse_base_facts
    from advisor.observe.fingerprint import build_predicate

    facts = parse_base_facts(run.output)
    declared = build_predicate(recipe_target(recipe, host=host))
    if facts is None:
        warnings: tuple[str, ...] = ()
        if run.ok:
            warnings = (
                "the base image's Python and platform were not observed in this build (its"
                " install step came from the build cache, or the context predates the probe);"
                f" the observations carry what the recipe {recipe.name!r} declares",
            )
        return ObservedBase(environment=declared, interpreter=None, warnings=warnings)
    actual = msgspec.structs.replace(
        recipe,
        python=facts.python_minor,
        implementation=facts.implementation,
        platform=facts.platform,
    )
    mismatches = declaration_mismatches(recipe, facts)
    try:
        target = recipe_target(actual, host=host)
    except InputError as exc:  # a platform the advisor cannot target: say so, keep the rest
        unusable = f"the base image's facts cannot be used ({exc.message}); the observations"
        unusable += f" carry what the recipe {recipe.name!r} declares"
        return ObservedBase(
            environment=declared, interpreter=None, warnings=(*mismatches, unusable)
        )
    return ObservedBase(
        environment=build_predicate(target), interpreter=facts.interpreter, warnings=mismatches
    )


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


def last_builds(
    store_url: str | None = None, *, environ: Mapping[str, str] | None = None
) -> dict[str, BuildObservation]:
    """The newest stack build observation of each image recipe in the store (recipe name →
    observation), for ``advisor image list``. An unreadable store gives an empty answer."""
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.knowledge.schema import BuildObservation
    from advisor.knowledge.store import open_store

    url = resolve_store_url(store_url, dict(os.environ if environ is None else environ))
    newest: dict[str, BuildObservation] = {}
    try:
        with open_store(url) as store:
            builds = list(store.iter_kind("build"))
    except AdvisorError:
        return {}
    for obs in builds:
        if not isinstance(obs, BuildObservation) or obs.image is None or obs.package:
            continue
        seen = newest.get(obs.image)
        if seen is None or obs.provenance.date >= seen.provenance.date:
            newest[obs.image] = obs
    return dict(newest)
