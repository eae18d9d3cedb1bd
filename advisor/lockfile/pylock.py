"""``pylock.toml`` (PEP 751): render a :class:`~advisor.models.Resolution`, read a lock back.

Sits at the output end of the data flow: the resolution layer hands over pins and edges,
this module turns them into a validated :class:`packaging.pylock.Pylock` and TOML text
(byte-stable for the same input). Reading goes the other way for re-lock preferences,
``advisor check`` and lock diffs; ``[tool.advisor]`` is read into a
:class:`~advisor.lockfile.record.LockRecord`. This is the one module that parses a lock's
TOML (:func:`is_pylock_text` tells a lock by its content). No file is written here (see
:mod:`.write`).
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import tomli_w
from packaging.markers import InvalidMarker, Marker
from packaging.pylock import (
    Package,
    PackageArchive,
    PackageSdist,
    PackageWheel,
    Pylock,
    PylockValidationError,
)
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from advisor.errors import LockfileError
from advisor.lockfile.record import LockRecord
from advisor.models import DistKind

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from packaging.utils import NormalizedName

    from advisor.models import DistFile, Pin, Resolution

__all__ = [
    "InvalidLockToml",
    "LockMeta",
    "LockedPackage",
    "LockedStack",
    "TargetLike",
    "is_pylock_text",
    "load_pylock",
    "lock_url",
    "parse_pylock",
    "read_pylock",
    "render_pylock",
]

_TOOL = "advisor"
_USERINFO_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@")


class InvalidLockToml(LockfileError):
    """A lock (or a file read to tell whether it is one) that is not TOML at all (exit 2):
    ``source`` names it, ``reason`` is the parser's message, with the line."""

    def __init__(self, *, source: str, reason: str) -> None:
        super().__init__(f"{source}: invalid TOML: {reason}")
        self.source = source
        self.reason = reason


class TargetLike(Protocol):
    """What the lockfile needs of a runtime environment (``advisor.environment``)."""

    @property
    def name(self) -> str: ...

    def lock_marker(self) -> str: ...

    def to_dict(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LockMeta:
    """Lock-wide fields of a ``pylock.toml``.

    ``environments`` are PEP 508 markers, one per target. ``tool`` is extra
    ``[tool.advisor]`` content (runtime environments as dicts, index configuration
    without credentials, recommendation type, advisor version); it must hold only
    TOML-representable values (``None`` values are dropped, keys are sorted).
    """

    environments: tuple[str, ...]
    requires_python: str | None
    input_digest: str
    tool: Mapping[str, Any] = field(default_factory=dict)
    created_by: str = "stack-advisor"

    @classmethod
    def for_targets(
        cls,
        targets: Iterable[TargetLike],
        *,
        requires_python: str | None,
        input_digest: str,
        tool: Mapping[str, Any] | None = None,
        created_by: str = "stack-advisor",
    ) -> LockMeta:
        """Build the meta of a lock covering ``targets``.

        Their ``lock_marker()`` becomes ``environments`` and their ``to_dict()`` goes to
        ``[[tool.advisor.environments]]`` (after anything in ``tool``).
        """
        targets = tuple(targets)
        extra = dict(tool or {})
        extra["environments"] = [dict(t.to_dict()) for t in targets]
        return cls(
            environments=tuple(t.lock_marker() for t in targets),
            requires_python=requires_python,
            input_digest=input_digest,
            tool=extra,
            created_by=created_by,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedPackage:
    """One ``[[packages]]`` entry of a lock, as plain values.

    ``source`` is ``"index"`` (wheels/sdist), ``"archive"``, ``"vcs"`` or ``"directory"``;
    ``url`` is the archive's URL for direct archives. ``files`` are file names.
    ``hashed_files`` are the entry's files (wheels, then the sdist, then the archive) by name,
    else URL or path, each with whether it carries a hash; ``sha256`` the same files that
    carry a sha256, each with its hex digest (an SBOM lists them).
    """

    name: NormalizedName
    version: Version | None
    marker: str | None = None
    requires_python: str | None = None
    index: str | None = None
    source: str = "index"
    url: str | None = None
    files: tuple[str, ...] = ()
    dependencies: tuple[NormalizedName, ...] = ()
    needs_build: bool = False
    hashed_files: tuple[tuple[str, bool], ...] = ()
    sha256: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedStack:
    """A lock read back.

    ``pins`` maps every locked name to its version; a name locked several times under
    different markers maps to its highest version (a preference, not a promise). All
    entries are in ``packages``. ``record`` is its ``[tool.advisor]`` (empty for a lock
    advisor did not make).
    """

    path: str
    pins: Mapping[NormalizedName, Version]
    packages: tuple[LockedPackage, ...]
    record: LockRecord
    environments: tuple[str, ...]
    requires_python: str | None = None
    created_by: str = ""

    @property
    def input_digest(self) -> str | None:
        """The recorded input digest; ``None`` when the lock was not made by advisor (or
        carries no digest)."""
        return self.record.input_digest

    @property
    def tool(self) -> dict[str, Any]:
        """``[tool.advisor]`` as a table (:meth:`LockRecord.to_table`)."""
        return self.record.to_table()


# --------------------------------------------------------------------------- render


def lock_url(url: str) -> str:
    """``url`` as it may be written to a lock or a message: no userinfo, no fragment."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def render_pylock(resolution: Resolution, meta: LockMeta) -> str:
    """Render ``resolution`` as ``pylock.toml`` text (validated, byte-stable).

    Packages are sorted by name, then marker. Each file of a pin becomes a wheel or the
    sdist (a ``.tar.gz`` is preferred when a version has several sdists); a
    ``direct_url`` pin becomes an ``archive``.

    Raises :class:`LockfileError` when a pin cannot be locked (a file without a hash, an
    invalid marker, two pins for one name under the same marker) or the result does not
    validate.
    """
    pins = sorted(resolution.pins, key=lambda p: (p.name, p.marker or ""))
    _check_unique(pins)
    by_name: dict[str, list[Pin]] = defaultdict(list)
    for pin in pins:
        by_name[pin.name].append(pin)
    packages = [_package(pin, by_name) for pin in pins]
    environments = [_marker(m, what="environment") for m in meta.environments]
    try:
        lock = Pylock(
            lock_version=Version("1.0"),
            environments=[m for m in environments if m is not None] or None,
            requires_python=_specifier(meta.requires_python, what="requires-python"),
            created_by=meta.created_by,
            packages=packages,
            tool={_TOOL: _toml_ready({"input-digest": meta.input_digest, **meta.tool})},
        )
        lock.validate()
    except PylockValidationError as exc:
        raise LockfileError(f"generated lock does not validate: {exc}") from exc
    return tomli_w.dumps(lock.to_dict(), indent=4)


def _check_unique(pins: Sequence[Pin]) -> None:
    seen: set[tuple[str, str]] = set()
    for pin in pins:
        key = (pin.name, pin.marker or "")
        if key in seen:
            where = f" under marker {pin.marker!r}" if pin.marker else ""
            raise LockfileError(f"two pins for {pin.name}{where}: cannot lock both")
        seen.add(key)


def _package(pin: Pin, by_name: Mapping[str, Sequence[Pin]]) -> Package:
    tool = {_TOOL: {"needs-build": True}} if pin.needs_build else None
    common: dict[str, Any] = {
        "name": pin.name,
        "version": pin.version,
        "marker": _marker(pin.marker, what=f"marker of {pin.name}"),
        "requires_python": _specifier(pin.requires_python, what=f"requires-python of {pin.name}"),
        "dependencies": _dependencies(pin, by_name) or None,
        "tool": tool,
    }
    if pin.direct_url is not None:
        return Package(archive=_archive(pin, pin.direct_url), **common)
    wheels: list[PackageWheel] = []
    sdists: list[DistFile] = []
    seen: set[str] = set()
    for dist in sorted(pin.files, key=lambda d: (d.filename, d.url)):
        parsed = dist.parsed
        if parsed is None or dist.filename in seen:
            continue  # one entry per file name, even when several indexes list it
        seen.add(dist.filename)
        if parsed.kind is DistKind.WHEEL:
            wheels.append(
                PackageWheel(
                    name=dist.filename,
                    upload_time=_utc(dist.upload_time),
                    url=lock_url(dist.url),
                    size=dist.size,
                    hashes=_hashes(dist, pin),
                )
            )
        else:
            sdists.append(dist)
    sdist = None
    if sdists:
        best = min(sdists, key=lambda d: (not d.filename.endswith(".tar.gz"), d.filename))
        sdist = PackageSdist(
            name=best.filename,
            upload_time=_utc(best.upload_time),
            url=lock_url(best.url),
            size=best.size,
            hashes=_hashes(best, pin),
        )
    if not wheels and sdist is None:
        raise LockfileError(f"{pin.name} {pin.version}: no wheel or sdist to lock")
    return Package(index=_index(pin), sdist=sdist, wheels=wheels or None, **common)


def _archive(pin: Pin, direct_url: str) -> PackageArchive:
    hashes: dict[str, str] = {}
    size = None
    for dist in pin.files:
        hashes.update(dist.hashes)
        size = dist.size if size is None else size
    fragment = urlsplit(direct_url).fragment
    for part in fragment.split("&"):
        algo, sep, digest = part.partition("=")
        if sep and algo in {"sha256", "sha384", "sha512"}:
            hashes.setdefault(algo, digest)
    url = lock_url(direct_url)
    if not hashes:
        raise LockfileError(f"{pin.name} @ {url}: no hash known for this archive")
    return PackageArchive(url=url, size=size, hashes=dict(sorted(hashes.items())))


def _dependencies(pin: Pin, by_name: Mapping[str, Sequence[Pin]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for dep in sorted(set(pin.dependencies)):
        entries = by_name.get(dep, ())
        if len(entries) == 1:
            out.append({"name": dep})
            continue
        # The same name is locked more than once: point at the entry for the same
        # marker when there is one, else at every entry (the key is informational).
        same = [e for e in entries if e.marker == pin.marker]
        versions = [str(e.version) for e in entries]
        for entry in same or entries:
            ref = {"name": dep, "version": str(entry.version)}
            if versions.count(str(entry.version)) > 1 and entry.marker:
                ref["marker"] = entry.marker
            out.append(ref)
    return out


def _index(pin: Pin) -> str | None:
    if pin.index:
        return lock_url(pin.index)
    indexes = {d.index for d in pin.files if d.index}
    return lock_url(indexes.pop()) if len(indexes) == 1 else None


def _hashes(dist: DistFile, pin: Pin) -> dict[str, str]:
    if not dist.hashes:
        raise LockfileError(
            f"{pin.name} {pin.version}: no hash for {dist.filename}; every locked file needs one"
        )
    return dict(sorted(dist.hashes))


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _marker(text: str | None, *, what: str) -> Marker | None:
    if text is None:
        return None
    try:
        return Marker(text)
    except InvalidMarker as exc:
        raise LockfileError(f"invalid {what}: {text!r}: {exc}") from exc


def _specifier(text: str | None, *, what: str) -> SpecifierSet | None:
    if text is None:
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier as exc:
        raise LockfileError(f"invalid {what}: {text!r}") from exc


def _toml_ready(value: Any) -> Any:
    """Make caller-given ``[tool.advisor]`` content TOML-ready and deterministic."""
    if isinstance(value, Mapping):
        return {str(k): _toml_ready(v) for k, v in sorted(value.items()) if v is not None}
    if isinstance(value, str):
        return _USERINFO_RE.sub(lambda m: m.group(0).split("://")[0] + "://", value)
    if isinstance(value, bool | int | float | datetime):
        return value
    if isinstance(value, frozenset | set):
        return sorted(_toml_ready(v) for v in value)
    if isinstance(value, list | tuple):
        return [_toml_ready(v) for v in value if v is not None]
    if isinstance(value, Enum):
        return _toml_ready(value.value)
    if isinstance(value, Version | Marker | SpecifierSet | PurePath):
        return str(value)
    raise LockfileError(f"cannot write {type(value).__name__} value {value!r} to [tool.advisor]")


# --------------------------------------------------------------------------- read


def load_pylock(path: Path) -> Pylock:
    """Read and validate ``path`` as a :class:`Pylock`.

    Raises :class:`LockfileError` naming the file (and the key, for invalid content).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise LockfileError(f"{path}: cannot read lock: {reason}") from exc
    return _validated(text, source=str(path))


def _toml(text: str, *, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidLockToml(source=source, reason=str(exc)) from exc


def is_pylock_text(text: str, *, source: str) -> bool:
    """Whether ``text`` is a TOML document with a top-level ``lock-version`` (a pylock, or
    meant to be one), to tell a lock by its content when its name does not say. Raises
    :class:`InvalidLockToml` (naming ``source``) when it is not TOML. Cost: one parse."""
    return "lock-version" in _toml(text, source=source)


def _validated(text: str, *, source: str) -> Pylock:
    data = _toml(text, source=source)
    try:
        return Pylock.from_dict(data)
    except PylockValidationError as exc:
        key = f" at {exc.context!r}" if exc.context else ""
        raise LockfileError(f"{source}: invalid lock{key}: {exc.message}") from exc


def read_pylock(path: Path) -> LockedStack:
    """Read a ``pylock.toml`` for re-lock preferences, checks and diffs.

    Raises :class:`LockfileError` naming the file and the offending key.
    """
    return _locked_stack(load_pylock(path), source=str(path))


def parse_pylock(text: str, *, source: str) -> LockedStack:
    """Like :func:`read_pylock` for text already read (``source`` names it in errors)."""
    return _locked_stack(_validated(text, source=source), source=source)


def _locked_stack(lock: Pylock, *, source: str) -> LockedStack:
    raw_tool = (lock.tool or {}).get(_TOOL, {})
    if not isinstance(raw_tool, Mapping):
        raise LockfileError(f"{source}: invalid lock at 'tool.{_TOOL}': expected a table")
    record = LockRecord.from_table(raw_tool, source=source)
    packages = tuple(_locked_package(p) for p in lock.packages)
    pins: dict[NormalizedName, Version] = {}
    for pkg in packages:
        if pkg.version is not None and (pkg.name not in pins or pkg.version > pins[pkg.name]):
            pins[pkg.name] = pkg.version
    return LockedStack(
        path=source,
        pins=dict(sorted(pins.items())),
        packages=packages,
        record=record,
        environments=tuple(str(m) for m in lock.environments or ()),
        requires_python=str(lock.requires_python) if lock.requires_python else None,
        created_by=lock.created_by,
    )


def _locked_package(pkg: Package) -> LockedPackage:
    source, url = "index", None
    files = tuple(w.filename for w in pkg.wheels or ())
    if pkg.sdist is not None:
        files += (pkg.sdist.filename,)
    listed = [*(pkg.wheels or ()), *(f for f in (pkg.sdist, pkg.archive) if f is not None)]
    hashed = tuple((_file_label(f), bool(f.hashes)) for f in listed)
    sha256 = tuple(
        (_file_label(f), str(f.hashes["sha256"])) for f in listed if "sha256" in (f.hashes or {})
    )
    if pkg.archive is not None:
        source, url = "archive", pkg.archive.url or pkg.archive.path
    elif pkg.vcs is not None:
        source, url = "vcs", pkg.vcs.url or pkg.vcs.path
    elif pkg.directory is not None:
        source, url = "directory", pkg.directory.path
    tool = (pkg.tool or {}).get(_TOOL)
    needs_build = isinstance(tool, Mapping) and tool.get("needs-build") is True
    deps = tuple(
        sorted({canonicalize_name(str(d["name"])) for d in pkg.dependencies or () if "name" in d})
    )
    return LockedPackage(
        name=pkg.name,
        version=pkg.version,
        marker=str(pkg.marker) if pkg.marker else None,
        requires_python=str(pkg.requires_python) if pkg.requires_python else None,
        index=pkg.index,
        source=source,
        url=url,
        files=files,
        dependencies=deps,
        needs_build=needs_build,
        hashed_files=hashed,
        sha256=sha256,
    )


def _file_label(file: PackageWheel | PackageSdist | PackageArchive) -> str:
    """A file as a message names it: its name, else its URL or path."""
    name = None if isinstance(file, PackageArchive) else file.name
    return str(name or file.url or file.path)
