"""``advisor advise INPUTS --compare-env A --compare-env B``: one advice per runtime, compared.

Part of the composition root, wiring only: for each runtime named
(:func:`advisor.advice.runtimes.parse_runtime`: a configured environment, a curated image
recipe's runtime or a Python version)
it prepares the inputs for that target and runs the advice (:func:`advisor.api.advising.
run_advice`, nothing written), then lets :func:`advisor.advice.runtimes.compare_runtimes`
choose. A runtime without an acceptable stack is a row of the comparison, not an error.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.advice.runtimes import RuntimeChoice, RuntimeComparison
    from advisor.api.advising import AdviseOptions
    from advisor.api.context import ResolveOptions
    from advisor.events import ProgressEvents
    from advisor.models import RecommendationType

__all__ = ["compare_runtimes"]


def compare_runtimes(
    inputs: Sequence[Path],
    runtimes: Sequence[str],
    *,
    opts: ResolveOptions,
    advice: AdviseOptions,
    recommendation: RecommendationType | str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> RuntimeComparison:
    """Advise ``inputs`` for each of ``runtimes`` and compare (see
    :mod:`advisor.advice.runtimes`); the recommendation type is chosen as
    :func:`advisor.api.locking.advise` chooses it. Writes nothing. Raises
    :class:`~advisor.errors.InputError` for a runtime that is neither configured nor a
    Python version, or fewer than two runtimes."""
    from advisor.advice.runtimes import RuntimeOutcome, parse_runtime
    from advisor.advice.runtimes import compare_runtimes as compare
    from advisor.api.advising import run_advice
    from advisor.api.inputs import LockOptions, prepare
    from advisor.errors import NoViableStack
    from advisor.models import RecommendationType

    out = LockOptions(output=Path("-"), dry_run=True, command="advisor advise")
    first = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
    given = recommendation or (
        opts.recommendation if opts.recommendation != RecommendationType.LATEST else None
    )
    kind = RecommendationType.parse(
        given or first.config.recommendation or RecommendationType.STABLE
    )
    images = _image_runtimes(advice) if any(r.startswith("image:") for r in runtimes) else {}
    choices = [parse_runtime(r, known=first.config.environments, images=images) for r in runtimes]
    outcomes = []
    for choice in choices:
        target = dataclasses.replace(
            opts,
            recommendation=kind,
            envs=(choice.env,) if choice.env else (),
            python=choice.python or (None if choice.env else opts.python),
            platform=choice.platform or opts.platform,
            implementation=choice.implementation or opts.implementation,
            cuda=choice.cuda or opts.cuda,
        )
        prep = prepare(inputs, opts=target, out=out, environ=environ, cwd=cwd)
        try:
            done = run_advice(prep, opts=target, advise=advice, events=events)
        except NoViableStack as exc:
            outcomes.append(RuntimeOutcome(choice=choice, error=str(exc).splitlines()[0]))
            continue
        outcomes.append(RuntimeOutcome(choice=choice, advice=done.advices[0]))
    return compare(outcomes, recommendation=kind.value)


def _image_runtimes(advice: AdviseOptions) -> dict[str, RuntimeChoice]:
    """Recipe name → its runtime (Python, platform, implementation, CUDA), from the first
    ``--knowledge-dir`` with image recipes, else this checkout's ``knowledge/``."""
    from advisor.advice.runtimes import RuntimeChoice
    from advisor.api.imaging import list_recipes

    folder = next((d for d in advice.knowledge_dirs if (d / "images").is_dir()), None)
    return {
        r.name: RuntimeChoice(
            label=f"image:{r.name}",
            python=r.python,
            platform=r.platform,
            implementation=r.implementation,
            cuda=r.cuda,
        )
        for r in list_recipes(knowledge_dir=folder)
    }
