"""``advisor observe sweep --dispatch``: a sweep sent to the team server's Dask cluster.

Beside :mod:`advisor.cli.observe` (which owns the command and calls these when
``--dispatch`` is given): the options a dispatched sweep refuses, the call to the API
(:func:`advisor.api.remote.dispatch_sweep`) and what it prints.
"""

from __future__ import annotations

import json
import os

import click

from advisor.cli._progress import progress_events

__all__ = ["dispatch_sweep", "dispatch_to"]


def dispatch_to(server: str | None, local: list[str]) -> str:
    """The server a ``--dispatch`` sweep goes to; a usage error without one, or with the
    options of a local sweep (the server's own indexes and store decide those)."""
    if local:
        raise click.UsageError(f"{', '.join(local)}: not used with --dispatch (the server decides)")
    if not server:
        raise click.UsageError("--dispatch needs a server: --server URL or ADVISOR_SERVER")
    return server


def dispatch_sweep(
    requirements: tuple[str, ...],
    *,
    server: str,
    count: int,
    probes: tuple[str, ...],
    repeat: int,
    threads: int,
    timeout: float,
    python: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    from advisor.api.remote import SweepCall
    from advisor.api.remote import dispatch_sweep as run

    call = SweepCall(
        requirements=requirements,
        versions=count,
        probes=probes,
        repeat=repeat,
        threads=threads,
        timeout=timeout,
        python=python,
    )
    with progress_events(quiet=quiet) as events:
        found = run(server, call, environ=os.environ, events=events)
    jobs = found.get("jobs", [])
    if as_json:
        click.echo(json.dumps(found, indent=2))
    else:
        for job in jobs:
            if job.get("error"):
                status = f"error: {job['error']}"
            else:
                status = f"{job.get('observations')} observations uploaded ({job.get('host')})"
            click.echo(f"{job.get('requirement', ''):30} {status}")
        click.echo(f"sweep {found.get('id')}: {found.get('observations')} observations", err=True)
    if any(job.get("state") == "failed" for job in jobs):
        click.get_current_context().exit(1)
