"""``advisor cache``: where the on-disk cache is, what it holds, and emptying it.

Composition only: the directory comes from the command line, else ``ADVISOR_CACHE_DIR``
(read from ``environ``), else the platform's user cache directory; the cache itself is
:class:`advisor.index.cache.Cache`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.api.context import default_cache_dir
from advisor.index.cache import Cache, CacheInfo

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["CacheInfo", "cache_dir", "cache_info", "clean_cache"]


def cache_dir(chosen: Path | None, environ: Mapping[str, str]) -> Path:
    """The cache directory: ``chosen`` (``--cache-dir``), else the default one."""
    return chosen or default_cache_dir(environ)


def cache_info(chosen: Path | None, environ: Mapping[str, str]) -> CacheInfo:
    """The cache's size and entries per kind. Raises :class:`~advisor.errors.InputError`
    when the directory is a file. Cost: one ``stat`` per entry."""
    return Cache.existing(cache_dir(chosen, environ)).info()


def clean_cache(chosen: Path | None, environ: Mapping[str, str]) -> tuple[Path, int]:
    """Remove every cache entry; returns the directory and the bytes freed. Raises
    :class:`~advisor.errors.InputError` when the directory is a file."""
    cache = Cache.existing(cache_dir(chosen, environ))
    return cache.root, cache.clean()
