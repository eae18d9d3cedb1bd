"""OSV advisories: OSV records → :class:`~advisor.knowledge.schema.Advisory`, and the OSV
rules for whether a version is affected.

Sits in the knowledge layer between the OSV loaders (:mod:`advisor.knowledge.sources.
osv_import` reads dumps, folders and the API and calls :func:`parse_osv` per record) and the
scoring/report layers, which ask :func:`is_affected`, :func:`fixed_versions` and friends.
Pure: no I/O, no clock (the import date is passed in).

Evaluation follows the OSV schema exactly. A version is affected by one ``affected`` entry
when it is in its explicit ``versions`` list, or inside one of its ``ECOSYSTEM`` ranges
(``SEMVER`` ranges of a Python package are read the same way): the range's events are sorted
in PEP 440 order (``introduced: "0"`` first, ``limit: "*"`` last) and walked: ``introduced``
≤ v opens, ``fixed`` ≤ v closes, ``last_affected`` < v closes; ``limit`` events, when
present, bound the range from above. So a release newer than an advisory's ``versions`` list
but inside an open range is still caught. ``GIT`` ranges are counted and dropped at parse
time; a range with an unparsable version is dropped and reported; a withdrawn advisory never
matches.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from advisor._version import TOOL
from advisor.knowledge.schema import (
    Advisory,
    Affected,
    Provenance,
    RangeEvent,
    Severity,
    VersionRange,
)
from advisor.knowledge.sources import Problem, problem_from_error

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

__all__ = [
    "TOOL",
    "ParsedRecord",
    "affected_ranges",
    "affected_versions",
    "default_registry_hosts",
    "fixed_versions",
    "is_affected",
    "parse_osv",
    "parse_osv_json",
]

_SUMMARY_MAX = 300  # characters kept of the first line of ``details`` when there is no summary
_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
_SPACES = re.compile(r"\s+")


# -- the raw OSV shape (only the fields we read; unknown fields are ignored) ------------------


class _Event(msgspec.Struct, frozen=True):
    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None


class _Range(msgspec.Struct, frozen=True):
    type: str
    events: list[_Event] | None = None
    repo: str | None = None


class _Package(msgspec.Struct, frozen=True):
    ecosystem: str
    name: str


class _Severity(msgspec.Struct, frozen=True):
    type: str
    score: str


class _Affected(msgspec.Struct, frozen=True):
    package: _Package | None = None
    versions: list[str] | None = None
    ranges: list[_Range] | None = None
    severity: list[_Severity] | None = None


class _Reference(msgspec.Struct, frozen=True):
    url: str
    type: str | None = None


class _Record(msgspec.Struct, frozen=True):
    id: str
    summary: str | None = None
    details: str | None = None
    aliases: list[str] | None = None
    modified: str | None = None
    published: str | None = None
    withdrawn: str | None = None
    affected: list[_Affected] | None = None
    severity: list[_Severity] | None = None
    references: list[_Reference] | None = None


_RECORD_DECODER = msgspec.json.Decoder(_Record)


# -- parsing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedRecord:
    """What one OSV record gave: the advisory (``None`` when the record was unusable or
    names no Python package), the problems found in it, and how many ``GIT`` ranges were
    skipped. ``foreign`` is true when the record is valid but about other ecosystems only."""

    advisory: Advisory | None
    problems: tuple[Problem, ...] = ()
    skipped_git: int = 0
    foreign: bool = False


def parse_osv_json(
    data: bytes,
    *,
    file: str,
    origin: str,
    date: str,
    tool: str = TOOL,
    registry_hosts: Collection[str] = (),
) -> ParsedRecord:
    """:func:`parse_osv` for the raw bytes of one OSV JSON file (decoded straight into the
    OSV shape: fast). Malformed JSON is one problem, with the line where it broke."""
    try:
        raw = _RECORD_DECODER.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return ParsedRecord(
            advisory=None, problems=(problem_from_error(exc, file=file, data=data),)
        )
    return _build(raw, file=file, origin=origin, date=date, tool=tool, hosts=registry_hosts)


def parse_osv(
    record: object,
    *,
    file: str,
    origin: str,
    date: str,
    tool: str = TOOL,
    registry_hosts: Collection[str] = (),
) -> ParsedRecord:
    """An :class:`Advisory` from one decoded OSV record (a JSON or YAML mapping).

    Keeps the ``PyPI`` entries only (names canonicalised), the id, aliases, summary (else the
    first line of ``details``), explicit versions and ``ECOSYSTEM``/``SEMVER`` ranges,
    severities (the record's and its Python entries'), dates, and reference URLs except those
    on ``registry_hosts`` (or their subdomains). ``Provenance(source="osv:<origin>",
    date=modified or date, tool=tool)``. A field of the wrong shape makes the record unusable
    (one problem naming ``file`` and the field path); a range with an unparsable version, an
    unknown type or no ``introduced`` event is dropped with a problem; the rest is kept.
    """
    try:
        raw = msgspec.convert(record, _Record)
    except msgspec.ValidationError as exc:
        return ParsedRecord(advisory=None, problems=(problem_from_error(exc, file=file),))
    return _build(raw, file=file, origin=origin, date=date, tool=tool, hosts=registry_hosts)


def _build(
    raw: _Record, *, file: str, origin: str, date: str, tool: str, hosts: Collection[str]
) -> ParsedRecord:
    problems: list[Problem] = []
    skipped_git = 0
    affected: list[Affected] = []
    severity: list[Severity] = [Severity(type=s.type, score=s.score) for s in raw.severity or ()]
    entries = raw.affected or []
    for i, entry in enumerate(entries):
        if entry.package is None or entry.package.ecosystem != "PyPI":
            continue
        where = f"affected[{i}]"
        if not entry.package.name.strip():
            problems.append(_problem(file, f"{where}.package.name", "empty package name"))
            continue
        ranges: list[VersionRange] = []
        for j, rng in enumerate(entry.ranges or ()):
            if rng.type == "GIT":
                skipped_git += 1
                continue
            parsed = _parse_range(rng, file=file, where=f"{where}.ranges[{j}]")
            if isinstance(parsed, Problem):
                problems.append(parsed)
            else:
                ranges.append(parsed)
        versions = tuple(dict.fromkeys(v.strip() for v in entry.versions or () if v.strip()))
        affected.append(
            Affected(
                package=canonicalize_name(entry.package.name),
                versions=versions,
                ranges=tuple(ranges),
            )
        )
        severity.extend(Severity(type=s.type, score=s.score) for s in entry.severity or ())
    if not affected:
        if any(e.package is not None and e.package.ecosystem == "PyPI" for e in entries):
            return ParsedRecord(advisory=None, problems=tuple(problems))
        return ParsedRecord(advisory=None, problems=tuple(problems), foreign=True)
    references = tuple(
        dict.fromkeys(
            r.url.strip()
            for r in raw.references or ()
            if r.url.strip() and not _on_hosts(r.url, hosts)
        )
    )
    advisory = Advisory(
        id=raw.id,
        summary=_summary(raw.summary, raw.details),
        aliases=tuple(dict.fromkeys(a for a in raw.aliases or () if a)),
        affected=tuple(affected),
        severity=tuple(dict.fromkeys(severity)),
        published=raw.published,
        modified=raw.modified,
        withdrawn=raw.withdrawn,
        references=references,
        provenance=Provenance(source=f"osv:{origin}", date=raw.modified or date, tool=tool),
    )
    return ParsedRecord(advisory=advisory, problems=tuple(problems), skipped_git=skipped_git)


def _problem(file: str, field: str, message: str) -> Problem:
    return Problem(file=file, field=field, message=message)


def _parse_range(rng: _Range, *, file: str, where: str) -> VersionRange | Problem:
    if rng.type not in ("ECOSYSTEM", "SEMVER"):
        return _problem(file, f"{where}.type", f"unknown range type {rng.type!r}; range skipped")
    events: list[RangeEvent] = []
    for k, event in enumerate(rng.events or ()):
        set_fields = [(kind, getattr(event, kind)) for kind in _EVENT_KINDS]
        present = [(kind, value) for kind, value in set_fields if value is not None]
        if len(present) != 1:
            return _problem(
                file,
                f"{where}.events[{k}]",
                "an event needs exactly one of introduced, fixed, last_affected, limit;"
                " range skipped",
            )
        kind, value = present[0]
        if _event_version(kind, value) is None:
            return _problem(
                file,
                f"{where}.events[{k}].{kind}",
                f"invalid version {value!r} (not PEP 440); range skipped",
            )
        events.append(RangeEvent(**{kind: value.strip()}))
    if not any(e.introduced is not None for e in events):
        return _problem(file, f"{where}.events", "no 'introduced' event; range skipped")
    return VersionRange(
        type="SEMVER" if rng.type == "SEMVER" else "ECOSYSTEM", events=tuple(events)
    )


def _summary(summary: str | None, details: str | None) -> str:
    if summary and summary.strip():
        return _SPACES.sub(" ", summary.strip())
    for line in (details or "").splitlines():
        if line.strip():
            text = _SPACES.sub(" ", line.strip())
            if len(text) <= _SUMMARY_MAX:
                return text
            return text[:_SUMMARY_MAX].rsplit(" ", 1)[0] + " …"
    return ""


def _on_hosts(url: str, hosts: Collection[str]) -> bool:
    try:
        host = (urllib.parse.urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return False
    return any(host == h or host.endswith("." + h) for h in hosts)


def default_registry_hosts() -> frozenset[str]:
    """The host names of the package index and its file storage, read from the installed
    pip at run time (never typed in this code base); empty when pip is not importable."""
    try:
        from pip._internal.models import index
    except ImportError:
        return frozenset()
    hosts: set[str] = set()
    for name in ("PyPI", "TestPyPI"):
        repo = getattr(index, name, None)
        for attr in ("netloc", "file_storage_domain"):
            value = getattr(repo, attr, None)
            if isinstance(value, str) and value:
                hosts.add(value.lower())
    return frozenset(hosts)


# -- evaluation ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _event_version(kind: str, value: str) -> Version | None:
    """The version of one event; ``introduced: "0"`` is the lowest, ``limit: "*"`` the
    highest (returned as a marker version, compared through :func:`_sort_key`)."""
    value = value.strip()
    if (kind == "introduced" and value == "0") or (kind == "limit" and value == "*"):
        return Version("0")
    return _version(value)


def _sort_key(kind: str, value: str) -> tuple[int, Version, int]:
    """Events sort by version; "0" first and "*" last; at one version ``introduced`` first."""
    value = value.strip()
    if kind == "introduced" and value == "0":
        return (0, Version("0"), 0)
    if kind == "limit" and value == "*":
        return (2, Version("0"), 0)
    version = _version(value)
    assert version is not None  # checked by the caller
    return (1, version, 0 if kind == "introduced" else 1)


def _events(rng: VersionRange) -> list[tuple[str, str]] | None:
    """``(kind, value)`` of each event, or ``None`` when one has an unparsable version."""
    out: list[tuple[str, str]] = []
    for event in rng.events:
        for kind in _EVENT_KINDS:
            value = getattr(event, kind)
            if value is not None:
                if _event_version(kind, value) is None:
                    return None
                out.append((kind, value))
    return out


@dataclass(frozen=True, slots=True)
class _Walk:
    """A range ready to evaluate: its events sorted as ``(kind, group, bound)`` (group 0 is
    ``introduced: "0"``, 2 is ``limit: "*"``), and its limits (``None`` for ``*``)."""

    steps: tuple[tuple[str, int, Version], ...]
    limits: tuple[Version | None, ...]


@functools.lru_cache(maxsize=8192)
def _walk(rng: VersionRange) -> _Walk | None:
    events = _events(rng) if rng.type != "GIT" else None
    if events is None:
        return None  # GIT, or an unparsable range: cannot be evaluated (the parser said so)
    keyed = sorted((_sort_key(kind, value), kind) for kind, value in events)
    limits = tuple(
        None if value.strip() == "*" else _sort_key(kind, value)[1]
        for kind, value in events
        if kind == "limit"
    )
    return _Walk(steps=tuple((kind, key[0], key[1]) for key, kind in keyed), limits=limits)


def _in_range(version: Version, rng: VersionRange) -> bool:
    walk = _walk(rng)
    if walk is None:
        return False
    if walk.limits and not any(limit is None or version < limit for limit in walk.limits):
        return False
    affected = False
    for kind, group, bound in walk.steps:
        if kind == "introduced" and (group == 0 or version >= bound):
            affected = True
        elif kind == "fixed" and version >= bound:
            affected = False
        elif kind == "last_affected" and version > bound:
            affected = False
    return affected


@functools.lru_cache(maxsize=8192)
def _version_set(versions: tuple[str, ...]) -> frozenset[Version]:
    return frozenset(v for v in map(_version, versions) if v is not None)


def _entries(advisory: Advisory, name: str) -> Iterable[Affected]:
    canonical = canonicalize_name(name)
    return (a for a in advisory.affected if canonicalize_name(a.package) == canonical)


def is_affected(advisory: Advisory, name: str, version: str | Version) -> bool:
    """Whether ``name`` at ``version`` is affected by ``advisory`` (OSV rules; see the
    module docstring). A withdrawn advisory never matches. An unparsable ``version`` can
    only match the explicit ``versions`` list, by exact text. Cost: O(versions + events)
    per matching entry; parsed versions are cached."""
    if advisory.withdrawn:
        return False
    parsed = version if isinstance(version, Version) else _version(version)
    text = str(version)
    for entry in _entries(advisory, name):
        if text in entry.versions:
            return True
        if parsed is None:
            continue
        if parsed in _version_set(entry.versions):
            return True
        if any(_in_range(parsed, rng) for rng in entry.ranges):
            return True
    return False


def _pep440_sorted(values: Iterable[str]) -> tuple[str, ...]:
    unique = dict.fromkeys(values)
    valid = sorted((v for v in unique if _version(v) is not None), key=_version_key)
    return (*valid, *sorted(v for v in unique if _version(v) is None))


def _version_key(text: str) -> Version:
    version = _version(text)
    assert version is not None
    return version


def affected_versions(advisory: Advisory, name: str) -> tuple[str, ...]:
    """The advisory's explicit ``versions`` for ``name`` (all its entries), in PEP 440 order
    (unparsable ones last). Ranges may cover more: use :func:`is_affected` to decide."""
    return _pep440_sorted(v for entry in _entries(advisory, name) for v in entry.versions)


def fixed_versions(advisory: Advisory, name: str) -> tuple[str, ...]:
    """Every ``fixed`` version of ``name``'s ECOSYSTEM/SEMVER ranges, in PEP 440 order."""
    return _pep440_sorted(
        event.fixed.strip()
        for entry in _entries(advisory, name)
        for rng in entry.ranges
        if rng.type != "GIT"
        for event in rng.events
        if event.fixed is not None and _version(event.fixed.strip()) is not None
    )


def affected_ranges(advisory: Advisory, name: str) -> tuple[str, ...]:
    """``name``'s ranges as PEP 440 specifier texts, for people (``"<1.19.0"``,
    ``">=2.3.0, <2.31.0"``, ``">=0"`` for every version); one text per affected interval."""
    out: list[str] = []
    for entry in _entries(advisory, name):
        for rng in entry.ranges:
            events = _events(rng) if rng.type != "GIT" else None
            if events is None:
                continue
            limits = [f"<{v.strip()}" for k, v in events if k == "limit" and v.strip() != "*"]
            start: str | None = None
            for kind, value in sorted(events, key=lambda e: _sort_key(*e)):
                value = value.strip()
                if kind == "introduced" and start is None:
                    start = "" if value == "0" else f">={value}"
                elif kind in ("fixed", "last_affected") and start is not None:
                    end = f"<{value}" if kind == "fixed" else f"<={value}"
                    out.append(", ".join(p for p in (start, end, *limits) if p))
                    start = None
            if start is not None:
                out.append(", ".join(p for p in (start, *limits) if p) or ">=0")
    return tuple(dict.fromkeys(out))
