"""Advice jobs on the server: a bounded pool of threads, a time limit, errors as problems.

Sits under the advice routes: :class:`JobSlots` runs a job (a lock, an advice search, a
check: seconds of work) in one of ``jobs`` threads of its own, so the event loop and the
store's reads stay free. Past ``jobs`` running and ``queue`` waiting a request is refused
at once (429 ``busy``); a job not done within ``timeout`` seconds is answered 503
``timeout`` (its thread finishes in the background and only then frees its slot, so an
overloaded server refuses rather than piles up work). :func:`problem_for` turns a job's
:class:`~advisor.errors.AdvisorError` into the JSON problem a client re-raises: a conflict
is 422 ``no-viable-stack`` with the plain-words causes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import TYPE_CHECKING, Any, TypeVar

from advisor.errors import (
    AdvisorError,
    IndexUnavailable,
    InputError,
    LockfileError,
    MetadataUnavailable,
    NoViableStack,
)
from advisor.server.problems import ApiError
from advisor.urls import redact_text

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["JobSlots", "problem_for"]

_T = TypeVar("_T")
_log = logging.getLogger("advisor.server")


class JobSlots:
    """At most ``jobs`` jobs at once, ``queue`` more waiting, each answered within
    ``timeout`` seconds. Used from the event loop only (its counts need no lock)."""

    def __init__(self, *, jobs: int, queue: int, timeout: float) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=jobs, thread_name_prefix="advice-job"
        )
        self._limit = jobs + queue
        self._taken = 0
        self.timeout = timeout

    async def run(self, job: Callable[[], _T]) -> _T:
        """``job()`` in a pool thread. Raises :class:`ApiError` 429 when every slot and
        place in the queue is taken, 503 past the time limit, else what the job raises."""
        if self._taken >= self._limit:
            raise ApiError(
                429,
                "busy",
                "the server is running as many advice jobs as it takes; try again shortly",
                headers={"Retry-After": "5"},
            )
        self._taken += 1
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, job)
        future.add_done_callback(self._free)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except TimeoutError:
            future.add_done_callback(_drop_result)
            raise ApiError(
                503,
                "timeout",
                f"the job took longer than the server's limit ({self.timeout:g} s)",
                headers={"Retry-After": "30"},
            ) from None

    def _free(self, _: object) -> None:
        self._taken -= 1

    def close(self) -> None:
        """Stop taking jobs; those running finish."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _drop_result(future: asyncio.Future[Any]) -> None:
    # a job answered with 503 still ends: read its outcome so asyncio does not log it
    if not future.cancelled() and future.exception() is not None:
        _log.info("a timed-out advice job ended with: %s", redact_text(str(future.exception())))


def problem_for(exc: AdvisorError) -> ApiError:
    """The problem a client receives for a job's error; ``details`` carry what the client
    needs to raise the same error (the causes of a conflict, the exit code)."""
    details: dict[str, object] = {"exit-code": exc.exit_code}
    message = redact_text(str(exc))
    if isinstance(exc, NoViableStack):
        details.update(
            summary=redact_text(exc.summary), causes=[redact_text(c) for c in exc.causes]
        )
        return ApiError(422, "no-viable-stack", message, details=details)
    if isinstance(exc, InputError):
        return ApiError(400, "invalid-input", message, details=details)
    if isinstance(exc, LockfileError):
        return ApiError(400, "invalid-lock", message, details=details)
    if isinstance(exc, IndexUnavailable | MetadataUnavailable):
        return ApiError(502, "index-unavailable", message, details=details)
    return ApiError(422, "advice-failed", message, details=details)
