"""What one client may send: request bodies up to a size, requests up to a rate.

Sits under the routes: :func:`read_json` reads a body (refusing it with 413 from its
``Content-Length``, or as soon as a streamed body passes the limit, before anything is
decoded or stored) and decodes it (400 for JSON that does not parse or has the wrong shape);
:class:`RateLimiter` is a token bucket per client key, consulted once per request after
authentication. Neither keeps state outside the process: the limits hold per worker.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypeVar

import msgspec

from advisor.server.problems import ApiError

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

__all__ = ["RateLimiter", "read_body", "read_json"]

_T = TypeVar("_T")
_MAX_BUCKETS = 10_000  # idle buckets are dropped past this many (memory stays bounded)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "request-too-large", f"the request body is larger than {limit} bytes")


async def read_body(request: Request, *, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes; raises :class:`ApiError` 413 otherwise
    (without reading further than the limit)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "invalid-request", "Content-Length is not a number")
        if int(declared) > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, shape: type[_T], *, limit: int) -> _T:
    """The body decoded as ``shape`` (a msgspec type). Raises :class:`ApiError`: 413 when
    too large, 400 ``malformed-json`` when it is not JSON, 400 ``invalid-request`` (with the
    path of the bad field) when it has the wrong shape."""
    body = await read_body(request, limit=limit)
    if not body.strip():
        raise ApiError(400, "malformed-json", "the request has no JSON body")
    try:
        return msgspec.json.decode(body, type=shape)
    except msgspec.ValidationError as exc:
        raise ApiError(400, "invalid-request", f"invalid request: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise ApiError(400, "malformed-json", f"the body is not JSON: {exc}") from exc


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, in bursts of up to that
    many; ``per_minute=0`` lets everything through. ``clock`` gives seconds (monotonic).

    Called from the event loop only (one thread), so it needs no lock.
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float]) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, when)

    def check(self, key: str) -> None:
        """Take one request from ``key``'s bucket; raises :class:`ApiError` 429 (with
        ``Retry-After``) when it is empty."""
        if self._capacity <= 0:
            return
        now = self._clock()
        tokens, when = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - when) * self._rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            wait = math.ceil((1.0 - tokens) / self._rate)
            raise ApiError(
                429,
                "rate-limited",
                f"too many requests; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        if len(self._buckets) >= _MAX_BUCKETS and key not in self._buckets:
            self._prune(now)
        self._buckets[key] = (tokens - 1.0, now)

    def _prune(self, now: float) -> None:
        """Drop the buckets that have filled up again (their clients are idle)."""
        full = [
            key
            for key, (tokens, when) in self._buckets.items()
            if tokens + (now - when) * self._rate >= self._capacity
        ]
        for key in full:
            del self._buckets[key]
