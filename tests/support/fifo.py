"""A real reader of a FIFO, in a thread, for the tests of output paths that are FIFOs.

``fifo_reader(path)`` makes the FIFO and yields a :class:`FifoReader` already holding it
open; :meth:`FifoReader.finish` returns all it read. Neither side can block forever: a
guard descriptor opened read-write keeps the FIFO connected until ``finish``.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["FifoReader", "fifo_reader"]


class FifoReader:
    """A real reader of the FIFO at ``path``, in a thread: :meth:`finish` returns its text.

    A guard descriptor opened read-write keeps the FIFO connected, so neither the reader's
    open nor a writer's can block forever; :meth:`finish` drops it, after which the reader
    sees end-of-file once the writer closed (or at once, when nothing wrote to the FIFO).
    """

    def __init__(self, path: Path) -> None:
        self._guard: int | None = os.open(path, os.O_RDWR)
        self._chunks: list[bytes] = []
        self._errors: list[BaseException] = []
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(path,), daemon=True)
        self._thread.start()
        # the reader must hold the FIFO before the guard goes: a pipe nobody holds drops
        # its data, and a reader opening after that would wait for a writer forever
        assert self._opened.wait(30), "the FIFO reader could not open it"

    def _read(self, path: Path) -> None:
        try:
            with open(path, "rb") as fh:
                self._opened.set()
                while chunk := fh.read(4096):
                    self._chunks.append(chunk)
        except BaseException as exc:  # reported by finish(), never lost in the thread
            self._errors.append(exc)
            self._opened.set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def finish(self) -> str:
        """Drop the guard, wait for end-of-file and return everything read (UTF-8)."""
        if self._guard is not None:
            os.close(self._guard)
            self._guard = None
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the FIFO reader never saw end-of-file"
        assert not self._errors, self._errors
        return b"".join(self._chunks).decode("utf-8")


@contextmanager
def fifo_reader(path: Path) -> Iterator[FifoReader]:
    """Make a FIFO at ``path`` and read it until :meth:`FifoReader.finish` (or the end)."""
    os.mkfifo(path)
    reader = FifoReader(path)
    try:
        yield reader
    finally:
        if reader.alive:
            reader.finish()
