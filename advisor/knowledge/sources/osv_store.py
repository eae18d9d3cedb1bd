"""OSV advisories into a store: an import (a dump zip, a folder, an API query), an update from
the dump's URL, and the bookkeeping ``advisor check`` reads (how many, how current).

Sits between the OSV loaders (:mod:`.osv_import`, :mod:`.osv_dump`) and a
:class:`~advisor.knowledge.store.KnowledgeStore` the caller opened (``advisor knowledge
import-osv`` and ``update``, composed in :mod:`advisor.api.knowledge` and
:mod:`advisor.api.advisory_update`). The network is reached only through the index client's
:class:`~advisor.index.fetch.Fetcher` the caller passes (with pip's network settings).

An update: a conditional GET into ``dest``; the zip verified whole; its records parsed;
every advisory written in one store transaction that also removes those the previous update
stored and the new dump lacks; then the bookkeeping. Anything that fails before that
transaction (network, a corrupt or empty zip) leaves the stored data as it was; the
downloaded file is deleted either way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.events import SILENT
from advisor.knowledge.freshness import advisory_data, record_advisory_data
from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from advisor.events import ProgressEvents
    from advisor.index.fetch import Fetcher
    from advisor.knowledge.sources.osv_import import ImportReport
    from advisor.knowledge.store import KnowledgeStore

__all__ = [
    "ImportOutcome",
    "OsvQuery",
    "OsvSource",
    "UpdateOutcome",
    "advisory_data",
    "import_advisories",
    "read_osv",
    "record_advisory_data",
    "store_advisories",
    "update_from_dump",
]

_STATE_META = "osv-dump:"  # + the URL without credentials: the DumpState of the last update


@dataclass(frozen=True, slots=True, kw_only=True)
class OsvQuery:
    """What an OSV API is asked about (``knowledge import-osv --api``): ``packages`` (name
    to version, or ``None`` for every version), ``specs`` (``NAME[==VERSION]``) and every
    package of the pylock.toml ``lock`` (:func:`~advisor.knowledge.lock_graph.
    osv_query_packages`). A dump or a folder ignores it."""

    packages: Mapping[str, str | None] = field(default_factory=dict)
    specs: tuple[str, ...] = ()
    lock: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OsvSource:
    """What :func:`read_osv` read: the loader's ``report``, the source as shown (a path, or
    a URL without credentials), the provenance source an import replaces (``None``: an
    API query only adds and updates) and how current the data is."""

    report: ImportReport
    shown: str
    replace: str | None
    as_of: dt.date


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportOutcome:
    """An OSV import: what the loader read (``report``: advisories, problems, counts) and
    what the store did with it (``added`` … ``removed``, in advisories). ``source`` is the
    dump's path or the API's URL without credentials; ``store`` the store's URL, when the
    caller names it."""

    source: str
    report: ImportReport
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    store: str = ""

    @property
    def shown_store(self) -> str:
        """``store`` without credentials (:func:`advisor.urls.redact_url`), to show."""
        return redact_url(self.store)


def read_osv(
    source: Path | str,
    *,
    packages: Mapping[str, str | None] | None,
    date: str,
    fetcher: Callable[[], Fetcher],
) -> OsvSource:
    """Read OSV advisories from ``source``: a dump zip or a folder of OSV JSON/YAML files (a
    :class:`Path`, or a string without ``http(s)://``), whose import replaces what earlier
    imports of the same dump stored; or the base URL of an OSV-compatible API, asked about
    ``packages`` (name → version, ``None``: all versions; required then) through the
    fetcher ``fetcher()`` makes (called only then, closed after). Raises
    :class:`InputError` for a missing source or an API import without packages,
    :class:`~advisor.errors.IndexUnavailable` when the API cannot be used."""
    text = str(source)
    if isinstance(source, str) and text.lower().startswith(("http://", "https://")):
        if not packages:
            raise InputError(
                f"{redact_url(text)}: an OSV API import needs packages (--package or --lock)"
            )
        from advisor.knowledge.sources.osv_import import query_osv_api

        with fetcher() as fetching:
            report = query_osv_api(text, packages, fetcher=fetching, date=date)
        # the API answers with what it knows now
        return OsvSource(
            report=report,
            shown=redact_url(text),
            replace=None,
            as_of=dt.date.fromisoformat(date[:10]),
        )
    from advisor.knowledge.sources.osv_import import load_osv

    path = Path(source)
    report = load_osv(path, date=date)
    return OsvSource(
        report=report,
        shown=str(path),
        replace=f"osv:{report.origin}",
        as_of=report.newest_modified or dt.date.fromisoformat(date[:10]),
    )


def import_advisories(
    source: Path | str,
    *,
    open_store: Callable[[], KnowledgeStore],
    query: OsvQuery,
    date: str,
    fetcher: Callable[[], Fetcher],
) -> ImportOutcome:
    """``knowledge import-osv``: :func:`read_osv` of ``source`` (an API asked about what
    ``query`` names), then :func:`store_advisories` into the store ``open_store()`` opens,
    only once the read succeeded. Raises what :func:`read_osv` raises, and
    :class:`~advisor.errors.LockfileError` for a bad ``query.lock``."""
    from advisor.knowledge.lock_graph import osv_query_packages
    from advisor.lockfile import read_pylock

    locked = None if query.lock is None else read_pylock(query.lock)
    wanted = osv_query_packages(query.packages, query.specs, lock=locked)
    read = read_osv(source, packages=wanted, date=date, fetcher=fetcher)
    with open_store() as store:
        return store_advisories(store, read, today=date)


def store_advisories(store: KnowledgeStore, read: OsvSource, *, today: str) -> ImportOutcome:
    """Write what :func:`read_osv` read into ``store``, then its bookkeeping."""
    result = store.put(read.report.advisories, replace_source=read.replace)
    record_advisory_data(store, as_of=read.as_of, today=today)
    return ImportOutcome(
        source=read.shown,
        report=read.report,
        added=result.added,
        replaced=result.replaced,
        unchanged=result.unchanged,
        removed=result.removed,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateOutcome:
    """What an update did. ``changed`` is ``False`` when the dump was the one stored (a 304,
    or the same bytes): nothing was imported. ``as_of`` is how current the stored data is
    (its newest record's ``modified`` day); ``advisories`` how many the store holds.
    ``report`` and the counts (in advisories) describe the import, when there was one."""

    url: str  # without credentials
    changed: bool
    as_of: dt.date | None
    advisories: int
    size: int = 0
    report: ImportReport | None = None
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    store: str = ""  # the store's URL, when the caller names it

    @property
    def shown_store(self) -> str:
        """``store`` without credentials (:func:`advisor.urls.redact_url`), to show."""
        return redact_url(self.store)


def update_from_dump(
    store: KnowledgeStore,
    *,
    url: str,
    dest: Path,
    fetcher: Fetcher,
    today: str,
    events: ProgressEvents = SILENT,
) -> UpdateOutcome:
    """Bring ``store``'s OSV advisories up to date with the dump at ``url``, downloaded to
    ``dest`` (removed afterwards) through ``fetcher`` (closed after). The download reports
    to the fetcher's events, each later step to ``events``.
    Raises :class:`~advisor.errors.IndexUnavailable` when the dump cannot be fetched,
    :class:`~advisor.errors.AdvisoryDumpInvalid` when it is not a whole zip of OSV records,
    :class:`~advisor.knowledge.store.KnowledgeStoreError` when the store fails; in each
    case the stored advisories are the ones from before. Cost: one conditional GET; when
    the dump changed, one pass to verify it, one to parse it, one store transaction."""
    from advisor.errors import AdvisoryDumpInvalid
    from advisor.knowledge.sources.osv_dump import DumpState, fetch_dump, verify_dump
    from advisor.knowledge.sources.osv_import import load_osv

    shown = redact_url(url)
    key = _STATE_META + shown
    previous = DumpState.from_json(store.get_meta(key))
    try:
        with fetcher:
            got = fetch_dump(url, dest, fetcher=fetcher, previous=previous)
        if not got.changed:
            if got.state != previous:  # new validators for the same bytes
                store.set_meta(key, got.state.to_json())
            count, as_of = advisory_data(store)
            return UpdateOutcome(url=shown, changed=False, as_of=as_of, advisories=count)
        with _step(events, "verifying the OSV dump"):
            verify_dump(dest, url=shown)
        with _step(events, "reading the advisories"):
            report = load_osv(dest, date=today, origin=shown)
        if not report.advisories:
            raise AdvisoryDumpInvalid(
                f"none of its {report.records} records is a usable advisory", url=shown
            )
        with _step(events, f"storing {len(report.advisories)} advisories"):
            # one transaction: the new advisories in, those the dump no longer has out
            result = store.put(report.advisories, replace_source=f"osv:{report.origin}")
        as_of = report.newest_modified or dt.date.fromisoformat(today[:10])
        record_advisory_data(store, as_of=as_of, today=today)
        store.set_meta(key, got.state.to_json())  # last: only for data that is stored
        count, as_of = advisory_data(store)
    finally:
        dest.unlink(missing_ok=True)
    return UpdateOutcome(
        url=shown,
        changed=True,
        as_of=as_of,
        advisories=count,
        size=got.size,
        report=report,
        added=result.added,
        replaced=result.replaced,
        unchanged=result.unchanged,
        removed=result.removed,
    )


@contextlib.contextmanager
def _step(events: ProgressEvents, what: str) -> Iterator[None]:
    events.working(what)
    try:
        yield
    finally:
        events.work_finished(what)
