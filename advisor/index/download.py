"""Saving a download: a temporary file beside the destination, renamed into place only
when the whole body arrived (and its hash matched), and the chunked copy loop that hashes
on the way.

Sits under :meth:`advisor.index.fetch.Fetcher.download`, which does the requests and
retries; this module only writes files, so a partial file never appears under the
destination's name, and counts the bytes for the progress events (:func:`reported`).
Errors come out as :class:`~advisor.errors.IndexUnavailable` naming the URL (redacted by the
caller).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from advisor.errors import IndexUnavailable

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from advisor.events import ProgressEvents

__all__ = [
    "CHUNK",
    "Downloaded",
    "Saved",
    "copy_file",
    "part_file",
    "pump",
    "reported",
    "write_error",
]

#: Bytes read or written at a time.
CHUNK = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Saved:
    size: int
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Downloaded:
    """What a conditional download did: ``changed`` is ``False`` when the server answered
    304 Not Modified (nothing was written); otherwise the file's size and sha256, and the
    validators to send next time (``etag``, ``last_modified``, as the server sent them)."""

    changed: bool
    size: int = 0
    sha256: str = ""
    etag: str | None = None
    last_modified: str | None = None


def write_error(dest: Path, exc: OSError, *, url: str) -> IndexUnavailable:
    return IndexUnavailable(f"cannot write {dest}: {exc.strerror or exc}", url=url)


@contextlib.contextmanager
def part_file(dest: Path, *, url: str) -> Iterator[BinaryIO]:
    """A new file beside ``dest`` (hidden, random name), renamed to ``dest`` when the block
    succeeds and removed when it fails; OSErrors become :class:`IndexUnavailable`."""
    part = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.part")
    try:
        out = part.open("xb")  # like any new file (umask), unlike mkstemp's 0600
    except OSError as exc:
        raise write_error(dest, exc, url=url) from exc
    try:
        try:
            with out:
                yield out
            os.replace(part, dest)
        except OSError as exc:  # flushing, closing or renaming: read errors come translated
            raise write_error(dest, exc, url=url) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        raise


def pump(
    chunks: Iterable[bytes],
    out: BinaryIO,
    *,
    dest: Path,
    url: str,
) -> Saved:
    """Write ``chunks`` to ``out``, hashing on the way; write errors become IndexUnavailable."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        try:
            out.write(chunk)
        except OSError as exc:
            raise write_error(dest, exc, url=url) from exc
    return Saved(size=size, sha256=digest.hexdigest())


def reported(
    chunks: Iterable[bytes], *, url: str, total: int | None, events: ProgressEvents
) -> Iterator[bytes]:
    """``chunks`` unchanged, telling ``events`` the bytes passed so far (``total``: expected)."""
    done = 0
    events.downloading(url, done=0, total=total)
    for chunk in chunks:
        yield chunk
        done += len(chunk)
        events.downloading(url, done=done, total=total)


def copy_file(source: Path, out: BinaryIO, *, dest: Path, url: str) -> Saved:
    try:
        with source.open("rb") as src:
            chunks = iter(functools.partial(src.read, CHUNK), b"")
            return pump(chunks, out, dest=dest, url=url)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise IndexUnavailable("no such file", url=url) from exc
    except OSError as exc:  # pump translates write errors: this one is from reading
        raise IndexUnavailable(
            f"cannot read: {(exc.strerror or str(exc)).lower()}", url=url
        ) from exc
