"""What the lock's record carries beside its inputs and options, outside the input digest:
the advice search's findings (``[tool.advisor.advice]``) and the mark of ``advisor fix``
(``[tool.advisor.fixed]``).

Sits beside :mod:`advisor.lockfile.record`, whose :meth:`~advisor.lockfile.record.LockRecord.
with_advice` puts one of them into the record, and which re-exports both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["AdviceRecord", "FixRecord"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviceRecord:
    """``[tool.advisor.advice]``: what the advice search that chose the lock's stack found
    for its first target: the best stack's ``score`` and ``latest``'s, the projects whose
    pins differ from ``latest``'s, and the search's ``seed`` and ``budget``. Written beside
    the record, it is not part of the input digest."""

    score: float
    latest_score: float
    differs_from_latest: tuple[str, ...] = ()
    seed: int = 0
    budget: int = 0

    def to_table(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "latest-score": round(self.latest_score, 4),
            "differs-from-latest": sorted(self.differs_from_latest),
            "seed": self.seed,
            "budget": self.budget,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class FixRecord:
    """``[tool.advisor.fixed]``: the lock was changed by ``advisor fix`` after it was made.

    Written instead of ``[tool.advisor.advice]``: the advice's scores described the stack
    the search chose, and the fix changed its pins, so keeping them beside the new pins would
    be a claim nobody made. ``changed`` are the projects whose pins a fix changed and
    ``advisories`` the advisories it fixed (both accumulated over successive fixes);
    ``advice`` is the advice table the lock carried before its first fix, as read (empty when
    it was not made by an advice). Outside the input digest, like the advice's table."""

    changed: tuple[str, ...] = ()
    advisories: tuple[str, ...] = ()
    advice: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def after(
        cls, earlier: Mapping[str, object], *, changed: Iterable[str], advisories: Iterable[str]
    ) -> FixRecord:
        """The record of a fix of a lock whose record's other entries were ``earlier`` (a
        :attr:`LockRecord.other`): its ``advice``, or the ``advice`` and lists of an earlier
        fix, carried forward."""
        before = earlier.get("fixed")
        before = before if isinstance(before, Mapping) else {}
        advice = earlier.get("advice", before.get("advice"))

        def names(key: str) -> set[str]:
            value = before.get(key)
            return {str(v) for v in value} if isinstance(value, list) else set()

        return cls(
            changed=tuple(sorted(names("changed") | set(changed))),
            advisories=tuple(sorted(names("advisories") | set(advisories))),
            advice=dict(advice) if isinstance(advice, Mapping) else {},
        )

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            "by": "advisor fix",
            "changed": list(self.changed),
            "advisories": list(self.advisories),
        }
        if self.advice:
            table["advice"] = dict(self.advice)
        return table
