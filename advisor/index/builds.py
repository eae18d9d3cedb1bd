"""Sdist metadata builds for the metadata fetcher: allowed or not, bounded, remembered.

Sits between :mod:`advisor.index.metadata`, which needs an sdist's core metadata when no
wheel fits the target and the sdist's PKG-INFO is not static, and :mod:`advisor.index.sdist`,
which runs one PEP 517 build. :class:`SdistBuilds` first looks in the on-disk cache (bucket
``builds``) for the outcome of an earlier build of the same archive (its sha256) on the same
build interpreter (:attr:`BuildSettings.interpreter`: implementation, version, ABI,
platform): the metadata, or the failure with its class. Only failures that are facts about
the sdist are remembered (:attr:`BuildFailure.remembered`: a time-out, with the timeout it
had, so a longer ``--build-timeout`` retries it; a failed backend; a build requirement the
index lacks; an archive that cannot be unpacked or built), never an interrupt, the command's
time limit, or pip failing for want of a network. ``retry_failed`` (``--refresh``) ignores
remembered failures.

Each build gets the smaller of its timeout and the time left before the command's deadline;
past the deadline no build starts, nor does one that would overrun it: one whose time left is
less than its estimate (it is skipped and reported as time-limited, with the estimate, rather
than started only to be stopped). The estimate is the median of the project's past builds on
this build interpreter, in this run or earlier ones (the cache keeps the last
:data:`HISTORY` durations per project: a success's, or a time-out's timeout, which the build
took at least), else the quickest build of this command. The history lives here, in the build
cache, rather than as a knowledge observation: it is a fact about this machine and
interpreter, like the remembered outcomes beside it, it is needed below the knowledge layer
(the index client estimates before it builds), and nobody else would read it.
:attr:`SdistBuilds.live` holds the running builds, so :meth:`SdistBuilds.cancel` stops them
all.
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from advisor.errors import BuildFailed, BuildFailure, MetadataUnavailable
from advisor.index.sdist import LiveBuilds, build_metadata

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from advisor.index.cache import Cache

__all__ = ["HISTORY", "BuildSettings", "SdistBuilds", "host_interpreter"]

_BUCKET = "builds"
_FORMAT = "build-outcome-v1"
_TIMES = "build-times-v1"
#: how many of a project's latest build durations the cache keeps (per build interpreter)
HISTORY = 16
_TIME_LIMIT = "the command's time limit (--time-limit) was reached"


def host_interpreter() -> str:
    """This interpreter as a build cache key: ``cpython-311-linux-x86_64``-like."""
    abiflags = getattr(sys, "abiflags", "")
    return f"{sys.implementation.cache_tag}{abiflags}-{sysconfig.get_platform()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildSettings:
    """How sdists are built for their metadata.

    ``allow``: ``False`` under ``--no-build`` (a remembered outcome is still used).
    ``python`` runs the build front end; ``interpreter`` names it in cache keys (the default
    names this interpreter; give another when ``python`` is another one). ``timeout``: seconds
    per build. ``env``: the builds' whole environment (``None``: this process's; the index
    settings for build requirements go there). ``retry_failed``: ignore remembered failures.
    ``deadline``: a ``time.monotonic()`` instant after which no build runs (a build running
    then is stopped), from a command's ``--time-limit``. ``temp_dir``: where the build
    folders go (default: the temporary directory).
    """

    allow: bool = True
    python: str = sys.executable
    interpreter: str = ""
    timeout: float = 300.0
    env: Mapping[str, str] | None = None
    retry_failed: bool = False
    deadline: float | None = None
    temp_dir: Path | None = None


class _Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """A remembered build outcome: ``metadata`` on success, else the failure."""

    metadata: bytes | None = None
    kind: str | None = None
    message: str = ""
    timeout: float | None = None


class _Times(msgspec.Struct, frozen=True, kw_only=True):
    """A project's latest build durations, in seconds, oldest first."""

    seconds: list[float] = msgspec.field(default_factory=list)


def _project(filename: str) -> str | None:
    """The normalised project name of an sdist's file name (``None``: not a valid one)."""
    from packaging.utils import InvalidSdistFilename, parse_sdist_filename

    try:
        return str(parse_sdist_filename(filename)[0])
    except InvalidSdistFilename:
        return None


class SdistBuilds:
    """Runs (or recalls) sdist metadata builds. Thread-safe; concurrency is the caller's."""

    def __init__(
        self,
        settings: BuildSettings,
        *,
        cache: Cache | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.live = LiveBuilds()
        #: sdists not built, or stopped, because the deadline came (in that order)
        self.time_limited: list[str] = []
        self._cache = cache
        self._clock = clock
        #: sdists not started because their estimate exceeded the time left → why
        self.skipped: dict[str, str] = {}
        #: seconds the quickest successful build took (the estimate without a history)
        self._quickest: float | None = None
        #: this run's build durations per project, for a run without a cache
        self._times: dict[str, list[float]] = {}
        self._times_lock = threading.Lock()
        self._interpreter = settings.interpreter or (
            host_interpreter() if settings.python == sys.executable else settings.python
        )

    def remembered(self, archive: bytes, *, filename: str) -> bytes | None:
        """The METADATA an earlier build of ``archive`` produced on this interpreter; raises
        the remembered :class:`BuildFailed` (``cached=True``); ``None`` when nothing applies.
        Cost: a sha256 of the archive and one cache read."""
        if self._cache is None:
            return None
        key = self._key(archive)
        blob = self._cache.read(_BUCKET, key)
        if blob is None:
            return None
        try:
            outcome = msgspec.msgpack.decode(blob, type=_Outcome)
            kind = None if outcome.kind is None else BuildFailure(outcome.kind)
        except (msgspec.DecodeError, ValueError):
            self._cache.delete(_BUCKET, key)
            return None
        if outcome.metadata is not None:
            return outcome.metadata
        if kind is None or self.settings.retry_failed:
            return None
        if kind is BuildFailure.TIMEOUT and self.settings.timeout > (outcome.timeout or 0.0):
            return None  # it may finish in the longer time now allowed
        retry = "--refresh"
        if kind is BuildFailure.TIMEOUT:
            retry += " or a --build-timeout above the one it had"
        raise BuildFailed(
            f"not built again: the failure of an earlier build is cached ({retry} retries it):"
            f" {outcome.message}",
            filename=filename,
            kind=kind,
            cached=True,
        )

    def build(self, archive: bytes, *, filename: str) -> bytes:
        """Build ``archive``'s metadata now and remember the outcome; return ``METADATA``.

        Raises :class:`MetadataUnavailable` under ``--no-build``, :class:`BuildFailed` when
        the build fails, times out, meets the deadline or is cancelled. Cost: a build
        (seconds to minutes, at most the timeout).
        """
        if not self.settings.allow:
            raise MetadataUnavailable("needs a build and --no-build is set", filename=filename)
        timeout, stop_reason = self._budget(filename)
        started = self._clock()
        try:
            data = build_metadata(
                archive,
                filename=filename,
                python=self.settings.python,
                timeout=timeout,
                env=self.settings.env,
                live=self.live,
                stop_reason=stop_reason,
                temp_dir=self.settings.temp_dir,
            )
        except BuildFailed as exc:
            if self.live.cancelled and exc.kind is not BuildFailure.CANCELLED:
                raise BuildFailed(
                    "metadata build cancelled (the command was interrupted)",
                    filename=filename,
                    kind=BuildFailure.CANCELLED,
                ) from exc
            if exc.kind is BuildFailure.TIME_LIMIT:
                self.time_limited.append(filename)
            if exc.kind is BuildFailure.TIMEOUT:
                self._record_time(filename, timeout)  # it took at least its timeout
            if exc.kind.remembered:
                message = str(exc).removeprefix(f"{filename}: ")
                self._remember(
                    archive, _Outcome(kind=exc.kind.value, message=message, timeout=timeout)
                )
            raise
        took = self._clock() - started
        self._quickest = took if self._quickest is None else min(self._quickest, took)
        self._record_time(filename, took)
        self._remember(archive, _Outcome(metadata=data))
        return data

    def history(self, project: str) -> tuple[float, ...]:
        """The latest build durations of ``project`` (normalised name) on this build
        interpreter, oldest first: from the cache, else from this run. Cost: one cache read."""
        if self._cache is None:
            with self._times_lock:
                return tuple(self._times.get(project, ()))
        key = self._times_key(project)
        blob = self._cache.read(_BUCKET, key)
        if blob is None:
            return ()
        try:
            return tuple(msgspec.msgpack.decode(blob, type=_Times).seconds)
        except msgspec.DecodeError:
            self._cache.delete(_BUCKET, key)
            return ()

    def estimate(self, filename: str) -> tuple[float, str] | None:
        """(seconds a build of ``filename`` should take, how that was estimated): the median
        of its project's history, else the quickest build of this run; ``None``: no idea."""
        project = _project(filename)
        past = self.history(project) if project is not None else ()
        if past:
            median = statistics.median(past)
            builds = f"{len(past)} build{'s' if len(past) != 1 else ''}"
            return median, f"earlier builds of {project} took (median {median:.1f} s of {builds})"
        if self._quickest is not None:
            return self._quickest, f"the quickest build so far took ({self._quickest:.1f} s)"
        return None

    def check_deadline(self, filename: str) -> None:
        """Raise :class:`BuildFailed` of kind ``time-limit`` once the deadline has passed
        (so a caller spends no more time on an sdist, not even downloading it). The estimate
        is not checked here: the sdist's outcome may be remembered, which needs no build."""
        self._budget(filename, estimate=False)

    def cancel(self) -> None:
        """Stop every running build and refuse new ones (see :meth:`LiveBuilds.cancel`)."""
        self.live.cancel()

    def _budget(self, filename: str, *, estimate: bool = True) -> tuple[float, str | None]:
        """(seconds this build may take, why that is less than the timeout or ``None``);
        ``estimate``: also refuse a build whose estimate exceeds the time left."""
        timeout, deadline = self.settings.timeout, self.settings.deadline
        if deadline is None:
            return timeout, None
        left = deadline - self._clock()
        if left <= 0:
            self.time_limited.append(filename)
            raise BuildFailed(
                f"not built: {_TIME_LIMIT}", filename=filename, kind=BuildFailure.TIME_LIMIT
            )
        guess = self.estimate(filename) if estimate else None
        if guess is not None and left < guess[0]:
            why = f"{left:.1f} s of the command's time limit (--time-limit) are left, less than "
            why += guess[1]
            self.time_limited.append(filename)
            self.skipped[filename] = f"not started: {why}"
            raise BuildFailed(f"not built: {why}", filename=filename, kind=BuildFailure.TIME_LIMIT)
        return (left, _TIME_LIMIT) if left < timeout else (timeout, None)

    def _record_time(self, filename: str, seconds: float) -> None:
        """Add ``seconds`` to the history of ``filename``'s project (the last :data:`HISTORY`
        kept). Two processes recording at once may lose one entry: it is an estimate."""
        project = _project(filename)
        if project is None:
            return
        with self._times_lock:
            if self._cache is None:
                kept = self._times.setdefault(project, [])
                kept.append(seconds)
                del kept[:-HISTORY]
                return
            latest = [*self.history(project), seconds][-HISTORY:]
            data = msgspec.msgpack.encode(_Times(seconds=latest))
            self._cache.write(_BUCKET, self._times_key(project), data)

    def _times_key(self, project: str) -> str:
        return f"{_TIMES} project:{project} python:{self._interpreter}"

    def _key(self, archive: bytes) -> str:
        digest = hashlib.sha256(archive).hexdigest()
        return f"{_FORMAT} sha256:{digest} python:{self._interpreter}"

    def _remember(self, archive: bytes, outcome: _Outcome) -> None:
        if self._cache is not None:
            self._cache.write(_BUCKET, self._key(archive), msgspec.msgpack.encode(outcome))
