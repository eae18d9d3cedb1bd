"""The cooldown: a hard filter on releases younger than N days, with its two exemptions.

Sits beside :class:`~advisor.resolution.candidates.FileFilter`, which applies it per version
(``--cooldown DAYS``, or a relative ``--exclude-newer "7 days"``): a file uploaded after the
cutoff (``now - days``) is left out, as ``--exclude-newer`` leaves files out, unless its
release is exempt:

* the project is exempt by the team's policy (``[tool.advisor.policy] cooldown-exemptions``,
  each with a reason and an end date; the advice layer passes the ones in force, and warns
  about the expired ones through :attr:`Cooldown.warnings`);
* the release fixes an advisory that affects *every* older release the cooldown allows: a
  young security fix gets through only when no older release is free of that advisory, and
  only as far as needed: a young release let through counts as allowed for the younger ones,
  so the oldest release that fixes the advisory gets in and the younger ones wait (otherwise
  every young release after a fix would be let in, and the resolver would take the newest).

Advisories come through the :class:`AdvisoryCheck` protocol (the advice layer implements it
over the knowledge view), so this layer stays free of the knowledge store. A file without an
upload time is never young (as for ``--exclude-newer``). Pure: the clock is read by the
caller, which passes the cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.models import DistFile

__all__ = ["AdvisoryCheck", "Cooldown"]


class AdvisoryCheck(Protocol):
    """Which open (not waived, not withdrawn) advisories affect one release."""

    def open_advisories(self, name: NormalizedName, version: Version) -> frozenset[str]:
        """The ids of the open advisories affecting ``name`` ``version`` (memoised by the
        implementation: called once per older release of a young one)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Cooldown:
    """``days`` and the ``cutoff`` they make (files uploaded after it are young);
    ``exempt``: project → why the policy lets its young releases through; ``advisories``:
    what tells a security fix (``None``: no security exemption); ``warnings``: what the
    resolution reports once (expired exemptions)."""

    days: float
    cutoff: datetime
    exempt: Mapping[NormalizedName, str] = field(default_factory=dict)
    advisories: AdvisoryCheck | None = None
    warnings: tuple[str, ...] = ()

    def is_young(self, dist: DistFile) -> bool:
        """True when ``dist`` was uploaded after the cutoff."""
        return dist.upload_time is not None and dist.upload_time > self.cutoff

    @property
    def label(self) -> str:
        """``"7-day cooldown"``, for reasons and warnings."""
        return f"{self.days:g}-day cooldown"

    def exemption(
        self,
        name: NormalizedName,
        version: Version,
        project: Mapping[Version, Sequence[DistFile]],
    ) -> str | None:
        """Why the young release ``name`` ``version`` is let through, or ``None`` (it is
        left out). ``project`` holds every version's files, to find the older releases.
        Cost: with advisories, one :meth:`AdvisoryCheck.open_advisories` per older final
        release for each young one older than ``version`` (memoised there)."""
        reason = self.exempt.get(name)
        if reason is not None:
            return f"exempt by the policy ({reason})"
        if self.advisories is None:
            return None
        # walk the older final releases oldest first: an old one is allowed, and so is a young
        # one that is itself a fix; so once a fix is let in, the later young releases fix
        # nothing that affects every allowed release, and they wait
        allowed: list[Version] = []
        for v in sorted(project):
            if v >= version:
                break
            if v.is_prerelease:
                continue
            if any(not self.is_young(f) for f in project[v]) or self._fixed_by(
                name, v, older=allowed
            ):
                allowed.append(v)
        fixed = self._fixed_by(name, version, older=allowed)
        if not fixed:
            return None
        return f"it fixes {', '.join(fixed)}, which affects every older release"

    def _fixed_by(
        self, name: NormalizedName, version: Version, *, older: Sequence[Version]
    ) -> list[str]:
        """The advisories that affect every release of ``older`` but not ``version``, sorted
        (empty without older releases, or without advisories)."""
        if self.advisories is None or not older:
            return []
        common = set(self.advisories.open_advisories(name, older[0]))
        for v in older[1:]:
            common &= self.advisories.open_advisories(name, v)
            if not common:
                return []
        return sorted(common - self.advisories.open_advisories(name, version))
