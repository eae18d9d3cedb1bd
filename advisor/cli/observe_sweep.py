"""``advisor observe sweep`` and ``advisor observe run-job``: a package's newest versions
locked, installed and benched together (interleaved), or paired with other packages'
versions (``--with``: compatibility); one job spec run alone, as a cluster worker does.

Beside :mod:`advisor.cli.observe`, which owns the group these register on;
:mod:`advisor.cli.observe_dispatch` prints a sweep sent to the team server (``--dispatch``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from advisor.cli._common import from_command_line, knowledge_store_option, server_option
from advisor.cli._progress import progress_events
from advisor.cli.observe import observe_group, upload_to

if TYPE_CHECKING:
    from advisor.api import ResolveOptions
    from advisor.api.observing import CompatOptions, SweepRun

__all__ = ["observe_run_job_command", "observe_sweep_command"]


@observe_group.command("sweep")
@click.argument("requirements", metavar="REQUIREMENT...", nargs=-1, required=True)
@click.option(
    "--versions",
    "count",
    type=click.IntRange(1, 100),
    default=4,
    show_default=True,
    help="How many of the newest versions (with a wheel for this machine) of each "
    "REQUIREMENT to observe.",
)
@click.option(
    "--with",
    "others",
    metavar="REQUIREMENT",
    multiple=True,
    help="Pair every swept version with this package's newest versions instead of benching: "
    "install each pair in a fresh venv, import, smoke-test, record compatibility (repeatable).",
)
@click.option(
    "--with-versions",
    "other_count",
    type=click.IntRange(1, 100),
    default=2,
    show_default=True,
    help="How many of the newest versions of each --with REQUIREMENT to pair.",
)
@click.option("--probe", "probes", multiple=True, help="A probe or family (repeatable).")
@click.option(
    "--repeat",
    type=click.IntRange(1, 1000),
    default=15,
    show_default=True,
    help="Timed rounds per measurement (one run of every version per round).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 1024),
    default=1,
    show_default=True,
    help="BLAS/OpenMP thread count pinned while measuring (recorded).",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Installs run at once (one process each); the bench runs alone.",
)
@click.option("--timeout", type=float, default=900.0, show_default=True, help="Per process, s.")
@click.option("--index-url", "-i", metavar="URL", help="Primary index.")
@click.option("--extra-index-url", metavar="URL", multiple=True, help="Further index.")
@click.option("--find-links", "-f", metavar="DIR|URL", multiple=True, help="Flat location.")
@click.option("--no-index", is_flag=True, help="Use only --find-links locations.")
@click.option("--python", "python", metavar="X.Y", help="Target Python version.")
@click.option(
    "--workdir", type=click.Path(path_type=Path), help="Job specs and results (default: temp)."
)
@click.option(
    "--output", "-o", type=click.Path(path_type=Path), help="Append all observations (JSONL)."
)
@knowledge_store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@click.option(
    "--dispatch",
    is_flag=True,
    help="Run the sweep on the team server's Dask cluster (--server, ADVISOR_SERVER; a write"
    " token in ADVISOR_SERVER_TOKEN) and wait for it: its workers upload what they measure.",
)
@server_option
def observe_sweep_command(
    requirements: tuple[str, ...],
    count: int,
    others: tuple[str, ...],
    other_count: int,
    probes: tuple[str, ...],
    repeat: int,
    threads: int,
    jobs: int,
    timeout: float,
    index_url: str | None,
    extra_index_url: tuple[str, ...],
    find_links: tuple[str, ...],
    no_index: bool,
    python: str | None,
    workdir: Path | None,
    output: Path | None,
    knowledge_url: str | None,
    as_json: bool,
    quiet: bool,
    dispatch: bool,
    server: str | None,
) -> None:
    """Lock and install the newest versions of one package (one job each), then bench them
    together, interleaved (A B A B …), and record. Several REQUIREMENTs of one package pick
    versions from several lines ("numpy<2" "numpy>=2" --versions 1). With --with, observe
    compatibility instead: every swept version beside every --with version. With
    --dispatch, the team server runs each job on a Dask worker."""
    from advisor.api import ResolveOptions
    from advisor.api.observing import CompatOptions, SweepOptions, SweepRun, observe_sweep

    if dispatch:
        local = {
            "--with": bool(others),
            "--jobs": jobs != 1,
            "--index-url": bool(index_url),
            "--extra-index-url": bool(extra_index_url),
            "--find-links": bool(find_links),
            "--no-index": no_index,
            "--workdir": workdir is not None,
            "--output": output is not None,
            # ADVISOR_KNOWLEDGE sets up this machine: only a typed --knowledge is refused
            "--knowledge": knowledge_url is not None and from_command_line("knowledge_url"),
        }
        from advisor.cli.observe_dispatch import dispatch_sweep, dispatch_to

        dispatch_sweep(
            requirements, server=dispatch_to(server, [k for k, v in local.items() if v]),
            count=count, probes=probes, repeat=repeat, threads=threads, timeout=timeout,
            python=python, as_json=as_json, quiet=quiet,
        )  # fmt: skip
        return

    opts = ResolveOptions(
        index_url=index_url,
        extra_index_urls=extra_index_url,
        find_links=find_links,
        no_index=no_index,
        python=python,
    )
    run = SweepRun(jobs=jobs, workdir=workdir, output=output)
    if others:
        ignored = [
            flag
            for flag, given in (
                ("--probe", probes),
                ("--repeat", repeat != 15),
                ("--threads", threads != 1),
            )
            if given
        ]
        if ignored:  # a compatibility sweep imports and smoke-tests; it times nothing
            raise click.UsageError(f"{', '.join(ignored)}: not used with --with (nothing is timed)")
        compat = CompatOptions(count=count, other_count=other_count, timeout=timeout)
        _compat_sweep(requirements, others, compat=compat, opts=opts, run=run,
                      knowledge_url=knowledge_url, as_json=as_json, quiet=quiet)  # fmt: skip
        return
    with progress_events(quiet=quiet) as events:
        sweep = SweepOptions(
            count=count, probes=probes, repeat=repeat, threads=threads, timeout=timeout
        )
        results = observe_sweep(requirements, sweep=sweep, opts=opts, run=run,
                                store_url=knowledge_url, environ=os.environ,
                                events=events)  # fmt: skip
    failed = [r for r in results if r.error]
    if as_json:
        payload = [
            {
                "requirement": r.requirement,
                "builds": r.builds,
                "performance": r.performance,
                "error": r.error,
            }
            for r in results
        ]
        click.echo(json.dumps(payload, indent=2))
    else:
        for r in results:
            status = (
                f"error: {r.error}" if r.error else f"{r.builds} builds, {r.performance} probes"
            )
            click.echo(f"{r.requirement:30} {status}")
    if failed:
        click.get_current_context().exit(1)


def _compat_sweep(
    requirements: tuple[str, ...],
    others: tuple[str, ...],
    *,
    compat: CompatOptions,
    opts: ResolveOptions,
    run: SweepRun,
    knowledge_url: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    from advisor.api.observing import observe_compatibility

    with progress_events(quiet=quiet) as events:
        outcome = observe_compatibility(requirements, others, compat=compat, opts=opts, run=run,
                                        store_url=knowledge_url, environ=os.environ,
                                        events=events)  # fmt: skip
    rows: list[dict[str, object]] = []
    for r in outcome.results:
        obs = r.observation
        rows.append(
            {
                "package": r.pair.package,
                "version": r.pair.version,
                "other": r.pair.other,
                "other_version": r.pair.other_version,
                "status": r.status,
                "outcome": obs.outcome if obs else None,
                "failure_class": obs.failure_class if obs else None,
                "detail": r.detail,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        pair = f"{row['package']}=={row['version']} with {row['other']}=={row['other_version']}"
        if row["status"] != "observed":
            said = f"not observed ({row['status']}): {row['detail']}"
        else:
            cls = row["failure_class"]
            said = f"{row['outcome']}: {cls}" if cls else f"{row['outcome']}"
        click.echo(f"{pair:50} {said}")
    failed = sum(1 for o in outcome.observations if o.outcome == "failed")
    click.echo(
        f"{len(outcome.observations)} compatibility observations recorded, {failed} failed",
        err=True,
    )


@observe_group.command("run-job")
@click.argument("spec", metavar="SPEC.json", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--upload",
    is_flag=True,
    help="Also send the job's observations to the team server (--server, ADVISOR_SERVER; a"
    " write token in ADVISOR_SERVER_TOKEN): what a Dask worker of POST /v1/sweeps runs.",
)
@server_option
def observe_run_job_command(spec: Path, upload: bool, server: str | None) -> None:
    """Run one sweep job spec (what a cluster worker runs); results go next to SPEC.json."""
    from advisor.api.observing import run_sweep_job

    result = run_sweep_job(spec, environ=os.environ, upload=upload_to(upload, server))
    if result.error:
        click.echo(f"{result.requirement}: {result.error}", err=True)
        click.get_current_context().exit(1)
    click.echo(f"{result.requirement}: {result.builds} builds, {result.performance} probes")
