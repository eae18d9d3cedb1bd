"""Sweeps on the wire: ``POST /v1/sweeps``'s request, the jobs it plans, what the server tells.

Sits between the sweep routes (:mod:`.routes.sweeps`), the Dask seam (:mod:`.dispatch`) and
the composition root: a request is a :class:`SweepCall` (what ``advisor observe sweep``
takes, minus the index options and the store, which are the server's own), decoded once by
the route; the composition root plans it (``advisor.api.server_jobs.ServerJobs``, through
the :class:`SweepPlanner` Protocol: the versions found on the server's indexes, one
:class:`~advisor.observe.sweep.JobSpec` each) into :class:`PlannedJob` values, whose spec is
the JSON text a worker writes to a file of its own (no shared filesystem). The spec names no
store: the worker's ``advisor observe run-job --upload`` sends what it observed back to the
server, under the requester's token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

import msgspec

__all__ = ["PlannedJob", "SweepCall", "SweepPlanner"]

_Count = Annotated[int, msgspec.Meta(ge=1, le=100)]
_Repeat = Annotated[int, msgspec.Meta(ge=1, le=1000)]
_Threads = Annotated[int, msgspec.Meta(ge=1, le=1024)]
_Seconds = Annotated[float, msgspec.Meta(gt=0, le=86400)]
_Requirement = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
_Probe = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
_Python = Annotated[str, msgspec.Meta(pattern=r"^[0-9]+\.[0-9]+$")]


class SweepCall(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A sweep: the ``versions`` newest versions (with a wheel for the target) of the one
    package ``requirements`` name (several lines of it: ``["numpy<2", "numpy>=2"]``), each
    measured with ``probes`` (probes or families of the workers' curated benchmarks; empty:
    all), ``repeat`` timed rounds, ``threads`` BLAS/OpenMP threads (``None``: not pinned),
    ``timeout`` seconds per process, for Python ``python`` (X.Y; ``None``: the workers')."""

    requirements: Annotated[tuple[_Requirement, ...], msgspec.Meta(min_length=1, max_length=20)]
    versions: _Count = 4
    probes: Annotated[tuple[_Probe, ...], msgspec.Meta(max_length=50)] = ()
    repeat: _Repeat = 15
    threads: _Threads | None = 1
    timeout: _Seconds = 900.0
    python: _Python | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedJob:
    """One job of a sweep: its requirement (``name==version``) and its spec as JSON text
    (what ``advisor observe run-job`` reads)."""

    requirement: str
    spec: str


class SweepPlanner(Protocol):
    """Plans a sweep on the server's indexes (done by the composition root in a worker
    thread). Cost: one read of the package's index page (cached), no install.

    Raises :class:`~advisor.errors.AdvisorError` (an :class:`~advisor.errors.InputError`
    for a bad requirement, requirements of several packages, or no version with a wheel;
    :class:`~advisor.errors.IndexUnavailable` when the index cannot be read)."""

    def plan_sweep(self, call: SweepCall, *, today: str) -> tuple[PlannedJob, ...]: ...
