"""OSV-compatible advisories from the store: ``POST /v1/query``, ``POST /v1/querybatch``,
``GET /v1/vulns/{id}``, with OSV's request and response shapes.

Sits between HTTP and the store: any OSV client (uv's ``audit --service-url``, the
advisor's own ``knowledge import-osv --api``) pointed at this server reads the advisories
the team's store holds, its own included. Shapes and rules: :mod:`advisor.server.osv_format`.
All three are reads (scope ``read``, or anonymous when allowed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from advisor.knowledge.schema import Advisory
from advisor.knowledge.tokens import Scope
from advisor.server.auth import authorize
from advisor.server.limits import read_json
from advisor.server.osv_format import (
    MAX_BATCH,
    OsvBatch,
    OsvQuery,
    affecting,
    batch_entry,
    osv_record,
    resolve_query,
)
from advisor.server.problems import ApiError, json_response
from advisor.server.state import server_state

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.requests import Request
    from starlette.responses import Response

    from advisor.knowledge.store import KnowledgeStore

__all__ = ["ROUTES"]

_ADVISORY = ("advisory",)


def _advisories(store: KnowledgeStore, names: Sequence[str]) -> dict[str, list[Advisory]]:
    """The advisories naming each of ``names``: one indexed query."""
    if not names:
        return {}
    found = store.for_packages(names, kinds=_ADVISORY)
    return {
        name: [obs for obs in observations if isinstance(obs, Advisory)]
        for name, observations in found.items()
    }


async def query(request: Request) -> Response:
    state = server_state(request)
    await authorize(request, Scope.READ)
    body = await read_json(request, OsvQuery, limit=state.settings.max_request_bytes)
    wanted = resolve_query(body)
    names = [wanted.name] if wanted.name else []
    found = await run_in_threadpool(_advisories, state.store, names)
    vulns = [osv_record(a) for a in affecting(found.get(wanted.name or "", ()), wanted)]
    return json_response({"vulns": vulns} if vulns else {})


async def querybatch(request: Request) -> Response:
    state = server_state(request)
    await authorize(request, Scope.READ)
    batch = await read_json(request, OsvBatch, limit=state.settings.max_request_bytes)
    if len(batch.queries) > MAX_BATCH:
        raise ApiError(
            400,
            "invalid-request",
            f"{len(batch.queries)} queries: at most {MAX_BATCH} in one querybatch",
        )
    wanted = [resolve_query(q, where=f"queries[{i}]") for i, q in enumerate(batch.queries)]
    names = sorted({w.name for w in wanted if w.name})
    found = await run_in_threadpool(_advisories, state.store, names)
    results = []
    for one in wanted:
        vulns = [batch_entry(a) for a in affecting(found.get(one.name or "", ()), one)]
        results.append({"vulns": vulns} if vulns else {})
    return json_response({"results": results})


async def vuln(request: Request) -> Response:
    state = server_state(request)
    await authorize(request, Scope.READ)
    vuln_id = str(request.path_params["vuln_id"])
    found = await run_in_threadpool(state.store.get, f"advisory:{vuln_id}")
    if not isinstance(found, Advisory):
        raise ApiError(404, "not-found", f"no advisory {vuln_id!r}")
    return json_response(osv_record(found))


ROUTES = (
    Route("/v1/query", query, methods=["POST"]),
    Route("/v1/querybatch", querybatch, methods=["POST"]),
    Route("/v1/vulns/{vuln_id}", vuln, methods=["GET"]),
)
