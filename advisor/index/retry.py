"""The retry policy of the index client: which failures are worth another attempt, how long
to wait between attempts, and the error raised when they run out. No httpx here.

Sits under :mod:`advisor.index.fetch` (the one network seam), which makes each attempt with
httpx and hands this module what it saw: a status with its headers
(:func:`status_failure`), the chain of exceptions behind a transport error
(:func:`os_reason`), or an attempt to repeat (:func:`retrying`). An attempt returns its
result, or ``(reason, retry-after seconds)`` to be retried; a :class:`Fatal` failure (a bad
TLS certificate, 401/403, an unsupported URL) is not retried. Every failure leaves as
:class:`~advisor.errors.IndexUnavailable` with a plain reason and the URL it was given
(already without credentials). Waits are announced to the
:class:`~advisor.events.ProgressEvents` first.
"""

from __future__ import annotations

import socket
import ssl
import time
from typing import TYPE_CHECKING, TypeVar

from advisor.errors import IndexUnavailable
from advisor.index.network import retry_after

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from advisor.events import ProgressEvents

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "Fatal",
    "exception_chain",
    "os_reason",
    "retrying",
    "status_failure",
]

BACKOFF_BASE = 0.25  # seconds before the first retry; doubles on each further attempt
BACKOFF_CAP = 8.0  # never wait longer than this between two attempts (also caps Retry-After)

_T = TypeVar("_T")


class Fatal(Exception):
    """A failure retrying cannot cure (bad TLS certificate, unsupported scheme…)."""


def retrying(
    url: str,
    attempt: Callable[[], _T | tuple[str, float]],
    *,
    retries: int,
    events: ProgressEvents,
) -> _T:
    """Call ``attempt`` until it returns a result rather than ``(reason, retry-after)``,
    with backoff (plus the server's Retry-After), at most ``retries + 1`` times; :class:`Fatal`
    stops at once. Each wait is announced to ``events`` first.

    Raises :class:`IndexUnavailable` for ``url`` with the last reason (and the number of
    attempts) once they run out, or with a :class:`Fatal` failure's reason.
    """
    attempts = max(0, retries) + 1
    reason, retry_after_ = "no attempt made", 0.0
    announced = False
    try:
        for number in range(attempts):
            if number:
                wait = min(BACKOFF_CAP, retry_after_)
                wait += min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (number - 1))
                events.retrying(
                    url, attempt=number + 1, attempts=attempts, delay=wait, reason=reason
                )
                announced = True
                time.sleep(wait)
            try:
                result = attempt()
            except Fatal as exc:
                raise IndexUnavailable(str(exc), url=url) from exc.__cause__
            if not isinstance(result, tuple):
                return result
            reason, retry_after_ = result
    finally:
        if announced:
            events.retry_finished(url)
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    raise IndexUnavailable(f"{reason}{tries}", url=url)


def status_failure(
    status: int, headers: Mapping[str, str], auth: tuple[str, str] | None
) -> tuple[str, float] | None:
    """``(reason, retry-after)`` for a status worth retrying (5xx, 429); raises :class:`Fatal`
    for 401/403 (saying whether credentials were sent); ``None`` otherwise."""
    if status in (401, 403):
        hint = "no credentials were sent" if auth is None else "the credentials were refused"
        raise Fatal(
            f"HTTP {status}: access denied ({hint}); give them in the index URL"
            " (https://user:password@host/...) or in .netrc"
        )
    if status == 429 or status >= 500:
        return f"HTTP {status}", retry_after(headers.get("retry-after"))
    return None


def exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions behind it (causes, else contexts), each once."""
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def os_reason(exc: BaseException) -> str | None:
    """The reason an operating-system failure behind ``exc`` gives (refused, host not found,
    reset), or ``None`` when there is none; raises :class:`Fatal` (from ``exc``) when a TLS
    certificate failed verification, which no retry cures."""
    chain = exception_chain(exc)
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            raise Fatal(
                f"TLS certificate verification failed ({item.verify_message});"
                " set cert to a CA bundle, or add the host to the trusted hosts"
            ) from exc
    for item in chain:
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, socket.gaierror):
            return "host not found"
        if isinstance(item, ConnectionResetError):
            return "connection reset"
    return None
