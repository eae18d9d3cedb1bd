"""The order in which ``advisor fix`` chooses freely: by the lock's recommendation.

Beside :mod:`advisor.advice.remedy` in the decide layer: a fix decides which versions a pin
may take (bans, preferences); where it leaves the resolver a free choice (a released pin, a
package new to the stack), the versions are tried in the order the lock's recommendation
scores them (its :mod:`advisor.scoring.types` scorers), but its filters remove nothing, since
a fix may need a version they would remove (a young release that fixes an advisory, say).
The remedy builds one scorer per target here and hands them to the providers.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.advice.planner import Planner
    from advisor.environment import RuntimeEnvironment
    from advisor.models import DistFile
    from advisor.resolution.options import CandidateScorer, ProviderCache
    from advisor.scoring.base import ScoringContext

__all__ = ["OrderOnly", "order_scorers"]


class OrderOnly:
    """A :class:`~advisor.resolution.options.CandidateScorer` that orders by a
    recommendation's scores and removes nothing: a version its filters would remove comes
    last instead (a fix may need it)."""

    def __init__(self, scorer: CandidateScorer) -> None:
        self._scorer = scorer

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
        reason, score = self._scorer.evaluate(
            name, version, files=files, needs_build=needs_build, yanked=yanked, direct=direct
        )
        return None, (float("-inf") if reason is not None else score)


def order_scorers(
    planner: Planner,
    targets: Sequence[RuntimeEnvironment],
    name: str | None,
    *,
    cache: ProviderCache,
    ctx: ScoringContext,
) -> list[CandidateScorer | None]:
    """One order-only scorer per target of ``targets`` for the recommendation ``name``
    (``None`` each for ``latest``, no recommendation, or a type whose units score nothing:
    the providers' own order, newest first, as pip). ``ctx`` is the remedy's scoring
    context, re-aimed at each target; the scorers read the versions the shared ``cache``
    has seen. Cost: nothing until the providers call them."""
    from packaging.utils import canonicalize_name

    from advisor.scoring.engine import UnitScorer
    from advisor.scoring.types import recommendation

    kind = recommendation(name) if name else None
    if kind is None or not kind.scorers:
        return [None for _ in targets]

    def versions_of(project: str) -> list[Version]:
        return sorted(cache.versions.get(canonicalize_name(project), {}), reverse=True)

    return [
        OrderOnly(
            UnitScorer(
                kind,
                dataclasses.replace(ctx, env=target, recommendation=kind.name),
                versions_of=versions_of,
                status_of=planner.project_status,
            )
        )
        for target in targets
    ]
