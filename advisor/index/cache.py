"""On-disk cache shared by the index client and the metadata fetcher.

A flat key-value store of byte blobs in buckets (``pages``, ``metadata``, ``files``…) under
one root directory (platformdirs' user cache dir by default). Every entry is written to a
temporary file and renamed into place, so two processes sharing the cache never see a
half-written entry; each entry starts with a header holding the SHA-256 of its payload, so a
truncated or corrupted entry is detected on read, deleted, and reported as a miss (the
caller refetches). Callers serialise their own values (msgspec) and decide freshness from
:meth:`Cache.age`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from advisor.errors import InputError

__all__ = ["Cache", "CacheInfo"]

_MAGIC = b"SACACHE1"
_HEADER = len(_MAGIC) + 32  # magic + raw sha256 of the payload


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheInfo:
    root: Path
    entries: int
    size: int
    buckets: tuple[tuple[str, int, int], ...]  # (bucket, entries, bytes)


class Cache:
    """A process-safe blob cache. ``read`` never returns corrupt data."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def existing(cls, root: Path) -> Cache:
        """The cache at ``root``, to read or empty (``advisor cache info|clean``): a missing
        directory is an empty cache, a file there is an error (:class:`InputError`)."""
        if root.exists() and not root.is_dir():
            raise InputError(f"{root} is not a directory, so it holds no cache")
        return cls(root)

    def prepare_root(self) -> str | None:
        """Create the root directory (and its parents) when missing; returns why it cannot
        hold a cache (it is not a directory, or cannot be created), or ``None`` when it can.

        Called once when a session opens, so that an unusable directory is said, not
        silently turned into a cache that never hits (every write would fail quietly)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            return "it exists and is not a directory"
        except OSError as exc:
            return f"it cannot be created ({exc.strerror or exc})"
        return None

    def _path(self, bucket: str, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.root / bucket / digest[:2] / digest

    def read(self, bucket: str, key: str) -> bytes | None:
        """The payload stored under ``key``, or ``None`` when absent or corrupt (then removed)."""
        path = self._path(bucket, key)
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        payload = blob[_HEADER:]
        digest = blob[len(_MAGIC) : _HEADER]
        if blob[: len(_MAGIC)] != _MAGIC or hashlib.sha256(payload).digest() != digest:
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return payload

    def write(self, bucket: str, key: str, data: bytes) -> None:
        """Store ``data`` atomically; a failed write is ignored (the cache is an optimisation)."""
        path = self._path(bucket, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(_MAGIC + hashlib.sha256(data).digest() + data)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            return

    def age(self, bucket: str, key: str, *, now: float | None = None) -> float | None:
        """Seconds since the entry was written, or ``None`` when absent."""
        try:
            mtime = self._path(bucket, key).stat().st_mtime
        except OSError:
            return None
        return (time.time() if now is None else now) - mtime

    def touch(self, bucket: str, key: str) -> None:
        """Mark an entry as just revalidated (resets its age)."""
        with contextlib.suppress(OSError):
            os.utime(self._path(bucket, key))

    def delete(self, bucket: str, key: str) -> None:
        with contextlib.suppress(OSError):
            self._path(bucket, key).unlink()

    def info(self) -> CacheInfo:
        """The cache's size and entries per kind (an empty one when the directory is
        missing). Cost: one ``stat`` per entry."""
        buckets: list[tuple[str, int, int]] = []
        if self.root.is_dir():
            for bucket in sorted(p for p in self.root.iterdir() if p.is_dir()):
                count = size = 0
                for entry in bucket.rglob("*"):
                    if entry.is_file() and not entry.name.startswith(".tmp-"):
                        count += 1
                        size += entry.stat().st_size
                buckets.append((bucket.name, count, size))
        return CacheInfo(
            root=self.root,
            entries=sum(b[1] for b in buckets),
            size=sum(b[2] for b in buckets),
            buckets=tuple(buckets),
        )

    def clean(self) -> int:
        """Remove every entry; returns the number of bytes freed."""
        freed = self.info().size
        if self.root.is_dir():
            shutil.rmtree(self.root, ignore_errors=True)
        return freed
