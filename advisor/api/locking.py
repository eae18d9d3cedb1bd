"""The jobs that write a lock: ``lock`` and ``advise``. Inputs → the stack → lockfile.

Part of the composition root: the CLI (and the pre-commit hook, the image pipeline and the
server) call these. Both jobs run one private step, :func:`_lock_run`: the stack to lock is
chosen once, by :func:`choose_stack` (``latest`` resolves as pip does,
:mod:`advisor.api.resolving`; any other type, and every ``advise``, runs the advice search of
:mod:`advisor.api.advising`), then :func:`finish` renders the lock with its record
(:func:`advisor.options.record.lock_record`) and writes it. The inputs are read first
(:func:`advisor.api.inputs.prepare`). ``advise`` with runtimes to compare is the job of
:mod:`advisor.api.runtimes`. The values taken and returned live in :mod:`advisor.options`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, overload

from advisor.events import SILENT
from advisor.models import LockFormat
from advisor.options.jobs import AdviseOptions, LockOptions
from advisor.options.outcomes import AdviceResult, ComparisonResult, LockedStack, LockOutcome
from advisor.options.record import lock_digest, lock_record, recorded_request
from advisor.options.resolve import ResolveOptions

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime
    from pathlib import Path

    from advisor.events import ProgressEvents
    from advisor.lockfile.record import AdviceRecord, FixRecord
    from advisor.models import RecommendationType, Resolution
    from advisor.options.jobs import ReportOptions
    from advisor.options.prepared import Prepared

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
    "lock_digest",
    "lock_record",
    "prepare",
    "recorded_request",
    "resolve_request",
]

from advisor.api.context import IndexConfig, build_targets, default_cache_dir
from advisor.api.inputs import Prepared, prepare
from advisor.api.resolving import resolve_request


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
        resolution, warnings, requests = resolve_request(prep, opts=opts, events=events)
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
    if server:
        from advisor.api.remote import remote_lock

        return remote_lock(
            server, inputs, opts=opts, out=out, environ=environ, cwd=cwd, events=events
        )
    prep = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
    written, _ = _lock_run(prep, opts=opts, out=out, advice=AdviseOptions(), events=events)
    return written


@overload
def advise(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    advice: AdviseOptions | None = None,
    recommendation: RecommendationType | str | None = None,
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
    recommendation: RecommendationType | str | None = None,
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
    recommendation: RecommendationType | str | None = None,
    report: ReportOptions | None = None,
    compare: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
    server: str | None = None,
) -> AdviceResult | ComparisonResult:
    """Search the best stack of a recommendation type for ``inputs``, write its lock (as
    :func:`lock` writes one) and return it with the advice of every target.

    The type is ``recommendation`` when given, else ``opts.recommendation`` unless that is
    ``latest`` (the default), else the project's ``[tool.advisor] recommendation``, else
    ``stable`` (:func:`advisor.options.resolve.advised_recommendation`). ``advice`` holds the
    search's bounds (count, budget, time limit, seed) and where the knowledge comes from
    (default: :class:`~advisor.options.AdviseOptions`). With ``report``, the advices are
    rendered into the result's ``report`` (and written to ``report.path``, atomically).
    Every resolution, build and retry reports to ``events``. Raises
    :class:`~advisor.errors.NoViableStack` when a target has no acceptable stack (nothing is
    written then). With ``server`` the team server at that URL searches, with its
    knowledge (:func:`advisor.api.remote.remote_advise`). With ``compare`` (two runtimes or
    more), each runtime is advised instead and the runtimes compared, no lock written: a
    :class:`~advisor.options.ComparisonResult` (:func:`advisor.api.runtimes.compare_runtimes`).
    """
    advice = advice or AdviseOptions()
    if compare:
        from advisor.api.runtimes import compare_runtimes

        return compare_runtimes(inputs, compare, opts=opts, advice=advice,
                                recommendation=recommendation, report=report,
                                environ=environ, cwd=cwd, events=events)  # fmt: skip
    if server:
        from advisor.api.remote import remote_advise

        result = remote_advise(server, inputs, opts=opts, out=out, advice=advice,
                               recommendation=recommendation, environ=environ, cwd=cwd,
                               events=events)  # fmt: skip
    else:
        from advisor.options.resolve import advised_recommendation

        prep = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
        chosen = advised_recommendation(recommendation, opts=opts, config=prep.config)
        opts = dataclasses.replace(opts, recommendation=chosen)
        written, stack = _lock_run(
            prep, opts=opts, out=out, advice=advice, always_advise=True, events=events
        )
        advices = stack.advice.advices if stack.advice is not None else ()
        result = AdviceResult(lock=written, advices=advices)
    return result if report is None else _reported(result, report)


def _reported(result: AdviceResult, report: ReportOptions) -> AdviceResult:
    """``result`` with its advices rendered as ``report`` says, written to its file."""
    from advisor.lockfile.write import write_output
    from advisor.report import render_advices

    text = render_advices(result.advices, fmt=report.format, verbose=report.verbose)
    if report.path is not None and report.to_file:
        write_output(report.path, text + "\n")
    return dataclasses.replace(result, report=text)


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
    advice's record, beside it) and write it (not for a dry run, nor to stdout)."""
    from advisor.lockfile.render import changed_pins, render_lock
    from advisor.lockfile.write import write_output
    from advisor.options.prepared import lock_text

    record = lock_record(prep, opts=opts, tool=tool)
    text = render_lock(resolution, record, text=lock_text(prep, out))
    path = None if out.dry_run else prep.lock_path
    if path is not None:
        write_output(path, text)
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
