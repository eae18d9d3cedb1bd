"""``advisor advise INPUTS --compare-env A --compare-env B``: one advice per runtime, compared.

Part of the composition root, wiring only (the ``advise`` job calls it when runtimes are to
be compared, :func:`advisor.api.locking.advise`): the runtimes named are parsed
(:func:`advisor.advice.runtimes.parse_runtime`: a configured environment, a curated image
recipe's runtime or a Python version); for each one the inputs are prepared for that target
and advised (:func:`advisor.api.advising.run_advice`, nothing written) by
:func:`advisor.advice.runtimes.advise_runtimes`, and
:func:`advisor.advice.runtimes.compare_runtimes` chooses. A runtime without an acceptable
stack is a row of the comparison, not an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from advisor.events import SILENT
from advisor.options.outcomes import ComparisonResult

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.advice.runtimes import RuntimeChoice
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import ImageRecipe
    from advisor.models import RecommendationType
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
    recommendation: RecommendationType | str | None = None,
    report: ReportOptions | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> ComparisonResult:
    """Advise ``inputs`` for each of ``runtimes`` and compare (see
    :mod:`advisor.advice.runtimes`); the recommendation type is chosen as
    :func:`advisor.api.locking.advise` chooses it; with ``report``, the comparison is
    rendered in its format into the result's ``report`` and, with a ``report.path``, written
    there (atomically, as the advice's report); no lock is written. Raises
    :class:`~advisor.errors.InputError` for a runtime that is neither configured nor a
    Python version, or fewer than two runtimes."""
    import dataclasses

    from advisor.advice.runtimes import advise_runtimes, image_runtimes, parse_runtime
    from advisor.advice.runtimes import compare_runtimes as compare
    from advisor.api.advising import run_advice
    from advisor.api.inputs import LockOptions, prepare
    from advisor.options.resolve import advised_recommendation
    from advisor.report.runtimes import render_runtime_comparison

    out = LockOptions(output=Path("-"), dry_run=True, command="advisor advise")
    first = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
    kind = advised_recommendation(recommendation, opts=opts, config=first.config)
    opts = dataclasses.replace(opts, recommendation=kind)
    images = {}
    if any(r.startswith("image:") for r in runtimes):
        images = image_runtimes(_recipes(advice.knowledge_dirs))
    choices = [parse_runtime(r, known=first.config.environments, images=images) for r in runtimes]

    def advise_one(choice: RuntimeChoice) -> Advice:
        target = opts.for_runtime(choice)
        prep = prepare(inputs, opts=target, out=out, environ=environ, cwd=cwd)
        return run_advice(prep, opts=target, advise=advice, events=events).advices[0]

    compared = compare(advise_runtimes(choices, advise_one), recommendation=kind.value)
    text = (
        "" if report is None else render_runtime_comparison(compared.to_dict(), fmt=report.format)
    )
    if report is not None and report.path is not None and report.to_file:
        from advisor.lockfile.write import write_output

        write_output(report.path, text + "\n")  # atomic, as the advice's report
    return ComparisonResult(comparison=compared, report=text)


def _recipes(knowledge_dirs: Sequence[Path]) -> tuple[ImageRecipe, ...]:
    """The image recipes of the first of ``knowledge_dirs`` that has some, else of the
    curated folder (:func:`advisor.knowledge.bundled.recipes_folder`, which raises without)."""
    from datetime import UTC, datetime

    from advisor.image.recipes import load_recipes
    from advisor.knowledge.bundled import recipes_folder

    folder = next((d for d in knowledge_dirs if (d / "images").is_dir()), None)
    return load_recipes(recipes_folder(folder), date=datetime.now(UTC).date().isoformat())
