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
from pathlib import Path
from typing import TYPE_CHECKING

from advisor._version import __version__
from advisor.errors import InputError
from advisor.events import SILENT
from advisor.models import IndexStrategy, LockFormat, RecommendationType

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from advisor.api.advising import AdviseOptions, AdviseOutcome
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.lockfile.record import AdviceRecord, FixRecord, LockRecord
    from advisor.models import Resolution
    from advisor.request import AdviceRequest
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

from advisor.api.context import IndexConfig, ResolveOptions, build_targets, default_cache_dir
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
    def tool(self) -> AdviceRecord | None:
        """What the lock's ``[tool.advisor]`` records about the advice (``None``: no advice)."""
        return None if self.advice is None else self.advice.record


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
        from advisor.advice.targets import kept_pins

        resolution, warnings, requests = resolve_request(
            prep.resolvable,
            opts=opts,
            index=prep.index,
            pip=prep.pip,
            targets=prep.targets,
            environ=prep.environ,
            preferences=kept_pins(
                prep.previous, upgrade=opts.upgrade, upgrade_packages=opts.upgrade_packages
            ),
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
    tool: AdviceRecord | FixRecord | None = None,
) -> LockOutcome:
    """Render the lock of ``resolution`` (with the digest of the inputs, and ``tool``, the
    advice's record, beside it) and write it."""
    from advisor.lockfile.render import LockText, changed_pins, render_lock
    from advisor.lockfile.write import write_output

    record = lock_record(prep, opts=opts, tool=tool)
    public = prep.index.redacted()
    text = render_lock(
        resolution,
        record,
        text=LockText(
            format=out.format,
            environments=tuple(t.lock_marker() for t in prep.targets),
            requires_python=prep.request.requires_python,
            command=out.command,
            index_lines=out.index_lines,
            indexes=public.indexes,
            find_links=public.find_links,
        ),
    )
    path: Path | None = None
    if not out.dry_run and str(prep.output) != "-":
        write_output(prep.output, text)
        path = prep.output
    return LockOutcome(
        resolution=resolution,
        text=text,
        path=path,
        targets=prep.targets,
        digest=record.input_digest or "",
        warnings=warnings,
        changed=changed_pins(prep.previous, resolution),
        requests=requests,
    )


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
        exclude_newer=options.exclude_newer_time(),
        cooldown_days=options.cooldown_days,
        recommendation=RecommendationType.parse(record.recommendation or "latest"),
        workload=options.workload,
    )


def lock_record(
    prep: Prepared, *, opts: ResolveOptions, tool: AdviceRecord | FixRecord | None = None
) -> LockRecord:
    """The record a lock of ``prep`` made with ``opts`` carries, with its input digest
    (:func:`lock_digest`); ``tool``, the advice's record, is written beside it, outside the
    digest."""
    from advisor.environment.targets import lock_table
    from advisor.lockfile.record import (
        IndexRecord,
        InputsRecord,
        LockRecord,
        OptionsRecord,
        TargetRecord,
    )
    from advisor.request import normalize_requirement

    output = prep.output if str(prep.output) != "-" else prep.cwd / "pylock.toml"
    public = prep.index.redacted()
    plan = opts.plan_options()
    record = LockRecord(
        advisor_version=__version__,
        recommendation=opts.recommendation,
        index=IndexRecord(
            indexes=public.indexes,
            find_links=public.find_links,
            strategy=str(public.strategy),
            pinned=dict(public.pinned),
        ),
        targets=tuple(
            TargetRecord.from_table(lock_table(t), source="target", where="target")
            for t in prep.targets
        ),
        options=OptionsRecord.made_with(
            pre=plan.pre,
            pre_packages=plan.pre_packages,
            only_binary=plan.only_binary,
            no_build=plan.no_build,
            exclude_newer=plan.exclude_newer,
            cooldown_days=opts.cooldown_days,
            workload=opts.workload,
        ),
        inputs=InputsRecord.made_from(
            prep.inputs,
            lock_dir=Path(os.path.abspath(output)).parent,
            extras=opts.extras,
            groups=opts.groups,
            constraints=opts.constraints,
            overrides=opts.overrides,
            requirements=(normalize_requirement(r.requirement) for r in prep.request.requirements),
            pip_constraints=(normalize_requirement(c.requirement) for c in prep.pip_constraints),
        ),
    )
    record = dataclasses.replace(record, input_digest=lock_digest(prep.request, record))
    return record.with_advice(tool)


def lock_digest(request: AdviceRequest, record: LockRecord) -> str:
    """The input digest of a lock: the normalised request plus what ``record`` adds
    (:meth:`~advisor.lockfile.record.LockRecord.digest_fields`)."""
    from advisor.request import request_digest

    return request_digest(request, extra=record.digest_fields())
