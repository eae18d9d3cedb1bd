"""``advisor observe sweep --dispatch``: a sweep run on the team server's Dask cluster.

Part of the composition root, wiring only: it reads the token from the process environment
and pip's network settings, builds the server's client (:mod:`advisor.server.client`, through
the index client's Fetcher) and hands it, with the clock, to :mod:`advisor.server.sweep_client`,
which posts the sweep and follows it. The server picks the versions, writes the job specs and
its workers upload what they measure (``docs/server.md``, "Sweeps on Dask").
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.api.remote_knowledge import TOKEN_ENV
from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.events import ProgressEvents

__all__ = ["dispatch_sweep"]


def dispatch_sweep(
    server: str,
    requirements: Sequence[str],
    *,
    count: int,
    probes: Sequence[str] = (),
    repeat: int = 15,
    threads: int | None = 1,
    timeout: float = 900.0,
    python: str | None = None,
    wait: float = 24 * 3600.0,
    environ: Mapping[str, str] | None = None,
    events: ProgressEvents = SILENT,
) -> dict[str, Any]:
    """Send the sweep to the server at ``server`` (``POST /v1/sweeps``, a ``write`` token
    from ``ADVISOR_SERVER_TOKEN`` or the URL) and wait, at most ``wait`` seconds, until its
    jobs are done; the server's last answer (``GET /v1/sweeps/{id}``). Raises the server's
    refusal as an error (:func:`advisor.server.client.refusal`),
    :class:`~advisor.server.sweep_client.SweepNotDone` past ``wait``."""
    from advisor.index.fetch import Fetcher
    from advisor.index.settings import load_pip_settings
    from advisor.server.client import AdvisorClient, ServerLink
    from advisor.server.sweep_calls import SweepCall
    from advisor.server.sweep_client import follow_sweep, progress_line, submit_sweep

    environ = dict(os.environ) if environ is None else environ
    link = ServerLink.parse(server, token=environ.get(TOKEN_ENV) or None)
    call = SweepCall(
        requirements=tuple(requirements),
        versions=count,
        probes=tuple(probes),
        repeat=repeat,
        threads=threads,
        timeout=timeout,
        python=python,
    )
    network = load_pip_settings(environ=environ, cwd=Path.cwd()).network_settings()
    # sent once: a retried POST whose first try reached the server would sweep twice
    with Fetcher(dataclasses.replace(network, retries=0), events=events) as fetcher:
        sent = submit_sweep(AdvisorClient(link, fetcher), call)
    shown: list[str] = []  # the progress step now on screen

    def on_poll(found: Mapping[str, Any]) -> None:
        now = progress_line(found)
        if shown and shown[-1] == now:
            return
        if shown:
            events.work_finished(shown.pop())
        events.working(now)
        shown.append(now)

    try:
        with Fetcher(network, events=events) as fetcher:  # reads: retried as pip would
            return follow_sweep(
                AdvisorClient(link, fetcher),
                str(sent["id"]),
                wait=wait,
                clock=time.monotonic,
                sleep=time.sleep,
                on_poll=on_poll,
            )
    finally:
        if shown:
            events.work_finished(shown.pop())
