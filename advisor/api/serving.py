"""``advisor serve`` and ``advisor server token``: this process's store, cache and curated
folder made into the server's settings (:mod:`advisor.server.settings`), the server run
(:mod:`advisor.server.runner`) with the advice jobs wired in, the tokens' clock.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from advisor.api.knowledge import resolve_store_url
from advisor.knowledge.tokens import Scope
from advisor.server.settings import ServeOptions, ServerSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from advisor.knowledge.team_store import TeamStore
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
    "worker_app",
]

SCOPES: tuple[str, ...] = tuple(s.value for s in Scope)
#: what uvicorn imports in each worker process: the app with the advice jobs wired in
_WORKER_FACTORY = "advisor.api.serving:worker_app"


def server_settings(
    options: ServeOptions, environ: Mapping[str, str] | None = None
) -> ServerSettings:
    """The settings of ``options`` in this process's environment."""
    from advisor.api.context import default_cache_dir
    from advisor.knowledge.bundled import bundled_knowledge_dir

    environ = os.environ if environ is None else environ
    return ServerSettings.from_options(
        options,
        store_url=resolve_store_url(options.knowledge_url, environ),
        cache_dir=str(default_cache_dir(environ)),
        curated=bundled_knowledge_dir(),
    )


def serve(
    options: ServeOptions,
    *,
    on_listening: Callable[[str, ServerSettings], None] | None = None,
) -> None:
    """Run the server until it is stopped; ``on_listening(url, settings)`` once it listens.
    Raises before serving (:func:`advisor.server.runner.serve`)."""
    from advisor.api.server_jobs import ServerJobs
    from advisor.server.runner import serve as run

    settings = server_settings(options)
    told = None if on_listening is None else lambda url: on_listening(url, settings)
    jobs = ServerJobs(settings, environ=os.environ)
    run(settings, worker_factory=_WORKER_FACTORY, on_listening=told, jobs=jobs, sweeps=jobs)


def worker_app() -> Any:
    """The ASGI app of one worker process (uvicorn calls this in each worker)."""
    from advisor.api.server_jobs import ServerJobs
    from advisor.server.app import create_app
    from advisor.server.runner import worker_settings

    jobs = ServerJobs(settings := worker_settings(), environ=os.environ)
    return create_app(settings, jobs=jobs, sweeps=jobs)


def _tokens(store_url: str | None) -> TeamStore:
    """The token table of the store at ``store_url`` (``None``: the default store)."""
    from advisor.knowledge.team_store import open_team_store

    return open_team_store(resolve_store_url(store_url))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def create_token(name: str, scope: str, *, store_url: str | None = None) -> IssuedToken:
    """A new token (:func:`~advisor.knowledge.tokens.issue_token`: its secret is in the
    result and nowhere else)."""
    from advisor.knowledge.tokens import issue_token, parse_scope

    wanted = parse_scope(scope)
    with _tokens(store_url) as store:
        return issue_token(store, name, wanted, created=_now())


def list_tokens(*, store_url: str | None = None) -> tuple[Token, ...]:
    """Every token (without secrets), revoked ones included, by name."""
    with _tokens(store_url) as store:
        return store.list_tokens()


def revoke_token(name: str, *, store_url: str | None = None) -> Token:
    """Revoke ``name`` now (:func:`~advisor.knowledge.tokens.revoke_token`)."""
    from advisor.knowledge.tokens import revoke_token as revoke

    with _tokens(store_url) as store:
        return revoke(store, name, when=_now())
