"""``advisor knowledge update``: fetch OSV's advisory dump for PyPI and swap it into the store.

Composition only: it picks the dump's URL (the ``url`` given, else ``ADVISOR_OSV_DUMP_URL``,
else ``osv-dump-url`` in the advisor configuration, else OSV's public PyPI dump), the cache
folder the download goes to, pip's network settings and the store, and hands them to
:func:`advisor.knowledge.sources.osv_store.update_from_dump`, which does the update (a
conditional GET, the zip verified, one store transaction) and keeps what it learned about
the dump in the store's meta.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.events import SILENT
from advisor.knowledge.sources.osv_store import UpdateOutcome

if TYPE_CHECKING:
    from collections.abc import Mapping

    from advisor.events import ProgressEvents

__all__ = ["ENV_VAR", "UpdateOutcome", "dump_url", "update_advisories"]

#: The environment variable naming the dump's URL (between the option and the config file).
ENV_VAR = "ADVISOR_OSV_DUMP_URL"


def dump_url(url: str | None, *, environ: Mapping[str, str], cwd: Path) -> str:
    """The dump to fetch: ``url``, else ``ADVISOR_OSV_DUMP_URL``, else ``osv-dump-url`` from
    the configuration that applies to ``cwd``, else OSV's public PyPI dump. Raises
    :class:`~advisor.errors.ConfigError` for a bad configuration file."""
    from advisor.config import load_config
    from advisor.knowledge.sources.osv_dump import choose_dump_url

    return choose_dump_url(
        url, from_env=environ.get(ENV_VAR), configured=lambda: load_config(cwd).osv_dump_url
    )


def update_advisories(
    *,
    store_url: str | None,
    url: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    today: str | None = None,
    events: ProgressEvents = SILENT,
) -> UpdateOutcome:
    """Bring the OSV advisories of the store at ``store_url`` (``None``: the default store)
    up to date with the dump (see :func:`dump_url`); the outcome names the store. ``today``
    (ISO date, default: today in UTC) goes into the provenance of records without
    ``modified``. Raises what :func:`~advisor.knowledge.sources.osv_store.update_from_dump`
    raises (the stored advisories are then the ones from before), and
    :class:`~advisor.errors.CacheError` when the download folder cannot be made."""
    from advisor.api.context import default_cache_dir
    from advisor.api.knowledge import resolve_store_url
    from advisor.index.settings import load_pip_settings
    from advisor.knowledge.sources.osv_dump import dump_download_path
    from advisor.knowledge.sources.osv_store import update_from_dump
    from advisor.knowledge.store import open_store

    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    store = resolve_store_url(store_url, environ)
    source = dump_url(url, environ=environ, cwd=cwd)
    dest = dump_download_path(default_cache_dir(environ) / "osv", source)
    network = load_pip_settings(environ=environ, cwd=cwd).network_settings()
    with open_store(store) as opened:
        outcome = update_from_dump(
            opened,
            url=source,
            dest=dest,
            network=network,
            today=today or dt.datetime.now(dt.UTC).date().isoformat(),
            events=events,
        )
    return dataclasses.replace(outcome, store=store)
