"""``advisor cache``: where the on-disk cache (:class:`advisor.index.cache.Cache`) is, what
it holds, and emptying it. Composition only.
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
    """``chosen`` (``--cache-dir``), else the default cache directory."""
    return chosen or default_cache_dir(environ)


def cache_info(chosen: Path | None, environ: Mapping[str, str]) -> CacheInfo:
    """:meth:`~advisor.index.cache.Cache.info` of the cache directory."""
    return Cache.existing(cache_dir(chosen, environ)).info()


def clean_cache(chosen: Path | None, environ: Mapping[str, str]) -> tuple[Path, int]:
    """The cache directory, and the bytes :meth:`~advisor.index.cache.Cache.clean` freed."""
    cache = Cache.existing(cache_dir(chosen, environ))
    return cache.root, cache.clean()
