"""The team server from the composition root: ``advisor serve`` and ``advisor server token``.

Composition only: it resolves the store URL (``--knowledge``, else ``ADVISOR_KNOWLEDGE``,
else the user's SQLite file), builds the server's settings and runs it
(:mod:`advisor.server.runner`, which also hands the settings to its worker processes); it
reads the clock for the tokens it makes and revokes (:mod:`advisor.knowledge.tokens`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from advisor.api.knowledge import resolve_store_url
from advisor.errors import InputError
from advisor.knowledge.tokens import Scope
from advisor.server.settings import (
    DEFAULT_JOB_TIMEOUT,
    DEFAULT_JOBS,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_PORT,
    DEFAULT_RATE_LIMIT,
    ServerSettings,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

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
    #: the advice endpoints' indexes (``()``: pip's configuration of the server)
    index_urls: tuple[str, ...] = ()
    jobs: int = DEFAULT_JOBS
    job_timeout: float = DEFAULT_JOB_TIMEOUT
    #: what POST /v1/knowledge/sync loads (``()``: the curated knowledge shipped)
    knowledge_dirs: tuple[Path, ...] = ()
    #: the Dask scheduler ``POST /v1/sweeps`` dispatches to (``None``: no sweeps)
    dask_scheduler: str | None = None
    #: the URL sweep workers upload to (``None``: the URL the sweep was posted to)
    public_url: str | None = None


def server_settings(
    options: ServeOptions, environ: Mapping[str, str] | None = None
) -> ServerSettings:
    """The server's settings for ``options``. Raises :class:`InputError` for a value out
    of range."""
    from advisor.api.bundled import bundled_knowledge_dir
    from advisor.api.context import default_cache_dir

    environ = os.environ if environ is None else environ
    folders = options.knowledge_dirs or tuple(filter(None, [bundled_knowledge_dir()]))
    return ServerSettings(
        store_url=resolve_store_url(options.knowledge_url, environ),
        host=options.host,
        port=options.port,
        workers=options.workers,
        allow_anonymous_reads=options.allow_anonymous_reads,
        max_request_bytes=options.max_request_bytes,
        rate_limit=options.rate_limit,
        index_urls=options.index_urls,
        cache_dir=str(default_cache_dir(environ)),
        jobs=options.jobs,
        job_timeout=options.job_timeout,
        knowledge_dirs=tuple(str(f.resolve()) for f in folders),
        dask_scheduler=options.dask_scheduler,
        public_url=options.public_url,
    )


def serve(
    options: ServeOptions,
    *,
    on_listening: Callable[[str, ServerSettings], None] | None = None,
) -> None:
    """Run the server until it is stopped. ``on_listening(url, settings)`` is called once
    the address is bound. Raises :class:`InputError` (bad options or store URL),
    :class:`~advisor.knowledge.store.KnowledgeStoreError` (the store cannot be used) and
    :class:`~advisor.server.runner.ListenFailed`, all before serving."""
    from advisor.api.server_jobs import ServerJobs
    from advisor.server.runner import serve as run

    settings = server_settings(options)

    def listening(url: str) -> None:
        if on_listening is not None:
            on_listening(url, settings)

    jobs = ServerJobs(settings, environ=os.environ)
    run(settings, worker_factory=_WORKER_FACTORY, on_listening=listening, jobs=jobs, sweeps=jobs)


def worker_app() -> Any:
    """The ASGI app of one worker process (uvicorn calls this in each worker)."""
    from advisor.api.server_jobs import ServerJobs
    from advisor.server.app import create_app
    from advisor.server.runner import SETTINGS_ENV

    text = os.environ.get(SETTINGS_ENV)
    if not text:
        raise InputError(f"{SETTINGS_ENV} is not set (the workers of advisor serve read it)")
    settings = ServerSettings.from_json(text)
    jobs = ServerJobs(settings, environ=os.environ)
    return create_app(settings, jobs=jobs, sweeps=jobs)


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
