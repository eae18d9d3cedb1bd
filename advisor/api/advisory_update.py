"""``advisor knowledge update``: the dump's URL, the cache folder, pip's fetcher and the store
handed to :func:`~advisor.knowledge.sources.osv_store.update_from_dump`.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.events import SILENT
from advisor.knowledge.sources.osv_dump import DUMP_URL_ENV_VAR as ENV_VAR
from advisor.knowledge.sources.osv_store import UpdateOutcome

if TYPE_CHECKING:
    from collections.abc import Mapping

    from advisor.events import ProgressEvents

__all__ = ["ENV_VAR", "UpdateOutcome", "dump_url", "update_advisories"]


def dump_url(url: str | None, *, environ: Mapping[str, str], cwd: Path) -> str:
    """:func:`~advisor.knowledge.sources.osv_dump.choose_dump_url` for ``environ`` and the
    configuration that applies to ``cwd``."""
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
    """Update the store (``None``: the default) from the dump :func:`dump_url` names."""
    from advisor.api.context import default_cache_dir
    from advisor.api.knowledge import _today, resolve_store_url
    from advisor.index.settings import pip_fetcher
    from advisor.knowledge.sources.osv_dump import dump_download_path
    from advisor.knowledge.sources.osv_store import update_from_dump
    from advisor.knowledge.store import open_store

    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    store = resolve_store_url(store_url, environ)
    source = dump_url(url, environ=environ, cwd=cwd)
    dest = dump_download_path(default_cache_dir(environ) / "osv", source)
    fetcher = pip_fetcher(environ, cwd, events=events)
    with open_store(store) as opened:
        outcome = update_from_dump(
            opened, url=source, dest=dest, fetcher=fetcher, today=today or _today(), events=events
        )
    return dataclasses.replace(outcome, store=store)
