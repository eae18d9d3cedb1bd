"""The team knowledge store: PostgreSQL through psycopg 3 (the only module importing it).

Sits under :func:`advisor.knowledge.store.open_store`, beside the SQLite store, with the same
behaviour (one test suite runs on both). psycopg is imported when a store is opened, so the
rest of the advisor runs without it. One connection serves a command's calls in turn; the
server asks for a pool instead (``pool_size``, psycopg_pool, imported only then), so its
threads query at once, and a connection broken by a restart of the database is replaced
when it is next handed out. Connections are in autocommit mode: every read is one
statement (one snapshot); writes run in one transaction that first locks ``observations``
against other writers (readers are not blocked). New rows arrive by ``COPY``; changed rows
by ``executemany`` (which psycopg pipelines). Lists of names and keys are one array
parameter (``= ANY(%s)``). A schema in the URL's ``options=-csearch_path=NAME`` is honoured.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from advisor.errors import InputError
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
from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator, Sequence
    from types import ModuleType

    import psycopg

    from advisor.knowledge.migrations import Migration
    from advisor.knowledge.schema import Observation

__all__ = ["PostgresStore"]

_MIGRATION_LOCK = 0x5AD0_4B10  # pg_advisory_xact_lock key: one migrating process at a time
_SELECT_BY_PACKAGE = (
    "SELECT p.package, o.key, o.payload"
    " FROM observation_packages p JOIN observations o ON o.key = p.key"
    " WHERE p.package = ANY(%s){kinds}"
    " ORDER BY p.package, o.key"
)


def _password(url: str) -> str:
    """The URL's password (userinfo or query), to scrub from driver messages; best effort."""
    try:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        return parts.password or query.get("password", "")
    except ValueError:
        return ""


class _Target:
    """The migration runner's view of the connection (inside the open transaction)."""

    dialect: Dialect = "postgres"

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        self._cursor.execute(sql.replace("?", "%s"), tuple(params) if params else None)
        return list(self._cursor.fetchall()) if self._cursor.description else []

    def table_exists(self, name: str) -> bool:
        return self.execute("SELECT to_regclass(?)", (name,))[0][0] is not None


class PostgresStore(SqlStoreBase):
    """A :class:`~advisor.knowledge.store.KnowledgeStore` in a PostgreSQL database.

    Opening connects and migrates. Raises :class:`InputError` for a malformed URL and
    :class:`KnowledgeStoreError` (naming host and port, never the password) when the server
    cannot be reached or the schema cannot be migrated; a failed migration is rolled back.
    """

    _MARK = "%s"  # the driver's parameter placeholder
    _DATE = 'date COLLATE "C"'  # as the index orders it (see migration 5)

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: int = 10,
        migrations: Sequence[Migration] = MIGRATIONS,
        pool_size: int | None = None,
    ) -> None:
        self.url = redact_url(url)
        self._decoder = ObservationDecoder(url=self.url)
        self._lock = threading.RLock()
        self._closed = True
        self._pool: Any = None
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict
        except ImportError as exc:
            raise KnowledgeStoreError(
                f"knowledge store {self.url}: PostgreSQL needs psycopg (install the "
                "advisor's 'postgres' extra)",
                url=self.url,
            ) from exc
        self._psycopg: ModuleType = psycopg
        self._secret = _password(url)
        try:
            info = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise InputError(
                f"knowledge store: invalid PostgreSQL URL {self.url}: {self._reason(exc)}"
            ) from exc
        self._secret = str(info.get("password") or "") or self._secret
        self.host = str(info.get("host") or "localhost")
        port = str(info.get("port") or "5432")
        if not all(p.strip().isdigit() for p in port.split(",")):
            raise InputError(f"knowledge store: {self.url}: port {port!r} is not a number")
        self.port = int(port.split(",")[0])
        self._where = f"{self.host}:{port}"
        options: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in info:
            options["connect_timeout"] = connect_timeout
        try:
            self._conn: psycopg.Connection[tuple[Any, ...]] = psycopg.connect(url, **options)
        except psycopg.Error as exc:
            raise self._error(f"cannot connect: {self._reason(exc)}") from exc
        self._closed = False
        try:
            with self._conn.transaction(), self._conn.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                self.schema_version = migrate(_Target(cursor), migrations=migrations)
        except (psycopg.Error, SchemaTooNew, ValueError) as exc:
            self.close()
            raise self._error(f"migration failed (rolled back): {self._reason(exc)}") from exc
        if pool_size is not None:
            self._open_pool(url, options, size=pool_size, timeout=connect_timeout)

    def _open_pool(self, url: str, options: dict[str, Any], *, size: int, timeout: int) -> None:
        """From now on, calls take a connection of a pool of 1 to ``size`` (the one that
        migrated is closed)."""
        try:
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            self.close()
            raise KnowledgeStoreError(
                f"knowledge store {self.url}: a pool of connections needs psycopg_pool "
                "(install the advisor's 'postgres' extra)",
                url=self.url,
            ) from exc
        pool: ConnectionPool[Any] = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, size),
            kwargs=options,
            open=False,
            # a connection is checked as it is handed out: one broken by a restart of the
            # server is replaced then, instead of failing the call that drew it
            check=ConnectionPool.check_connection,
            timeout=timeout,
            name="advisor",
        )
        try:
            pool.open(wait=True, timeout=timeout)
        except self._psycopg.Error as exc:  # PoolTimeout is an OperationalError
            pool.close()
            self.close()
            raise self._error(f"cannot fill a connection pool: {self._reason(exc)}") from exc
        self._conn.close()
        self._pool = pool

    # -- plumbing ---------------------------------------------------------------------------

    def _reason(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split())
        return text.replace(self._secret, "***") if self._secret else text

    def _error(self, message: str) -> KnowledgeStoreError:
        return KnowledgeStoreError(
            f"knowledge store at {self._where} ({self.url}): {message}",
            url=self.url,
            host=self.host,
            port=self.port,
        )

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A connection for one call (the pool's, else the one, serialised), the driver's
        errors translated."""
        pool = self._pool
        if pool is not None:
            try:
                with pool.connection() as conn:
                    yield conn
            except self._psycopg.Error as exc:
                raise self._error(f"{action}: {self._reason(exc)}") from exc
            return
        with self._lock:
            if self._closed:
                raise self._error(f"{action}: the store is closed")
            try:
                yield self._conn
            except self._psycopg.Error as exc:
                raise self._error(f"{action}: {self._reason(exc)}") from exc

    # -- writes -----------------------------------------------------------------------------

    @property
    def problems(self) -> tuple[StoreProblem, ...]:
        return self._decoder.problems

    def put(
        self, observations: Iterable[Observation], *, replace_source: str | None = None
    ) -> PutResult:
        rows = prepare_rows(observations)
        with self._guard("put") as conn, conn.transaction(), conn.cursor() as cur:
            # other writers wait; readers (ACCESS SHARE) do not
            cur.execute("LOCK TABLE observations IN SHARE ROW EXCLUSIVE MODE")
            existing: dict[str, str] = {}
            if rows:
                cur.execute(
                    "SELECT key, payload FROM observations WHERE key = ANY(%s)",
                    ([r.key for r in rows],),
                )
                existing = dict(cur.fetchall())
            source_keys: list[str] = []
            if replace_source is not None:
                cur.execute("SELECT key FROM observations WHERE source = %s", (replace_source,))
                source_keys = [key for (key,) in cur.fetchall()]
            plan = plan_put(rows, existing, source_keys=source_keys)
            stale = [*plan.delete, *(row.key for row in plan.update)]
            if stale:
                cur.execute("DELETE FROM observation_packages WHERE key = ANY(%s)", (stale,))
            if plan.delete:
                cur.execute("DELETE FROM observations WHERE key = ANY(%s)", (list(plan.delete),))
            if plan.update:
                cur.executemany(
                    "UPDATE observations SET kind = %s, source = %s, date = %s, payload = %s,"
                    " recorder = %s WHERE key = %s",
                    [(r.kind, r.source, r.date, r.payload, r.recorder, r.key) for r in plan.update],
                )
            if plan.insert:
                with cur.copy(
                    "COPY observations (key, kind, source, date, payload, recorder) FROM STDIN"
                ) as copy:
                    for row in plan.insert:
                        copy.write_row(row.values())
            links = [(p, r.key) for r in (*plan.insert, *plan.update) for p in r.packages]
            if links:
                with cur.copy("COPY observation_packages (package, key) FROM STDIN") as copy:
                    for link in links:
                        copy.write_row(link)
        return plan.result

    def delete_source(self, source: str) -> int:
        with self._guard("delete_source") as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("LOCK TABLE observations IN SHARE ROW EXCLUSIVE MODE")
            cur.execute(
                "DELETE FROM observation_packages"
                " WHERE key IN (SELECT key FROM observations WHERE source = %s)",
                (source,),
            )
            cur.execute("DELETE FROM observations WHERE source = %s", (source,))
            return cur.rowcount

    # -- reads ------------------------------------------------------------------------------

    def for_packages(
        self, names: Iterable[str], *, kinds: Collection[str] | None = None
    ) -> dict[str, list[Observation]]:
        wanted = canonical_names(names)
        only = check_kinds(kinds)
        if not wanted:
            return {}
        params: list[list[str]] = [wanted]
        clause = ""
        if only is not None:
            clause = " AND o.kind = ANY(%s)"
            params.append(list(only))
        with self._guard("for_packages") as conn:
            rows = conn.execute(_SELECT_BY_PACKAGE.format(kinds=clause), params).fetchall()
        return group_by_package(wanted, rows, self._decoder)

    def stats(self, *, source: str | None = None, recorder: str | None = None) -> StoreStats:
        with self._guard("stats") as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur.execute(STATS_QUERY)
            rows = cur.fetchall()
            cur.execute("SELECT MAX(version) FROM schema_version")
            row = cur.fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        return build_stats(
            url=self.url, schema_version=version, rows=rows, source=source, recorder=recorder
        )

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        super().close()

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"
