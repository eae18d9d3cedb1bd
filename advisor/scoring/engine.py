"""Runs a recommendation's units: per candidate (for the resolver) and per stack (for search).

:class:`UnitScorer` is what the resolvelib provider consults to order and filter candidates
(the ``CandidateScorer`` protocol of ``advisor.resolution.provider``); it memoises every
candidate's terms so the report can cite them. :meth:`UnitScorer.evaluate_stack` scores a
complete stack: the weighted terms of its pins plus the stack checks, or a rejection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.scoring.base import CandidateInfo, Justification, ScoreTerm, StackVerdict

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.models import DistFile, Edge, ProjectStatus
    from advisor.scoring.base import Recommendation, ScoringContext

__all__ = ["CandidateVerdict", "StackScore", "UnitScorer"]


def _rank(version: Version) -> float:
    """A sortable number for "newer first" among versions already ordered by score."""
    return float(version.major) * 1e6 + float(version.minor) * 1e3 + float(version.micro)


@dataclass(frozen=True, slots=True, kw_only=True)
class CandidateVerdict:
    """One version's verdict: removed by a filter (``reason``) or scored by ``terms``."""

    reason: str | None
    score: float
    terms: tuple[tuple[ScoreTerm, float], ...]  # (term, weight)


@dataclass(frozen=True, slots=True, kw_only=True)
class StackScore:
    total: float
    pin_scores: Mapping[str, float]
    stack_terms: tuple[ScoreTerm, ...] = ()
    justifications: tuple[Justification, ...] = ()
    reject: str | None = None
    reject_package: str | None = None
    nogood: tuple[tuple[str, str], ...] = ()  # what the rejection matched (see StackVerdict)


class UnitScorer:
    """The units of one recommendation, applied in one scoring context (one target).

    Cost: each unit runs once per candidate version asked about (memoised); a stack
    evaluation reuses those and runs the stack checks and annotators once.
    """

    def __init__(
        self,
        recommendation: Recommendation,
        ctx: ScoringContext,
        *,
        versions_of: Callable[[str], Sequence[Version]] | None = None,
        status_of: Callable[[str], ProjectStatus | None] | None = None,
    ) -> None:
        self.recommendation = recommendation
        self.ctx = ctx
        self._versions_of = versions_of
        self._status_of = status_of
        self._verdicts: dict[tuple[str, Version], CandidateVerdict] = {}
        self._by_name: dict[str, dict[Version, CandidateVerdict]] = {}
        self._infos: dict[tuple[str, Version], CandidateInfo] = {}

    def info(
        self,
        name: NormalizedName,
        version: Version,
        *,
        files: tuple[DistFile, ...],
        needs_build: bool,
        yanked: bool,
        direct: bool,
    ) -> CandidateInfo:
        uploads = sorted(f.upload_time for f in files if f.upload_time is not None)
        return CandidateInfo(
            name=name,
            version=version,
            files=files,
            needs_build=needs_build,
            yanked=yanked,
            upload_time=uploads[0] if uploads else None,
            requires_python=next((f.requires_python for f in files if f.requires_python), None),
            versions=tuple(self._versions_of(name)) if self._versions_of else (),
            direct=direct,
            project_status=self._status_of(name) if self._status_of else None,
        )

    def verdict(self, candidate: CandidateInfo) -> CandidateVerdict:
        key = (candidate.name, candidate.version)
        hit = self._verdicts.get(key)
        if hit is not None:
            return hit
        reason = None
        for unit in self.recommendation.filters:
            reason = unit.reject(candidate, self.ctx)
            if reason is not None:
                break
        terms: list[tuple[ScoreTerm, float]] = []
        for scorer, weight in self.recommendation.scorers:
            terms.extend((t, weight) for t in scorer.score(candidate, self.ctx))
        hit = CandidateVerdict(
            reason=reason,
            score=sum(t.value * w for t, w in terms),
            terms=tuple(terms),
        )
        self._verdicts[key] = hit
        self._by_name.setdefault(candidate.name, {})[candidate.version] = hit
        self._infos[key] = candidate
        return hit

    def best_score(self, name: str) -> float:
        """The highest score among the versions of ``name`` evaluated so far (no filter hit)."""
        scores = [v.score for v in self._by_name.get(name, {}).values() if v.reason is None]
        return max(scores, default=0.0)

    def alternatives(
        self, name: str, *, exclude: Version
    ) -> list[tuple[Version, str | None, float]]:
        """Other evaluated versions of ``name``: (version, filter reason, score), best first."""
        found = [
            (v, verdict.reason, verdict.score)
            for v, verdict in self._by_name.get(name, {}).items()
            if v != exclude
        ]
        return sorted(found, key=lambda item: (item[1] is not None, -item[2], -_rank(item[0])))

    def evaluate(
        self,
        name: NormalizedName,
        version: Version,
        *,
        files: tuple[DistFile, ...],
        needs_build: bool,
        yanked: bool,
        direct: bool,
    ) -> tuple[str | None, float]:
        """The provider's question: (filter reason or None, score) of one version."""
        info = self.info(
            name, version, files=files, needs_build=needs_build, yanked=yanked, direct=direct
        )
        verdict = self.verdict(info)
        return verdict.reason, verdict.score

    def known(self, name: str, version: Version) -> CandidateVerdict | None:
        """The verdict computed earlier for a version, if any (for reports)."""
        return self._verdicts.get((name, version))

    def candidate(self, name: str, version: Version) -> CandidateInfo | None:
        """What the units saw of a version scored earlier (its release facts), if any."""
        return self._infos.get((name, version))

    def evaluate_stack(
        self, pins: Mapping[NormalizedName, Version], *, edges: Sequence[Edge] = ()
    ) -> StackScore:
        """Total score of a complete stack, or its rejection by a stack check. ``edges``
        (the resolution's, when known) go to the checks.

        Pins the resolver never scored (a direct URL, say) count as neutral.
        """
        pin_scores: dict[str, float] = {}
        for name, version in pins.items():
            verdict = self._verdicts.get((name, version))
            pin_scores[name] = verdict.score if verdict is not None else 0.0
        stack_terms: list[ScoreTerm] = []
        total = sum(pin_scores.values())
        justifications: list[Justification] = []
        for check, weight in self.recommendation.checks:
            verdicts: Sequence[StackVerdict] = check.check(pins, self.ctx, edges=edges)
            for v in verdicts:
                if v.reject is not None:
                    return StackScore(
                        total=float("-inf"),
                        pin_scores=pin_scores,
                        reject=v.reject,
                        reject_package=v.package,
                        nogood=v.nogood,
                    )
                stack_terms.extend(v.terms)
                total += sum(t.value * weight for t in v.terms)
                justifications.extend(v.justifications)
        for annotator in self.recommendation.annotators:
            justifications.extend(annotator.annotate(pins, self.ctx))
        return StackScore(
            total=total,
            pin_scores=pin_scores,
            stack_terms=tuple(stack_terms),
            justifications=tuple(justifications),
        )
