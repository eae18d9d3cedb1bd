"""Sweeps over HTTP: ``POST /v1/sweeps`` sends a sweep's jobs to Dask, ``GET /v1/sweeps/{id}``
tells how they stand.

Sits between HTTP, the planner the composition root passed in
(:class:`~advisor.server.sweep_calls.SweepPlanner`) and the Dask seam
(:mod:`advisor.server.dispatch`, imported only when a scheduler is configured). A sweep needs
scope ``write``: its workers upload measurements, under the requester's own token, so their
observations are stamped ``upload:<token name>`` like any upload. The route plans the jobs
(the versions the server's indexes offer; a bad requirement is 400 ``invalid-input``, an
index that cannot be read 502), submits one task per job and answers 202 with the sweep's
id and where to poll. Reading a sweep needs scope ``read``. A server without a scheduler
(or without a planner) answers 503 ``not-configured``; a scheduler that cannot be reached,
503 ``scheduler-unavailable`` naming its address. The token's secret goes to the workers
with the task and nowhere else (not in the answer, a task key or a log line).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from advisor.errors import AdvisorError
from advisor.knowledge.tokens import Scope
from advisor.server.auth import authorize, presented_secret
from advisor.server.jobs import problem_for
from advisor.server.limits import read_json
from advisor.server.problems import ApiError, json_response
from advisor.server.state import server_state
from advisor.server.sweep_calls import SweepCall

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request
    from starlette.responses import Response

    from advisor.server.dispatch import SweepDispatcher
    from advisor.server.state import ServerState
    from advisor.server.sweep_calls import PlannedJob, SweepPlanner

__all__ = ["JOB_TIMEOUT_FACTOR", "ROUTES"]

_T = TypeVar("_T")
#: a job's run-job may take this many times the per-process timeout (a lock, an install,
#: the probes: each process is bounded, the whole needs a bound too)
JOB_TIMEOUT_FACTOR = 4


def _configured(state: ServerState) -> tuple[SweepPlanner, SweepDispatcher]:
    if state.dispatcher is None:
        raise ApiError(
            503,
            "not-configured",
            "no Dask scheduler configured (start the server with --dask-scheduler tcp://HOST:8786)",
        )
    if state.sweeps is None:
        raise ApiError(503, "not-configured", "this server plans no sweeps")
    return state.sweeps, state.dispatcher


async def _on_scheduler(work: Callable[[], _T]) -> _T:
    """``work`` (a blocking call to the scheduler) in a pool thread; an unreachable
    scheduler becomes 503 naming its address."""
    from advisor.server.dispatch import DaskUnavailable

    try:
        return await run_in_threadpool(work)
    except DaskUnavailable as exc:
        raise ApiError(
            503, "scheduler-unavailable", str(exc), headers={"Retry-After": "30"}
        ) from exc


async def _plan(
    state: ServerState, planner: SweepPlanner, call: SweepCall
) -> tuple[PlannedJob, ...]:
    def run() -> tuple[PlannedJob, ...]:
        try:
            return planner.plan_sweep(call, today=state.today())
        except AdvisorError as exc:
            raise problem_for(exc) from exc

    if state.slots is not None:  # the advice jobs' bound holds for plans as well
        return await state.slots.run(run)
    return await run_in_threadpool(run)


async def submit(request: Request) -> Response:
    state = server_state(request)
    principal = await authorize(request, Scope.WRITE)
    assert principal.token is not None  # writes are never anonymous
    planner, dispatcher = _configured(state)
    call = await read_json(request, SweepCall, limit=state.settings.max_request_bytes)
    secret = presented_secret(request.headers.get("authorization"))
    if secret is None:  # authorize found a token, so the header carries it
        raise ApiError(401, "unauthorized", "a sweep needs a token (Authorization: Bearer …)")
    jobs = await _plan(state, planner, call)
    from advisor.server.dispatch import UploadTarget

    server = state.settings.public_url or str(request.base_url)
    upload = UploadTarget(server=server.rstrip("/"), secret=secret)
    created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    sweep_id = await _on_scheduler(
        partial(
            dispatcher.submit,
            jobs,
            upload=upload,
            owner=principal.token.name,
            created=created,
            job_timeout=call.timeout * JOB_TIMEOUT_FACTOR,
        )
    )
    answer: dict[str, Any] = {
        "id": sweep_id,
        "url": f"/v1/sweeps/{sweep_id}",
        "owner": principal.token.name,
        "jobs": [{"requirement": j.requirement, "state": "pending"} for j in jobs],
    }
    return json_response(answer, status=202)


async def show(request: Request) -> Response:
    state = server_state(request)
    await authorize(request, Scope.READ)
    _, dispatcher = _configured(state)
    from advisor.server.dispatch import is_sweep_id

    sweep_id = str(request.path_params["sweep_id"])
    if not is_sweep_id(sweep_id):
        raise ApiError(404, "not-found", "no such sweep")
    found = await _on_scheduler(partial(dispatcher.status, sweep_id))
    if found is None:
        raise ApiError(404, "not-found", f"no sweep {sweep_id} on the scheduler")
    return json_response(found.to_dict())


ROUTES = (
    Route("/v1/sweeps", submit, methods=["POST"]),
    Route("/v1/sweeps/{sweep_id}", show, methods=["GET"]),
)
