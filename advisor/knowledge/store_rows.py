"""What the store backends share that needs no SQL: observations as rows, what a put
changes, payloads decoded, statistics, and the values the store protocol returns.

Sits under :mod:`advisor.knowledge.store` (the :class:`~advisor.knowledge.store.KnowledgeStore`
protocol, store URLs and :func:`~advisor.knowledge.store.open_store`, which re-exports the
values defined here) and the two backends (:mod:`.sqlite_store`, :mod:`.postgres_store`,
through :mod:`.sqlbase`), which run the SQL and hand their rows here: turning observations
into rows, deciding what a ``put`` adds, replaces, keeps and removes, decoding payloads
(cached, with corrupt rows reported and skipped, never raised) and counting. Imports nothing
of the backends, so no cycle runs through it.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
from packaging.utils import canonicalize_name

from advisor.errors import AdvisorError, InputError
from advisor.knowledge.schema import KINDS as schema_kinds
from advisor.knowledge.schema import (
    Observation,
    decode_observation,
    encode_observation,
    observation_key,
    packages_of,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

__all__ = [
    "KINDS",
    "STATS_QUERY",
    "KindStats",
    "KnowledgeStoreError",
    "ObservationDecoder",
    "ObservationRow",
    "PutPlan",
    "PutResult",
    "RecorderStats",
    "SourceStats",
    "StoreProblem",
    "StoreStats",
    "build_stats",
    "canonical_names",
    "check_kinds",
    "group_by_package",
    "kind_of",
    "plan_put",
    "prepare_rows",
    "source_matches",
]


class KnowledgeStoreError(AdvisorError):
    """The knowledge store cannot be used: unreachable server, unreadable file, failed or
    too-new migration. ``url`` never holds a password; ``host``/``port`` name a server."""

    exit_code = 3

    def __init__(
        self, message: str, *, url: str, host: str | None = None, port: int | None = None
    ) -> None:
        super().__init__(message)
        self.url = url
        self.host = host
        self.port = port


_log = logging.getLogger("advisor.knowledge.store")  # the name its warnings always had

KINDS: tuple[str, ...] = tuple(sorted(schema_kinds))
_DECODE_CACHE_SIZE = 16_384


# -- values the protocol returns -------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PutResult:
    """What one :meth:`~advisor.knowledge.store.KnowledgeStore.put` did, counted in observations."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class KindStats:
    kind: str
    count: int
    newest: str | None  # the newest provenance date, ISO 8601


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceStats:
    source: str
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RecorderStats:
    """How many observations one recorder (a machine's id; ``""``: unattributed) recorded."""

    recorder: str
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreStats:
    """Counts per kind (every known kind, zero included), per source and per recorder,
    sorted by name; of the observations a ``source`` pattern and a ``recorder`` select
    (``None``: all). ``this_recorder``: the id of the machine asking, when its caller
    fills it in (``""``: none)."""

    url: str
    schema_version: int
    kinds: tuple[KindStats, ...]
    sources: tuple[SourceStats, ...]
    recorders: tuple[RecorderStats, ...] = ()
    source: str | None = None
    recorder: str | None = None
    this_recorder: str = ""

    @property
    def total(self) -> int:
        return sum(k.count for k in self.kinds)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreProblem:
    """A stored row that could not be read back (it is skipped by every read)."""

    key: str
    reason: str


# -- rows and puts --------------------------------------------------------------------------


def kind_of(obs: Observation) -> str:
    """The observation's ``type`` tag: ``advisory``, ``build``, ``performance`` …"""
    return str(type(obs).__struct_config__.tag)


def check_kinds(kinds: Collection[str] | None) -> tuple[str, ...] | None:
    """``kinds`` sorted and checked (``None``: every kind). Raises :class:`InputError`."""
    if kinds is None:
        return None
    if isinstance(kinds, str):
        kinds = (kinds,)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise InputError(
            f"unknown observation kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}"
        )
    return tuple(sorted(set(kinds)))


def canonical_names(names: Iterable[str]) -> list[str]:
    """Canonical names, first occurrence kept, in the order given."""
    if isinstance(names, str):
        names = (names,)
    return list(dict.fromkeys(canonicalize_name(n) for n in names))


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservationRow:
    """One observation as the tables hold it."""

    key: str
    kind: str
    source: str
    date: str
    payload: str
    packages: tuple[str, ...]
    recorder: str = ""

    def values(self) -> tuple[str, str, str, str, str, str]:
        """The ``observations`` columns: key, kind, source, date, payload, recorder."""
        return (self.key, self.kind, self.source, self.date, self.payload, self.recorder)


def prepare_rows(observations: Iterable[Observation]) -> list[ObservationRow]:
    """Encode ``observations``; of several with the same key, the last one wins."""
    rows: dict[str, ObservationRow] = {}
    for obs in observations:
        key = observation_key(obs)
        rows.pop(key, None)
        rows[key] = ObservationRow(
            key=key,
            kind=kind_of(obs),
            source=obs.provenance.source,
            date=obs.provenance.date,
            payload=encode_observation(obs).decode(),
            packages=packages_of(obs),
            recorder=obs.provenance.recorder,
        )
    return list(rows.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class PutPlan:
    """What a put writes: new rows, changed rows, keys to delete, and how many were equal."""

    insert: tuple[ObservationRow, ...]
    update: tuple[ObservationRow, ...]
    delete: tuple[str, ...]
    unchanged: int

    @property
    def result(self) -> PutResult:
        return PutResult(
            added=len(self.insert),
            replaced=len(self.update),
            unchanged=self.unchanged,
            removed=len(self.delete),
        )


def plan_put(
    rows: Iterable[ObservationRow],
    existing: Mapping[str, str],
    *,
    source_keys: Iterable[str] = (),
) -> PutPlan:
    """Compare ``rows`` with the stored payloads of their keys (``existing``); the keys in
    ``source_keys`` (those of the source being replaced) that ``rows`` lacks are deleted."""
    insert: list[ObservationRow] = []
    update: list[ObservationRow] = []
    unchanged = 0
    wanted: set[str] = set()
    for row in rows:
        wanted.add(row.key)
        stored = existing.get(row.key)
        if stored is None:
            insert.append(row)
        elif stored == row.payload:
            unchanged += 1
        else:
            update.append(row)
    delete = tuple(sorted(set(source_keys) - wanted))
    return PutPlan(insert=tuple(insert), update=tuple(update), delete=delete, unchanged=unchanged)


# -- reads ----------------------------------------------------------------------------------


class ObservationDecoder:
    """Decodes stored payloads, caching per key the payload last decoded and its value (the
    values are immutable, so one is shared by every read of an unchanged row; a changed
    payload is decoded again). A payload that does not decode is logged and recorded in
    :attr:`problems`, and ``None`` is returned."""

    def __init__(self, *, url: str, cache_size: int = _DECODE_CACHE_SIZE) -> None:
        self._url = url
        self._lock = threading.Lock()  # a pooled store decodes on many threads at once
        self._cache: dict[str, tuple[str, Observation]] = {}  # key → (payload, value)
        self._cache_size = cache_size
        self._problems: dict[str, StoreProblem] = {}

    @property
    def problems(self) -> tuple[StoreProblem, ...]:
        with self._lock:
            return tuple(self._problems[k] for k in sorted(self._problems))

    def decode(self, key: str, payload: str | bytes) -> Observation | None:
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
        cached = self._cache.get(key)
        # comparing with the text decoded last time is a memcmp; hashing it would cost more
        if cached is not None and cached[0] == text:
            return cached[1]
        try:
            obs = decode_observation(text)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            with self._lock:
                if key not in self._problems:
                    _log.warning("%s: skipped stored observation %s: %s", self._url, key, exc)
                    self._problems[key] = StoreProblem(key=key, reason=str(exc))
            return None
        with self._lock:
            if key not in self._cache and len(self._cache) >= self._cache_size:
                del self._cache[next(iter(self._cache))]
            self._cache[key] = (text, obs)
        return obs

    def decode_all(self, rows: Iterable[tuple[str, str]]) -> list[Observation]:
        """Decoded ``(key, payload)`` rows, corrupt ones skipped."""
        found = []
        for key, payload in rows:
            obs = self.decode(key, payload)
            if obs is not None:
                found.append(obs)
        return found


def group_by_package(
    names: Iterable[str],
    rows: Iterable[tuple[str, str, str]],
    decoder: ObservationDecoder,
) -> dict[str, list[Observation]]:
    """``(package, key, payload)`` rows grouped under each of ``names`` (all present)."""
    grouped: dict[str, list[Observation]] = {name: [] for name in names}
    for package, key, payload in rows:
        obs = decoder.decode(key, payload)
        if obs is not None and package in grouped:
            grouped[package].append(obs)
    return grouped


#: what the stores' stats query selects, grouped by kind, source and recorder
STATS_QUERY = (
    "SELECT kind, source, recorder, COUNT(*), MAX(date) FROM observations"
    " GROUP BY kind, source, recorder"
)


def source_matches(pattern: str | None, source: str) -> bool:
    """Whether ``source`` is selected by ``pattern``: a shell-style pattern (``*``, ``?``,
    ``[…]``; ``image-build:*``, ``knowledge/*``), else an exact name; ``None`` selects all."""
    if pattern is None:
        return True
    return fnmatch.fnmatchcase(source, pattern)


def build_stats(
    *,
    url: str,
    schema_version: int,
    rows: Iterable[tuple[str, str, str, int, str | None]],
    source: str | None = None,
    recorder: str | None = None,
) -> StoreStats:
    """Stats from ``(kind, source, recorder, count, newest date)`` rows (see
    :data:`STATS_QUERY`), of those whose source matches ``source`` and whose recorder is
    ``recorder`` (``None``: all)."""
    per_kind = {kind: KindStats(kind=kind, count=0, newest=None) for kind in KINDS}
    per_source: dict[str, int] = {}
    per_recorder: dict[str, int] = {}
    for kind, row_source, row_recorder, count, newest in rows:
        if not source_matches(source, row_source):
            continue
        if recorder is not None and row_recorder != recorder:
            continue
        seen = per_kind[kind]
        dates = [d for d in (seen.newest, newest or None) if d]
        per_kind[kind] = KindStats(
            kind=kind, count=seen.count + int(count), newest=max(dates, default=None)
        )
        per_source[row_source] = per_source.get(row_source, 0) + int(count)
        per_recorder[row_recorder] = per_recorder.get(row_recorder, 0) + int(count)
    return StoreStats(
        url=url,
        schema_version=schema_version,
        kinds=tuple(per_kind[k] for k in sorted(per_kind)),
        sources=tuple(SourceStats(source=s, count=c) for s, c in sorted(per_source.items())),
        recorders=tuple(
            RecorderStats(recorder=r, count=c) for r, c in sorted(per_recorder.items())
        ),
        source=source,
        recorder=recorder,
    )
