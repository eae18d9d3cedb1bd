"""An image context's ``wheels/``: the locked files, downloaded once and hash-checked.

Sits after the lock step of an image (:mod:`advisor.image.locker`), whose index session
downloads the files (:class:`~advisor.image.locker.DownloadSession`), and before the
Containerfile, whose install step reads them: the build then needs no index. A file already
there with the right sha256 is kept; any other file there is removed. A context that vendors
nothing installs from the lock's indexes, so a local (``file:``) one is a warning: the build
cannot reach it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from advisor.image.locker import LockedImage
    from advisor.models import DistFile, Pin

__all__ = ["unreachable_indexes", "vendor_wheels", "vendored_files"]

#: Downloads at once (the files of one stack; the index session is thread-safe).
_PARALLEL = 4


def unreachable_indexes(index_urls: Sequence[str]) -> tuple[str, ...]:
    """A warning for each local index of ``index_urls`` a build that vendors nothing
    cannot reach."""
    local = [u for u in index_urls if u.startswith("file:")]
    return tuple(f"the build cannot reach {u} (a local index): use --wheels" for u in local)


def vendored_files(pins: Sequence[Pin]) -> list[DistFile]:
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


def vendor_wheels(locked: LockedImage, folder: Path) -> tuple[str, ...]:
    """Download the locked files of ``locked`` into ``folder`` (hash-checked; a file
    already there with the right sha256 is kept, no session is opened when none is
    missing) and remove any other file there; returns the names, sorted. Raises
    :class:`InputError` when ``folder`` cannot be written, the session's
    :class:`~advisor.errors.AdvisorError` when a download fails."""
    from concurrent.futures import ThreadPoolExecutor

    from advisor.image.context import prune_folder, sha256_of

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write {folder}: {exc.strerror or exc}") from exc
    wanted = {f.filename: f for f in vendored_files(locked.resolution.pins)}
    missing = [
        f for name, f in sorted(wanted.items())
        if sha256_of(folder / name) != f.hash_map.get("sha256")
    ]  # fmt: skip
    if missing:
        with locked.downloads() as session, ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
            for _ in pool.map(
                lambda f: session.fetcher.download(
                    f.url, folder / f.filename, sha256=f.hash_map.get("sha256")
                ),
                missing,
            ):
                pass
    prune_folder(folder, keep=set(wanted))
    return tuple(sorted(wanted))
