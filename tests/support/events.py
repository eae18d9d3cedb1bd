"""A progress-event sink for tests: keeps every event the emitters send, in order."""

from __future__ import annotations

import threading

from advisor.events import ProgressEvents

__all__ = ["Recorder"]


class Recorder(ProgressEvents):
    """A sink that keeps every event as ``(method, args...)``, in order, thread-safely."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []
        self._lock = threading.Lock()

    def _add(self, *call: object) -> None:
        with self._lock:
            self.calls.append(call)

    def resolving(self, target: str, *, seen: int, backtracks: int) -> None:
        self._add("resolving", target, seen, backtracks)

    def resolve_finished(self, target: str) -> None:
        self._add("resolve_finished", target)

    def build_started(self, name: str, version: str, *, filename: str) -> None:
        self._add("build_started", name, version, filename)

    def build_finished(self, name: str, version: str, *, filename: str) -> None:
        self._add("build_finished", name, version, filename)

    def downloading(self, url: str, *, done: int, total: int | None) -> None:
        self._add("downloading", url, done, total)

    def download_finished(self, url: str) -> None:
        self._add("download_finished", url)

    def retrying(self, url: str, *, attempt: int, attempts: int, delay: float, reason: str) -> None:
        self._add("retrying", url, attempt, attempts, round(delay, 2), reason)

    def retry_finished(self, url: str) -> None:
        self._add("retry_finished", url)

    def installing(self, what: str) -> None:
        self._add("installing", what)

    def install_finished(self, what: str) -> None:
        self._add("install_finished", what)

    def working(self, what: str) -> None:
        self._add("working", what)

    def work_finished(self, what: str) -> None:
        self._add("work_finished", what)

    def named(self, method: str) -> list[tuple[object, ...]]:
        """The arguments of every call of ``method``, in order."""
        with self._lock:
            return [call[1:] for call in self.calls if call[0] == method]
