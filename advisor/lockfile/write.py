"""Safe file output for locks, reports, exports and generated files.

The last step of the output layer: rendered text goes to the place a path names without
ever destroying what the path is. A regular file (or a new one) is replaced atomically, so
an interrupted ``advisor lock`` never leaves a half-written ``pylock.toml`` behind; a
symbolic link is followed and its target replaced, so the link stays a link; a character
device (``/dev/null``, a terminal) or a FIFO is written through, as a shell's ``>`` does.
Writing to standard output (``-``) is the CLI's business, not this module's.
:func:`write_output` is the same write for a path a user named, its failure translated to
:class:`~advisor.errors.UnwritableOutput`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from advisor.errors import UnwritableOutput

__all__ = ["write_atomic", "write_output"]

#: Links followed before giving up with ``ELOOP``: Linux's own limit for one path lookup.
_MAX_LINKS = 40


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to what ``path`` names, by its kind:

    - a regular file, or nothing yet: the text goes to a temporary file in the same
      directory, is flushed and fsynced, then renamed over the file with :func:`os.replace`.
      An existing file keeps its permission bits; a new one gets ``0o666`` less the umask.
      On any failure the temporary file is removed and the file is left as it was.
    - a symbolic link (a chain of them, relative or absolute): the final target is written
      as above and the link itself is left alone. A dangling link creates its target, as
      ``echo > link`` does (the target's directory must exist).
    - a character device or a FIFO: written through in place, never replaced (opening a
      FIFO waits for a reader, as a shell's ``>`` does).

    Raises :class:`OSError` when the directory is missing or not writable, for a directory
    (``EISDIR``), a socket or a block device (``EINVAL``), a link loop (``ELOOP``), or a
    reader that goes away (``EPIPE``); and :class:`UnicodeEncodeError` for text that is not
    encodable (lone surrogates), before anything is opened.
    """
    data = text.encode("utf-8")
    target = _final_target(path)
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    if info is None or stat.S_ISREG(info.st_mode):
        _replace(target, data, mode=None if info is None else stat.S_IMODE(info.st_mode))
    elif stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode):
        _write_through(target, data)
    elif stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    else:
        raise _not_writable_kind(path)


def write_output(path: Path, text: str) -> None:
    """:func:`write_atomic` for an output path a user named (a lock, a report, an export):
    raises :class:`~advisor.errors.UnwritableOutput` naming ``path`` and the reason instead
    of :class:`OSError` (``path`` is then left as it was)."""
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise UnwritableOutput(path=str(path), reason=exc.strerror or str(exc)) from exc


def _final_target(path: Path) -> Path:
    """``path`` with every symbolic link at its end followed (not its directories: renaming
    inside a linked directory is already renaming in its target)."""
    current = path
    for _ in range(_MAX_LINKS):
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return current
        if not stat.S_ISLNK(mode):
            return current
        # a relative link is relative to the link's directory; an absolute one replaces it
        current = Path(os.path.join(os.path.dirname(current), os.readlink(current)))
    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))


def _not_writable_kind(path: Path) -> OSError:
    return OSError(errno.EINVAL, "not a regular file, a character device or a FIFO", str(path))


def _replace(path: Path, data: bytes, *, mode: int | None) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never follow or reuse somebody else's file; 0o666 lets the umask decide.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _write_through(path: Path, data: bytes) -> None:
    """Write ``data`` into the device or FIFO at ``path`` (no truncation: neither has any)."""
    # O_NOCTTY: writing to a terminal device must not make it our controlling terminal
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
    try:
        # the path was checked before opening; what was opened is what gets written
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
            raise _not_writable_kind(path)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


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
