"""``advisor cache``: the on-disk cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

__all__ = ["cache"]


from advisor.cli._app import cli
from advisor.cli._common import (
    human_size,
)


@cli.group()
def cache() -> None:
    """The on-disk cache of index pages, metadata and files."""


def _cache_dir(cache_dir: Path | None) -> Path:
    from advisor.api import default_cache_dir

    return cache_dir or default_cache_dir(os.environ)


def _existing_cache_dir(cache_dir: Path | None) -> Path:
    """The cache directory for ``info`` and ``clean``: a file there is an error, not an
    empty cache (a missing directory is an empty one)."""
    from advisor.errors import InputError

    root = _cache_dir(cache_dir)
    if root.exists() and not root.is_dir():
        raise InputError(f"{root} is not a directory, so it holds no cache")
    return root


_cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    envvar="ADVISOR_CACHE_DIR",
    help="Cache directory (also ADVISOR_CACHE_DIR).",
)


@cache.command("dir")
@_cache_dir_option
def cache_dir_cmd(cache_dir: Path | None) -> None:
    """Print the cache directory."""
    click.echo(str(_cache_dir(cache_dir)))


@cache.command("info")
@_cache_dir_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def cache_info(cache_dir: Path | None, as_json: bool) -> None:
    """Print the cache's size and entries per kind."""
    from advisor.index.cache import Cache

    info = Cache(_existing_cache_dir(cache_dir)).info()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "dir": str(info.root),
                    "entries": info.entries,
                    "size": info.size,
                    "buckets": {b: {"entries": n, "size": s} for b, n, s in info.buckets},
                },
                indent=2,
            )
        )
        return
    click.echo(f"dir: {info.root}")
    click.echo(f"entries: {info.entries}")
    click.echo(f"size: {human_size(info.size)}")
    for bucket, n, size in info.buckets:
        click.echo(f"  {bucket}: {n} entries, {human_size(size)}")


@cache.command("clean")
@_cache_dir_option
def cache_clean(cache_dir: Path | None) -> None:
    """Remove every cache entry."""
    from advisor.index.cache import Cache

    root = _existing_cache_dir(cache_dir)
    freed = Cache(root).clean()
    click.echo(f"removed {human_size(freed)} from {root}")
