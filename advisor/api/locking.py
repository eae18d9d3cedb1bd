"""The jobs that write a lock, ``lock`` and ``advise``: :func:`~advisor.api.inputs.prepare`,
then :func:`choose_stack` (pip's or the advice search's), then :func:`finish`.
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
    from advisor.lockfile.record import FixRecord
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
    """Pip's stack when :attr:`ResolveOptions.is_pip_choice` (unless ``always_advise``), else
    the advice search's best."""
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
    advice: AdviseOptions | None = None,
) -> LockOutcome:
    """Lock ``inputs`` for their targets (pip's stack for ``latest``), here or on ``server``;
    another recommendation type runs the advice search with ``advice`` (its store, bounds)."""
    if server:
        from advisor.api.remote import remote_jobs

        remote = remote_jobs(server, environ=environ, cwd=cwd, events=events)
        return remote.lock(inputs, opts=opts, out=out).write()
    prep = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
    search = advice if advice is not None else AdviseOptions()
    return finish(prep, choose_stack(prep, opts=opts, advice=search, events=events),
                  opts=opts, out=out)  # fmt: skip


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
    """The best stack of ``advice.recommendation`` locked as :func:`lock` does, its advice
    rendered as ``report`` asks; with ``compare``, one advice per runtime, nothing written."""
    advice = advice or AdviseOptions()
    if compare:
        from advisor.api.runtimes import compare_runtimes

        return compare_runtimes(inputs, compare, opts=opts, advice=advice, report=report,
                                environ=environ, cwd=cwd, events=events)  # fmt: skip
    if server:
        from advisor.api.remote import remote_jobs

        remote = remote_jobs(server, environ=environ, cwd=cwd, events=events)
        result = remote.advise(inputs, opts=opts, out=out, advice=advice,
                               recommendation=advice.recommendation)  # fmt: skip
        result.lock.write()
    else:
        prep = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
        opts = opts.advised(advice.recommendation, prep.config)
        stack = choose_stack(prep, opts=opts, advice=advice, always_advise=True, events=events)
        result = AdviceResult(lock=finish(prep, stack, opts=opts, out=out), advices=stack.advices)
    if report is None:
        return result
    return dataclasses.replace(result, report=report.publish(report.render(result.advices)))


def finish(
    prep: Prepared,
    stack: LockedStack,
    *,
    opts: ResolveOptions,
    out: LockOptions,
    tool: FixRecord | None = None,
) -> LockOutcome:
    """:func:`advisor.options.record.lock_outcome` of ``stack`` (recording ``tool``, else the
    stack's advice), written unless a dry run or stdout."""
    from advisor.options.record import lock_outcome

    return lock_outcome(prep, stack.resolution, opts=opts, out=out, tool=tool or stack.tool,
                        warnings=stack.warnings, requests=stack.requests).write()  # fmt: skip


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
