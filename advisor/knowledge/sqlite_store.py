"""The embedded knowledge store: one SQLite file (the default, in the user data directory).

Sits under :func:`advisor.knowledge.store.open_store`, beside the PostgreSQL store, with the
same behaviour. The file is in WAL mode, so readers never block the writer nor each other;
every read is one statement (one consistent snapshot); writes take the write lock up front
(``BEGIN IMMEDIATE``) and wait up to ``timeout`` seconds for another writer (``busy_timeout``).
Bulk writes use ``executemany``; lists of names and keys travel as one JSON parameter
(``json_each``), so any number of them is still one indexed query.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from typing import TYPE_CHECKING, Any

from advisor.knowledge.migrations import MIGRATIONS, Dialect, SchemaTooNew, migrate
from advisor.knowledge.sqlbase import SqlStoreBase
from advisor.knowledge.store_rows import (
    STATS_QUERY,
    KnowledgeStoreError,
    ObservationDecoder,
    PutResult,
    StoreProblem,
    StoreStats,
    build_stats,
    canonical_names,
    check_kinds,
    group_by_package,
    plan_put,
    prepare_rows,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator, Sequence
    from pathlib import Path

    from advisor.knowledge.migrations import Migration
    from advisor.knowledge.schema import Observation

__all__ = ["SQLiteStore"]

_MEMORY = ":memory:"  # sqlite:///:memory: — a private, throwaway store (tests, one-off runs)
_SELECT_BY_PACKAGE = (
    "SELECT p.package, o.key, o.payload"
    " FROM observation_packages p CROSS JOIN observations o ON o.key = p.key"  # p drives
    " WHERE p.package IN (SELECT value FROM json_each(?)){kinds}"
    " ORDER BY p.package, o.key"
)


class _Target:
    """The migration runner's view of the connection (inside the open transaction)."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def table_exists(self, name: str) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return bool(self.execute(query, (name,)))


class SQLiteStore(SqlStoreBase):
    """A :class:`~advisor.knowledge.store.KnowledgeStore` in one SQLite file.

    Opening creates the file (and its folder) and migrates it; the path ``:memory:`` gives
    a store that lives as long as the object. One store object may be shared by threads
    (calls are serialised); processes each open their own.
    Raises :class:`KnowledgeStoreError` when the file cannot be opened or migrated.
    """

    _MARK = "?"  # the driver's parameter placeholder

    def __init__(
        self,
        path: Path,
        *,
        timeout: float = 30.0,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        memory = str(path) == _MEMORY
        self.path = path if memory else path.absolute()
        self.url = f"sqlite:///{self.path}"
        self._decoder = ObservationDecoder(url=self.url)
        self._lock = threading.RLock()
        self._closed = False
        try:
            if not memory:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise self._error(f"cannot open {self.path}: {exc}") from exc
        self._conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            with self._write():
                self.schema_version = migrate(_Target(conn), migrations=migrations)
        except (sqlite3.Error, SchemaTooNew, ValueError) as exc:
            conn.close()
            self._closed = True
            raise self._error(f"cannot open {self.path}: {exc}") from exc

    # -- plumbing ---------------------------------------------------------------------------

    def _error(self, message: str) -> KnowledgeStoreError:
        return KnowledgeStoreError(f"knowledge store: {message}", url=self.url)

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[sqlite3.Connection]:
        """Serialise the call and translate the driver's errors."""
        with self._lock:
            if self._closed:
                raise self._error(f"{action}: the store is closed")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise self._error(f"{action} in {self.path}: {exc}") from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding the database's write lock from its start."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- writes -----------------------------------------------------------------------------

    @property
    def problems(self) -> tuple[StoreProblem, ...]:
        return self._decoder.problems

    def put(
        self, observations: Iterable[Observation], *, replace_source: str | None = None
    ) -> PutResult:
        rows = prepare_rows(observations)
        with self._guard("put") as conn, self._write():
            keys = json.dumps([r.key for r in rows])
            existing: dict[str, str] = dict(
                conn.execute(
                    "SELECT key, payload FROM observations"
                    " WHERE key IN (SELECT value FROM json_each(?))",
                    (keys,),
                ).fetchall()
            )
            source_keys: list[str] = []
            if replace_source is not None:
                found = conn.execute(
                    "SELECT key FROM observations WHERE source = ?", (replace_source,)
                )
                source_keys = [key for (key,) in found]
            plan = plan_put(rows, existing, source_keys=source_keys)
            stale = [(key,) for key in plan.delete] + [(row.key,) for row in plan.update]
            conn.executemany("DELETE FROM observation_packages WHERE key = ?", stale)
            conn.executemany(
                "DELETE FROM observations WHERE key = ?", [(key,) for key in plan.delete]
            )
            conn.executemany(
                "UPDATE observations SET kind = ?, source = ?, date = ?, payload = ?,"
                " recorder = ? WHERE key = ?",
                [(r.kind, r.source, r.date, r.payload, r.recorder, r.key) for r in plan.update],
            )
            conn.executemany(
                "INSERT INTO observations (key, kind, source, date, payload, recorder)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [r.values() for r in plan.insert],
            )
            conn.executemany(
                "INSERT INTO observation_packages (package, key) VALUES (?, ?)",
                [(p, r.key) for r in (*plan.insert, *plan.update) for p in r.packages],
            )
        return plan.result

    def delete_source(self, source: str) -> int:
        with self._guard("delete_source") as conn, self._write():
            conn.execute(
                "DELETE FROM observation_packages"
                " WHERE key IN (SELECT key FROM observations WHERE source = ?)",
                (source,),
            )
            return conn.execute("DELETE FROM observations WHERE source = ?", (source,)).rowcount

    # -- reads ------------------------------------------------------------------------------

    def for_packages(
        self, names: Iterable[str], *, kinds: Collection[str] | None = None
    ) -> dict[str, list[Observation]]:
        wanted = canonical_names(names)
        only = check_kinds(kinds)
        if not wanted:
            return {}
        params = [json.dumps(wanted)]
        clause = ""
        if only is not None:
            clause = " AND o.kind IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(only))
        with self._guard("for_packages") as conn:
            rows = conn.execute(_SELECT_BY_PACKAGE.format(kinds=clause), params).fetchall()
        return group_by_package(wanted, rows, self._decoder)

    def stats(self, *, source: str | None = None, recorder: str | None = None) -> StoreStats:
        with self._guard("stats") as conn:
            conn.execute("BEGIN")  # one snapshot for the two queries
            try:
                rows = conn.execute(STATS_QUERY).fetchall()
                (version,) = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            finally:
                conn.execute("COMMIT")
        return build_stats(
            url=self.url, schema_version=int(version), rows=rows, source=source, recorder=recorder
        )

    # -- lifetime ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"SQLiteStore({self.url!r})"
