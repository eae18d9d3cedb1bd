"""Every answer that is not a success: JSON ``{"code": …, "message": …}`` with an HTTP status.

Sits under the routes and the app: a route raises :class:`ApiError` (or lets a store error
rise), and the handlers registered by :func:`exception_handlers` turn it, Starlette's own
404/405, a store that cannot be reached, and any bug into the same JSON shape. ``code`` is a
stable word a client can act on; ``message`` is for people and never holds a credential,
a stored password or a traceback (those go to the server's log, credentials excepted).

Codes: ``malformed-json``, ``invalid-request``, ``unsupported-query`` (400),
``unauthorized`` (401), ``forbidden`` (403), ``not-found`` (404), ``method-not-allowed``
(405), ``request-too-large`` (413), ``rate-limited`` (429), ``internal`` (500),
``store-unavailable`` (503); the advice endpoints add ``invalid-input``, ``invalid-lock``
(400), ``no-viable-stack``, ``advice-failed`` (422), ``busy`` (429), ``index-unavailable``
(502), ``timeout`` and ``not-configured`` (503), with ``details`` (see
:mod:`advisor.server.jobs`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.responses import Response

from advisor.knowledge.store import KnowledgeStoreError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from starlette.requests import Request

__all__ = ["ApiError", "exception_handlers", "json_response"]

_log = logging.getLogger("advisor.server")

_HTTP_CODES = {
    400: "invalid-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "request-too-large",
    429: "rate-limited",
}
_RETRY_AFTER_STORE = "5"  # seconds: a restarting database is usually back by then


class ApiError(Exception):
    """A request the server refuses: HTTP ``status``, a stable ``code``, a message for
    people, extra response ``headers`` (``WWW-Authenticate``, ``Retry-After`` …) and
    ``details`` (JSON values) for the client to act on."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.details = dict(details or {})


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``data`` (builtins or msgspec values) as compact JSON."""
    return Response(
        content=msgspec.json.encode(data),
        status_code=status,
        media_type="application/json",
        headers=dict(headers or {}),
    )


def _error(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    details: Mapping[str, object] | None = None,
) -> Response:
    body: dict[str, object] = {"code": code, "message": message}
    if details:
        body["details"] = dict(details)
    return json_response(body, status=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error(exc.status, exc.code, exc.message, exc.headers, exc.details)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, wrong method), in our shape."""
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "invalid-request")
    return _error(exc.status_code, code, str(exc.detail), exc.headers)


async def _store_error(request: Request, exc: Exception) -> Response:
    """The store cannot be used now (a database restarting, a pool exhausted): 503, and the
    reason (host and port, never a password) in the log only."""
    _log.error("%s %s: %s", request.method, request.url.path, exc)
    return _error(
        503,
        "store-unavailable",
        "the knowledge store is unavailable; try again shortly",
        {"Retry-After": _RETRY_AFTER_STORE},
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Starlette logs nothing itself here and re-raises after answering, so uvicorn logs
    # the traceback; the client gets no detail of it
    return _error(500, "internal", "internal server error (a bug: the server's log has it)")


def exception_handlers() -> dict[Any, Any]:
    """The handlers for :class:`starlette.applications.Starlette`'s ``exception_handlers``."""
    return {
        ApiError: _api_error,
        HTTPException: _http_error,
        KnowledgeStoreError: _store_error,
        Exception: _internal_error,
    }
