"""What shapes a resolution, as values and protocols: the provider's collaborators (finder,
metadata source, scorer), its options (order, preferences, constraints, bans) and the cache
several resolutions of one target share.

Sits beside :mod:`advisor.resolution.provider`, which consumes them; callers (the advice layer's
planner, the stack search) build them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from packaging.requirements import Requirement as PepRequirement
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.models import CoreMetadata, DistFile, ProjectStatus
    from advisor.resolution.candidates import VersionChoice

__all__ = [
    "CandidateOrder",
    "CandidateScorer",
    "Finder",
    "MetadataSource",
    "ProviderCache",
    "ProviderOptions",
]


class Finder(Protocol):
    def find(self, name: str) -> tuple[DistFile, ...]: ...

    def project_status(self, name: str) -> ProjectStatus | None:
        """The project's PEP 792 status on its index (``None``: no marker); free after
        :meth:`find` of the same project."""
        ...

    @property
    def network_requests(self) -> int:
        """Fetches over the network so far; 0 means every page came from cache or disk."""
        ...

    def prefetch(self, names: Iterable[str]) -> None: ...


class MetadataSource(Protocol):
    def get(self, dist: DistFile) -> CoreMetadata: ...

    def prefetch(self, dists: Iterable[DistFile]) -> None: ...


class CandidateScorer(Protocol):
    """Orders and filters candidates for a recommendation other than ``latest``."""

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
        """``(reason to remove it or None, score)`` for one version with its usable files
        (called at most once per version per provider)."""
        ...


class CandidateOrder(enum.Enum):
    NEWEST = "newest"  # latest: what pip picks
    OLDEST_DIRECT = "oldest-direct"  # testing: lowest versions of direct dependencies


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderOptions:
    """Everything that shapes candidate selection, besides the target and the index."""

    prereleases: bool = False
    prerelease_packages: frozenset[NormalizedName] = frozenset()
    preferences: Mapping[NormalizedName, Version] = field(default_factory=dict)
    order: CandidateOrder = CandidateOrder.NEWEST
    constraints: Mapping[NormalizedName, tuple[PepRequirement, ...]] = field(default_factory=dict)
    #: where each constraint comes from (``"constraints.txt:3"``), by its text: for
    #: conflict explanations only
    constraint_origins: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[NormalizedName, tuple[PepRequirement, ...]] = field(default_factory=dict)
    direct: frozenset[NormalizedName] = frozenset()
    warm: bool = True
    #: versions the stack search (or ``advisor fix``) rules out for this resolution
    bans: Mapping[NormalizedName, frozenset[Version]] = field(default_factory=dict)
    #: why a banned version is banned, in words (``"affected by GHSA-…"``), for conflict
    #: explanations only; called only while an explanation is written (``None``: no words)
    ban_reason: Callable[[NormalizedName, Version], str] | None = None


@dataclass(slots=True)
class ProviderCache:
    """What several resolutions for the same target share (the stack search runs many):
    files grouped by version, usable files per version, parsed requirements, marker results
    and metadata. Never shared across targets (:meth:`for_another_target` shares the parts
    that do not depend on the target)."""

    versions: dict[NormalizedName, dict[Version, list[DistFile]]] = field(default_factory=dict)
    choice: dict[tuple[NormalizedName, Version], VersionChoice] = field(default_factory=dict)
    parsed: dict[str, PepRequirement | str] = field(default_factory=dict)
    markers: dict[tuple[str, str], bool] = field(default_factory=dict)
    meta: dict[tuple[NormalizedName, Version, str | None], CoreMetadata | str] = field(
        default_factory=dict
    )
    rejected: dict[tuple[NormalizedName, Version], str] = field(default_factory=dict)

    def for_another_target(self) -> ProviderCache:
        """A cache for another target's resolutions that shares with this one only what does
        not depend on the target (files grouped by version, parsed requirements, metadata);
        usable files, marker results and rejections are the target's own."""
        return ProviderCache(versions=self.versions, parsed=self.parsed, meta=self.meta)
