"""Recommendation types: the built-in bundles of scoring units and weights.

Sits between the units (:mod:`advisor.scoring.units`) and the stack search, which takes one
:class:`~advisor.scoring.base.Recommendation` (``--recommendation``, else the configuration's
``recommendation``, else ``stable``). A stack's score is the weighted sum of its pins' terms
plus the stack checks' weighted terms; every term is in [-1, 1].

| unit | `latest` | `stable` | `performance` | `security` | `testing` |
|---|---|---|---|---|---|
| security filter | | | | yes | |
| stability filter | | yes | yes | yes | |
| wheels filter | | | | | yes |
| prescriptions filter | | yes | yes | yes | yes |
| security scorer | | 3.0 | 3.0 | 3.0 | |
| build risk scorer | | 1.5 | 1.5 | 1.5 | |
| stability scorer | | 1.0 | 1.0 | 1.0 | |
| prescriptions scorer | | 1.0 | 1.0 | 1.0 | |
| performance scorer | | | 2.0 | | |
| compatibility stack check | | 1.0 | 1.0 | 1.0 | 1.0 |
| prescriptions stack check | | 1.0 | 1.0 | 1.0 | 1.0 |
| prescriptions annotator | all rules | `justify` | `justify` | `justify` | all rules |
| security annotator | warns | warns | warns | warns | warns |
| compatibility annotator | observed failing pairs | | | | observed failing pairs |
| performance annotator | | | workload, unusable observations | | |
| candidate order | pip's | by score | by score | by score | lowest direct first |

Unit values (each term in [-1, 1], before the weight):

| unit | fact | value |
|---|---|---|
| security | affected by an advisory that is not waived (one term per advisory) | -1.0 |
| build risk | no wheel for the target, or only an sdist | -0.5 |
| build risk | matching build observations failed / all were ok (times their trust) | -0.8 / +0.1 |
| stability | yanked | -1.0 |
| stability | project deprecated on its index (PEP 792) | -0.5 |
| stability | project archived on its index (PEP 792) | -0.3 |
| stability | younger than `minimum-release-age-days` (default 7) | -0.6 |
| stability | pre-release not allowed by `allow-prereleases` | -0.4 |
| stability | brand-new major version | -0.2 |
| performance | per probe, against the best other version: `clamp(2 * effect)` (*) | -1 to +1 |
| performance | the same, halved when measured on another CPU vendor or model | -0.5 to +0.5 |
| prescriptions | a matching `score` rule | the rule's score |

The compatibility check never scores: it rejects a stack holding a pair of releases observed
failing together on an environment like the target (see
:mod:`advisor.scoring.units.compatibility`).

The stability filter removes every version of a project its index marks quarantined
(PEP 792: considered unsafe).

(*) only when the 95 % interval of the effect excludes no difference and the effect is at
least 5 % (see :mod:`advisor.scoring.units.performance`).

`latest` is exactly pip's choice; its annotator reports what the other types would act on,
never changing the stack. `testing` changes the order (lowest direct versions first), takes
only direct versions with a wheel for the target (the wheels filter; `--allow-sdist` removes
it), and never a stack a curated rule filters out or rejects:
a rejection becomes a learned constraint the search resolves around (see
:mod:`advisor.resolution.search`). Missing knowledge is neutral everywhere.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.models import RecommendationType
from advisor.scoring.base import Recommendation
from advisor.scoring.units import (
    BuildRiskScorer,
    CompatibilityAnnotator,
    CompatibilityCheck,
    PerformanceAnnotator,
    PerformanceScorer,
    PrescriptionAnnotator,
    PrescriptionCheck,
    PrescriptionFilter,
    PrescriptionScorer,
    ProjectStatusFilter,
    SecurityAnnotator,
    SecurityFilter,
    SecurityScorer,
    StabilityScorer,
    WheelFilter,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from advisor.scoring.base import Annotator, Scorer
    from advisor.scoring.units.performance import Workload

__all__ = [
    "DEFAULT_RECOMMENDATION",
    "RECOMMENDATIONS",
    "recommendation",
    "with_sdists",
    "with_workload",
]

DEFAULT_RECOMMENDATION = RecommendationType.STABLE
PERFORMANCE_WEIGHT = 2.0


def _bundles() -> Mapping[RecommendationType, Recommendation]:
    stable_scorers: tuple[tuple[Scorer, float], ...] = (
        (SecurityScorer(), 3.0),
        (BuildRiskScorer(), 1.5),
        (StabilityScorer(), 1.0),
        (PrescriptionScorer(), 1.0),
    )
    # observed evidence first: a stack both reject is cited by what was seen on a machine
    # like the target, and its nogood names the observed pair
    checks = ((CompatibilityCheck(), 1.0), (PrescriptionCheck(), 1.0))
    annotators = (PrescriptionAnnotator(), SecurityAnnotator())
    observing = (
        PrescriptionAnnotator(all_kinds=True),
        SecurityAnnotator(),
        CompatibilityAnnotator(),
    )
    bundles = (
        Recommendation(
            name=RecommendationType.LATEST,
            description="exactly what pip picks; only annotators run",
            annotators=observing,
        ),
        Recommendation(
            name=RecommendationType.STABLE,
            description=(
                "penalises advisories, build risk, too-young releases and curated rule hits"
            ),
            filters=(ProjectStatusFilter(), PrescriptionFilter()),
            scorers=stable_scorers,
            checks=checks,
            annotators=annotators,
        ),
        Recommendation(
            name=RecommendationType.PERFORMANCE,
            description="stable, plus measured performance on environments like the target",
            filters=(ProjectStatusFilter(), PrescriptionFilter()),
            scorers=(*stable_scorers, (PerformanceScorer(), PERFORMANCE_WEIGHT)),
            checks=checks,
            annotators=(*annotators, PerformanceAnnotator()),
        ),
        Recommendation(
            name=RecommendationType.SECURITY,
            description="versions affected by a non-waived advisory are filtered out",
            filters=(SecurityFilter(), ProjectStatusFilter(), PrescriptionFilter()),
            scorers=stable_scorers,
            checks=checks,
            annotators=annotators,
        ),
        Recommendation(
            name=RecommendationType.TESTING,
            description=(
                "the lowest versions of direct dependencies with a wheel for the target that "
                "resolve and that no curated rule rejects"
            ),
            filters=(WheelFilter(), PrescriptionFilter()),
            checks=checks,
            annotators=observing,
            lowest_direct=True,
        ),
    )
    return MappingProxyType({RecommendationType(b.name): b for b in bundles})


#: The built-in recommendation types by name (read-only).
RECOMMENDATIONS: Mapping[RecommendationType, Recommendation] = _bundles()


def recommendation(name: str) -> Recommendation:
    """The recommendation type called ``name`` (case and surrounding spaces ignored).

    Raises :class:`~advisor.errors.InputError` listing the known types for any other name.
    """
    return RECOMMENDATIONS[RecommendationType.parse(name)]


def with_sdists(kind: Recommendation) -> Recommendation:
    """``kind`` without its wheel filter (``--allow-sdist``: ``testing`` may then pick a
    direct requirement's version that only an sdist build installs)."""
    return dataclasses.replace(
        kind, filters=tuple(f for f in kind.filters if not isinstance(f, WheelFilter))
    )


def with_workload(kind: Recommendation, workload: Workload) -> Recommendation:
    """``kind`` with its performance unit weighing only the probes of ``workload``, and an
    annotator that names the workload in the report. Raises
    :class:`~advisor.errors.InputError` when ``kind`` has no performance unit."""
    if not any(isinstance(unit, PerformanceScorer) for unit, _ in kind.scorers):
        raise InputError(
            f"a workload only applies to the performance recommendation, not {kind.name!r}"
        )
    scorers: tuple[tuple[Scorer, float], ...] = tuple(
        (PerformanceScorer(threshold=unit.threshold, workload=workload), weight)
        if isinstance(unit, PerformanceScorer)
        else (unit, weight)
        for unit, weight in kind.scorers
    )
    annotators: tuple[Annotator, ...] = tuple(
        PerformanceAnnotator(workload=workload) if isinstance(a, PerformanceAnnotator) else a
        for a in kind.annotators
    )
    return dataclasses.replace(kind, scorers=scorers, annotators=annotators, workload=workload.name)
