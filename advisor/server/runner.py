"""Serving the app: uvicorn (the only module importing it), one process or N workers.

Sits under the composition root (``advisor.api.serving``, behind ``advisor serve``). Before
anything listens, the store is opened and migrated once, so a wrong URL or an unreachable
database is a plain error (exit 2 or 3), not N crashing workers. The socket is bound here too
(an address in use is a :class:`ListenFailed`), then handed to uvicorn: with one worker the
app is built in this process; with N, uvicorn's supervisor (given the socket's descriptor)
starts N fresh interpreters that each build their own app through ``worker_factory`` (an
import string, since a new interpreter cannot be handed an object; by default
:func:`worker_app`, which reads the settings this process leaves in its environment as
``ADVISOR_SERVE_SETTINGS``, inherited by the workers only: the store URL in it may hold a
password, and the environment of one's own processes is where such a secret already lives)
and share the one listening socket, so the kernel spreads connections over them. Every
process is stateless: all it knows is in the store.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any

from advisor.errors import AdvisorError, InputError
from advisor.knowledge.team_store import open_team_store
from advisor.server.app import create_app
from advisor.server.settings import ServerSettings

if TYPE_CHECKING:
    from collections.abc import Callable

    from advisor.server.calls import AdviceJobs
    from advisor.server.sweep_calls import SweepPlanner

__all__ = ["SETTINGS_ENV", "ListenFailed", "serve", "worker_app", "worker_settings"]

#: Where :func:`serve` leaves the settings for its worker processes.
SETTINGS_ENV = "ADVISOR_SERVE_SETTINGS"
_WORKER_FACTORY = "advisor.server.runner:worker_app"

_GRACEFUL_SECONDS = 10  # requests in flight may finish this long after a stop is asked


class ListenFailed(AdvisorError):
    """The server cannot listen on ``host``:``port`` (in use, not an address here, no
    permission)."""

    exit_code = 3

    def __init__(self, reason: str, *, host: str, port: int) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {reason}")
        self.host = host
        self.port = port
        self.reason = reason


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto given explicitly: asyncio sets TCP_NODELAY only on sockets that name it, and
    # without it a keep-alive client waits ~40 ms per response (Nagle meets delayed ACKs)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ListenFailed(exc.strerror or str(exc), host=host, port=port) from exc
    sock.set_inheritable(True)  # the workers serve it
    return sock


def serve(
    settings: ServerSettings,
    *,
    worker_factory: str = _WORKER_FACTORY,
    on_listening: Callable[[str], None] | None = None,
    jobs: AdviceJobs | None = None,
    sweeps: SweepPlanner | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM: requests in flight finish first).

    ``worker_factory`` is the ``module:function`` uvicorn imports in each worker process
    when ``settings.workers > 1`` (it must rebuild the app from the settings);
    ``on_listening`` is told the base URL once the socket is bound (port 0 picks a free
    one); ``jobs`` answer the advice endpoints of a one-process server (each worker's
    factory makes its own), and ``sweeps`` plans its sweeps. Raises
    :class:`~advisor.knowledge.store.KnowledgeStoreError` or
    :class:`~advisor.errors.InputError` when the store cannot be used and
    :class:`ListenFailed` when the address cannot be bound, both before serving.
    """
    import uvicorn

    one_process = settings.workers == 1
    if one_process:
        app = create_app(settings, jobs=jobs, sweeps=sweeps)
    else:
        os.environ[SETTINGS_ENV] = settings.to_json()  # for the workers (inherited)
        open_team_store(settings.store_url).close()  # migrate once, fail before forking
    try:
        sock = _listen(settings.host, settings.port)
    except ListenFailed:
        if one_process:
            app.state.advisor.store.close()
        raise
    port = int(sock.getsockname()[1])
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    if on_listening is not None:
        on_listening(f"http://{host}:{port}")
    options = {
        "host": settings.host,
        "port": port,
        "log_level": settings.log_level,
        "server_header": False,
        "timeout_graceful_shutdown": _GRACEFUL_SECONDS,
        "lifespan": "on",
    }
    with sock:
        if one_process:
            server = uvicorn.Server(uvicorn.Config(app, **options))  # type: ignore[arg-type]
            server.run(sockets=[sock])
        else:
            # uvicorn's supervisor serves the bound socket through its descriptor
            uvicorn.run(
                worker_factory,
                factory=True,
                workers=settings.workers,
                fd=sock.fileno(),
                **options,  # type: ignore[arg-type]
            )


def worker_settings() -> ServerSettings:
    """The settings :func:`serve` left in :data:`SETTINGS_ENV` for a worker process.
    Raises :class:`~advisor.errors.InputError` when they are not there."""
    text = os.environ.get(SETTINGS_ENV)
    if not text:
        raise InputError(f"{SETTINGS_ENV} is not set (the workers of advisor serve read it)")
    return ServerSettings.from_json(text)


def worker_app() -> Any:
    """The ASGI app of one worker process (uvicorn calls this in each worker), from
    :func:`worker_settings`."""
    return create_app(worker_settings())
