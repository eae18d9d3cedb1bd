"""What ``advisor fix`` decides, as values: the advisories it names, the pins it changes,
the advisories it leaves open and why, and the whole :class:`Remedy`.

Made by :func:`advisor.advice.remedy.plan_remedy` (which re-exports them), read by the
fix job and rendered by :mod:`advisor.report.fix` through :meth:`Remedy.to_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.models import Resolution

__all__ = ["AdvisoryRef", "PinChange", "Remedy", "Unfixable"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdvisoryRef:
    """An advisory as the remedy names it: its id, one-line summary and where to read it."""

    id: str
    summary: str = ""
    link: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "summary": self.summary, "link": self.link}


@dataclass(frozen=True, slots=True, kw_only=True)
class PinChange:
    """One pin changed: ``old`` ``None`` for a package added, ``new`` ``None`` for one
    removed; ``fixes`` the advisories the change fixes (empty for a change another fix
    needs); ``targets`` the labels of the targets it is for, when not every target of a
    multi-target lock makes the same change."""

    name: NormalizedName
    old: Version | None
    new: Version | None
    direct: bool
    fixes: tuple[AdvisoryRef, ...] = ()
    targets: tuple[str, ...] = ()  # the targets the change is for (empty: every target)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": str(self.name),
            "old": None if self.old is None else str(self.old),
            "new": None if self.new is None else str(self.new),
            "direct": self.direct,
            "fixes": [a.to_dict() for a in self.fixes],
            "targets": list(self.targets),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Unfixable:
    """An advisory left open on ``name`` ``version``, and why no change fixes it."""

    name: NormalizedName
    version: Version
    advisory: AdvisoryRef
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": str(self.name),
            "version": str(self.version),
            "advisory": self.advisory.to_dict(),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Remedy:
    """The outcome: ``changes`` (transitive first, then by name), ``unfixable`` advisories,
    the ``resolution`` to lock (``None``: nothing to change) and how many pins were
    ``affected`` before."""

    changes: tuple[PinChange, ...] = ()
    unfixable: tuple[Unfixable, ...] = ()
    resolution: Resolution | None = None
    affected: int = 0
    resolutions: int = 0

    @property
    def fixed(self) -> tuple[AdvisoryRef, ...]:
        """Every advisory the changes fix, once, by id."""
        seen = {a.id: a for c in self.changes for a in c.fixes}
        return tuple(seen[k] for k in sorted(seen))

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``advisor fix --report json`` prints (the renderers read it)."""
        return {
            "changes": [c.to_dict() for c in self.changes],
            "unfixable": [u.to_dict() for u in self.unfixable],
            "fixed": [a.to_dict() for a in self.fixed],
            "affected-pins": self.affected,
            "resolutions": self.resolutions,
        }
