"""``advisor advise --compare-env A --compare-env B`` (the ``advise`` job calls it): each
runtime advised by the advise job's own steps; :mod:`advisor.advice.runtimes` parses, refuses
and compares.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.api.context import here
from advisor.events import SILENT
from advisor.options.outcomes import ComparisonResult

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.advice.runtimes import RuntimeChoice
    from advisor.events import ProgressEvents
    from advisor.options.jobs import AdviseOptions, ReportOptions
    from advisor.options.resolve import ResolveOptions
    from advisor.scoring.advice import Advice

__all__ = ["compare_runtimes"]


def compare_runtimes(
    inputs: Sequence[Path],
    runtimes: Sequence[str],
    *,
    opts: ResolveOptions,
    advice: AdviseOptions,
    report: ReportOptions | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> ComparisonResult:
    """Advise ``inputs`` for each of ``runtimes`` and compare them (no lock written), rendered
    as ``report`` asks (:mod:`advisor.advice.runtimes`)."""
    from advisor.advice.runtimes import advise_runtimes, check_runtime_names, parse_runtimes
    from advisor.advice.runtimes import compare_runtimes as compare
    from advisor.api.advising import run_advice
    from advisor.api.inputs import LockOptions, prepare
    from advisor.image.recipes import first_recipes
    from advisor.options.resolve import advised_recommendation
    from advisor.report.runtimes import render_runtime_comparison

    check_runtime_names(runtimes)  # before any input is read or any runtime advised
    out = LockOptions(output=Path("-"), dry_run=True, command="advisor advise")
    first = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
    kind = advised_recommendation(advice.recommendation, opts=opts, config=first.config)
    opts = dataclasses.replace(opts, recommendation=kind)
    recipes = partial(first_recipes, advice.knowledge_dirs, date=here().today)
    choices = parse_runtimes(runtimes, known=first.config.environments, recipes=recipes)

    def advise_one(choice: RuntimeChoice) -> Advice:
        target = opts.for_runtime(choice)
        prep = prepare(inputs, opts=target, out=out, environ=environ, cwd=cwd)
        return run_advice(prep, opts=target, advise=advice, events=events).advices[0]

    compared = compare(advise_runtimes(choices, advise_one), recommendation=kind.value)
    if report is None:
        return ComparisonResult(comparison=compared, report="")
    text = render_runtime_comparison(compared.to_dict(), fmt=report.format)
    return ComparisonResult(comparison=compared, report=report.publish(text))
