"""Atomic file output for locks, reports and generated files.

The last step of the output layer: rendered text goes to disk all at once or not at all,
so an interrupted ``advisor lock`` never leaves a half-written ``pylock.toml`` behind.
Writing to standard output (``-``) is the CLI's business, not this module's.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, newlines as given) atomically.

    The text goes to a temporary file in the same directory, is flushed and fsynced,
    then renamed over ``path`` with :func:`os.replace`. An existing file keeps its
    permission bits; a new one gets the usual ``0o666`` less the umask. On any failure
    the temporary file is removed and ``path`` is left as it was.

    Raises :class:`OSError` when the directory is missing or not writable, and
    :class:`UnicodeEncodeError` for text that is not encodable (lone surrogates).
    """
    try:
        mode: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never follow or reuse somebody else's file; 0o666 lets the umask decide.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; not every platform can open a directory for this."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
