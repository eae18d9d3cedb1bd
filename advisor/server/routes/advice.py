"""Advice over HTTP: ``POST /v1/lock``, ``POST /v1/advise``, ``POST /v1/check`` and
``POST /v1/explain``, and the admin's ``POST /v1/knowledge/sync``.

Sits between HTTP and the jobs the composition root passed in (:class:`~advisor.server.calls.
AdviceJobs`). Each route needs scope ``read``, decodes its call, checks the client's files
(:mod:`advisor.server.workspace`), writes them into a fresh temporary folder and runs the
job there through the server's :class:`~advisor.server.jobs.JobSlots`; the folder is removed
afterwards. The answer is the job's JSON (for lock and advise: the lock's text and, for
advise, the reports ``--report json`` prints); a job's error is a JSON problem
(:func:`~advisor.server.jobs.problem_for`). A server started without jobs answers 503
``not-configured``. The jobs that read knowledge get the server's own store (never
opening one per request). The sync (scope ``admin``, no body) loads the server's curated
knowledge folders into that store through the same slots.
"""

from __future__ import annotations

import tempfile
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.routing import Route

from advisor.errors import AdvisorError, InvalidOption
from advisor.knowledge.sync import sync_folders
from advisor.knowledge.tokens import Scope
from advisor.server.answers import sync_answer
from advisor.server.auth import authorize
from advisor.server.calls import CheckCall, ExplainCall, LockCall
from advisor.server.jobs import problem_for
from advisor.server.limits import read_json
from advisor.server.problems import ApiError, json_response
from advisor.server.state import server_state
from advisor.server.workspace import check_path, vet_files, write_files

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from starlette.requests import Request
    from starlette.responses import Response

    from advisor.server.state import ServerState

__all__ = ["ROUTES"]


def _in_folder(
    files: Mapping[str, str], job: Callable[[Path], dict[str, Any]]
) -> Callable[[], dict[str, Any]]:
    """``job`` over a fresh folder holding ``files``, run in a pool thread; its
    :class:`AdvisorError` becomes the problem the client gets."""

    def run() -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="advisor-job-") as tmp:
            folder = Path(tmp)
            write_files(files, folder)
            try:
                return job(folder)
            except AdvisorError as exc:
                raise problem_for(exc) from exc

    return run


def _ready(request: Request) -> ServerState:
    state = server_state(request)
    if state.jobs is None or state.slots is None:
        raise ApiError(503, "not-configured", "this server answers no advice requests")
    return state


async def _lock_or_advise(request: Request, *, advise: bool) -> Response:
    state = _ready(request)
    await authorize(request, Scope.READ)
    try:
        call = await read_json(request, LockCall, limit=state.settings.max_request_bytes)
    except InvalidOption as exc:  # the search's bounds: AdviseOptions' rule, as offline
        where = f"`$.search.{exc.option}`"
        raise ApiError(400, "invalid-request", f"invalid request: {exc} - at {where}") from exc
    vet_files(
        call.files,
        named=(*call.inputs, *call.constraints, *call.overrides),
        unread=(call.output,),
    )
    if not call.inputs:
        raise ApiError(400, "invalid-request", "name at least one input")
    jobs, slots = state.jobs, state.slots
    assert jobs is not None and slots is not None
    deadline = time.monotonic() + slots.timeout
    # a lock under another recommendation type than latest scores with the store too
    work = partial(jobs.advise if advise else jobs.lock, call, deadline=deadline,
                   store=state.store)  # fmt: skip
    answer = await slots.run(_in_folder(call.files, lambda folder: work(folder=folder)))
    return json_response(answer)


async def lock(request: Request) -> Response:
    return await _lock_or_advise(request, advise=False)


async def advise(request: Request) -> Response:
    return await _lock_or_advise(request, advise=True)


async def check(request: Request) -> Response:
    state = _ready(request)
    await authorize(request, Scope.READ)
    call = await read_json(request, CheckCall, limit=state.settings.max_request_bytes)
    vet_files(call.files, named=call.inputs, unread=None)
    for path in call.paths:  # a folder may be named: it is not among the files
        check_path(path)
    jobs, slots = state.jobs, state.slots
    assert jobs is not None and slots is not None
    deadline = time.monotonic() + slots.timeout
    work = partial(jobs.check, call, deadline=deadline, store=state.store)
    answer = await slots.run(_in_folder(call.files, lambda folder: work(folder=folder)))
    return json_response(answer)


async def explain(request: Request) -> Response:
    state = _ready(request)
    await authorize(request, Scope.READ)
    call = await read_json(request, ExplainCall, limit=state.settings.max_request_bytes)
    # the lock's own index and file URLs are never fetched (the job resolves from the
    # server's index), so only its path is checked, not its content
    vet_files(call.files, named=(call.lock,), unread=(call.lock,))
    if not call.name.strip():
        raise ApiError(400, "invalid-request", "name the package to explain")
    jobs, slots = state.jobs, state.slots
    assert jobs is not None and slots is not None
    deadline = time.monotonic() + slots.timeout
    work = partial(jobs.explain, call, deadline=deadline, store=state.store)
    answer = await slots.run(_in_folder(call.files, lambda folder: work(folder=folder)))
    return json_response(answer)


async def sync(request: Request) -> Response:
    state = _ready(request)
    await authorize(request, Scope.ADMIN)
    assert state.slots is not None
    settings = state.settings

    def run() -> dict[str, Any]:
        folders = [(Path(f), "knowledge") for f in settings.knowledge_dirs]
        try:
            return sync_answer(sync_folders(state.store, folders, today=state.today()))
        except AdvisorError as exc:
            raise problem_for(exc) from exc

    return json_response(await state.slots.run(run))


ROUTES = (
    Route("/v1/lock", lock, methods=["POST"]),
    Route("/v1/advise", advise, methods=["POST"]),
    Route("/v1/check", check, methods=["POST"]),
    Route("/v1/explain", explain, methods=["POST"]),
    Route("/v1/knowledge/sync", sync, methods=["POST"]),
)
