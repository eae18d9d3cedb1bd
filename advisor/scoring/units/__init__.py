"""The built-in scoring units, one small module each (see DESIGN.md, "Scoring semantics").

Sits between the knowledge layer (what is known about each package) and the recommendation
bundles of :mod:`advisor.scoring.types`. Every unit is pure: it reads the candidate or the
pins and its :class:`~advisor.scoring.base.ScoringContext`, and says nothing when the
knowledge has nothing (neutral). Terms are in [-1, 1]; each module documents its values.

* :mod:`.security` — advisories: filter, scorer, annotator;
* :mod:`.build_risk` — needs a build, observed build outcomes;
* :mod:`.stability` — yanks, project status (PEP 792), release age, pre-releases, brand-new
  major versions; a filter for quarantined projects;
* :mod:`.performance` — measured probes, compared with an effect size and an interval;
* :mod:`.prescriptions` — curated rules: filter, scorer, stack check, annotator;
* :mod:`.compatibility` — pairs of releases observed failing together: stack check, annotator.
"""

from __future__ import annotations

from advisor.scoring.units.build_risk import BuildRiskScorer, WheelFilter
from advisor.scoring.units.compatibility import CompatibilityAnnotator, CompatibilityCheck
from advisor.scoring.units.performance import PerformanceAnnotator, PerformanceScorer
from advisor.scoring.units.prescriptions import (
    PrescriptionAnnotator,
    PrescriptionCheck,
    PrescriptionFilter,
    PrescriptionScorer,
)
from advisor.scoring.units.security import SecurityAnnotator, SecurityFilter, SecurityScorer
from advisor.scoring.units.stability import ProjectStatusFilter, StabilityScorer

__all__ = [
    "BuildRiskScorer",
    "CompatibilityAnnotator",
    "CompatibilityCheck",
    "PerformanceAnnotator",
    "PerformanceScorer",
    "PrescriptionAnnotator",
    "PrescriptionCheck",
    "PrescriptionFilter",
    "PrescriptionScorer",
    "ProjectStatusFilter",
    "SecurityAnnotator",
    "SecurityFilter",
    "SecurityScorer",
    "StabilityScorer",
    "WheelFilter",
]
