"""The knowledge store: one protocol, an embedded SQLite default and a PostgreSQL backend.

Sits between the loaders (OSV, the repository's ``knowledge/`` folder, observe runs), which
``put`` observations, and the graph, scoring and report layers, which read them back by
package or by kind. :func:`open_store` picks the backend from a URL; the backends
(:mod:`.sqlite_store`, :mod:`.postgres_store`) hold only SQL and driver code. Here: the
protocol, its error, store URLs (parsing, the default, redaction), and how a run gets its
store (:func:`store_opener`: opened for the run, or one its owner shares). What the backends
share without SQL (observations as rows, what a ``put`` changes, decoding payloads, stats)
and the value types the protocol returns are :mod:`advisor.knowledge.store_rows`'s; those
its methods name are re-exported here, with the protocol they belong to.
"""

from __future__ import annotations

import contextlib
import logging
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeAlias

from advisor.errors import InputError
from advisor.knowledge.store_rows import KnowledgeStoreError, PutResult, StoreProblem, StoreStats
from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
    from contextlib import AbstractContextManager
    from types import TracebackType
    from typing import Self

    from advisor.knowledge.schema import Observation

__all__ = [
    "KnowledgeStore",
    "KnowledgeStoreError",
    "PutResult",
    "StoreOpener",
    "StoreProblem",
    "StoreStats",
    "choose_store_url",
    "default_store_url",
    "open_store",
    "sqlite_path",
    "store_opener",
]

_POSTGRES_SCHEMES = frozenset({"postgres", "postgresql"})
_log = logging.getLogger(__name__)


class KnowledgeStore(Protocol):
    """Where observations live. Both backends behave the same (one test suite runs on both).

    Reads return observations ordered by key; a row whose payload does not decode is skipped
    and listed in :attr:`problems`. Package names are canonicalised (PEP 503) on the way in.
    """

    url: str  # without a password

    @property
    def problems(self) -> tuple[StoreProblem, ...]:
        """Rows skipped by reads so far, because their payload did not decode."""
        ...

    def put(
        self, observations: Iterable[Observation], *, replace_source: str | None = None
    ) -> PutResult:
        """Upsert by :func:`observation_key`, in one transaction. With ``replace_source``,
        every stored fact from that provenance source that is not in ``observations`` is
        removed in the same transaction (a re-import replaces the previous one)."""
        ...

    def get(self, key: str) -> Observation | None: ...

    def for_package(
        self, name: str, *, kinds: Collection[str] | None = None
    ) -> list[Observation]: ...

    def for_packages(
        self, names: Iterable[str], *, kinds: Collection[str] | None = None
    ) -> dict[str, list[Observation]]:
        """One indexed query; the result has a (possibly empty) list for every canonical
        name asked for, in the order asked."""
        ...

    def iter_kind(self, kind: str) -> Iterator[Observation]:
        """Every observation of ``kind``, read page by page (memory stays bounded)."""
        ...

    def newest(self, kind: str, limit: int, *, packaged: bool | None = None) -> list[Observation]:
        """The ``limit`` newest observations of ``kind`` by provenance date (ties: the
        greater key first), newest first. ``packaged``: only those about some package
        (``True``; those :meth:`for_packages` finds) or about none (``False``: a stack, an
        image build). Cost: one read of ``limit`` rows along an index of the kind by date
        (with ``packaged``, the rows skipped are read too, never decoded)."""
        ...

    def delete_source(self, source: str) -> int: ...

    def stats(self, *, source: str | None = None, recorder: str | None = None) -> StoreStats:
        """Counts per kind, source and recorder, in one snapshot; of the observations whose
        source matches the ``source`` pattern (see
        :func:`~advisor.knowledge.store_rows.source_matches`) and whose
        recorder is ``recorder``, when given."""
        ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


# -- URLs -----------------------------------------------------------------------------------


def sqlite_path(url: str, *, cwd: Path | None = None) -> Path:
    """The database file a SQLite URL names: ``sqlite:///`` followed by the path as written
    (``sqlite:///rel.db`` is relative to ``cwd``, ``sqlite:////abs/k.db`` is absolute), or
    a bare path. Raises :class:`InputError` for anything else."""
    if "://" not in url:
        if not url.strip():
            raise InputError("knowledge store: empty path")
        path = Path(url)
    else:
        scheme, _, rest = url.partition("://")
        if scheme.lower() != "sqlite":
            raise InputError(f"knowledge store: not a SQLite URL: {redact_url(url)}")
        if not rest.startswith("/"):
            raise InputError(
                f"knowledge store: {redact_url(url)}: a SQLite URL has no host; write "
                "sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        rest = rest[1:]
        if "?" in rest or "#" in rest:
            raise InputError(f"knowledge store: {url}: SQLite URLs take no query or fragment")
        if not rest:
            raise InputError(f"knowledge store: {url}: no database path after sqlite:///")
        path = Path(rest)
    if not path.is_absolute() and cwd is not None:
        path = cwd / path
    return path


def default_store_url(environ: Mapping[str, str], *, data_dir: Path | None = None) -> str:
    """``ADVISOR_KNOWLEDGE`` when set, else ``knowledge.db`` in ``data_dir`` (by default the
    platform's user data directory for ``stack-advisor``)."""
    env = environ.get("ADVISOR_KNOWLEDGE", "").strip()
    if env:
        return env
    if data_dir is None:
        import platformdirs

        data_dir = Path(platformdirs.user_data_dir("stack-advisor"))
    return f"sqlite:///{(data_dir / 'knowledge.db').absolute()}"


def choose_store_url(url: str | None, environ: Mapping[str, str]) -> str:
    """The store a job uses: ``url`` (``--knowledge``, stripped) when given and not blank,
    else :func:`default_store_url` of ``environ``."""
    if url and url.strip():
        return url.strip()
    return default_store_url(environ)


def open_store(url: str, *, pool_size: int | None = None) -> KnowledgeStore:
    """Open (creating and migrating as needed) the store ``url`` names.

    ``sqlite:///path.db`` or a bare path: :class:`~.sqlite_store.SQLiteStore`;
    ``postgresql://…`` or ``postgres://…``: :class:`~.postgres_store.PostgresStore`, with a
    pool of up to ``pool_size`` connections for callers on many threads (the server), else
    one connection (a SQLite store has one connection whatever ``pool_size`` says).
    Raises :class:`InputError` for a URL of another kind, :class:`KnowledgeStoreError` when
    the store cannot be opened.
    """
    text = url.strip()
    scheme = text.partition("://")[0].lower() if "://" in text else ""
    # each opening connects and checks the migrations: worth seeing (-vv) when it repeats
    _log.debug("opening knowledge store %s", redact_url(text))
    if scheme in _POSTGRES_SCHEMES:
        from advisor.knowledge.postgres_store import PostgresStore

        return PostgresStore(text, pool_size=pool_size)
    if scheme in ("", "sqlite"):
        from advisor.knowledge.sqlite_store import SQLiteStore

        return SQLiteStore(sqlite_path(text))
    raise InputError(
        f"knowledge store: unsupported URL {redact_url(text)!r}; use sqlite:///path.db, "
        "a file path, or postgresql://user@host:port/database"
    )


#: How a run gets its store: called once, when the run first needs it; leaving the context
#: ends the run's hold on it (closing it only when the run opened it).
StoreOpener: TypeAlias = "Callable[[], AbstractContextManager[KnowledgeStore]]"


def store_opener(url: str, *, shared: KnowledgeStore | None = None) -> StoreOpener:
    """The run's store: ``shared``, a store its owner opened for many runs (the team
    server's, one connection or pool for every job of a process), handed out as it is and
    left open; else the store at ``url``, opened when the run asks (:func:`open_store`) and
    closed when it is done. Cost: nothing until called."""
    if shared is not None:
        lent: KnowledgeStore = shared
        return lambda: contextlib.nullcontext(lent)
    return partial(open_store, url)
