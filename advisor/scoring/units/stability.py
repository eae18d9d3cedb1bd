"""Stability unit: prefer releases that have been out a while, final, on a settled major,
not yanked, of a project its index still calls active.

Sits between the index facts (upload times, yanks, the project's versions and its PEP 792
status, in :class:`~advisor.scoring.base.CandidateInfo`, or release facts from the
knowledge) and the recommendation bundles. :class:`StabilityScorer` gives at most five
terms:

==========================================================================  =======
fact                                                                        value
==========================================================================  =======
yanked by its maintainers (every file, or the release fact when no files)   -1.0
the project is **deprecated** on its index (PEP 792)                        -0.5
the project is **archived** on its index (PEP 792)                          -0.3
released less than ``policy.minimum_release_age_days`` before ``ctx.now``   -0.6
a pre-release (``a``/``b``/``rc``/``dev``), unless the project is in        -0.4
``policy.allow_prereleases``
a brand-new major version (see below)                                       -0.2
==========================================================================  =======

A project status applies to every version alike, so it changes no choice between versions
of the project; it lowers the stack's score and the report says it. A **quarantined**
project (the index considers it unsafe, malware say) is not scored but removed:
:class:`ProjectStatusFilter` rejects every version of it. The status's reason, when the
index gives one, is quoted.

The upload time is the candidate's (the earliest of its files), else the earliest
``upload_time`` of a :class:`~advisor.knowledge.schema.ReleaseObservation` of that version;
unknown, the age term is left out (neutral). A minimum age of 0 disables that term.

**Brand-new major** (final releases only, and only when an older major exists among the
project's versions): the first release of the candidate's major line was uploaded less than
30 days ago (when that upload time is known), or the candidate *is* that first release
(``X.0.0``, or the lowest ``X.*`` when there is no ``X.0.0``). Calendar-versioned projects
(major ≥ 1990) are skipped: a new year is not a new API.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from advisor.knowledge.schema import ReleaseObservation
from advisor.models import ProjectState
from advisor.scoring.base import ScoreTerm
from advisor.scoring.units._common import (
    DAY,
    as_utc,
    days_text,
    number_text,
    of_kind,
    parse_time,
    parse_version,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from packaging.version import Version

    from advisor.scoring.base import CandidateInfo, ScoringContext

__all__ = [
    "ARCHIVED",
    "DEPRECATED",
    "NEW_MAJOR",
    "NEW_MAJOR_DAYS",
    "PRERELEASE",
    "TOO_YOUNG",
    "YANKED",
    "ProjectStatusFilter",
    "StabilityScorer",
]

UNIT = "stability"
YANKED = -1.0
DEPRECATED = -0.5
ARCHIVED = -0.3
TOO_YOUNG = -0.6
PRERELEASE = -0.4
NEW_MAJOR = -0.2
NEW_MAJOR_DAYS = 30
_CALVER = 1990


def _release_time(name: str, version: Version, ctx: ScoringContext) -> dt.datetime | None:
    """The earliest upload time the release facts give for ``name==version``."""
    times = [
        t
        for fact in of_kind(ctx, name, ReleaseObservation)
        if parse_version(fact.version) == version
        and (t := parse_time(fact.upload_time)) is not None
    ]
    return min(times, default=None)


def _upload_time(candidate: CandidateInfo, ctx: ScoringContext) -> dt.datetime | None:
    if candidate.upload_time is not None:
        return as_utc(candidate.upload_time)
    return _release_time(candidate.name, candidate.version, ctx)


def _yank(candidate: CandidateInfo, ctx: ScoringContext) -> str | None:
    """Why the candidate was yanked (``"yanked: reason"``), or ``None`` when it was not."""
    if candidate.yanked:
        reasons = sorted({f.yanked for f in candidate.files if f.yanked})
        return "yanked" + (f": {reasons[0]}" if reasons else " by its maintainers")
    if candidate.files:
        return None
    for fact in of_kind(ctx, candidate.name, ReleaseObservation):
        if fact.yanked and parse_version(fact.version) == candidate.version:
            return "yanked" + (f": {fact.yanked_reason}" if fact.yanked_reason else "")
    return None


_STATUS_TERMS = {
    ProjectState.DEPRECATED: (DEPRECATED, "considered obsolete, perhaps superseded"),
    ProjectState.ARCHIVED: (ARCHIVED, "no further releases expected"),
}


def _status_term(candidate: CandidateInfo) -> ScoreTerm | None:
    status = candidate.project_status
    if status is None or status.state not in _STATUS_TERMS:
        return None
    value, meaning = _STATUS_TERMS[status.state]
    why = f": {status.reason}" if status.reason else ""
    return ScoreTerm(
        unit=UNIT,
        value=value,
        reason=f"project {status.state.value} on its index ({meaning}){why}",
        evidence="PEP 792 project status",
    )


class ProjectStatusFilter:
    """Removes every version of a project its index marks **quarantined** (PEP 792: the
    index considers it unsafe for use), with the index's reason."""

    name = UNIT

    def reject(self, candidate: CandidateInfo, ctx: ScoringContext) -> str | None:
        del ctx
        status = candidate.project_status
        if status is None or status.state is not ProjectState.QUARANTINED:
            return None
        why = f": {status.reason}" if status.reason else ""
        return f"project quarantined on its index (considered unsafe){why}"


class StabilityScorer:
    """Yanks, the project's status, release age against the policy's minimum,
    pre-releases, brand-new major versions."""

    name = UNIT

    def score(self, candidate: CandidateInfo, ctx: ScoringContext) -> Sequence[ScoreTerm]:
        terms: list[ScoreTerm] = []
        yank = _yank(candidate, ctx)
        if yank is not None:
            terms.append(ScoreTerm(unit=UNIT, value=YANKED, reason=yank, evidence=""))
        status = _status_term(candidate)
        if status is not None:
            terms.append(status)
        now = as_utc(ctx.now)
        uploaded = _upload_time(candidate, ctx)
        minimum = ctx.policy.minimum_release_age_days
        if uploaded is not None and minimum > 0:
            age = max(now - uploaded, dt.timedelta(0))
            if age < minimum * DAY:
                terms.append(
                    ScoreTerm(
                        unit=UNIT,
                        value=TOO_YOUNG,
                        reason=(
                            f"released {days_text(age)} ago "
                            f"(minimum age {number_text(minimum)} days)"
                        ),
                        evidence=uploaded.isoformat(),
                    )
                )
        version = candidate.version
        if version.is_prerelease and candidate.name not in ctx.policy.allow_prereleases:
            terms.append(
                ScoreTerm(
                    unit=UNIT,
                    value=PRERELEASE,
                    reason=f"pre-release {version} (allow with policy.allow-prereleases)",
                    evidence=f"PEP 440: {version} is a pre-release",
                )
            )
        major = self._new_major(candidate, ctx, uploaded=uploaded, now=now)
        if major is not None:
            older = max((v for v in candidate.versions if v.major < candidate.version.major
                         and not v.is_prerelease), default=None)  # fmt: skip
            evidence = f"newest earlier major: {older}" if older is not None else ""
            terms.append(ScoreTerm(unit=UNIT, value=NEW_MAJOR, reason=major, evidence=evidence))
        return tuple(terms)

    @staticmethod
    def _new_major(
        candidate: CandidateInfo,
        ctx: ScoringContext,
        *,
        uploaded: dt.datetime | None,
        now: dt.datetime,
    ) -> str | None:
        version = candidate.version
        major = version.major
        if version.is_prerelease or major >= _CALVER:
            return None
        finals = {v for v in candidate.versions if not v.is_prerelease}
        if not any(v.major < major for v in finals):
            return None
        first = min({v for v in finals if v.major == major} | {version})
        first_time = uploaded if first == version else _release_time(candidate.name, first, ctx)
        if first_time is None:
            return None  # when the line started is unknown: neutral, as missing knowledge is
        age = max(now - first_time, dt.timedelta(0))
        if age < NEW_MAJOR_DAYS * DAY:
            return f"major version {major} is new: {first} was released {days_text(age)} ago"
        return None
