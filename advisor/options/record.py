"""The options and the lock's own record (``[tool.advisor]``), each made from the other.

Just below the composition root: :func:`lock_record` is what a lock made with some
:class:`~advisor.options.ResolveOptions` records (its indexes, targets, options, inputs and
input digest), :func:`recorded_options` and :func:`recorded_request` turn a lock's record
back into the options and inputs that make it again (``check --fix``, ``fix``, ``explain``;
a requirements lock's with :func:`lock_request`, what ``check --fix`` re-locks from with
:func:`relock_request`), :func:`is_stale` compares the two,
:func:`advice_record` is what a lock records about an advice (:func:`advice_outcome`: the
search's outcome with it), :func:`lock_outcome` a stack's lock rendered with its record (the
composition root writes it); ``fix`` reads its lock with :func:`fixed_lock` and records
:func:`fix_record`. The record itself is
:class:`~advisor.lockfile.record.LockRecord`, read and written only in ``lockfile/``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

from advisor._version import __version__
from advisor.errors import InputError
from advisor.models import IndexStrategy, LockFormat, RecommendationType
from advisor.options.resolve import ResolveOptions

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.advice.remedy import Remedy
    from advisor.advice.targets import AdvisedTargets
    from advisor.lockfile.pylock import LockedStack
    from advisor.lockfile.record import (
        AdviceRecord,
        FixRecord,
        IndexRecord,
        InputsRecord,
        LockRecord,
    )
    from advisor.models import Resolution
    from advisor.options.jobs import AdviseOptions, LockOptions
    from advisor.options.outcomes import AdviseOutcome, LockOutcome
    from advisor.options.prepared import Prepared
    from advisor.request import AdviceRequest, IndexOptions
    from advisor.scoring.advice import Advice

__all__ = [
    "advice_outcome",
    "advice_record",
    "fix_record",
    "fixed_lock",
    "is_stale",
    "lock_digest",
    "lock_outcome",
    "lock_record",
    "lock_request",
    "recorded_index",
    "recorded_options",
    "recorded_request",
    "relock_request",
]


def lock_record(
    prep: Prepared, *, opts: ResolveOptions, tool: AdviceRecord | FixRecord | None = None
) -> LockRecord:
    """The record a lock of ``prep`` made with ``opts`` carries, with its input digest
    (:func:`lock_digest`); ``tool``, the advice's record, is written beside it, outside the
    digest."""
    from advisor.environment.targets import lock_table
    from advisor.lockfile.record import IndexRecord, LockRecord, OptionsRecord, TargetRecord

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
        inputs=_inputs_record(prep, opts),
    )
    record = dataclasses.replace(record, input_digest=lock_digest(prep.request, record))
    return record.with_advice(tool)


def _inputs_record(prep: Prepared, opts: ResolveOptions) -> InputsRecord:
    """The inputs a lock records, relative to the folder the lock goes to (the current one
    for stdout)."""
    from advisor.lockfile.record import InputsRecord
    from advisor.request import normalize_requirement

    output = prep.lock_path or prep.cwd / "pylock.toml"
    return InputsRecord.made_from(
        prep.inputs,
        lock_dir=Path(os.path.abspath(output)).parent,
        extras=opts.extras,
        groups=opts.groups,
        constraints=opts.constraints,
        overrides=opts.overrides,
        requirements=(normalize_requirement(r.requirement) for r in prep.request.requirements),
        pip_constraints=(normalize_requirement(c.requirement) for c in prep.pip_constraints),
    )


def lock_digest(request: AdviceRequest, record: LockRecord) -> str:
    """The input digest of a lock: the normalised request plus what ``record`` adds
    (:meth:`~advisor.lockfile.record.LockRecord.digest_fields`)."""
    from advisor.request import request_digest

    return request_digest(request, extra=record.digest_fields())


def advice_record(first: Advice, *, seed: int, budget: int) -> AdviceRecord:
    """What the lock's ``[tool.advisor]`` records about an advice (of the ``first`` target),
    searched with ``seed`` and ``budget``."""
    from advisor.lockfile.record import AdviceRecord

    return AdviceRecord(
        score=first.best.score,
        latest_score=first.latest.score,
        differs_from_latest=tuple(p.name for p in first.best.pins if p.differs),
        seed=seed,
        budget=budget,
    )


def advice_outcome(
    found: AdvisedTargets,
    *,
    resolution: Resolution,
    stopped: Sequence[str],
    requests: int,
    advise: AdviseOptions,
) -> AdviseOutcome:
    """What an advice searched (``found``; ``resolution``: its merged stack, hashed), ready
    for the lock: its warnings with what the time limit cut (``stopped``), and
    :func:`advice_record` of its first target's advice."""
    from advisor.advice.targets import advice_warnings
    from advisor.options.outcomes import AdviseOutcome

    return AdviseOutcome(
        resolution=resolution,
        advices=found.advices,
        warnings=advice_warnings(found.warnings, stopped=stopped, time_limit=advise.time_limit),
        requests=requests,
        record=advice_record(found.advices[0], seed=advise.seed, budget=advise.budget),
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


def recorded_index(index: IndexRecord, *, refresh: bool = False) -> ResolveOptions:
    """Options that resolve from the indexes and find-links ``index`` records (no index
    recorded: ``--no-index``), everything else at its default."""
    return ResolveOptions(
        index_url=index.indexes[0] if index.indexes else None,
        extra_index_urls=index.indexes[1:],
        find_links=index.find_links,
        no_index=not index.indexes,
        refresh=refresh,
    )


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
    return dataclasses.replace(
        recorded_index(index),
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


def lock_request(
    path: Path, inputs: Sequence[Path], *, cwd: Path, environ: Mapping[str, str]
) -> tuple[list[Path], ResolveOptions, LockFormat]:
    """The inputs and options the lock at ``path`` was made with, and its format (a
    ``.toml`` is a pylock): a pylock's record (:func:`recorded_request`); for a requirements
    lock, ``inputs`` (relative to ``cwd``; by default its ``.in`` sibling) and the index lines
    the lock names (:func:`advisor.request.lock_inputs`, which raises :class:`InputError`
    when it has no input to re-resolve from)."""
    from advisor.request import lock_inputs

    if path.suffix == ".toml":
        return (*recorded_request(path), LockFormat.PYLOCK)
    files, index = lock_inputs(path, inputs, cwd=cwd, environ=environ)
    return files, ResolveOptions.from_index(index), LockFormat.REQUIREMENTS


def relock_request(
    lock: Path, *, pylock: bool, inputs: Sequence[Path], index: IndexOptions | None
) -> tuple[list[Path], ResolveOptions, LockOptions]:
    """What ``check --fix`` makes ``lock`` again from (a :class:`~advisor.check.sources.
    RelockPlan`) and how it writes it: a ``pylock`` from its record
    (:func:`recorded_request`), a requirements lock from ``inputs`` against the ``index``
    options its own lines name; in its format, where it is."""
    from advisor.options.jobs import LockOptions

    if pylock:
        files, opts, fmt = (*recorded_request(lock), LockFormat.PYLOCK)
    else:
        files, opts, fmt = list(inputs), ResolveOptions.from_index(index), LockFormat.REQUIREMENTS
    return files, opts, LockOptions(output=lock, format=fmt, command="advisor check --fix")


def is_stale(lock: Path, prep: Prepared, *, opts: ResolveOptions) -> bool:
    """Whether the pylock.toml at ``lock`` records another input digest than a lock of
    ``prep`` made with ``opts`` would: its inputs, options or indexes changed since."""
    from advisor.lockfile.pylock import read_pylock

    return read_pylock(lock).record.input_digest != lock_record(prep, opts=opts).input_digest


def fixed_lock(
    path: Path, prep: Prepared, *, opts: ResolveOptions, fmt: LockFormat, shown: Path
) -> LockedStack | None:
    """The lock at ``path`` that ``fix`` changes, read (``None``: a requirements lock, whose
    pins ``prep`` holds). Raises :class:`InputError` naming it as ``shown`` when it is stale:
    its inputs, options or indexes changed since it was written (re-lock first, or the diff
    would mix both changes)."""
    from advisor.lockfile.pylock import read_pylock

    if fmt is not LockFormat.PYLOCK:
        return None
    if is_stale(path, prep, opts=opts):
        raise InputError(
            f"{shown}: the lock is stale (its inputs, options or indexes changed since it was"
            " written): re-lock it first (`advisor check --fix`), then fix it"
        )
    return read_pylock(path)


def fix_record(locked: LockedStack | None, remedy: Remedy) -> FixRecord:
    """What a fixed lock records instead of the advice's scores (which described the stack
    before the fix): the pins changed and the advisories fixed, an earlier fix's carried
    forward (:meth:`~advisor.lockfile.record.FixRecord.after`)."""
    from advisor.lockfile.record import FixRecord

    return FixRecord.after(
        locked.record.other if locked else {},
        changed=(str(c.name) for c in remedy.changes),
        advisories=(a.id for a in remedy.fixed),
    )


def lock_outcome(
    prep: Prepared,
    resolution: Resolution,
    *,
    opts: ResolveOptions,
    out: LockOptions,
    tool: AdviceRecord | FixRecord | None = None,
    warnings: tuple[str, ...] = (),
    requests: int = 0,
) -> LockOutcome:
    """The lock of ``resolution`` for ``prep``, not yet written: its text with the record
    (:func:`advisor.options.record.lock_record`; ``tool``, the advice's or the fix's record,
    beside it), the ``path`` it is to be written to (``None``: a dry run or stdout), the
    digest of the inputs and the pins changed against the lock it replaces."""
    from advisor.lockfile.render import changed_pins, render_lock
    from advisor.options.outcomes import LockOutcome
    from advisor.options.prepared import lock_text

    record = lock_record(prep, opts=opts, tool=tool)
    return LockOutcome(
        resolution=resolution,
        text=render_lock(resolution, record, text=lock_text(prep, out)),
        path=None if out.dry_run else prep.lock_path,
        targets=prep.targets,
        digest=record.input_digest or "",
        warnings=warnings,
        changed=changed_pins(prep.previous, resolution),
        requests=requests,
    )
