"""The cooldown of a resolution, assembled: days and the clock, the policy's exemptions, and
the advisories that tell a security fix.

Sits in the decide layer above :mod:`advisor.resolution.cooldown` (the filter itself): the
composition root opens :func:`open_cooldown` with ``--cooldown`` (or a relative
``--exclude-newer``), the time and the policy, and hands the value to the planner. Advisories
are read through the scoring layer's knowledge view, judged by
:func:`~advisor.scoring.units.security.advisories_affecting` (waived ones do not count), so
``lock``, ``advise`` and ``fix`` tell a fix the same way the ``security`` filter does.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from advisor.resolution.cooldown import Cooldown

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.environment import RuntimeEnvironment
    from advisor.policy import Policy
    from advisor.scoring.base import KnowledgeView, ScoringContext

__all__ = ["OpenAdvisories", "build_cooldown", "open_cooldown"]


class OpenAdvisories:
    """:class:`~advisor.resolution.cooldown.AdvisoryCheck` over a knowledge view: the ids of
    the non-waived advisories affecting a release, memoised; safe to call from the
    provider's prefetch threads."""

    def __init__(self, ctx: ScoringContext) -> None:
        # the scoring units load with the first cooldown, not with every lock (start-up)
        from advisor.scoring.units.security import advisories_affecting

        self._affecting = advisories_affecting
        self._ctx = ctx
        self._memo: dict[tuple[str, Version], frozenset[str]] = {}
        self._lock = threading.Lock()

    def open_advisories(self, name: NormalizedName, version: Version) -> frozenset[str]:
        key = (name, version)
        with self._lock:
            hit = self._memo.get(key)
            if hit is None:
                hit = frozenset(
                    h.advisory.id for h in self._affecting(name, version, self._ctx) if not h.waived
                )
                self._memo[key] = hit
        return hit


def build_cooldown(
    days: float,
    *,
    now: datetime,
    policy: Policy,
    knowledge: KnowledgeView | None,
    env: RuntimeEnvironment,
) -> Cooldown:
    """The cooldown of ``days`` at ``now``: the policy's exemptions in force at ``now`` (an
    expired one becomes a warning and no longer applies), and the security exemption when
    ``knowledge`` is given (``env`` is the target its advisories are judged for; without
    it, a warning says that no security fix can be let through)."""
    exempt: dict[NormalizedName, str] = {}
    warnings: list[str] = []
    for item in policy.cooldown_exemptions:
        name = item.package
        if item.holds_at(now):
            exempt.setdefault(name, f"{item.reason}; until {item.until.date().isoformat()}")
        else:
            warnings.append(
                f"the cooldown exemption of {name} expired on {item.until.date().isoformat()}"
                f" ({item.reason}): it no longer applies"
            )
    advisories = None
    if knowledge is None:
        warnings.append(
            f"no knowledge store with advisories: the {days:g}-day cooldown lets no security"
            " fix through (fill one with `advisor knowledge update`)"
        )
    else:
        from advisor.scoring.base import ScoringContext

        ctx = ScoringContext(
            env=env, recommendation="security", now=now, knowledge=knowledge, policy=policy
        )
        advisories = OpenAdvisories(ctx)
    return Cooldown(
        days=days,
        cutoff=now - timedelta(days=days),
        exempt=exempt,
        advisories=advisories,
        warnings=tuple(warnings),
    )


@contextmanager
def open_cooldown(
    days: float | None,
    *,
    now: datetime,
    policy: Policy,
    knowledge: KnowledgeView | None,
    store_url: Callable[[], str],
    env: RuntimeEnvironment,
) -> Iterator[Cooldown | None]:
    """:func:`build_cooldown` of ``days`` (``None``: no cooldown, nothing opened). Its
    advisories come from ``knowledge``, else from the store at ``store_url()`` when that
    exists (never created here: :func:`~advisor.scoring.knowledge_view.advisory_view`),
    closed on the way out."""
    if days is None:
        yield None
        return
    from advisor.scoring.knowledge_view import advisory_view  # the store, only with a cooldown

    with ExitStack() as stack:
        view = knowledge or stack.enter_context(advisory_view(store_url()))
        yield build_cooldown(days, now=now, policy=policy, knowledge=view, env=env)
