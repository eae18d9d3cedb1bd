"""``advisor knowledge update``: fetch OSV's advisory dump for PyPI and swap it into the store.

Part of the composition root, beside :mod:`advisor.api.knowledge` (which imports dumps the
user already has). The dump's URL is the ``url`` given, else ``ADVISOR_OSV_DUMP_URL``, else
``osv-dump-url`` in the advisor configuration, else OSV's public PyPI dump
(:data:`~advisor.knowledge.sources.osv_dump.DEFAULT_OSV_DUMP_URL`). What the last update
learned about the dump (ETag, Last-Modified, sha256) is kept in the store's meta, with the
data it describes, so the next update is a conditional GET and a 304 does nothing.

The flow: a conditional GET through the index client's
:class:`~advisor.index.fetch.Fetcher` (pip's network settings: trust store, certificates,
proxies, credentials, retries) into the cache folder; the zip verified whole; its records
parsed; every advisory written in one store transaction that also removes those the
previous update stored and the new dump lacks; then the bookkeeping. Anything that fails
before that transaction (network, a corrupt or empty zip) leaves the stored data as it was;
the downloaded file is deleted either way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from advisor.events import ProgressEvents
    from advisor.knowledge.sources.osv_import import ImportReport

__all__ = ["ENV_VAR", "UpdateOutcome", "dump_url", "update_advisories"]

#: The environment variable naming the dump's URL (between the option and the config file).
ENV_VAR = "ADVISOR_OSV_DUMP_URL"
_STATE_META = "osv-dump:"  # + the URL without credentials: the DumpState of the last update


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


def dump_url(url: str | None, *, environ: Mapping[str, str], cwd: Path) -> str:
    """The dump to fetch: ``url``, else ``ADVISOR_OSV_DUMP_URL``, else ``osv-dump-url`` from
    the configuration that applies to ``cwd``, else OSV's public PyPI dump. Raises
    :class:`~advisor.errors.ConfigError` for a bad configuration file."""
    from advisor.config import load_config
    from advisor.knowledge.sources.osv_dump import DEFAULT_OSV_DUMP_URL

    for candidate in (url, environ.get(ENV_VAR)):
        if candidate and candidate.strip():
            return candidate.strip()
    return load_config(cwd).osv_dump_url or DEFAULT_OSV_DUMP_URL


def update_advisories(
    *,
    store_url: str,
    url: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    today: str | None = None,
    events: ProgressEvents = SILENT,
) -> UpdateOutcome:
    """Bring the store's OSV advisories up to date with the dump (see :func:`dump_url`).

    ``today`` (ISO date, default: today in UTC) goes into the provenance of records without
    ``modified``. The download, and each later step (verifying the zip, reading the
    records, storing them), report to ``events``. Raises
    :class:`~advisor.errors.IndexUnavailable` when the dump cannot be fetched (after
    retries), :class:`~advisor.errors.AdvisoryDumpInvalid` when what came is not a whole zip
    of OSV records, :class:`~advisor.knowledge.store.KnowledgeStoreError` when the store
    fails; in each case the stored advisories are the ones from before. Cost: one
    conditional GET; when the dump changed, one pass to verify it, one to parse it, one
    store transaction.
    """
    from advisor.api.context import default_cache_dir
    from advisor.api.knowledge import advisory_data, record_advisory_data
    from advisor.errors import AdvisoryDumpInvalid, CacheError
    from advisor.index.fetch import Fetcher
    from advisor.index.settings import load_pip_settings
    from advisor.knowledge.sources.osv_dump import DumpState, fetch_dump, verify_dump
    from advisor.knowledge.sources.osv_import import load_osv
    from advisor.knowledge.store import open_store
    from advisor.urls import redact_url

    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    today = today or dt.datetime.now(dt.UTC).date().isoformat()
    source = dump_url(url, environ=environ, cwd=cwd)
    shown = redact_url(source)
    folder = default_cache_dir(environ) / "osv"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(f"cannot create {folder}: {exc.strerror or exc}") from exc
    dest = folder / f"{hashlib.sha256(shown.encode()).hexdigest()[:16]}.zip"
    pip = load_pip_settings(environ=environ, cwd=cwd)
    with open_store(store_url) as store:
        key = _STATE_META + shown
        previous = DumpState.from_json(store.get_meta(key))
        try:
            with Fetcher(pip.network_settings(), events=events) as fetcher:
                got = fetch_dump(source, dest, fetcher=fetcher, previous=previous)
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
