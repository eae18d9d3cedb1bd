"""An image context's ``wheels/``: the locked files, downloaded once and hash-checked.

Part of the composition root, under :mod:`advisor.api.imaging`: the build installs from these
files, so it needs no index. A file already there with the right sha256 is kept; any other
file there is removed. Downloads go through the index session (:mod:`advisor.index.fetch`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from advisor.api.context import ResolveOptions
    from advisor.api.inputs import Prepared
    from advisor.events import ProgressEvents
    from advisor.models import DistFile, Pin, Resolution

__all__ = ["vendor_wheels"]


def vendor_wheels(
    prep: Prepared,
    opts: ResolveOptions,
    resolution: Resolution,
    *,
    output: Path,
    vendor: bool,
    events: ProgressEvents,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names of the files vendored into ``output/wheels`` (``vendor``), sorted; else
    none, and a warning for each local index the build cannot reach (use ``--wheels``)."""
    from advisor.image.containerfile import WHEELS

    if vendor:
        return _vendor(prep, opts, _vendored_files(resolution.pins), output / WHEELS, events), ()
    public = prep.index.redacted()
    local = [u for u in (*public.indexes, *public.find_links) if u.startswith("file:")]
    return (), tuple(f"the build cannot reach {u} (a local index): use --wheels" for u in local)


def _vendored_files(pins: Sequence[Pin]) -> list[DistFile]:
    """The locked files the build installs from ``wheels/``: every wheel of each pin (all
    fit the target), and the sdist of a pin that must be built. Pins given as a direct URL
    are fetched from it at build time."""
    from advisor.models import DistKind

    files = []
    for pin in pins:
        if pin.direct_url:
            continue
        for dist in pin.files:
            parsed = dist.parsed
            if parsed is None:
                continue
            if parsed.kind is DistKind.WHEEL or pin.needs_build:
                files.append(dist)
    return files


def _vendor(
    prep: Prepared,
    opts: ResolveOptions,
    files: Sequence[DistFile],
    folder: Path,
    events: ProgressEvents,
) -> tuple[str, ...]:
    """Download ``files`` into ``folder`` (hash-checked; a file already there with the right
    sha256 is kept) and remove any other file there; returns the names, sorted."""
    from concurrent.futures import ThreadPoolExecutor

    from advisor.api.context import open_session
    from advisor.image.context import prune_folder, sha256_of

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write {folder}: {exc.strerror or exc}") from exc
    wanted = {f.filename: f for f in files}
    missing = [
        f for name, f in sorted(wanted.items())
        if sha256_of(folder / name) != f.hash_map.get("sha256")
    ]  # fmt: skip
    if missing:
        session = open_session(opts, prep.index, prep.pip, prep.environ, events=events)
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                for _ in pool.map(
                    lambda f: session.fetcher.download(
                        f.url, folder / f.filename, sha256=f.hash_map.get("sha256")
                    ),
                    missing,
                ):
                    pass
        finally:
            session.close()
    prune_folder(folder, keep=set(wanted))
    return tuple(sorted(wanted))
