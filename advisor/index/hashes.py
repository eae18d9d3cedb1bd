"""Hashes for files the index listed without one (find-links folders, direct references).

Every locked file needs a hash (``--require-hashes`` installs, PEP 751). Index pages normally
carry them; a plain folder or an archive URL does not, so the chosen files are hashed here,
after resolution, and only those: a local file is read from disk in chunks, a remote one is
downloaded once through the fetcher.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import TYPE_CHECKING

from advisor.errors import IndexUnavailable
from advisor.index.fetch import file_url_to_path

if TYPE_CHECKING:
    from advisor.index.fetch import Fetcher
    from advisor.models import DistFile, Resolution

__all__ = ["ensure_hash", "with_hashes"]

_CHUNK = 1 << 20


def ensure_hash(dist: DistFile, *, fetcher: Fetcher) -> DistFile:
    """``dist`` itself when it has a sha256, else a copy carrying the sha256 of its content.

    Raises :class:`~advisor.errors.IndexUnavailable` naming the URL when it cannot be read.
    """
    if dist.sha256:
        return dist
    import msgspec

    if dist.url.startswith("file:"):
        path = file_url_to_path(dist.url)
        digest = hashlib.sha256()
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
        except OSError as exc:
            raise IndexUnavailable(f"cannot read {path}: {exc.strerror}", url=dist.url) from exc
        size = path.stat().st_size
    else:
        resp = fetcher.get(dist.url)
        if resp.status != 200:
            raise IndexUnavailable(f"HTTP {resp.status} while hashing", url=dist.url)
        digest = hashlib.sha256(resp.content)
        size = len(resp.content)
    hashes = tuple(sorted({*dist.hashes, ("sha256", digest.hexdigest())}))
    return msgspec.structs.replace(dist, hashes=hashes, size=dist.size or size)


def with_hashes(resolution: Resolution, fetcher: Fetcher) -> Resolution:
    """``resolution`` with every locked file given a sha256 (:func:`ensure_hash`)."""
    pins = []
    for pin in resolution.pins:
        files = tuple(ensure_hash(f, fetcher=fetcher) for f in pin.files)
        pins.append(pin if files == pin.files else dataclasses.replace(pin, files=files))
    return dataclasses.replace(resolution, pins=tuple(pins))
