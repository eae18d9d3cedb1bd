"""Progress events: what a long step says about itself while it runs.

Sits at the bottom of the package, beside :mod:`advisor.errors` and :mod:`advisor.models`.
The emitters take a :class:`ProgressEvents` through their constructors (or a keyword
argument) and call it: the resolver's reporter (:mod:`advisor.resolution.resolve`), the index
client's retries and streamed downloads (:mod:`advisor.index.fetch`), the metadata fetcher's
sdist builds (:mod:`advisor.index.metadata`) and the installer (:mod:`advisor.install`). The
composition root (``advisor.api``) passes down what its caller gave it; the CLI renders the
events on stderr (``advisor.cli._progress``); every other caller gets :data:`SILENT`.

Contract for implementations: each method may be called from any thread (metadata builds and
prefetches run in worker pools), returns quickly (:meth:`ProgressEvents.resolving` is called
once per resolver round, :meth:`ProgressEvents.downloading` once per chunk) and never raises.
A ``*_finished`` call follows every start, whether the step succeeded or failed. URLs arrive
without credentials.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["SILENT", "ProgressEvents", "SilentProgress"]


class ProgressEvents(Protocol):
    """The sink of progress events (see the module docstring for the contract)."""

    def resolving(self, target: str, *, seen: int, backtracks: int) -> None:
        """A resolution for ``target`` is under way: ``seen`` distinct projects required so
        far, ``backtracks`` conflicts met. Called at its start and after every round."""

    def resolve_finished(self, target: str) -> None:
        """The resolution for ``target`` ended (a stack, a conflict or an error)."""

    def build_started(self, name: str, version: str, *, filename: str) -> None:
        """A PEP 517 metadata build of the sdist ``filename`` (``name`` ``version``) began."""

    def build_finished(self, name: str, version: str, *, filename: str) -> None:
        """That build ended."""

    def downloading(self, url: str, *, done: int, total: int | None) -> None:
        """``done`` bytes of ``url`` are saved; ``total`` when the server said it."""

    def download_finished(self, url: str) -> None:
        """The download of ``url`` ended."""

    def retrying(self, url: str, *, attempt: int, attempts: int, delay: float, reason: str) -> None:
        """Attempt ``attempt`` (counted from 1) of at most ``attempts`` at ``url`` starts in
        ``delay`` seconds, because the previous one failed for ``reason``."""

    def retry_finished(self, url: str) -> None:
        """The retried request to ``url`` ended (succeeded, or gave up)."""

    def installing(self, what: str) -> None:
        """An installation (``what``: the packages and the target, in words) began."""

    def install_finished(self, what: str) -> None:
        """That installation ended."""

    def working(self, what: str) -> None:
        """Any other long step began (``what``: the step in words, e.g. "verifying the
        OSV dump")."""

    def work_finished(self, what: str) -> None:
        """That step ended."""


class SilentProgress(ProgressEvents):
    """Discards every event: the default of every emitter."""

    __slots__ = ()

    def resolving(self, target: str, *, seen: int, backtracks: int) -> None:
        pass

    def resolve_finished(self, target: str) -> None:
        pass

    def build_started(self, name: str, version: str, *, filename: str) -> None:
        pass

    def build_finished(self, name: str, version: str, *, filename: str) -> None:
        pass

    def downloading(self, url: str, *, done: int, total: int | None) -> None:
        pass

    def download_finished(self, url: str) -> None:
        pass

    def retrying(self, url: str, *, attempt: int, attempts: int, delay: float, reason: str) -> None:
        pass

    def retry_finished(self, url: str) -> None:
        pass

    def installing(self, what: str) -> None:
        pass

    def install_finished(self, what: str) -> None:
        pass

    def working(self, what: str) -> None:
        pass

    def work_finished(self, what: str) -> None:
        pass


#: The shared do-nothing sink (stateless, so one instance serves every thread).
SILENT: ProgressEvents = SilentProgress()
