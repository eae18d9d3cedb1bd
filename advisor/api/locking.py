"""The jobs that write a lock: ``lock`` and ``advise``. Inputs → the stack → lockfile.

Part of the composition root: the CLI (and the pre-commit hook, the image pipeline and the
server) call these. Both jobs run one private step, :func:`_lock_run`: the stack to lock is
chosen once, by :func:`choose_stack` (``latest`` resolves as pip does,
:mod:`advisor.api.resolving`; any other type, and every ``advise``, runs the advice search of
:mod:`advisor.api.advising`), then :func:`finish` renders the lock with its record and writes
it. The inputs are read first (:func:`advisor.api.inputs.prepare`). This module also reads a
lock's record back (:func:`recorded_request`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from datetime import UTC, datetime
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

    from advisor.api.advising import AdviseOptions, AdviseOutcome
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.lockfile.record import (
        IndexRecord,
        InputsRecord,
        LockRecord,
        OptionsRecord,
        TargetRecord,
    )
    from advisor.models import Resolution
    from advisor.request import AdviceRequest, RequirementLine
    from advisor.scoring.advice import Advice

__all__ = [
    "AdviceResult",
    "IndexConfig",
    "LockFormat",
    "LockOptions",
    "LockOutcome",
    "LockedStack",
    "Prepared",
    "ResolveOptions",
    "advise",
    "build_targets",
    "choose_stack",
    "default_cache_dir",
    "finish",
    "lock",
    "prepare",
    "resolve_request",
]

from advisor.api.context import (
    IndexConfig,
    ResolveOptions,
    build_targets,
    default_cache_dir,
    target_table,
)
from advisor.api.inputs import LockOptions, Prepared, prepare
from advisor.api.resolving import resolve_request


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


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviceResult:
    """An advice made: ``advices``, one :class:`~advisor.scoring.advice.Advice` per target
    (the best stack and the next ones, ``latest``'s stack and the existing lock scored the
    same way, every pin's terms and justifications; render one with
    :func:`advisor.report.render_advice`), and ``lock``, the lock of the best stacks of
    every target merged (a :class:`LockOutcome`)."""

    lock: LockOutcome
    advices: tuple[Advice, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedStack:
    """The stack a lock records: pip's choice (``advice`` is ``None``) or the best stacks the
    advice search found, one per target, merged (``advice`` holds its report)."""

    resolution: Resolution
    warnings: tuple[str, ...] = ()
    requests: int = 0
    advice: AdviseOutcome | None = None

    @property
    def tool(self) -> Mapping[str, Any] | None:
        """What the lock's ``[tool.advisor]`` records about the advice (``None``: no advice)."""
        return None if self.advice is None else self.advice.tool


def choose_stack(
    prep: Prepared,
    *,
    opts: ResolveOptions,
    advice: AdviseOptions,
    always_advise: bool = False,
    now: datetime | None = None,
    events: ProgressEvents = SILENT,
) -> LockedStack:
    """The stack to lock for ``opts.recommendation``: ``latest`` resolves as pip does
    (re-locking keeps the previous pins, except under ``--upgrade``/``--upgrade-package``);
    any other type, or any type with ``always_advise`` (``advise`` reports on ``latest``
    too), is the advice search bounded by ``advice``. Progress reports to ``events``."""
    if opts.recommendation == "latest" and not always_advise:
        resolution, warnings, requests = resolve_request(
            prep.resolvable,
            opts=opts,
            index=prep.index,
            pip=prep.pip,
            targets=prep.targets,
            environ=prep.environ,
            preferences=_preferences(opts, prep.previous),
            policy=prep.config.policy,
            events=events,
        )
        return LockedStack(resolution=resolution, warnings=warnings, requests=requests)
    from advisor.api.advising import run_advice

    outcome = run_advice(prep, opts=opts, advise=advice, now=now, events=events)
    return LockedStack(
        resolution=outcome.resolution,
        warnings=outcome.warnings,
        requests=outcome.requests,
        advice=outcome,
    )


def _preferences(
    opts: ResolveOptions, previous: Mapping[NormalizedName, Version]
) -> dict[NormalizedName, Version]:
    """Re-locking keeps the previous pins, except under --upgrade / --upgrade-package."""
    if opts.upgrade:
        return {}
    moving = {canonicalize_name(n) for n in opts.upgrade_packages}
    return {k: v for k, v in previous.items() if k not in moving}


def lock(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
    server: str | None = None,
) -> LockOutcome:
    """Resolve ``inputs`` for the target environment(s) and render (and write) a lock.

    ``latest`` resolves as pip does; any other recommendation type locks the best stack
    the advice search finds (``advisor advise`` without the report). Long steps report to
    ``events`` (default: nowhere). With ``server`` (a team server's URL) the server
    resolves, from its indexes and cache (:func:`advisor.api.remote.remote_lock`).
    """
    from advisor.api.advising import AdviseOptions

    if server:
        from advisor.api.remote import remote_lock

        got = remote_lock(
            server, inputs, opts=opts, out=out, environ=environ, cwd=cwd, events=events
        )
        return LockOutcome(**got.fields())

    prep = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
    written, _ = _lock_run(prep, opts=opts, out=out, advice=AdviseOptions(), events=events)
    return written


def advise(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    advice: AdviseOptions | None = None,
    recommendation: RecommendationType | str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
    server: str | None = None,
) -> AdviceResult:
    """Search the best stack of a recommendation type for ``inputs``, write its lock (as
    :func:`lock` writes one) and return it with the advice of every target.

    The type is ``recommendation`` when given, else ``opts.recommendation`` unless that is
    ``latest`` (the default), else the project's ``[tool.advisor] recommendation``, else
    ``stable``. ``advice`` holds the search's bounds (count, budget, time limit, seed) and
    where the knowledge comes from (default: :class:`~advisor.api.advising.AdviseOptions`).
    Every resolution, build and retry reports to ``events``. Raises
    :class:`~advisor.errors.NoViableStack` when a target has no acceptable stack (nothing is
    written then). With ``server`` the team server at that URL searches, with its
    knowledge (:func:`advisor.api.remote.remote_advise`).
    """
    from advisor.api.advising import AdviseOptions

    if server:
        from advisor.api.remote import remote_advise

        told = remote_advise(
            server,
            inputs,
            opts=opts,
            out=out,
            advice=advice or AdviseOptions(),
            recommendation=None if recommendation is None else str(recommendation),
            environ=environ,
            cwd=cwd,
            events=events,
        )
        return AdviceResult(lock=LockOutcome(**told.lock.fields()), advices=told.advices)
    prep = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
    given = recommendation or (
        opts.recommendation if opts.recommendation != RecommendationType.LATEST else None
    )
    chosen = RecommendationType.parse(
        given or prep.config.recommendation or RecommendationType.STABLE
    )
    opts = dataclasses.replace(opts, recommendation=chosen)
    written, stack = _lock_run(
        prep,
        opts=opts,
        out=out,
        advice=advice or AdviseOptions(),
        always_advise=True,
        events=events,
    )
    advices = stack.advice.advices if stack.advice is not None else ()
    return AdviceResult(lock=written, advices=advices)


def _lock_run(
    prep: Prepared,
    *,
    opts: ResolveOptions,
    out: LockOptions,
    advice: AdviseOptions,
    always_advise: bool = False,
    events: ProgressEvents,
) -> tuple[LockOutcome, LockedStack]:
    """The step ``lock`` and ``advise`` share: choose the stack, then render (and write) its
    lock with the advice's record."""
    stack = choose_stack(prep, opts=opts, advice=advice, always_advise=always_advise, events=events)
    written = finish(
        prep,
        stack.resolution,
        opts=opts,
        out=out,
        warnings=stack.warnings,
        requests=stack.requests,
        tool=stack.tool,
    )
    return written, stack


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
    target's Python/implementation/platform/CUDA or the named environments of several, the
    options and the recommendation type. What is not recorded takes its default."""
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
        implementation=single.implementation if single is not None else None,
        cuda=targets[0].cuda_version if len(targets) == 1 else None,
        envs=tuple(t.name or "" for t in targets) if len(targets) > 1 else (),
        pre=options.pre,
        pre_packages=options.pre_packages,
        only_binary=options.only_binary,
        no_build=options.no_build,
        exclude_newer=_recorded_time(options.exclude_newer),
        cooldown_days=options.cooldown_days,
        recommendation=RecommendationType.parse(record.recommendation or "latest"),
    )


def _recorded_time(text: str | None) -> datetime | None:
    """A lock's recorded ``exclude-newer`` (ISO 8601, as ``advisor lock`` writes it) as an
    aware time; raises :class:`~advisor.errors.LockfileError` naming the key when it is not
    one."""
    if text is None:
        return None
    from advisor.errors import LockfileError

    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise LockfileError(
            f"[tool.advisor.options] exclude-newer: {text!r} is not an ISO 8601 time"
        ) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


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
        cooldown_days=opts.cooldown_days,
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
