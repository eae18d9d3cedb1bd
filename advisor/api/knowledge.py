"""The knowledge jobs: validate, sync, import OSV, show, stats.

Composition only: it resolves the store URL (the process environment), opens the store,
reads the clock and pip's network settings, and hands them to the knowledge layer, which
decides: :mod:`advisor.knowledge.sync`, :mod:`advisor.knowledge.sources.osv_store`,
:mod:`advisor.knowledge.package_facts`. Lock graphs and index facts:
:mod:`advisor.api.lock_facts`; the OSV dump update: :mod:`advisor.api.advisory_update`.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.knowledge.freshness import advisory_data, record_advisory_data
from advisor.knowledge.package_facts import KnownFact, PackageKnowledge, parse_package_spec
from advisor.knowledge.sources import Problem
from advisor.knowledge.sources.osv_store import ImportOutcome
from advisor.knowledge.sync import SyncReport

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.index.fetch import NetworkSettings
    from advisor.knowledge.store import KnowledgeStore, StoreStats

__all__ = [
    "ImportOutcome",
    "KnownFact",
    "PackageKnowledge",
    "Problem",
    "SyncReport",
    "advisory_data",
    "import_osv",
    "parse_package_spec",
    "record_advisory_data",
    "resolve_store_url",
    "show",
    "stats",
    "store_url",
    "sync",
    "this_recorder",
    "validate",
]


def resolve_store_url(url: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The store to use: ``url`` when given, else ``ADVISOR_KNOWLEDGE``, else ``knowledge.db``
    in the user data directory."""
    from advisor.knowledge.store import default_store_url

    if url and url.strip():
        return url.strip()
    return default_store_url(os.environ if environ is None else environ)


store_url = resolve_store_url  # the name the other jobs import


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _open(url: str) -> KnowledgeStore:
    from advisor.knowledge.store import open_store

    return open_store(url)


def validate(path: Path) -> list[Problem]:
    """Every problem in the knowledge folder (or one file) at ``path``, in file and line
    order; ``[]`` when it is clean. Raises :class:`InputError` when ``path`` does not exist."""
    from advisor.knowledge.validate import validate_knowledge

    if not path.exists():
        raise InputError(f"{path}: no such knowledge folder or file")
    return list(validate_knowledge(path))


def sync(
    folder: Path,
    *,
    store_url: str | None,
    today: str | None = None,
    source_prefix: str = "knowledge",
    environ: Mapping[str, str] | None = None,
) -> SyncReport:
    """Load ``folder`` into the store at ``store_url`` (``None``: the default store), only
    what changed since the last sync (:func:`advisor.knowledge.sync.sync_folder`); the
    report names the store. ``today`` (ISO date) goes into the provenance of new facts."""
    from advisor.knowledge.sync import sync_folder

    url = resolve_store_url(store_url, environ)
    with _open(url) as store:
        report = sync_folder(store, folder, today=today or _today(), source_prefix=source_prefix)
    return dataclasses.replace(report, store=url)


def import_osv(
    source: Path | str,
    *,
    store_url: str | None,
    packages: Mapping[str, str | None] | None = None,
    specs: Sequence[str] = (),
    lock: Path | None = None,
    today: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ImportOutcome:
    """Import OSV advisories (:func:`advisor.knowledge.sources.osv_store.read_osv`) into
    the store at ``store_url`` (``None``: the default store): a dump zip or folder, or an
    OSV-compatible API's URL asked about ``packages`` (name → version or ``None``), the
    packages of ``specs`` (``NAME[==VERSION]``) and those of the ``pylock.toml`` ``lock``.
    The API is reached with pip's network settings from ``environ``/``cwd``. Raises
    :class:`InputError` for a missing source or an API import without packages,
    :class:`~advisor.errors.IndexUnavailable` when the API cannot be used."""
    from advisor.index.settings import load_pip_settings
    from advisor.knowledge.lock_graph import osv_query_packages
    from advisor.knowledge.sources.osv_store import read_osv, store_advisories
    from advisor.lockfile import read_pylock

    environ = os.environ if environ is None else environ
    url = resolve_store_url(store_url, environ)
    locked = None if lock is None else read_pylock(lock)
    wanted = osv_query_packages(packages or {}, specs, lock=locked)
    date = today or _today()

    def network() -> NetworkSettings:
        return load_pip_settings(environ=environ, cwd=cwd or Path.cwd()).network_settings()

    read = read_osv(source, packages=wanted, date=date, network=network)
    with _open(url) as store:
        outcome = store_advisories(store, read, today=date)
    return dataclasses.replace(outcome, store=url)


def show(
    name: str,
    version: str | None = None,
    *,
    store_url: str | None,
    source: str | None = None,
    recorder: str | None = None,
    environ: Mapping[str, str] | None = None,
    server: str | None = None,
) -> PackageKnowledge:
    """What the store at ``store_url`` (``None``: the default store) knows about ``name``
    (optionally at ``version``; else ``name`` may be ``NAME==VERSION``); only the facts
    whose provenance source matches the ``source`` pattern (``image-build:*``) and whose
    recorder is ``recorder``, when given. With ``server``, what that team server's store
    knows (:func:`advisor.api.remote_knowledge.remote_show`)."""
    from advisor.knowledge.package_facts import package_knowledge

    if version is None:
        name, version = parse_package_spec(name)
    if server:
        from advisor.api.remote_knowledge import remote_show

        return remote_show(server, name, version, source=source, recorder=recorder)
    with _open(resolve_store_url(store_url, environ)) as store:
        return package_knowledge(store, name, version, source=source, recorder=recorder)


def stats(
    store_url: str | None,
    *,
    source: str | None = None,
    recorder: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> StoreStats:
    """Counts per kind, per source and per recorder of the store at ``store_url`` (``None``:
    the default store); of the observations whose source matches the ``source`` pattern and
    whose recorder is ``recorder``, when given. ``this_recorder`` is this machine's id."""
    with _open(resolve_store_url(store_url, environ)) as store:
        found = store.stats(source=source, recorder=recorder)
    return dataclasses.replace(found, this_recorder=this_recorder(environ))


def this_recorder(environ: Mapping[str, str] | None = None) -> str:
    """The recorder id this machine's observations carry (``""`` when it has none yet);
    reading it never creates one."""
    from advisor.observe.recorder import detect_recorder

    return detect_recorder(os.environ if environ is None else environ, create=False)
