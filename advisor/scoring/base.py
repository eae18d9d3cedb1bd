"""Scoring units and the values they exchange (see DESIGN.md, "Scoring semantics").

Four kinds of unit, each a small object with a ``name``:

* a **filter** removes a candidate before resolution, with a reason;
* a **scorer** returns terms in [-1, 1] for a candidate in its context;
* a **stack check** accepts, rejects or scores a complete stack (co-installed rules);
* an **annotator** adds justifications (info/warning/error, message, link) without scoring.

A :class:`Recommendation` bundles units with weights. A stack's score is the weighted sum of
its pins' terms plus the stack checks' terms. Units are pure: what they know comes in the
:class:`ScoringContext` (the target, the time, the knowledge about each package, the policy),
so scores are deterministic for a fixed knowledge snapshot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from advisor.policy import Policy

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.schema import Observation
    from advisor.models import DistFile, Edge, ProjectStatus

__all__ = [
    "Annotator",
    "CandidateInfo",
    "Filter",
    "Justification",
    "KnowledgeView",
    "Level",
    "Recommendation",
    "ScoreTerm",
    "Scorer",
    "ScoringContext",
    "StackCheck",
    "StackVerdict",
    "clamp",
]

Level = Literal["info", "warning", "error"]


def clamp(value: float) -> float:
    """``value`` limited to [-1, 1]; NaN counts as 0 (a broken measurement is no signal)."""
    if math.isnan(value):
        return 0.0
    return max(-1.0, min(1.0, value))


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreTerm:
    """One reason a candidate (or stack) scores what it does. ``value`` is in [-1, 1];
    ``evidence`` is a link or an observation key; ``unit`` names the unit that made it.

    A term made from measurements also carries the statistics behind it: ``effect`` (the
    relative difference, positive when the candidate is better: ``0.12`` for 12 % faster),
    ``ci`` its confidence interval ``(low, high)`` and ``n`` the sample counts ``(this
    version's, the compared version's)``; ``None`` for terms that are not measured."""

    unit: str
    value: float
    reason: str
    evidence: str = ""
    effect: float | None = None
    ci: tuple[float, float] | None = None
    n: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", clamp(self.value))
        if self.ci is not None and not self.ci[0] <= self.ci[1]:
            raise ValueError(f"confidence interval {self.ci} is not (low, high)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Justification:
    """A short typed sentence with a link to its evidence, about a package or the stack."""

    level: Level
    message: str
    unit: str
    package: str | None = None
    link: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CandidateInfo:
    """What units see of one candidate: its files on the target and its project's history.

    ``versions`` are every version the index offers for the project (newest first), so a
    unit can tell "a brand-new major version" or "the newest patch of this line".
    ``upload_time`` is the earliest upload of the candidate's files (PEP 700), if known.
    ``project_status`` is the project's PEP 792 status on its index (``None``: the index
    gave none, so active). These are the candidate's *release facts*: they come with the
    index pages the resolver reads anyway, so every candidate from an index has them.
    """

    name: NormalizedName
    version: Version
    files: tuple[DistFile, ...] = ()
    needs_build: bool = False
    yanked: bool = False
    upload_time: datetime | None = None
    requires_python: str | None = None
    versions: tuple[Version, ...] = ()
    direct: bool = False
    project_status: ProjectStatus | None = None


class KnowledgeView(Protocol):
    """Read access to the knowledge graph, per package (memoised by the implementation)."""

    def for_package(self, name: str) -> Sequence[Observation]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoringContext:
    env: RuntimeEnvironment
    recommendation: str
    now: datetime
    knowledge: KnowledgeView
    policy: Policy = field(default_factory=Policy)


@dataclass(frozen=True, slots=True, kw_only=True)
class StackVerdict:
    """A stack check's answer: ``reject`` (a reason) or terms and justifications.

    A rejection carries ``nogood``: the (project name, PEP 440 specifier) pairs that together
    matched (a rule's package specifier and each co-installed one; an observed pair's two
    ``==`` versions). The stack search learns "not all of these at once" from it and
    re-resolves around it; empty when nothing narrower than the whole stack can be blamed.
    """

    reject: str | None = None
    terms: tuple[ScoreTerm, ...] = ()
    justifications: tuple[Justification, ...] = ()
    package: str | None = None  # the package the verdict is mainly about, for reports
    nogood: tuple[tuple[str, str], ...] = ()


class Filter(Protocol):
    name: str

    def reject(self, candidate: CandidateInfo, ctx: ScoringContext) -> str | None:
        """A reason to remove ``candidate`` (shown in conflicts and reports), or ``None``."""
        ...


class Scorer(Protocol):
    name: str

    def score(self, candidate: CandidateInfo, ctx: ScoringContext) -> Sequence[ScoreTerm]:
        """Terms for ``candidate``; empty when the unit knows nothing (neutral)."""
        ...


class StackCheck(Protocol):
    name: str

    def check(
        self,
        pins: Mapping[NormalizedName, Version],
        ctx: ScoringContext,
        *,
        edges: Sequence[Edge] = (),
    ) -> Sequence[StackVerdict]:
        """Verdicts about the complete stack ``pins`` (empty: nothing to say); ``edges``
        are the resolution's dependency edges when known (``()``: a stack given as pins
        only), so a verdict can say what brought a package in."""
        ...


class Annotator(Protocol):
    name: str

    def annotate(
        self, pins: Mapping[NormalizedName, Version], ctx: ScoringContext
    ) -> Sequence[Justification]:
        """Justifications about the stack; never changes a score."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Recommendation:
    """A recommendation type: units and weights (documented in docs/scoring.md)."""

    name: str
    description: str
    filters: tuple[Filter, ...] = ()
    scorers: tuple[tuple[Scorer, float], ...] = ()
    checks: tuple[tuple[StackCheck, float], ...] = ()
    annotators: tuple[Annotator, ...] = ()
    lowest_direct: bool = False  # testing: the lowest direct versions that still resolve
    workload: str | None = None  # the workload its performance unit weighs (--workload)
