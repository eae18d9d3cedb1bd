"""Build-risk unit: how likely a candidate is to install cleanly on the target.

Sits between the index facts (a candidate's files, carried by
:class:`~advisor.scoring.base.CandidateInfo`; release facts and build outcomes from the
knowledge) and the recommendation bundles. :class:`BuildRiskScorer` gives at most three
terms, each in [-1, 1]:

======================================================  =======  ===========================
fact                                                    value    evidence
======================================================  =======  ===========================
yanked (every file, or the release fact when no files)  -1.0     the yank reason
no wheel for the target (``needs_build``), or only an   -0.5     the platform tag
sdist published
a matching build observation that **failed**            -0.8     its observation key
matching build observations, all **ok**                 +0.1     the newest one's key
======================================================  =======  ===========================

A :class:`~advisor.knowledge.schema.BuildObservation` matches when it is about the same
project, its ``version`` equals the candidate's (or its ``specifier`` contains it, pre-
releases included; neither set: every version), and its environment predicate holds for the
target (:func:`advisor.knowledge.rules.environment_matches`). Failures win over successes
(one failure on a matching environment is a risk however many builds passed); outcomes
``needs-build`` and ``no-wheel`` add nothing, since the index facts already say it. An
observation with an invalid specifier or predicate is skipped. The requires-python "edge"
(a target that only just satisfies a bound) is not scored: no clear rule separates a risky
edge from an ordinary lower bound. Missing knowledge gives no term (neutral).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.knowledge.rules import environment_matches, parse_specifier
from advisor.knowledge.schema import BuildObservation, ReleaseObservation, observation_key
from advisor.models import DistKind
from advisor.scoring.base import ScoreTerm
from advisor.scoring.units._common import of_kind, parse_version, same_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from advisor.scoring.base import CandidateInfo, ScoringContext

__all__ = ["BUILD_FAILED", "BUILD_OK", "NEEDS_BUILD", "YANKED", "BuildRiskScorer"]

UNIT = "build_risk"
YANKED = -1.0
NEEDS_BUILD = -0.5
BUILD_FAILED = -0.8
BUILD_OK = 0.1


def _applies(obs: BuildObservation, candidate: CandidateInfo, ctx: ScoringContext) -> bool:
    if obs.package is None or not same_name(obs.package, candidate.name):
        return False
    try:
        if obs.version is not None:
            if parse_version(obs.version) != candidate.version:
                return False
        elif obs.specifier is not None and not parse_specifier(obs.specifier).contains(
            candidate.version, prereleases=True
        ):
            return False
        return environment_matches(obs.environment, ctx.env, recommendation=ctx.recommendation)
    except InputError:
        return False  # a malformed observation says nothing (the validator reports it)


def _newest(observations: Sequence[BuildObservation]) -> BuildObservation:
    return max(observations, key=lambda o: (o.provenance.date, observation_key(o)))


class BuildRiskScorer:
    """Yanked, needs a build, and observed build outcomes on matching environments."""

    name = UNIT

    def score(self, candidate: CandidateInfo, ctx: ScoringContext) -> Sequence[ScoreTerm]:
        terms: list[ScoreTerm] = []
        yank = self._yank(candidate, ctx)
        if yank is not None:
            terms.append(ScoreTerm(unit=UNIT, value=YANKED, reason=yank, evidence=""))
        build = self._needs_build(candidate, ctx)
        if build is not None:
            terms.append(
                ScoreTerm(unit=UNIT, value=NEEDS_BUILD, reason=build, evidence=ctx.env.platform)
            )
        observed = self._observed(candidate, ctx)
        if observed is not None:
            terms.append(observed)
        return tuple(terms)

    @staticmethod
    def _yank(candidate: CandidateInfo, ctx: ScoringContext) -> str | None:
        if candidate.yanked:
            reasons = sorted({f.yanked for f in candidate.files if f.yanked})
            return "yanked" + (f": {reasons[0]}" if reasons else " by its maintainers")
        if candidate.files:
            return None
        for fact in of_kind(ctx, candidate.name, ReleaseObservation):
            if fact.yanked and parse_version(fact.version) == candidate.version:
                return "yanked" + (f": {fact.yanked_reason}" if fact.yanked_reason else "")
        return None

    @staticmethod
    def _needs_build(candidate: CandidateInfo, ctx: ScoringContext) -> str | None:
        kinds = {f.parsed.kind for f in candidate.files if f.parsed is not None}
        if kinds == {DistKind.SDIST}:
            return "needs a build: only a source distribution is published"
        if candidate.needs_build:
            return f"needs a build: no wheel for {ctx.env.platform}"
        return None

    @staticmethod
    def _observed(candidate: CandidateInfo, ctx: ScoringContext) -> ScoreTerm | None:
        matching = [
            obs
            for obs in of_kind(ctx, candidate.name, BuildObservation)
            if _applies(obs, candidate, ctx)
        ]
        failed = [o for o in matching if o.outcome == "failed"]
        if failed:
            newest = _newest(failed)
            why = f" ({newest.failure_class})" if newest.failure_class else ""
            return ScoreTerm(
                unit=UNIT,
                value=BUILD_FAILED,
                reason=(
                    f"build failed{why} on a matching environment "
                    f"({len(failed)} of {len(matching)} observations, "
                    f"latest {newest.provenance.date[:10]}, {newest.provenance.source})"
                ),
                evidence=observation_key(newest),
            )
        ok = [o for o in matching if o.outcome == "ok"]
        if ok:
            newest = _newest(ok)
            return ScoreTerm(
                unit=UNIT,
                value=BUILD_OK,
                reason=(
                    f"installed cleanly on a matching environment ({len(ok)} observations, "
                    f"latest {newest.provenance.date[:10]}, {newest.provenance.source})"
                ),
                evidence=observation_key(newest),
            )
        return None
