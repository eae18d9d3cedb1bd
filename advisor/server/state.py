"""What every request of one server process shares: its settings, its store, its limiter.

Sits under the routes and above nothing but the settings: the app (:mod:`.app`) makes one
:class:`ServerState` and hangs it on the Starlette application; a route reaches it with
:func:`server_state`. Nothing here is per user or per session: a process keeps no state a
load balancer would have to route back to it (the rate limiter's counts excepted, which
are meant to be per process).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

    from advisor.knowledge.team_store import TeamStore
    from advisor.server.calls import AdviceJobs
    from advisor.server.dispatch import SweepDispatcher
    from advisor.server.jobs import JobSlots
    from advisor.server.limits import RateLimiter
    from advisor.server.settings import ServerSettings
    from advisor.server.sweep_calls import SweepPlanner

__all__ = ["ServerState", "server_state"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerState:
    """``today`` gives the day (ISO 8601) an upload without a date is dated; ``jobs`` do the
    advice endpoints' work in ``slots`` (both ``None``: a server without them); ``sweeps``
    plans the sweeps ``dispatcher`` sends to Dask (``None``: no scheduler configured)."""

    settings: ServerSettings
    store: TeamStore
    limiter: RateLimiter
    today: Callable[[], str]
    jobs: AdviceJobs | None = None
    slots: JobSlots | None = None
    sweeps: SweepPlanner | None = None
    dispatcher: SweepDispatcher | None = None


def server_state(request: Request) -> ServerState:
    """The state of the application that received ``request``."""
    state: ServerState = request.app.state.advisor
    return state
