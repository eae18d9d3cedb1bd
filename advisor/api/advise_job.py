"""``advise``: the whole ``advisor advise`` job as one call, for the CLI and for notebooks.

Part of the composition root: the three steps of an advice, in order: read the inputs and
decide targets, indexes and output (:func:`advisor.api.locking.prepare`), search the best
stacks of the recommendation type (:func:`advisor.api.advising.run_advice`), and write the
lock of the best stacks (:func:`advisor.api.locking.finish`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.api.advising import AdviseOptions, run_advice
from advisor.api.locking import LockOutcome, finish, prepare
from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from advisor.api.context import ResolveOptions
    from advisor.api.locking import LockOptions
    from advisor.events import ProgressEvents
    from advisor.scoring.advice import Advice

__all__ = ["AdviceResult", "advise"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviceResult:
    """An advice made: ``advices``, one :class:`~advisor.scoring.advice.Advice` per target
    (the best stack and the next ones, ``latest``'s stack and the existing lock scored the
    same way, every pin's terms and justifications; render one with
    :func:`advisor.report.render_advice`), and ``lock``, the lock of the best stacks of
    every target merged (a :class:`~advisor.api.locking.LockOutcome`)."""

    advices: tuple[Advice, ...]
    lock: LockOutcome


def advise(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    advice: AdviseOptions | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> AdviceResult:
    """Find the best stacks of the recommendation type ``opts.recommendation`` for
    ``inputs`` (requirements files or a pyproject.toml), on every target of ``opts``, and
    write their lock as ``out`` says (``out.dry_run``: render it, write nothing).

    ``advice`` holds the search's bounds (count, budget, time limit, seed) and where the
    knowledge comes from (default: :class:`AdviseOptions`, the default store and the
    bundled curated folder). ``environ`` and ``cwd`` default to the process's. Resolutions,
    builds, retries and downloads report to ``events``.

    Raises :class:`~advisor.errors.InputError` (and subclasses) for bad inputs,
    :class:`~advisor.errors.NoViableStack` when nothing resolves,
    :class:`~advisor.errors.IndexUnavailable` when an index cannot be read.
    """
    prep = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
    found = run_advice(prep, opts=opts, advise=advice or AdviseOptions(), events=events)
    written = finish(
        prep,
        found.resolution,
        opts=opts,
        out=out,
        warnings=found.warnings,
        requests=found.requests,
        tool=found.tool,
    )
    return AdviceResult(advices=found.advices, lock=written)
