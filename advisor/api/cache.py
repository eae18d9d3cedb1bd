"""``advisor cache``: where the on-disk cache is, what it holds, and emptying it.

Part of the composition root: the directory comes from the command line, else
``ADVISOR_CACHE_DIR`` (read from ``environ``), else the platform's user cache directory; the
cache itself is :class:`advisor.index.cache.Cache`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.api.context import default_cache_dir
from advisor.errors import InputError
from advisor.index.cache import Cache, CacheInfo

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["CacheInfo", "cache_dir", "cache_info", "clean_cache"]


def cache_dir(chosen: Path | None, environ: Mapping[str, str]) -> Path:
    """The cache directory: ``chosen`` (``--cache-dir``), else the default one."""
    return chosen or default_cache_dir(environ)


def _existing(chosen: Path | None, environ: Mapping[str, str]) -> Path:
    """The cache directory to read or empty: a file there is an error, not an empty cache
    (a missing directory is an empty one)."""
    root = cache_dir(chosen, environ)
    if root.exists() and not root.is_dir():
        raise InputError(f"{root} is not a directory, so it holds no cache")
    return root


def cache_info(chosen: Path | None, environ: Mapping[str, str]) -> CacheInfo:
    """The cache's size and entries per kind. Raises :class:`InputError` when the
    directory is a file. Cost: one ``stat`` per entry."""
    return Cache(_existing(chosen, environ)).info()


def clean_cache(chosen: Path | None, environ: Mapping[str, str]) -> tuple[Path, int]:
    """Remove every cache entry; returns the directory and the bytes freed. Raises
    :class:`InputError` when the directory is a file."""
    root = _existing(chosen, environ)
    return root, Cache(root).clean()
