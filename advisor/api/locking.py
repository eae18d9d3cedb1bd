"""The jobs that write a lock, ``lock`` and ``advise``: inputs → the stack → lockfile.

Composition root: :func:`~advisor.api.inputs.prepare`, then :func:`choose_stack` (pip's or
the advice search's), then :func:`finish` (:func:`advisor.options.record.lock_outcome`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, overload

from advisor.api.inputs import prepare
from advisor.events import SILENT
from advisor.options.jobs import AdviseOptions, LockOptions
from advisor.options.outcomes import AdviceResult, LockedStack, LockOutcome
from advisor.options.resolve import ResolveOptions

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime
    from pathlib import Path

    from advisor.events import ProgressEvents
    from advisor.lockfile.record import AdviceRecord, FixRecord
    from advisor.models import Resolution
    from advisor.options.jobs import ReportOptions
    from advisor.options.outcomes import ComparisonResult
    from advisor.options.prepared import Prepared

__all__ = [
    "LockOptions",
    "LockOutcome",
    "ResolveOptions",
    "advise",
    "choose_stack",
    "finish",
    "lock",
    "resolve_request",
]


def choose_stack(
    prep: Prepared,
    *,
    opts: ResolveOptions,
    advice: AdviseOptions,
    always_advise: bool = False,
    now: datetime | None = None,
    events: ProgressEvents = SILENT,
) -> LockedStack:
    """Pip's stack when :attr:`ResolveOptions.is_pip_choice`, unless ``always_advise``;
    else the advice search's best."""
    if opts.is_pip_choice and not always_advise:
        resolution, warnings, requests = resolve_request(prep, opts=opts, events=events)
        return LockedStack(resolution=resolution, warnings=warnings, requests=requests)
    from advisor.api.advising import run_advice

    return LockedStack.advised(run_advice(prep, opts=opts, advise=advice, now=now, events=events))


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
    """Lock ``inputs`` for their targets (pip's stack for ``latest``), here or on ``server``."""
    if server:
        from advisor.api.remote import remote_lock

        return remote_lock(
            server, inputs, opts=opts, out=out, environ=environ, cwd=cwd, events=events
        )
    prep = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
    return _lock_run(prep, opts=opts, out=out, advice=AdviseOptions(), events=events)[0]


@overload
def advise(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    advice: AdviseOptions | None = None,
    report: ReportOptions | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
    server: str | None = None,
) -> AdviceResult: ...
@overload
def advise(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    advice: AdviseOptions | None = None,
    report: ReportOptions | None = None,
    compare: Sequence[str],
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
    server: str | None = None,
) -> AdviceResult | ComparisonResult: ...
def advise(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    advice: AdviseOptions | None = None,
    report: ReportOptions | None = None,
    compare: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
    server: str | None = None,
) -> AdviceResult | ComparisonResult:
    """The best stack of ``advice.recommendation`` (:meth:`ResolveOptions.advised`) locked
    as :func:`lock` does, with each target's advice rendered as ``report`` asks; here or on
    ``server``; with ``compare``, one advice per runtime, nothing written. Raises
    :class:`~advisor.errors.NoViableStack` when a target has no acceptable stack."""
    advice = advice or AdviseOptions()
    given = advice.recommendation
    if compare:
        from advisor.api.runtimes import compare_runtimes

        return compare_runtimes(inputs, compare, opts=opts, advice=advice, recommendation=given,
                                report=report, environ=environ, cwd=cwd, events=events)  # fmt: skip
    if server:
        from advisor.api.remote import remote_advise

        result = remote_advise(server, inputs, opts=opts, out=out, advice=advice,
                               recommendation=given, environ=environ, cwd=cwd,
                               events=events)  # fmt: skip
    else:
        prep = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
        opts = opts.advised(given, prep.config)
        written, stack = _lock_run(
            prep, opts=opts, out=out, advice=advice, advise=True, events=events
        )
        result = AdviceResult(lock=written, advices=stack.advices)
    if report is None:
        return result
    text = report.render(result.advices)
    if report.to_file and report.path is not None:
        from advisor.lockfile.write import write_output

        write_output(report.path, text + "\n")
    return dataclasses.replace(result, report=text)


def _lock_run(
    prep: Prepared,
    *,
    opts: ResolveOptions,
    out: LockOptions,
    advice: AdviseOptions,
    advise: bool = False,
    events: ProgressEvents,
) -> tuple[LockOutcome, LockedStack]:
    """The step ``lock`` and ``advise`` share: choose the stack, write its lock."""
    stack = choose_stack(prep, opts=opts, advice=advice, always_advise=advise, events=events)
    return finish(prep, stack.resolution, opts=opts, out=out, warnings=stack.warnings,
                  requests=stack.requests, tool=stack.tool), stack  # fmt: skip


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
    """Write :func:`advisor.options.record.lock_outcome` (unless a dry run or stdout)."""
    from advisor.lockfile.write import write_output
    from advisor.options.record import lock_outcome

    outcome = lock_outcome(prep, resolution, opts=opts, out=out, tool=tool,
                           warnings=warnings, requests=requests)  # fmt: skip
    if outcome.path is not None:
        write_output(outcome.path, outcome.text)
    return outcome


def resolve_request(
    prep: Prepared, *, opts: ResolveOptions, events: ProgressEvents = SILENT
) -> tuple[Resolution, tuple[str, ...], int]:
    """:func:`~advisor.advice.targets.resolve_targets` keeping
    :func:`~advisor.advice.targets.kept_pins`, hashed: (resolution, warnings, requests)."""
    from advisor.advice.targets import kept_pins, resolve_targets
    from advisor.api.context import planning
    from advisor.index.hashes import with_hashes

    keep = kept_pins(prep.previous, upgrade=opts.upgrade, upgrade_packages=opts.upgrade_packages)
    with planning(prep, opts, events=events) as (planner, session):
        merged, warnings = resolve_targets(
            planner, prep.targets, preferences=keep, events=session.events
        )
        return with_hashes(merged, session.fetcher), warnings, session.finder.requests
