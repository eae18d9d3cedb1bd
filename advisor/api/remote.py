"""The CLI's ``--server`` and ``--dispatch``: the token and pip's network settings of this
process, and the lock that comes back written; :class:`~advisor.server.remote.RemoteJobs`
decides the rest (the server's half: :mod:`advisor.api.server_jobs`).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.events import SILENT
from advisor.server.client import TOKEN_ENV
from advisor.server.sweep_calls import SweepCall  # what observe sweep --dispatch sends

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.check.run import CheckOptions, CheckReport
    from advisor.events import ProgressEvents
    from advisor.knowledge.package_facts import PackageKnowledge
    from advisor.knowledge.schema import Observation
    from advisor.models import RecommendationType
    from advisor.options.jobs import AdviseOptions, LockOptions
    from advisor.options.outcomes import AdviceResult, Explanation, LockOutcome
    from advisor.options.resolve import ResolveOptions
    from advisor.server.remote import RemoteJobs

__all__ = [
    "SweepCall",
    "dispatch_sweep",
    "remote_advise",
    "remote_check",
    "remote_explain",
    "remote_jobs",
    "remote_lock",
    "remote_show",
    "upload_observations",
]


def remote_jobs(
    server: str,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> RemoteJobs:
    """The jobs of the team server at ``server``, with this process's token
    (``ADVISOR_SERVER_TOKEN``) and pip's network settings."""
    from advisor.index.settings import pip_fetcher
    from advisor.server.remote import RemoteJobs

    environ = dict(os.environ) if environ is None else environ
    connect = partial(pip_fetcher, environ, Path.cwd(), events=events)
    token = environ.get(TOKEN_ENV) or None
    where = Path.cwd() if cwd is None else cwd
    return RemoteJobs(server=server, token=token, connect=connect, cwd=where, events=events)


def _written(outcome: LockOutcome) -> LockOutcome:
    """``outcome``, its lock written where the offline job writes it (atomic)."""
    from advisor.lockfile.write import write_output

    if outcome.path is not None:
        write_output(outcome.path, outcome.text)
    return outcome


def remote_lock(
    server: str,
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> LockOutcome:
    """:func:`~advisor.api.locking.lock` answered by the server at ``server``."""
    remote = remote_jobs(server, environ=environ, cwd=cwd, events=events)
    return _written(remote.lock(inputs, opts=opts, out=out))


def remote_advise(
    server: str,
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    advice: AdviseOptions,
    recommendation: RecommendationType | str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> AdviceResult:
    """:func:`~advisor.api.locking.advise` answered by the server at ``server``."""
    remote = remote_jobs(server, environ=environ, cwd=cwd, events=events)
    result = remote.advise(inputs, opts=opts, out=out, advice=advice, recommendation=recommendation)
    _written(result.lock)
    return result


def remote_check(
    server: str,
    paths: Sequence[Path],
    *,
    opts: CheckOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> CheckReport:
    """:func:`~advisor.api.checking.run_check` answered by the server at ``server``."""
    remote = remote_jobs(server, environ=environ, cwd=cwd, events=events)
    return remote.check(paths, opts=opts)


def remote_explain(
    server: str,
    lock_path: Path,
    name: str,
    *,
    advise: AdviseOptions,
    environ: Mapping[str, str],
    events: ProgressEvents = SILENT,
) -> Explanation:
    """:func:`~advisor.api.explaining.explain_pin` answered by the server at ``server``."""
    remote = remote_jobs(server, environ=environ, events=events)
    return remote.explain(lock_path, name, advise=advise)


def upload_observations(
    server: str,
    observations: Sequence[Observation],
    *,
    environ: Mapping[str, str] | None = None,
    events: ProgressEvents = SILENT,
) -> dict[str, Any]:
    """``observations`` sent to the server at ``server``
    (:meth:`~advisor.server.remote.RemoteJobs.upload`); its answer."""
    return remote_jobs(server, environ=environ, events=events).upload(observations)


def remote_show(
    server: str,
    name: str,
    version: str | None = None,
    *,
    source: str | None = None,
    recorder: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> PackageKnowledge:
    """``knowledge show`` answered by the server at ``server``."""
    remote = remote_jobs(server, environ=environ)
    return remote.show(name, version, source=source, recorder=recorder)


def dispatch_sweep(
    server: str,
    call: SweepCall,
    *,
    wait: float = 24 * 3600.0,
    environ: Mapping[str, str] | None = None,
    events: ProgressEvents = SILENT,
) -> dict[str, Any]:
    """``observe sweep --dispatch``: ``call`` run on the server's Dask cluster and followed,
    at most ``wait`` seconds (:meth:`~advisor.server.remote.RemoteJobs.sweep`)."""
    import time

    remote = remote_jobs(server, environ=environ, events=events)
    return remote.sweep(call, wait=wait, clock=time.monotonic, sleep=time.sleep)
