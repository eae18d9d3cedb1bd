"""Who is asking, and may they: tokens from the ``Authorization`` header, scopes, the limiter.

Sits between the routes and the token table (:mod:`advisor.knowledge.tokens`): every route
calls :func:`authorize` first, with the scope it needs, before reading its body. A token
comes as ``Authorization: Bearer SECRET`` or, for tools that only know credentials in a URL
(``https://token:SECRET@host/``, as uv and pip send them), as HTTP Basic whose password (or,
without one, whose user name) is the secret. The secret's sha256 is looked up in the store
on every request, so a token revoked on one replica is refused by all at once.

Reads without a token are served only when the server was started with anonymous reads on;
writes never are. A token that is presented but unknown or revoked is refused even where
anonymous reads are allowed (a client must learn that its token is wrong). Secrets are never
logged nor echoed: messages name tokens by their name only.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from advisor.knowledge.tokens import Scope, Token, secret_digest
from advisor.server.problems import ApiError
from advisor.server.state import server_state

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["Principal", "authorize", "presented_secret"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="advisor", Basic realm="advisor"'}
_MAX_SECRET = 512  # characters; ours are 47, anything much longer is not one of ours


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The caller of one request: a token, or nobody (an anonymous read)."""

    token: Token | None

    @property
    def name(self) -> str | None:
        return None if self.token is None else self.token.name


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers=_CHALLENGE)


def presented_secret(header: str | None) -> str | None:
    """The secret an ``Authorization`` header carries, ``None`` without the header.
    Raises :class:`ApiError` 401 for a scheme other than Bearer and Basic, or a malformed
    value."""
    if header is None or not header.strip():
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        secret = value
    elif scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthorized("malformed Basic credentials") from None
        user, _, password = decoded.partition(":")
        secret = password or user
    else:
        raise _unauthorized("unsupported authorization scheme (use Bearer or Basic)")
    if not secret or len(secret) > _MAX_SECRET:
        raise _unauthorized("malformed token")
    return secret


async def authorize(
    request: Request, needed: Scope, *, cookie_secret: str | None = None
) -> Principal:
    """The caller of ``request``, allowed to do what ``needed`` covers, and within its rate.
    ``cookie_secret``: a secret the dashboard's sign-in cookie carries, used when the
    request has no ``Authorization`` header (the header wins).

    Raises :class:`ApiError`: 401 without a usable token (unless ``needed`` is a read and
    anonymous reads are on), 403 for a token whose scope is too narrow, 429 past the rate
    limit (counted per token, or per client address when there is no valid token).
    """
    state = server_state(request)
    address = request.client.host if request.client else "unknown"
    try:
        secret = presented_secret(request.headers.get("authorization"))
    except ApiError:
        state.limiter.check(f"address:{address}")
        raise
    if secret is None and cookie_secret:
        if len(cookie_secret) > _MAX_SECRET:
            state.limiter.check(f"address:{address}")
            raise _unauthorized("malformed token")
        secret = cookie_secret
    if secret is None:
        state.limiter.check(f"address:{address}")
        if needed is Scope.READ and state.settings.allow_anonymous_reads:
            return Principal(token=None)
        what = "writes always need" if needed is not Scope.READ else "this server needs"
        raise _unauthorized(f"{what} a token (Authorization: Bearer …)")
    token = await run_in_threadpool(state.store.token_for_digest, secret_digest(secret))
    if token is None or not token.active:
        state.limiter.check(f"address:{address}")
        if token is None:
            raise _unauthorized("unknown token")
        raise _unauthorized(f"token {token.name!r} was revoked on {token.revoked}")
    state.limiter.check(f"token:{token.name}")
    if not token.scope.allows(needed):
        raise ApiError(
            403,
            "forbidden",
            f"token {token.name!r} has scope {token.scope.value}; this needs {needed.value}",
        )
    return Principal(token=token)
