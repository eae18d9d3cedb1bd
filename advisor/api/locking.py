"""Resolve and lock: inputs → targets → index session → resolution → lockfile.

The CLI (and later the pre-commit hook, the image pipeline and the server) call only this
module. It is the one place that reads the process environment and the clock, and passes
them down as values.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName, canonicalize_name

from advisor._version import __version__
from advisor.errors import InputError
from advisor.events import SILENT
from advisor.models import IndexStrategy, LockFormat, RecommendationType

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.version import Version

    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.index.fetch import Fetcher
    from advisor.index.settings import PipSettings
    from advisor.lockfile.record import (
        IndexRecord,
        InputsRecord,
        LockRecord,
        OptionsRecord,
        TargetRecord,
    )
    from advisor.models import Resolution
    from advisor.request import AdviceRequest, RequirementLine

__all__ = [
    "IndexConfig",
    "LockFormat",
    "LockOptions",
    "LockOutcome",
    "ResolveOptions",
    "build_targets",
    "default_cache_dir",
    "lock",
    "resolve_request",
]

from advisor.api.context import (
    IndexConfig,
    ResolveOptions,
    build_targets,
    default_cache_dir,
    index_config,
    open_session,
    pip_constraints,
    target_table,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOptions:
    """Where a lock goes and how it is written.

    ``output``: the lock's path (``None``: ``pylock.toml`` or ``requirements.txt`` beside the
    first input; ``Path("-")``: written nowhere, the text is in the outcome); ``format``:
    the lock format; ``dry_run``: render, write nothing; ``command``: the command line a
    requirements lock names in its header.
    """

    output: Path | None = None  # None: next to the first input; Path("-"): stdout
    format: LockFormat = LockFormat.PYLOCK
    dry_run: bool = False
    command: str = "advisor lock"
    #: requirements format: the index options (pip-compile style); an image context that
    #: installs from its vendored wheels/ leaves them out (the build cannot reach them)
    index_lines: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOutcome:
    """A lock made: the ``resolution`` (its ``pins``, each with a name, version, marker and
    files), the lock's ``text``, the ``path`` written (``None`` for a dry run or stdout), the
    ``targets`` resolved for, the input ``digest`` recorded in the lock, ``warnings``,
    ``changed`` pins against the previous lock (name, old, new) and the index ``requests``
    made."""

    resolution: Resolution
    text: str
    path: Path | None
    targets: tuple[RuntimeEnvironment, ...]
    digest: str
    warnings: tuple[str, ...] = ()
    changed: tuple[tuple[str, str | None, str | None], ...] = ()  # (name, old, new)
    requests: int = 0


def _previous_pins(existing: Path | None) -> dict[NormalizedName, Version]:
    """The pins of the lock being replaced (``{}`` when there is none)."""
    if existing is None or not existing.is_file():
        return {}
    from advisor.lockfile.pylock import read_pylock
    from advisor.lockfile.requirements import read_requirements_lock

    if existing.name.endswith(".toml"):
        return dict(read_pylock(existing).pins)
    return dict(read_requirements_lock(existing))


def _preferences(
    opts: ResolveOptions, previous: Mapping[NormalizedName, Version]
) -> dict[NormalizedName, Version]:
    """Re-locking keeps the previous pins, except under --upgrade / --upgrade-package."""
    if opts.upgrade:
        return {}
    moving = {canonicalize_name(n) for n in opts.upgrade_packages}
    return {k: v for k, v in previous.items() if k not in moving}


def resolve_request(
    request: AdviceRequest,
    *,
    opts: ResolveOptions,
    index: IndexConfig,
    pip: PipSettings,
    targets: Sequence[RuntimeEnvironment],
    environ: Mapping[str, str],
    preferences: Mapping[NormalizedName, Version],
    events: ProgressEvents = SILENT,
) -> tuple[Resolution, tuple[str, ...], int]:
    """Resolve for every target and merge, reporting progress to ``events``. Returns
    (resolution, warnings, requests made)."""
    from advisor.api.planner import Planner
    from advisor.resolution.resolve import TargetResult, merge, resolve

    session = open_session(opts, index, pip, environ, events=events)
    try:
        planner = Planner(request, opts=opts, session=session)
        results: list[TargetResult] = []
        warnings: list[str] = []
        prefs = dict(preferences)
        for target in targets:
            provider = planner.provider(target, preferences=prefs)
            provider.warm(planner.root_names)
            label = planner.label(target, targets)
            res = resolve(provider, planner.roots, target=label, events=session.events)
            results.append(TargetResult(marker=target.lock_marker(), resolution=res))
            warnings.extend(provider.warnings)
            # later targets prefer the pins of earlier ones, so one lock converges
            for p in res.pins:
                prefs.setdefault(p.name, p.version)
        return (
            with_hashes(merge(results), session.fetcher),
            tuple(dict.fromkeys(warnings)),
            session.finder.requests,
        )
    except BaseException:  # an interrupt or an error: stop running builds now
        session.cancel()
        raise
    finally:
        session.close()


def with_hashes(resolution: Resolution, fetcher: Fetcher) -> Resolution:
    """Every locked file with a sha256 (folders and direct URLs list none)."""
    from advisor.index.hashes import ensure_hash

    pins = []
    for pin in resolution.pins:
        files = tuple(ensure_hash(f, fetcher=fetcher) for f in pin.files)
        pins.append(pin if files == pin.files else dataclasses.replace(pin, files=files))
    return dataclasses.replace(resolution, pins=tuple(pins))


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """A lock or advise run before resolving: parsed inputs, targets, indexes, output path.

    ``request`` is what the inputs ask (the lock's digest covers it); ``resolvable`` is what
    is resolved: the same plus the constraint files of pip's configuration, whose
    requirements are ``pip_constraints`` (recorded in the lock by content).
    """

    inputs: tuple[Path, ...]
    request: AdviceRequest
    resolvable: AdviceRequest
    pip_constraints: tuple[RequirementLine, ...]
    config: AdvisorConfig
    targets: tuple[RuntimeEnvironment, ...]
    index: IndexConfig
    pip: PipSettings
    output: Path
    previous: Mapping[NormalizedName, Version]
    environ: Mapping[str, str]
    cwd: Path


def prepare(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Prepared:
    """Read the inputs and configuration; decide targets, indexes and where the lock goes."""
    from advisor.config import load_config
    from advisor.environment import RuntimeEnvironment
    from advisor.index.settings import load_pip_settings
    from advisor.request import load_request

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    if not inputs:
        raise InputError("no input given: name a requirements file or a pyproject.toml")

    def read(constraints: Sequence[Path]) -> AdviceRequest:
        return load_request(
            list(inputs),
            extras=opts.extras,
            groups=opts.groups,
            constraints=constraints,
            overrides=opts.overrides,
            environ=environ,
            cwd=cwd,
        )

    request = read(opts.constraints)
    settings = load_pip_settings(environ=environ, cwd=cwd)
    configured = pip_constraints(settings, environ=environ, cwd=cwd)
    # pip applies its configured constraint files like -c files on its command line (their
    # options included); read together, one reader merges and checks them as pip would
    resolvable = (
        read([*opts.constraints, *(Path(p) for p in settings.constraints)])
        if settings.constraints
        else request
    )
    config = load_config(Path(inputs[0]).resolve().parent)
    targets = build_targets(opts, config, RuntimeEnvironment.detect())
    index, pip = index_config(opts, resolvable, config, environ, cwd, pip=settings)
    if not index.indexes and not index.find_links:
        raise InputError("no index to resolve from: --no-index is set and no --find-links given")
    output = out.output
    if output is None:
        name = "pylock.toml" if out.format == "pylock" else "requirements.txt"
        output = Path(inputs[0]).resolve().parent / name
    existing = opts.preferences_from or (output if str(output) != "-" else None)
    return Prepared(
        inputs=tuple(inputs),
        request=request,
        resolvable=resolvable,
        pip_constraints=configured,
        config=config,
        targets=tuple(targets),
        index=index,
        pip=pip,
        output=output,
        previous=_previous_pins(existing),
        environ=environ,
        cwd=cwd,
    )


def finish(
    prep: Prepared,
    resolution: Resolution,
    *,
    opts: ResolveOptions,
    out: LockOptions,
    warnings: tuple[str, ...] = (),
    requests: int = 0,
    tool: Mapping[str, Any] | None = None,
) -> LockOutcome:
    """Render the lock of ``resolution`` (with the digest of the inputs) and write it."""
    from advisor.lockfile.pylock import LockMeta, render_pylock
    from advisor.lockfile.requirements import render_requirements, requirements_header
    from advisor.lockfile.write import write_output

    request, targets, output, previous = prep.request, prep.targets, prep.output, prep.previous
    record = lock_record(prep, opts=opts, tool=tool)
    digest = record.input_digest
    assert digest is not None  # lock_record digests what it records
    if out.format == "pylock":
        text = render_pylock(
            resolution,
            LockMeta(
                environments=tuple(t.lock_marker() for t in targets),
                requires_python=request.requires_python,
                input_digest=digest,
                tool=record.to_table(),
            ),
        )
    elif out.format == "requirements":
        text = render_requirements(resolution, header=requirements_header(out.command, record))
        if out.index_lines:
            text = _with_index_lines(text, prep.index)
    else:
        raise InputError(f"unknown lock format {out.format!r}: use pylock or requirements")
    changed = tuple(
        (str(p.name), str(previous[p.name]) if p.name in previous else None, str(p.version))
        for p in resolution.pins
        if previous and previous.get(p.name) != p.version
    )
    path: Path | None = None
    if not out.dry_run and str(output) != "-":
        write_output(output, text)
        path = output
    return LockOutcome(
        resolution=resolution,
        text=text,
        path=path,
        targets=targets,
        digest=digest,
        warnings=warnings,
        changed=changed,
        requests=requests,
    )


def lock(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> LockOutcome:
    """Resolve ``inputs`` for the target environment(s) and render (and write) a lock.

    ``latest`` resolves as pip does; any other recommendation type locks the best stack
    the advice search finds (``advisor advise`` without the report). Long steps report to
    ``events`` (default: nowhere).
    """
    prep = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
    if opts.recommendation != "latest":
        from advisor.api.advising import AdviseOptions, run_advice

        outcome = run_advice(prep, opts=opts, advise=AdviseOptions(), events=events)
        return finish(
            prep,
            outcome.resolution,
            opts=opts,
            out=out,
            warnings=outcome.warnings,
            requests=outcome.requests,
            tool=outcome.tool,
        )
    resolution, warnings, requests = resolve_request(
        prep.resolvable,
        opts=opts,
        index=prep.index,
        pip=prep.pip,
        targets=prep.targets,
        environ=prep.environ,
        preferences=_preferences(opts, prep.previous),
        events=events,
    )
    return finish(prep, resolution, opts=opts, out=out, warnings=warnings, requests=requests)


def _with_index_lines(text: str, index: IndexConfig) -> str:
    """Index options (without credentials) after the header comment of a requirements lock,
    as pip-compile writes them: installing and re-locking it then use the same indexes."""
    public = index.public()
    lines = []
    for i, url in enumerate(public["indexes"]):
        lines.append(f"{'--index-url' if i == 0 else '--extra-index-url'} {url}")
    if not public["indexes"]:
        lines.append("--no-index")
    lines.extend(f"--find-links {url}" for url in public["find-links"])
    head, body = [], text.splitlines(keepends=True)
    while body and body[0].startswith("#"):
        head.append(body.pop(0))
    return "".join(head) + "\n".join(lines) + "\n\n" + "".join(body)


def recorded_request(lock: Path) -> tuple[list[Path], ResolveOptions]:
    """The inputs and options a pylock.toml records in ``[tool.advisor]``, to make it again.

    The recorded index configuration is used (without credentials: those come from pip's
    configuration and ``.netrc`` as usual). Raises :class:`~advisor.errors.LockfileError`
    for a lock that cannot be read, :class:`InputError` when it records no inputs (it was
    not written by ``advisor lock``).
    """
    from advisor.lockfile.pylock import read_pylock

    record = read_pylock(lock).record
    lock_dir = lock.resolve().parent
    inputs = record.inputs
    if inputs is None or not inputs.files:
        raise InputError(f"{lock}: the lock records no inputs; re-lock it with advisor lock")
    return [lock_dir / f for f in inputs.files], recorded_options(record, lock_dir=lock_dir)


def recorded_options(record: LockRecord, *, lock_dir: Path) -> ResolveOptions:
    """The :class:`ResolveOptions` that ``record`` says its lock was made with: indexes,
    inputs' extras, groups, constraints and overrides (relative to ``lock_dir``), the one
    target's Python/platform/CUDA or the named environments of several, the options and
    the recommendation type. What is not recorded takes its default."""
    from advisor.lockfile.record import IndexRecord, InputsRecord, OptionsRecord

    inputs = record.inputs or InputsRecord()
    options = record.options or OptionsRecord()
    targets = record.targets or ()
    index = record.index or IndexRecord()
    # a host target is not pinned down: re-locking targets the host it then runs on
    single = targets[0] if len(targets) == 1 and targets[0].name != "host" else None
    return ResolveOptions(
        index_url=index.indexes[0] if index.indexes else None,
        extra_index_urls=index.indexes[1:],
        find_links=index.find_links,
        no_index=not index.indexes,
        index_strategy=IndexStrategy(index.strategy) if index.strategy else None,
        extras=inputs.extras,
        groups=inputs.groups,
        constraints=tuple(lock_dir / c for c in inputs.constraints),
        overrides=tuple(lock_dir / o for o in inputs.overrides),
        python=single.python_version if single is not None else None,
        platform=single.platform if single is not None else None,
        cuda=targets[0].cuda_version if len(targets) == 1 else None,
        envs=tuple(t.name or "" for t in targets) if len(targets) > 1 else (),
        pre=options.pre,
        pre_packages=options.pre_packages,
        only_binary=options.only_binary,
        no_build=options.no_build,
        recommendation=RecommendationType.parse(record.recommendation or "latest"),
    )


def lock_record(
    prep: Prepared, *, opts: ResolveOptions, tool: Mapping[str, Any] | None = None
) -> LockRecord:
    """The record a lock of ``prep`` made with ``opts`` carries, with its input digest
    (:func:`lock_digest`). ``tool`` holds further ``[tool.advisor]`` tables (the advice
    search's ``advice``): written beside the record, they are not part of the digest."""
    from advisor.lockfile.record import LockRecord

    output = prep.output
    lock_dir = Path(
        os.path.abspath(output if str(output) != "-" else prep.cwd / "pylock.toml")
    ).parent
    record = LockRecord(
        advisor_version=__version__,
        recommendation=opts.recommendation,
        index=index_record(prep.index),
        targets=tuple(target_record(t) for t in prep.targets),
        options=options_record(opts),
        inputs=inputs_record(
            prep.inputs,
            opts,
            prep.request,
            lock_dir=lock_dir,
            pip_constraints=prep.pip_constraints,
        ),
    )
    record = dataclasses.replace(record, input_digest=lock_digest(prep.request, record))
    if tool:
        record = LockRecord.from_table({**record.to_table(), **tool}, source="[tool.advisor]")
    return record


def index_record(index: IndexConfig) -> IndexRecord:
    """The index configuration as a lock records it (no credentials)."""
    from advisor.lockfile.record import IndexRecord

    public = index.public()
    return IndexRecord(
        indexes=tuple(public["indexes"]),
        find_links=tuple(public["find-links"]),
        strategy=public["strategy"],
        pinned=dict(public["pinned"]),
    )


def target_record(target: RuntimeEnvironment) -> TargetRecord:
    """A target as a lock records it: the fields that shape a resolution (``target_table``)."""
    from advisor.lockfile.record import TargetRecord

    return TargetRecord.from_table(target_table(target), source="target", where="target")


def options_record(opts: ResolveOptions) -> OptionsRecord:
    """The resolution options that shape a lock, as recorded in it."""
    from advisor.lockfile.record import OptionsRecord

    return OptionsRecord(
        pre=opts.pre,
        pre_packages=tuple(sorted(opts.pre_packages)),
        only_binary=tuple(sorted(opts.only_binary)),
        no_build=opts.no_build,
        exclude_newer=opts.exclude_newer.isoformat() if opts.exclude_newer else None,
    )


def lock_digest(request: AdviceRequest, record: LockRecord) -> str:
    """The input digest of a lock: the normalised request plus what ``record`` adds
    (:meth:`~advisor.lockfile.record.LockRecord.digest_fields`: the recorded index
    configuration, targets, recommendation and options, and the recorded requirements of
    pip's configured constraint files when there are any)."""
    from advisor.request import request_digest

    return request_digest(request, extra=record.digest_fields())


def inputs_record(
    inputs: Sequence[Path],
    opts: ResolveOptions,
    request: AdviceRequest,
    *,
    lock_dir: Path,
    pip_constraints: Sequence[RequirementLine] = (),
) -> InputsRecord:
    """What the lock was made from, paths relative to the lock's folder: lets ``check``
    re-read the inputs, and name the requirements that changed since. The constraints of
    pip's configuration are recorded by content (``pip-constraints``, normalised, sorted):
    their files belong to the machine, and ``check`` must not need them."""
    from advisor.lockfile.record import InputsRecord
    from advisor.request import normalize_requirement

    def rel(path: Path) -> str:
        return Path(os.path.relpath(Path(path).resolve(), lock_dir)).as_posix()

    return InputsRecord(
        files=tuple(rel(p) for p in inputs),
        extras=tuple(opts.extras),
        groups=tuple(opts.groups),
        constraints=tuple(rel(p) for p in opts.constraints),
        overrides=tuple(rel(p) for p in opts.overrides),
        requirements=tuple(
            sorted({normalize_requirement(r.requirement) for r in request.requirements})
        ),
        pip_constraints=tuple(
            sorted({normalize_requirement(c.requirement) for c in pip_constraints})
        ),
    )
