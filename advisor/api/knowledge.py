"""The knowledge jobs: validate, sync, import OSV, show, stats. Composition only: the store
URL, the store, the clock and pip's network settings handed to :mod:`advisor.knowledge`.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.knowledge.package_facts import parse_package_spec
from advisor.knowledge.sources import Problem
from advisor.knowledge.sources.osv_store import OsvQuery
from advisor.knowledge.store import open_store

if TYPE_CHECKING:
    from collections.abc import Mapping

    from advisor.knowledge.package_facts import PackageKnowledge
    from advisor.knowledge.sources.osv_store import ImportOutcome
    from advisor.knowledge.store import StoreStats
    from advisor.knowledge.sync import SyncReport

__all__ = [
    "OsvQuery",
    "Problem",
    "import_osv",
    "resolve_store_url",
    "show",
    "stats",
    "store_url",
    "sync",
    "validate",
]


def resolve_store_url(url: str | None, environ: Mapping[str, str] | None = None) -> str:
    """:func:`~advisor.knowledge.store.choose_store_url` with the process's environment."""
    from advisor.knowledge.store import choose_store_url

    return choose_store_url(url, os.environ if environ is None else environ)


store_url = resolve_store_url  # the name the other jobs import


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def validate(path: Path) -> list[Problem]:
    """:func:`~advisor.knowledge.validate.validate_knowledge`."""
    from advisor.knowledge.validate import validate_knowledge

    return validate_knowledge(path)


def sync(
    folder: Path,
    *,
    store_url: str | None,
    today: str | None = None,
    source_prefix: str = "knowledge",
    environ: Mapping[str, str] | None = None,
) -> SyncReport:
    """:func:`~advisor.knowledge.sync.sync_folder` into the store (``None``: the default)."""
    from advisor.knowledge.sync import sync_folder

    url = resolve_store_url(store_url, environ)
    with open_store(url) as store:
        report = sync_folder(store, folder, today=today or _today(), source_prefix=source_prefix)
    return dataclasses.replace(report, store=url)


def import_osv(
    source: Path | str,
    *,
    store_url: str | None,
    query: OsvQuery = OsvQuery(),  # noqa: B008 (frozen)
    today: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ImportOutcome:
    """:func:`~advisor.knowledge.sources.osv_store.import_advisories`."""
    from advisor.index.settings import pip_fetcher
    from advisor.knowledge.sources.osv_store import import_advisories

    environ = os.environ if environ is None else environ
    url = resolve_store_url(store_url, environ)
    fetcher = partial(pip_fetcher, environ, cwd or Path.cwd())  # only an API import connects
    outcome = import_advisories(source, open_store=partial(open_store, url), query=query,
                                date=today or _today(), fetcher=fetcher)  # fmt: skip
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
    """:func:`~advisor.knowledge.package_facts.package_knowledge` of ``name`` (or
    ``NAME==VERSION``), here or on ``server``."""
    from advisor.knowledge.package_facts import package_knowledge

    if version is None:
        name, version = parse_package_spec(name)
    if server:
        from advisor.api.remote import remote_show

        return remote_show(server, name, version, source=source, recorder=recorder)
    with open_store(resolve_store_url(store_url, environ)) as store:
        return package_knowledge(store, name, version, source=source, recorder=recorder)


def stats(
    store_url: str | None,
    *,
    source: str | None = None,
    recorder: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> StoreStats:
    """The store's stats, with this machine's recorder id (never creating one)."""
    from advisor.observe.recorder import detect_recorder

    with open_store(resolve_store_url(store_url, environ)) as store:
        found = store.stats(source=source, recorder=recorder)
    mine = detect_recorder(os.environ if environ is None else environ, create=False)
    return dataclasses.replace(found, this_recorder=mine)
