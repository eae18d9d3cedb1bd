"""Knowledge over HTTP: ``GET /v1/packages/{name}``, ``GET /v1/stats`` and the one write,
``POST /v1/observations``.

Sits between HTTP and the store. The reads answer what ``advisor knowledge show --json`` and
``knowledge stats --json`` print (the store's URL left out: a client has no business with
it). An upload is ``{"observations": [...]}``, each in the store's JSON form (the
``type``-tagged values ``advisor observe export`` writes); its provenance source is always
``upload:<token name>`` whatever the body says (the body's date, tool and recorder are
kept; a missing date is today's). Measurements (``build``, ``performance``, ``release``) need
scope ``write``; what changes everyone's advice (``advisory``, ``prescription``,
``image``) needs ``admin``. An upload is checked whole before anything is written, then
stored in one transaction: a refused upload stores nothing.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import msgspec
from packaging.utils import InvalidName, canonicalize_name
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from advisor.knowledge.package_facts import package_knowledge
from advisor.knowledge.schema import Observation
from advisor.knowledge.store_rows import kind_of
from advisor.knowledge.tokens import Scope
from advisor.server.auth import authorize
from advisor.server.limits import read_json
from advisor.server.problems import ApiError, json_response
from advisor.server.state import server_state

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["ADMIN_KINDS", "ROUTES", "UPLOAD_SOURCE_PREFIX"]

#: kinds whose upload needs an admin token: they change the advice of everyone
ADMIN_KINDS = frozenset({"advisory", "prescription", "image"})
UPLOAD_SOURCE_PREFIX = "upload:"
_MAX_PROBLEMS = 20  # shown in one refusal
_MAX_VERSION = 200  # characters of a ?version= value


class _Upload(msgspec.Struct, frozen=True):
    observations: list[dict[str, Any]]


async def package(request: Request) -> Response:
    state = server_state(request)
    await authorize(request, Scope.READ)
    raw = str(request.path_params["name"])
    try:
        name = canonicalize_name(raw, validate=True)
    except InvalidName:
        raise ApiError(400, "invalid-request", f"{raw!r} is not a valid package name") from None
    version = request.query_params.get("version") or None
    if version is not None and len(version) > _MAX_VERSION:
        raise ApiError(400, "invalid-request", "the version is too long")
    # ?source= (a pattern such as image-build:*) and ?recorder=, as knowledge show takes them
    source = request.query_params.get("source") or None
    recorder = request.query_params.get("recorder")
    if any(v is not None and len(v) > _MAX_VERSION for v in (source, recorder)):
        raise ApiError(400, "invalid-request", "the source or recorder is too long")
    known = await run_in_threadpool(
        partial(package_knowledge, source=source, recorder=recorder), state.store, name, version
    )
    return json_response(known.to_dict())


async def stats(request: Request) -> Response:
    state = server_state(request)
    await authorize(request, Scope.READ)
    found = await run_in_threadpool(state.store.stats)
    return json_response(
        {
            "schema-version": found.schema_version,
            "total": found.total,
            "kinds": {k.kind: {"count": k.count, "newest": k.newest} for k in found.kinds},
            "sources": {s.source: s.count for s in found.sources},
        }
    )


def _stamped(items: list[dict[str, Any]], *, source: str, today: str) -> list[Observation]:
    """The uploaded values with ``source`` as their provenance source (the body's date, tool
    and recorder kept: the recorder is the machine that measured, which a sweep's or a CI
    run's upload must not lose). Raises :class:`ApiError` 400 naming the first bad field."""
    for item in items:
        claimed = item.get("provenance")
        claimed = claimed if isinstance(claimed, dict) else {}
        provenance: dict[str, Any] = {"source": source, "date": claimed.get("date") or today}
        for kept in ("tool", "recorder"):
            if claimed.get(kept):
                provenance[kept] = claimed[kept]
        item["provenance"] = provenance
    try:
        return msgspec.convert(items, list[Observation])
    except msgspec.ValidationError as exc:
        where = str(exc).replace("`$[", "`$.observations[")
        raise ApiError(400, "invalid-request", f"invalid observation: {where}") from exc


def _semantic_problems(observations: list[Observation]) -> list[str]:
    from advisor.knowledge.validate import check_observation

    return [
        f"observations[{i}].{field}: {message}"
        for i, obs in enumerate(observations)
        for field, message in check_observation(obs)
    ]


async def upload(request: Request) -> Response:
    state = server_state(request)
    principal = await authorize(request, Scope.WRITE)
    assert principal.token is not None  # writes are never anonymous
    body = await read_json(request, _Upload, limit=state.settings.max_request_bytes)
    source = UPLOAD_SOURCE_PREFIX + principal.token.name
    observations = _stamped(body.observations, source=source, today=state.today())
    admin = sorted({kind_of(o) for o in observations} & ADMIN_KINDS)
    if admin and not principal.token.scope.allows(Scope.ADMIN):
        raise ApiError(
            403,
            "forbidden",
            f"uploading {', '.join(admin)} needs an admin token; token"
            f" {principal.token.name!r} has scope {principal.token.scope.value}",
        )
    problems = await run_in_threadpool(_semantic_problems, observations)
    if problems:
        shown = "; ".join(problems[:_MAX_PROBLEMS])
        hidden = len(problems) - _MAX_PROBLEMS
        more = f" (and {hidden} more)" if hidden > 0 else ""
        raise ApiError(400, "invalid-request", f"invalid observations: {shown}{more}")
    result = await run_in_threadpool(state.store.put, observations)
    return json_response(
        {
            "source": source,
            "received": len(observations),
            "added": result.added,
            "replaced": result.replaced,
            "unchanged": result.unchanged,
        }
    )


ROUTES = (
    Route("/v1/packages/{name}", package, methods=["GET"]),
    Route("/v1/stats", stats, methods=["GET"]),
    Route("/v1/observations", upload, methods=["POST"]),
)
