"""``advisor cache``: the on-disk cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

__all__ = ["cache"]


from advisor.cli._app import cli
from advisor.cli._common import human_size


@cli.group()
def cache() -> None:
    """The on-disk cache of index pages, metadata and files."""


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
    from advisor.api.cache import cache_dir as chosen_dir

    click.echo(str(chosen_dir(cache_dir, os.environ)))


@cache.command("info")
@_cache_dir_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def cache_info(cache_dir: Path | None, as_json: bool) -> None:
    """Print the cache's size and entries per kind."""
    from advisor.api.cache import cache_info as read_info

    info = read_info(cache_dir, os.environ)
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
    from advisor.api.cache import clean_cache

    root, freed = clean_cache(cache_dir, os.environ)
    click.echo(f"removed {human_size(freed)} from {root}")
