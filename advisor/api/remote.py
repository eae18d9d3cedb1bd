"""The CLI's ``--server`` and ``--dispatch``: this process's token and pip's network
settings handed to :class:`~advisor.server.remote.RemoteJobs`, which decides the rest.
"""

from __future__ import annotations

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
    from advisor.server.remote import RemoteJobs

__all__ = [
    "SweepCall",
    "dispatch_sweep",
    "remote_check",
    "remote_jobs",
    "remote_show",
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
    from advisor.api.context import here
    from advisor.index.settings import pip_fetcher
    from advisor.server.remote import RemoteJobs

    at = here(environ, cwd)
    connect = partial(pip_fetcher, at.environ, Path.cwd(), events=events)
    token = at.environ.get(TOKEN_ENV) or None
    return RemoteJobs(server=server, token=token, connect=connect, cwd=at.cwd, events=events)


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
