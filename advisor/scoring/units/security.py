"""Security units: advisories (OSV) against candidates and pins.

Sits between the knowledge layer (:class:`~advisor.knowledge.schema.Advisory` values, judged
by :func:`advisor.knowledge.osv.is_affected`) and the recommendation bundles:

* :class:`SecurityFilter` removes a candidate affected by an advisory that is not waived (the
  ``security`` type) and that some release of the project escapes; its reason names each
  advisory, its fixed versions and the nearest unaffected release, so a conflict report can
  say what blocks what and what would be safe. An advisory no release escapes
  (:func:`unfixable_hits`) is left to the scorer, so ``security`` still returns the stack
  with the fewest and least severe of them, and warns.
* :class:`SecurityScorer` gives one term of **-1.0** per non-waived advisory affecting the
  candidate (``stable``, ``performance``, ``security``), -0.75 for a moderate and -0.5 for a
  low one (:func:`severity_weight`); an unaffected candidate gets no term.
* :class:`SecurityAnnotator` warns about every pinned version that is affected (the stack is
  never changed), and says which waivers were used (``info``) or have run out.

A waiver (``policy.allow-advisories``) matches an advisory's id or any of its aliases
(case-insensitive) and holds while ``ctx.now`` is not after its ``until``. Withdrawn
advisories never match. A package the knowledge knows nothing about gets no term (neutral).
Cost: per candidate, one :func:`~advisor.knowledge.osv.is_affected` per advisory of the
package (OSV ranges are parsed once per process).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.knowledge.osv import fixed_versions, is_affected
from advisor.knowledge.schema import Advisory
from advisor.scoring.base import Justification, ScoreTerm
from advisor.scoring.units._common import as_utc, of_kind

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.policy import Waiver
    from advisor.scoring.base import CandidateInfo, Level, ScoringContext

__all__ = [
    "AdvisoryHit",
    "SecurityAnnotator",
    "SecurityFilter",
    "SecurityScorer",
    "advisories_affecting",
    "advisory_link",
    "nearest_unaffected",
    "severity_weight",
    "unfixable_hits",
]

UNIT = "security"
_LISTED = 3  # advisories named in one reason before "and N more"


@dataclass(frozen=True, slots=True, kw_only=True)
class AdvisoryHit:
    """An advisory affecting one version: ``waiver`` is the active waiver covering it (the
    advisory is accepted), ``expired`` a waiver that matched but ran out before ``now``."""

    advisory: Advisory
    waiver: Waiver | None = None
    expired: Waiver | None = None

    @property
    def waived(self) -> bool:
        return self.waiver is not None


def advisory_link(advisory: Advisory) -> str:
    """Where people read the advisory: its page in the OSV database."""
    return f"https://osv.dev/vulnerability/{advisory.id}"


def _waivers(advisory: Advisory, ctx: ScoringContext) -> tuple[Waiver | None, Waiver | None]:
    """(active waiver, expired waiver) among the policy's waivers matching ``advisory``."""
    return ctx.policy.waivers_for((advisory.id, *advisory.aliases), now=ctx.now)


def advisories_affecting(
    name: str, version: Version | str, ctx: ScoringContext
) -> tuple[AdvisoryHit, ...]:
    """Every advisory in ``ctx.knowledge`` affecting ``name`` at ``version``, ordered by id,
    with the waiver that covers it (if any)."""
    hits: list[AdvisoryHit] = []
    for advisory in of_kind(ctx, name, Advisory):
        if not is_affected(advisory, name, version):
            continue
        active, expired = _waivers(advisory, ctx)
        hits.append(AdvisoryHit(advisory=advisory, waiver=active, expired=expired))
    return tuple(sorted(hits, key=lambda h: h.advisory.id))


@functools.lru_cache(maxsize=256)
def _unaffected(
    name: str, versions: tuple[Version, ...], advisories: tuple[Advisory, ...]
) -> tuple[Version, ...]:
    """The final releases among ``versions`` that none of ``advisories`` affects, ascending.

    Memoised: every rejected version of a project asks the same question, so the O(versions
    * advisories) walk runs once per project and set of open advisories.
    """
    return tuple(
        sorted(
            v
            for v in versions
            if not v.is_prerelease and not any(is_affected(a, name, v) for a in advisories)
        )
    )


def nearest_unaffected(candidate: CandidateInfo, ctx: ScoringContext) -> Version | None:
    """The closest release of the project not affected by a non-waived advisory: the lowest
    newer final release, else the highest older one; ``None`` when every known release is
    affected (or no other release is known)."""
    open_advisories = tuple(
        a for a in of_kind(ctx, candidate.name, Advisory) if _waivers(a, ctx)[0] is None
    )
    safe = _unaffected(candidate.name, candidate.versions, open_advisories)
    newer = [v for v in safe if v > candidate.version]
    if newer:
        return newer[0]
    older = [v for v in safe if v < candidate.version]
    return older[-1] if older else None


def unfixable_hits(
    name: str, version: Version, versions: Sequence[Version], ctx: ScoringContext
) -> tuple[AdvisoryHit, ...]:
    """The non-waived advisories affecting ``name`` at ``version`` that no release among
    ``versions`` (the index's) escapes: every release is affected, so no stack can avoid them
    by choosing another version of this project. Without known ``versions`` none counts as
    unfixable (the filter stays strict)."""
    if not versions:
        return ()
    known = tuple(versions)
    return tuple(
        h
        for h in advisories_affecting(name, version, ctx)
        if not h.waived and not _unaffected(name, known, (h.advisory,))
    )


#: how much one advisory weighs by its severity word (OSV's database word); unknown: 1.0
_SEVERITY = {"critical": 1.0, "high": 1.0, "moderate": 0.75, "medium": 0.75, "low": 0.5}


def severity_weight(advisory: Advisory) -> float:
    """1.0 for a critical, high or unrated advisory; 0.75 moderate; 0.5 low (the highest of
    the advisory's severity words; CVSS vectors are not scored, so they count as unrated)."""
    words = [_SEVERITY.get(s.score.strip().lower()) for s in advisory.severity]
    rated = [w for w in words if w is not None]
    return max(rated) if rated else 1.0


def _describe(hit: AdvisoryHit, name: str) -> str:
    fixed = fixed_versions(hit.advisory, name)
    fix = f"fixed in {', '.join(fixed)}" if fixed else "no fixed release"
    return f"{hit.advisory.id} ({fix})"


def _listing(hits: Sequence[AdvisoryHit], name: str) -> str:
    shown = ", ".join(_describe(h, name) for h in hits[:_LISTED])
    rest = len(hits) - _LISTED
    return shown + (f" and {rest} more" if rest > 0 else "")


class SecurityFilter:
    """Removes a candidate affected by a non-waived, non-withdrawn advisory that some release
    of the project escapes. An advisory every release is affected by (no fix on the index) is
    left to the scorer: the search then keeps the stack with the fewest and least severe such
    advisories, and the advice warns about each (``--strict`` fails instead)."""

    name = UNIT

    def reject(self, candidate: CandidateInfo, ctx: ScoringContext) -> str | None:
        """``"affected by PYSEC-2023-74 (fixed in 2.31.0); nearest unaffected release:
        2.31.0"``, or ``None`` when no non-waived, fixable advisory affects the candidate."""
        stuck = {
            h.advisory.id
            for h in unfixable_hits(candidate.name, candidate.version, candidate.versions, ctx)
        }
        open_hits = [
            h
            for h in advisories_affecting(candidate.name, candidate.version, ctx)
            if not h.waived and h.advisory.id not in stuck
        ]
        if not open_hits:
            return None
        reason = f"affected by {_listing(open_hits, candidate.name)}"
        safe = nearest_unaffected(candidate, ctx)
        if safe is not None:
            reason += f"; nearest unaffected release: {safe}"
        elif candidate.versions:
            reason += "; no release without a known advisory"
        return reason


class SecurityScorer:
    """One term per non-waived advisory affecting the candidate (nothing otherwise): -1.0,
    times :func:`severity_weight` (0.75 for a moderate advisory, 0.5 for a low one)."""

    name = UNIT

    def score(self, candidate: CandidateInfo, ctx: ScoringContext) -> Sequence[ScoreTerm]:
        terms: list[ScoreTerm] = []
        for hit in advisories_affecting(candidate.name, candidate.version, ctx):
            if hit.waived:
                continue
            summary = f": {hit.advisory.summary}" if hit.advisory.summary else ""
            terms.append(
                ScoreTerm(
                    unit=UNIT,
                    value=-severity_weight(hit.advisory),
                    reason=f"affected by {_describe(hit, candidate.name)}{summary}",
                    evidence=advisory_link(hit.advisory),
                )
            )
        return tuple(terms)


class SecurityAnnotator:
    """Warns about pinned versions affected by an advisory; reports waivers used (``info``)
    and waivers that have expired (in the warning). Never changes a score."""

    name = UNIT

    def annotate(
        self, pins: Mapping[NormalizedName, Version], ctx: ScoringContext
    ) -> Sequence[Justification]:
        out: list[Justification] = []
        for name in sorted(pins):
            version = pins[name]
            for hit in advisories_affecting(name, version, ctx):
                advisory = hit.advisory
                if hit.waiver is not None:
                    until = hit.waiver.until
                    when = f" until {as_utc(until).date().isoformat()}" if until else ""
                    message = (
                        f"{name} {version} is affected by {advisory.id}, accepted by the "
                        f"policy{when}: {hit.waiver.reason}"
                    )
                    level: Level = "info"
                else:
                    message = f"{name} {version} is affected by {_describe(hit, name)}"
                    if advisory.summary:
                        message += f": {advisory.summary}"
                    if hit.expired is not None and hit.expired.until is not None:
                        ended = as_utc(hit.expired.until).date().isoformat()
                        message += f" (its waiver ended on {ended})"
                    level = "warning"
                out.append(
                    Justification(
                        level=level,
                        message=message,
                        unit=UNIT,
                        package=name,
                        link=advisory_link(advisory),
                    )
                )
        return tuple(out)
