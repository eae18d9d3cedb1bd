"""The team server from the composition root: ``advisor serve`` and ``advisor server token``.

Composition only: it resolves the store URL (``--knowledge``, else ``ADVISOR_KNOWLEDGE``,
else the user's SQLite file), builds the server's settings and runs it
(:mod:`advisor.server.runner`, which also hands the settings to its worker processes); it
reads the clock for the tokens it makes and revokes (:mod:`advisor.knowledge.tokens`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from advisor.api.knowledge import resolve_store_url
from advisor.knowledge.tokens import Scope
from advisor.server.settings import (
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_PORT,
    DEFAULT_RATE_LIMIT,
    ServerSettings,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from advisor.knowledge.tokens import IssuedToken, Token

__all__ = [
    "SCOPES",
    "ServeOptions",
    "ServerSettings",
    "create_token",
    "list_tokens",
    "revoke_token",
    "serve",
    "server_settings",
]

SCOPES: tuple[str, ...] = tuple(s.value for s in Scope)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeOptions:
    """``advisor serve``'s options; ``knowledge_url`` ``None``: the default store."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    knowledge_url: str | None = None
    workers: int = 1
    allow_anonymous_reads: bool = False
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    rate_limit: int = DEFAULT_RATE_LIMIT


def server_settings(
    options: ServeOptions, environ: Mapping[str, str] | None = None
) -> ServerSettings:
    """The server's settings for ``options``. Raises :class:`~advisor.errors.InputError`
    for a value out of range."""
    return ServerSettings(
        store_url=resolve_store_url(options.knowledge_url, environ),
        host=options.host,
        port=options.port,
        workers=options.workers,
        allow_anonymous_reads=options.allow_anonymous_reads,
        max_request_bytes=options.max_request_bytes,
        rate_limit=options.rate_limit,
    )


def serve(
    options: ServeOptions,
    *,
    on_listening: Callable[[str, ServerSettings], None] | None = None,
) -> None:
    """Run the server until it is stopped. ``on_listening(url, settings)`` is called once
    the address is bound. Raises :class:`~advisor.errors.InputError` (bad options or store
    URL), :class:`~advisor.knowledge.store.KnowledgeStoreError` (the store cannot be used)
    and :class:`~advisor.server.runner.ListenFailed`, all before serving."""
    from advisor.server.runner import serve as run

    settings = server_settings(options)

    def listening(url: str) -> None:
        if on_listening is not None:
            on_listening(url, settings)

    run(settings, on_listening=listening)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def create_token(name: str, scope: str, *, store_url: str | None = None) -> IssuedToken:
    """A new token for the server of the store at ``store_url``: its secret is in the
    result and nowhere else (the store keeps its sha256). Raises
    :class:`~advisor.errors.InputError` for a bad name or scope,
    :class:`~advisor.knowledge.tokens.TokenNameTaken` for a used name."""
    from advisor.knowledge.tokens import issue_token, open_team_store, parse_scope

    wanted = parse_scope(scope)
    with open_team_store(resolve_store_url(store_url)) as store:
        return issue_token(store, name, wanted, created=_now())


def list_tokens(*, store_url: str | None = None) -> tuple[Token, ...]:
    """Every token (without secrets), revoked ones included, by name."""
    from advisor.knowledge.tokens import open_team_store

    with open_team_store(resolve_store_url(store_url)) as store:
        return store.list_tokens()


def revoke_token(name: str, *, store_url: str | None = None) -> Token:
    """Revoke ``name`` now (every server on the store refuses it from its next request).
    Raises :class:`~advisor.knowledge.tokens.UnknownToken`."""
    from advisor.knowledge.tokens import open_team_store
    from advisor.knowledge.tokens import revoke_token as revoke

    with open_team_store(resolve_store_url(store_url)) as store:
        return revoke(store, name, when=_now())
