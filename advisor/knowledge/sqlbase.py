"""What the SQLite and PostgreSQL stores share: lifetime, reads, meta writes and tokens.

Beside :mod:`advisor.knowledge.store` (the protocol) and :mod:`advisor.knowledge.store_rows`
(the SQL-independent logic); the two
backends differ here only in the driver's parameter placeholder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor.knowledge.store_rows import ObservationDecoder, check_kinds
from advisor.knowledge.tokens import TokenTable

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator
    from types import TracebackType
    from typing import Self

    from advisor.knowledge.schema import Observation

__all__ = ["PAGE", "SqlStoreBase", "StoreLifetime"]


class StoreLifetime:
    """Closing and context-manager behaviour both backends share: ``close`` is idempotent
    and thread-safe. Subclasses set ``_lock``, ``_closed`` and ``_conn``."""

    _lock: Any
    _closed: bool
    _conn: Any

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


#: rows read per query when iterating a kind (memory stays bounded)
PAGE = 500


class SqlStoreBase(StoreLifetime, TokenTable):
    """The reads, meta writes and tokens both SQL backends share; they differ only in the
    driver's parameter placeholder (``_MARK``). Subclasses provide ``_guard(action)`` (a connection
    whose errors become :class:`KnowledgeStoreError`), ``_decoder`` and ``for_packages``."""

    _MARK = "?"
    # the date column as the newest-first reads order it: by code point in both stores
    _DATE = "date"
    _decoder: ObservationDecoder

    def _guard(self, action: str) -> Any:
        raise NotImplementedError

    def for_packages(
        self, names: Iterable[str], *, kinds: Collection[str] | None = None
    ) -> dict[str, list[Observation]]:
        raise NotImplementedError

    def set_meta(self, key: str, value: str) -> None:
        m = self._MARK
        with self._guard("set_meta") as conn:
            conn.execute(
                f"INSERT INTO meta (key, value) VALUES ({m}, {m})"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def get_meta(self, key: str) -> str | None:
        with self._guard("get_meta") as conn:
            row = conn.execute(
                f"SELECT value FROM meta WHERE key = {self._MARK}", (key,)
            ).fetchone()
        return None if row is None else str(row[0])

    def get(self, key: str) -> Observation | None:
        with self._guard("get") as conn:
            row = conn.execute(
                f"SELECT payload FROM observations WHERE key = {self._MARK}", (key,)
            ).fetchone()
        return None if row is None else self._decoder.decode(key, row[0])

    def for_package(self, name: str, *, kinds: Collection[str] | None = None) -> list[Observation]:
        return next(iter(self.for_packages([name], kinds=kinds).values()))

    def iter_kind(self, kind: str) -> Iterator[Observation]:
        check_kinds((kind,))
        m = self._MARK
        after = ""
        while True:
            with self._guard("iter_kind") as conn:
                rows = conn.execute(
                    f"SELECT key, payload FROM observations WHERE kind = {m} AND key > {m}"
                    f" ORDER BY key LIMIT {m}",
                    (kind, after, PAGE),
                ).fetchall()
            yield from self._decoder.decode_all((str(k), str(p)) for k, p in rows)
            if len(rows) < PAGE:
                return
            after = str(rows[-1][0])

    def newest(self, kind: str, limit: int, *, packaged: bool | None = None) -> list[Observation]:
        check_kinds((kind,))
        if limit <= 0:
            return []
        m, date = self._MARK, self._DATE
        about = ""
        if packaged is not None:
            about = (" AND " if packaged else " AND NOT ") + (
                "EXISTS (SELECT 1 FROM observation_packages p WHERE p.key = observations.key)"
            )
        with self._guard("newest") as conn:
            rows = conn.execute(
                f"SELECT key, payload FROM observations WHERE kind = {m}{about}"
                f" ORDER BY {date} DESC, key DESC LIMIT {m}",
                (kind, limit),
            ).fetchall()
        return self._decoder.decode_all((str(k), str(p)) for k, p in rows)
