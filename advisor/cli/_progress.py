"""The progress display: what a long step is doing, on stderr, while it runs.

Sits in the CLI layer, at the far end of :mod:`advisor.events`: a command opens
:func:`progress_events` around its api call and passes the sink down; the emitters (resolver,
index client, metadata builds, installer) call it from whatever thread they run in. What shows
is one line per step under way: ``resolving TARGET: N packages seen, M backtracks``,
``building metadata for NAME VERSION (sdist, S s)``, ``downloading URL (SIZE of TOTAL)``,
``retrying URL (attempt K of N, next in S s): REASON``, ``installing WHAT (S s)``.

The display is a transient rich ``Live`` region: it appears only once the command has run for
:data:`SHOW_AFTER` seconds (a fast run prints nothing), redraws a few times a second, and is
erased when the command ends. It is off under ``-q``, when stderr is not a terminal and on a
``TERM=dumb`` terminal; warnings print either way. While it shows, anything written to
``sys.stderr`` (warnings, log records) is printed above it rather than through it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.cli._common import human_size
from advisor.events import SILENT, ProgressEvents

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from types import TracebackType

    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.spinner import Spinner

__all__ = ["SHOW_AFTER", "TerminalProgress", "progress_events", "stderr_is_terminal"]

#: Seconds a command runs before the display appears.
SHOW_AFTER = 1.0
_REFRESHES_PER_SECOND = 8


def stderr_is_terminal(environ: Mapping[str, str] | None = None) -> bool:
    """stderr is an interactive terminal that can redraw lines (not a pipe, not TERM=dumb).

    Asked of the file itself, not of rich, which treats ``FORCE_COLOR`` as a terminal."""
    env = os.environ if environ is None else environ
    try:
        return sys.stderr.isatty() and env.get("TERM", "") != "dumb"
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


@contextlib.contextmanager
def progress_events(*, quiet: bool) -> Iterator[ProgressEvents]:
    """The sink a command hands to the api: a :class:`TerminalProgress` on stderr, or
    :data:`~advisor.events.SILENT` under ``-q`` or when stderr is not a terminal."""
    if quiet or not stderr_is_terminal():
        yield SILENT
        return
    from rich.console import Console

    with TerminalProgress(Console(stderr=True, highlight=False)) as display:
        yield display


@dataclass(slots=True)
class _Step:
    """One line: ``text``, then what the clock adds (by ``kind``), then ``rest``."""

    kind: str
    text: str
    started: float
    rest: str = ""
    until: float = 0.0  # a retry: when its next attempt starts
    spinner: Spinner | None = None  # made on first draw (it keeps its own phase)


class TerminalProgress(ProgressEvents):
    """Renders :class:`~advisor.events.ProgressEvents` on ``console`` (see the module).

    Use as a context manager: entering starts the clock, the display appears after
    ``show_after`` seconds, leaving erases it. Events are thread-safe and cost a lock and a
    dict update; drawing happens on rich's refresh thread. URLs are shown without credentials.
    """

    def __init__(
        self,
        console: Console,
        *,
        show_after: float = SHOW_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from advisor.urls import redact_url

        self._console = console
        self._show_after = show_after
        self._clock = clock
        self._redact = redact_url
        self._lock = threading.Lock()  # guards _steps (events vs. the refresh thread)
        self._life = threading.Lock()  # guards _live and _closed (the timer vs. exit)
        self._steps: dict[tuple[str, str], _Step] = {}
        self._live: Live | None = None
        self._closed = False
        self._timer: threading.Timer | None = None

    # -- lifetime -------------------------------------------------------------------------

    def __enter__(self) -> TerminalProgress:
        self._timer = threading.Timer(self._show_after, self._show)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._life:
            self._closed = True
            live, self._live = self._live, None
            if live is not None:
                live.stop()  # transient: the region is erased, stderr is given back

    def _show(self) -> None:
        from rich.live import Live

        with self._life:
            if self._closed:
                return
            live = Live(
                console=self._console,
                get_renderable=self._render,
                refresh_per_second=_REFRESHES_PER_SECOND,
                transient=True,
                redirect_stdout=False,  # stdout may be the lock or the report, piped
                redirect_stderr=True,  # warnings and log records go above the region
            )
            live.start()
            self._live = live

    # -- drawing --------------------------------------------------------------------------

    def _render(self) -> RenderableType:
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.text import Text

        now = self._clock()
        lines: list[RenderableType] = []
        with self._lock:
            for step in self._steps.values():
                if step.spinner is None:
                    step.spinner = Spinner("dots")
                text = Text(self._line(step, now), no_wrap=True, overflow="ellipsis")
                step.spinner.update(text=text)
                lines.append(step.spinner)
        return Group(*lines)

    @staticmethod
    def _line(step: _Step, now: float) -> str:
        seconds = max(0.0, now - step.started)
        if step.kind == "build":
            middle = f" (sdist, {seconds:.0f} s)"
        elif step.kind == "install":
            middle = f" ({seconds:.0f} s)"
        elif step.kind == "retry" and step.until > now:
            middle = f", next in {step.until - now:.1f} s"
        else:
            middle = ""
        return step.text + middle + step.rest

    def _set(self, key: tuple[str, str], text: str, *, rest: str = "", until: float = 0.0) -> None:
        with self._lock:
            step = self._steps.get(key)
            if step is None:
                self._steps[key] = _Step(
                    kind=key[0], text=text, started=self._clock(), rest=rest, until=until
                )
            else:
                step.text, step.rest, step.until = text, rest, until

    def _drop(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._steps.pop(key, None)

    # -- events ---------------------------------------------------------------------------

    def resolving(self, target: str, *, seen: int, backtracks: int) -> None:
        packages = "package" if seen == 1 else "packages"
        self._set(
            ("resolve", target),
            f"resolving {target}: {seen} {packages} seen, {backtracks} backtracks",
        )

    def resolve_finished(self, target: str) -> None:
        self._drop(("resolve", target))

    def build_started(self, name: str, version: str, *, filename: str) -> None:
        self._set(("build", filename), f"building metadata for {name} {version}")

    def build_finished(self, name: str, version: str, *, filename: str) -> None:
        self._drop(("build", filename))

    def downloading(self, url: str, *, done: int, total: int | None) -> None:
        size = human_size(done) + (f" of {human_size(total)}" if total is not None else "")
        self._set(("download", url), f"downloading {self._redact(url)} ({size})")

    def download_finished(self, url: str) -> None:
        self._drop(("download", url))

    def retrying(self, url: str, *, attempt: int, attempts: int, delay: float, reason: str) -> None:
        self._set(
            ("retry", url),
            f"retrying {self._redact(url)} (attempt {attempt} of {attempts}",
            rest=f"): {reason}",
            until=self._clock() + delay,
        )

    def retry_finished(self, url: str) -> None:
        self._drop(("retry", url))

    def installing(self, what: str) -> None:
        self._set(("install", what), f"installing {what}")

    def install_finished(self, what: str) -> None:
        self._drop(("install", what))

    def working(self, what: str) -> None:
        self._set(("work", what), what)

    def work_finished(self, what: str) -> None:
        self._drop(("work", what))
