"""The ASGI application: the routes of every area over one store, errors as JSON.

Sits at the top of the server package, under the runner (:mod:`.runner`, which serves it with
uvicorn) and the composition root. :func:`create_app` opens the store (migrating it, and
raising before anything listens when it cannot be used), builds the shared
:class:`~.state.ServerState` and returns a Starlette app that owns the store: it is closed
when the app shuts down. ``GET /v1/health`` (no token, no rate limit) answers 200 when the
store answers, 503 otherwise: what a load balancer probes.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from advisor import __version__
from advisor.errors import InputError
from advisor.knowledge.team_store import open_team_store
from advisor.server.dashboard import views as dashboard
from advisor.server.jobs import JobSlots
from advisor.server.limits import RateLimiter
from advisor.server.problems import exception_handlers, json_response
from advisor.server.routes import advice, knowledge, osv
from advisor.server.routes import sweeps as sweep_routes
from advisor.server.state import ServerState, server_state

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from starlette.requests import Request
    from starlette.responses import Response

    from advisor.knowledge.team_store import TeamStore
    from advisor.server.calls import AdviceJobs
    from advisor.server.dispatch import SweepDispatcher
    from advisor.server.settings import ServerSettings
    from advisor.server.sweep_calls import SweepPlanner

__all__ = ["create_app"]

_HEALTH_KEY = "server-health"  # a meta key read (never written) by the health probe


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


async def health(request: Request) -> Response:
    state = server_state(request)
    await run_in_threadpool(state.store.get_meta, _HEALTH_KEY)
    return json_response({"status": "ok", "version": __version__})


def _dispatcher(address: str | None, *, lifetime: float) -> SweepDispatcher | None:
    """The dispatcher of a configured scheduler (its sweeps kept ``lifetime`` seconds after
    their last news); Dask is imported only then (it is an optional extra), and its absence
    is said before the server listens."""
    if address is None:
        return None
    try:
        from advisor.server.dispatch import SweepDispatcher
    except ImportError as exc:
        raise InputError(
            f"--dask-scheduler {address}: Dask is not installed here"
            " (pip install 'stack-advisor[dask]')"
        ) from exc
    return SweepDispatcher(address, lifetime=lifetime)


def create_app(
    settings: ServerSettings,
    *,
    store: TeamStore | None = None,
    clock: Callable[[], float] = time.monotonic,
    today: Callable[[], str] = _today,
    jobs: AdviceJobs | None = None,
    sweeps: SweepPlanner | None = None,
) -> Starlette:
    """The server's application over ``store`` (by default the store ``settings`` names,
    with a pool of ``settings.pool_size`` connections for PostgreSQL). The app owns the
    store and closes it at shutdown. ``clock`` (seconds, monotonic) drives the rate limiter;
    ``today`` dates uploads that carry no date. ``jobs`` answer the advice endpoints
    (given by the composition root; ``None``: they answer 503). ``sweeps`` plans the
    sweeps of ``POST /v1/sweeps``, sent to the Dask scheduler of
    ``settings.dask_scheduler`` (either ``None``: sweeps answer 503).

    Raises :class:`~advisor.knowledge.store.KnowledgeStoreError` when the store cannot be
    opened or migrated, :class:`~advisor.errors.InputError` for a malformed store URL or a
    scheduler without the ``dask`` extra installed.
    """
    dispatcher = _dispatcher(settings.dask_scheduler, lifetime=settings.sweep_lifetime)
    if store is None:
        store = open_team_store(settings.store_url, pool_size=settings.pool_size)
    state = ServerState(
        settings=settings,
        store=store,
        limiter=RateLimiter(settings.rate_limit, clock=clock),
        today=today,
        jobs=jobs,
        slots=None
        if jobs is None
        else JobSlots(jobs=settings.jobs, queue=settings.job_queue, timeout=settings.job_timeout),
        sweeps=sweeps,
        dispatcher=dispatcher,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if state.slots is not None:
                state.slots.close()
            if dispatcher is not None:
                dispatcher.close()
            store.close()

    app = Starlette(
        routes=[
            Route("/v1/health", health, methods=["GET"]),
            *osv.ROUTES,
            *knowledge.ROUTES,
            *dashboard.ROUTES,
            *advice.ROUTES,
            *sweep_routes.ROUTES,
        ],
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
    app.state.advisor = state
    return app
