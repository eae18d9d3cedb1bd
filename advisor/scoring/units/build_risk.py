"""Build-risk unit: how likely a candidate is to install cleanly on the target.

Sits between the index facts (a candidate's files, carried by
:class:`~advisor.scoring.base.CandidateInfo`; release facts and build outcomes from the
knowledge) and the recommendation bundles. :class:`WheelFilter` removes a direct requirement's
version without a wheel for the target (``testing``). :class:`BuildRiskScorer` gives at most
two terms, each in [-1, 1] (a yank is the stability unit's: it says nothing about a build):

======================================================  ============  ======================
fact                                                    value         evidence
======================================================  ============  ======================
no wheel for the target (``needs_build``), or only an   -0.5          the platform tag
sdist published
matching build observations that **failed**             -0.8 * trust  the newest one's key
matching build observations, all **ok**                 +0.1 * trust  the newest one's key
======================================================  ============  ======================

A :class:`~advisor.knowledge.schema.BuildObservation` matches when it is about the same
project, its ``version`` equals the candidate's (or its ``specifier`` contains it, pre-
releases included; neither set: every version), and its environment predicate holds for the
target (:func:`advisor.knowledge.rules.environment_matches`). Failures win over successes
(a failure on a matching environment is a risk however many builds passed); outcomes
``needs-build`` and ``no-wheel`` add nothing, since the index facts already say it, and
``artefact-fault`` (a local file that did not match the lock) says nothing about the release
at all. An observation with an invalid specifier or predicate is skipped. The
requires-python "edge" (a target that only just satisfies a bound) is not scored: no clear
rule separates a risky edge from an ordinary lower bound. Missing knowledge is neutral.

**Trust** prefers repeated independent observations over a single one. Observations are
independent when different machines recorded them (the provenance's ``recorder``; every
unattributed observation counts as one recorder): seen by :data:`INDEPENDENT` or more
recorders, trust is 1; by one recorder, 0.5 when it was observed more than once and 0.25
for a single observation (one machine's one run may be that machine's fault). The
justification says how many observations and recorders the term rests on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.knowledge.rules import environment_matches, parse_specifier
from advisor.knowledge.schema import BuildObservation, observation_key
from advisor.models import DistKind
from advisor.scoring.base import ScoreTerm
from advisor.scoring.units._common import of_kind, parse_version, same_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from advisor.scoring.base import CandidateInfo, ScoringContext

__all__ = [
    "BUILD_FAILED",
    "BUILD_OK",
    "INDEPENDENT",
    "NEEDS_BUILD",
    "BuildRiskScorer",
    "WheelFilter",
    "trust",
]

UNIT = "build_risk"
NEEDS_BUILD = -0.5
BUILD_FAILED = -0.8
BUILD_OK = 0.1
#: recorders whose agreeing observations get full trust
INDEPENDENT = 2
_REPEATED = 0.5  # one recorder, several observations
_SINGLE = 0.25  # one recorder, one observation


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


def trust(observations: Sequence[BuildObservation]) -> float:
    """How much agreeing ``observations`` are worth, in (0, 1]: 1 when at least
    :data:`INDEPENDENT` recorders saw it, else 0.5 for one recorder's repeated
    observations and 0.25 for a single one."""
    recorders = {o.provenance.recorder for o in observations}
    if len(recorders) >= INDEPENDENT:
        return 1.0
    return _REPEATED if len(observations) > 1 else _SINGLE


def _evidence_text(observations: Sequence[BuildObservation]) -> str:
    """``"3 observations by 2 recorders"``, with what a single recorder's word is worth."""
    count = len(observations)
    recorders = len({o.provenance.recorder for o in observations})
    text = (
        f"{count} observation{'s' if count != 1 else ''} by {recorders} "
        f"recorder{'s' if recorders != 1 else ''}"
    )
    if recorders < INDEPENDENT:
        text += ": a single observation counts little" if count == 1 else ": not independent"
    return text


class WheelFilter:
    """Removes a version of a direct requirement that has no wheel for the target (its sdist
    would have to be built): the ``testing`` type, so that a CI job runs in bounded time on
    what installs as published. ``--allow-sdist`` leaves this filter out."""

    name = "wheels"

    def reject(self, candidate: CandidateInfo, ctx: ScoringContext) -> str | None:
        if not candidate.direct or not candidate.needs_build:
            return None
        return "no wheel for the target (testing builds no sdist without --allow-sdist)"


class BuildRiskScorer:
    """Needs a build (no wheel for the target, or only an sdist), and observed build
    outcomes on matching environments."""

    name = UNIT

    def score(self, candidate: CandidateInfo, ctx: ScoringContext) -> Sequence[ScoreTerm]:
        terms: list[ScoreTerm] = []
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
    def _needs_build(candidate: CandidateInfo, ctx: ScoringContext) -> str | None:
        kinds = {f.parsed.kind for f in candidate.files if f.parsed is not None}
        if kinds == {DistKind.SDIST}:
            return "needs a build: only a source distribution is published"
        if candidate.needs_build:
            return f"needs a build: no wheel for {ctx.env.platform}"
        return None

    @staticmethod
    def _observed(candidate: CandidateInfo, ctx: ScoringContext) -> ScoreTerm | None:
        # only outcomes about the release count: an artefact fault is the local file's
        matching = [
            obs
            for obs in of_kind(ctx, candidate.name, BuildObservation)
            if obs.outcome in ("ok", "failed") and _applies(obs, candidate, ctx)
        ]
        failed = [o for o in matching if o.outcome == "failed"]
        if failed:
            newest = _newest(failed)
            why = f" ({newest.failure_class})" if newest.failure_class else ""
            return ScoreTerm(
                unit=UNIT,
                value=round(BUILD_FAILED * trust(failed), 6),
                reason=(
                    f"build failed{why} on a matching environment "
                    f"({len(failed)} of {len(matching)} observations; failed: "
                    f"{_evidence_text(failed)}; latest {newest.provenance.date[:10]}, "
                    f"{newest.provenance.source})"
                ),
                evidence=observation_key(newest),
            )
        if matching:
            newest = _newest(matching)
            return ScoreTerm(
                unit=UNIT,
                value=round(BUILD_OK * trust(matching), 6),
                reason=(
                    f"installed cleanly on a matching environment ({_evidence_text(matching)}; "
                    f"latest {newest.provenance.date[:10]}, {newest.provenance.source})"
                ),
                evidence=observation_key(newest),
            )
        return None
