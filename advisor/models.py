"""Frozen value types shared by every layer (index → resolution → lockfile → report).

Nothing here does I/O. Distribution files carry what the index said about them; the
resolution layer turns chosen versions into :class:`Pin` values, collected in a
:class:`Resolution`, which the lockfile writers render.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from packaging.tags import parse_tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.tags import Tag
    from packaging.version import Version

__all__ = [
    "CoreMetadata",
    "DistFile",
    "DistKind",
    "Edge",
    "IndexStrategy",
    "LockFormat",
    "Pin",
    "ProjectPage",
    "ProjectState",
    "ProjectStatus",
    "RecommendationType",
    "Resolution",
    "parse_dist_filename",
]


class DistKind(enum.Enum):
    WHEEL = "wheel"
    SDIST = "sdist"


# The modes every layer shares. String enums: their values are what the command line and the
# configuration say and what locks and reports record, so a member writes as its value.


class IndexStrategy(enum.StrEnum):
    """How several indexes combine for one project (``--index-strategy``, recorded in a
    lock's ``[tool.advisor.index]``)."""

    FIRST_INDEX = "first-index"  # the first index that has the project supplies every file
    UNSAFE_BEST_MATCH = "unsafe-best-match"  # pip: files of every index, merged


class LockFormat(enum.StrEnum):
    """The lock a command writes (``--format``)."""

    PYLOCK = "pylock"  # PEP 751 pylock.toml
    REQUIREMENTS = "requirements"  # pinned requirements.txt with --hash lines


class RecommendationType(enum.StrEnum):
    """What a stack is best at (``--recommendation``, ``[tool.advisor] recommendation``,
    recorded in a lock); each is a bundle of scoring units (``advisor.scoring.types``)."""

    LATEST = "latest"  # exactly what pip picks
    STABLE = "stable"
    PERFORMANCE = "performance"
    SECURITY = "security"
    TESTING = "testing"  # the lowest direct versions that still resolve

    @classmethod
    def parse(cls, name: str) -> RecommendationType:
        """The type called ``name`` (case and surrounding spaces ignored).

        Raises :class:`~advisor.errors.InputError` listing the known types for any other name.
        """
        try:
            return cls(name.strip().lower())
        except ValueError:
            known = ", ".join(cls)
            raise InputError(f"unknown recommendation type {name!r}; known: {known}") from None


@dataclass(frozen=True, slots=True)
class ParsedFilename:
    name: NormalizedName
    version: Version
    kind: DistKind
    tags: frozenset[Tag]
    build: tuple[int, str] | tuple[()] = ()


@functools.lru_cache(maxsize=65536)
def _parse_cached(filename: str) -> ParsedFilename | None:
    return parse_dist_filename(filename)


@functools.lru_cache(maxsize=4096)
def _tags(compressed: str) -> frozenset[Tag]:
    return parse_tag(compressed)


@functools.lru_cache(maxsize=8192)
def _wheel_head(name: str, version: str, build: str) -> tuple[NormalizedName, Version, Any]:
    """Name, version and build tag of a wheel, via packaging (validated), cached: a project's
    wheels of one version share them, and only the tag part differs."""
    fake = f"{name}-{version}{'-' + build if build else ''}-py3-none-any.whl"
    parsed_name, parsed_version, parsed_build, _ = parse_wheel_filename(fake)
    return parsed_name, parsed_version, parsed_build


def parse_dist_filename(filename: str) -> ParsedFilename | None:
    """Parse a wheel or sdist filename; ``None`` for anything else (eggs, exe, bad names).

    Wheels: the name/version/build part and the compressed tag set are parsed (and cached)
    separately, because a large project lists thousands of wheels that share both.
    """
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        if len(parts) not in (5, 6):
            return None
        build = parts[2] if len(parts) == 6 else ""
        try:
            name, version, build_tag = _wheel_head(parts[0], parts[1], build)
            tags = _tags("-".join(parts[-3:]))
        except (InvalidWheelFilename, ValueError):
            return None
        return ParsedFilename(name, version, DistKind.WHEEL, tags, build_tag)
    if filename.endswith((".tar.gz", ".zip")):
        try:
            name, version = parse_sdist_filename(filename)
        except (InvalidSdistFilename, ValueError):
            return None
        return ParsedFilename(name, version, DistKind.SDIST, frozenset())
    return None


class DistFile(msgspec.Struct, frozen=True, kw_only=True):
    """One downloadable file as an index (or find-links location) lists it.

    ``url`` is absolute and carries no credentials: the fetcher adds them back from the
    index configuration at request time, so a ``DistFile`` may be written to a lock or a log.
    ``hashes`` are ``(algorithm, hexdigest)`` pairs sorted by algorithm. ``yanked`` is
    ``None`` when not yanked, else the reason (``""`` when none was given).
    ``core_metadata`` is PEP 658/714: ``None`` when the index offers no ``.metadata`` file,
    else the hashes of that file (possibly empty).

    A msgspec struct rather than a dataclass: a large project lists thousands of files, and a
    warm run builds them all from the cache, so construction cost matters.
    """

    filename: str
    url: str
    index: str
    hashes: tuple[tuple[str, str], ...] = ()
    requires_python: str | None = None
    yanked: str | None = None
    upload_time: datetime | None = None
    size: int | None = None
    core_metadata: tuple[tuple[str, str], ...] | None = None

    @property
    def parsed(self) -> ParsedFilename | None:
        return _parse_cached(self.filename)

    @property
    def hash_map(self) -> Mapping[str, str]:
        return dict(self.hashes)

    @property
    def sha256(self) -> str | None:
        return dict(self.hashes).get("sha256")

    @property
    def metadata_url(self) -> str:
        return self.url.split("#", 1)[0] + ".metadata"


class ProjectState(enum.StrEnum):
    """A project's status on its index (PEP 792 project status markers)."""

    ACTIVE = "active"  # the default: no marker means active
    ARCHIVED = "archived"  # no further updates expected; files still offered
    QUARANTINED = "quarantined"  # considered unsafe (malware, say); files withheld
    DEPRECATED = "deprecated"  # considered obsolete, perhaps superseded


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectStatus:
    """What an index says about a project as a whole (PEP 792): its ``state`` and the
    free-form ``reason`` the index gave (``""`` when none). A status the index names but
    this version does not know is kept as ``other`` with ``state`` active, since PEP 792
    gives unknown markers no meaning."""

    state: ProjectState
    reason: str = ""
    other: str = ""

    @classmethod
    def parse(cls, status: str, reason: str = "") -> ProjectStatus:
        """The status for an index's marker text (case and spaces ignored)."""
        text = status.strip().lower()
        try:
            return cls(state=ProjectState(text), reason=reason.strip())
        except ValueError:
            return cls(state=ProjectState.ACTIVE, reason=reason.strip(), other=text)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectPage:
    """All files one index lists for one project (already filtered to parseable names),
    and the project's status when the page gives one (``None``: no marker, active)."""

    name: NormalizedName
    index: str
    files: tuple[DistFile, ...]
    status: ProjectStatus | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreMetadata:
    """The parts of a distribution's core metadata the resolver needs, as strings.

    Strings keep the cached form compact and cheap to load; the resolver parses
    ``requires_dist`` lazily. ``source`` says how it was obtained: ``"pep658"``,
    ``"range"``, ``"wheel"``, ``"sdist-build"`` (needs a build to install) or ``"sdist-pkg-info"``.
    """

    name: NormalizedName
    version: str
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None
    provides_extra: tuple[str, ...] = ()
    source: str = "wheel"


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """``parent`` depends on ``child`` through ``requirement`` (a PEP 508 string).

    ``parent`` is ``None`` for a root requirement, whose ``origin`` names the input
    (``"requirements.in:3"``, ``"pyproject.toml [project.dependencies]"``).
    """

    parent: NormalizedName | None
    child: NormalizedName
    requirement: str
    origin: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pin:
    """One chosen version of one project in a stack.

    ``files`` are every file of that version that installs on at least one target
    environment (wheels and the sdist), for hashes in the lock. ``marker`` restricts the
    pin to some of the targets when a lock covers several with different pins.
    ``needs_build`` is true when no wheel fits a target and the sdist must be built.
    ``direct_url`` is set for a requirement given as ``name @ URL`` (an archive).
    """

    name: NormalizedName
    version: Version
    files: tuple[DistFile, ...] = ()
    extras: frozenset[NormalizedName] = field(default_factory=frozenset)
    requires_python: str | None = None
    dependencies: tuple[NormalizedName, ...] = ()
    marker: str | None = None
    index: str | None = None
    direct_url: str | None = None
    needs_build: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """A complete, consistent stack for one or more target environments, plus its edges."""

    pins: tuple[Pin, ...]
    edges: tuple[Edge, ...] = ()

    def pin(self, name: str) -> Pin | None:
        for p in self.pins:
            if p.name == name:
                return p
        return None
