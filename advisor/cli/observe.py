"""``advisor observe``: install a lock on this machine and record the outcome; bench a venv
or a lock; export and import observations as JSON lines. The sweep commands (``sweep``,
``run-job``) are registered on this group by :mod:`advisor.cli.observe_sweep`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from advisor.cli._app import cli
from advisor.cli._common import knowledge_store_option, server_option, stderr
from advisor.cli._progress import progress_events

if TYPE_CHECKING:
    from advisor.api.observing import BuildObservation

__all__ = ["observe_group", "upload_to"]


@cli.group("observe")
def observe_group() -> None:
    """Observe real installs and runs on this machine; share what was observed."""


def _row(obs: BuildObservation) -> dict[str, object]:
    return {
        "package": obs.package,
        "version": obs.version,
        "outcome": obs.outcome,
        "failure_class": obs.failure_class,
        "duration": obs.duration,
        "log_excerpt": obs.log_excerpt,
        "interpreter": obs.interpreter,
        "recorder": obs.provenance.recorder,
        "artefact": None
        if obs.artefact is None
        else {
            "filename": obs.artefact.filename,
            "sha256": obs.artefact.sha256,
            "expected": list(obs.artefact.expected),
        },
    }


@observe_group.command("install")
@click.argument("lock", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="The interpreter to make the venv with (default: the one running advisor).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=600.0,
    show_default=True,
    help="Seconds allowed for each step (venv, pip, each import).",
)
@knowledge_store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@click.option(
    "--upload",
    is_flag=True,
    help="Also send the observations to the team server (--server, ADVISOR_SERVER; a write"
    " token in ADVISOR_SERVER_TOKEN).",
)
@server_option
def observe_install(
    lock: Path,
    python: str | None,
    timeout: float,
    knowledge_url: str | None,
    as_json: bool,
    quiet: bool,
    upload: bool,
    server: str | None,
) -> None:
    """Install LOCK into a fresh venv, import every module, record one build observation per
    package. A package that fails is an observation: the exit code is still 0."""
    from advisor.api.observing import InstallOptions
    from advisor.api.observing import observe_install as run

    with progress_events(quiet=quiet) as events:
        observations = run(
            lock,
            install=InstallOptions(python=python, timeout=timeout),
            store_url=knowledge_url,
            environ=os.environ,
            events=events,
            upload=upload_to(upload, server),
        )
    if upload and not quiet:
        click.echo(f"uploaded {len(observations)} observations to the team server", err=True)
    if as_json:
        click.echo(json.dumps([_row(o) for o in observations], indent=2, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("package", "version", "outcome", "class", "seconds", box=None)
    for obs in observations:
        seconds = "" if obs.duration is None else f"{obs.duration:.2f}"
        style = {"failed": "red", "artefact-fault": "yellow"}.get(obs.outcome, "green")
        table.add_row(
            obs.package,
            obs.version or "",
            f"[{style}]{obs.outcome}[/]",
            obs.failure_class or "",
            seconds,
        )
    Console(highlight=False, soft_wrap=True).print(table)
    failed = sum(1 for o in observations if o.outcome == "failed")
    faults = sum(1 for o in observations if o.outcome == "artefact-fault")
    fault_text = (
        f", {faults} local files that do not match the lock (artefact faults, not failures)"
        if faults
        else ""
    )
    click.echo(f"{len(observations)} observations recorded, {failed} failed{fault_text}")


@observe_group.command("export")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@knowledge_store_option
def observe_export(file: Path, knowledge_url: str | None) -> None:
    """Write the store's build, performance and compatibility observations to FILE (JSON
    lines; '-' for stdout)."""
    from advisor.api.observing import export_observations

    to_stdout = str(file) == "-"
    outcome = export_observations(
        knowledge_url, path=None if to_stdout else file, environ=os.environ
    )
    if to_stdout:
        click.echo(outcome.text, nl=False)
    where = "standard output" if to_stdout else file
    click.echo(f"{outcome.count} observations written to {where}", err=to_stdout)


@observe_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@knowledge_store_option
def observe_import(file: Path, knowledge_url: str | None) -> None:
    """Store the observations of FILE (JSON lines); bad lines are warned about and skipped."""
    from rich.markup import escape

    from advisor.api.observing import import_observations

    outcome = import_observations(file, store_url=knowledge_url, environ=os.environ)
    console = stderr()
    for problem in outcome.problems:
        console.print(f"[yellow]warning:[/] {escape(str(problem))}")
    click.echo(
        f"{outcome.read} observations read: {outcome.added} added, {outcome.replaced} replaced, "
        f"{outcome.unchanged} unchanged, {len(outcome.problems)} lines skipped"
    )


# --------------------------------------------------------------------------- bench


def upload_to(upload: bool, server: str | None) -> str | None:
    """The server ``--upload`` sends to (``None``: no upload); a usage error without one."""
    if upload and not server:
        raise click.UsageError("--upload needs a server: --server URL or ADVISOR_SERVER")
    return server if upload else None


_threads_option = click.option(
    "--threads",
    type=click.IntRange(1, 1024),
    help="Pin the BLAS/OpenMP thread count of the measured processes (recorded).",
)


@observe_group.command("bench")
@click.argument("target", metavar="LOCK|VENV", type=click.Path(path_type=Path, exists=True))
@click.option("--probe", "probes", multiple=True, help="A probe or family (repeatable).")
@click.option("--repeat", type=click.IntRange(1, 1000), help="Timed runs per measurement.")
@_threads_option
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Per process, s.")
@click.option("--python", "python", metavar="PATH", help="Interpreter for a LOCK's venv.")
@click.option(
    "--workdir", type=click.Path(path_type=Path), help="Where a LOCK's venv goes (default: temp)."
)
@knowledge_store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@click.option("--upload", is_flag=True, help="Also send the observations to the team server.")
@server_option
def observe_bench_command(
    target: Path,
    probes: tuple[str, ...],
    repeat: int | None,
    threads: int | None,
    timeout: float,
    python: str | None,
    workdir: Path | None,
    knowledge_url: str | None,
    as_json: bool,
    quiet: bool,
    upload: bool,
    server: str | None,
) -> None:
    """Measure import times and family probes in a venv (or a LOCK installed into one)."""
    from advisor.api.observing import BenchOptions, observe_bench

    bench = BenchOptions(
        probes=probes, repeat=repeat, threads=threads, timeout=timeout, python=python,
        workdir=workdir,
    )  # fmt: skip
    with progress_events(quiet=quiet) as events:
        outcome = observe_bench(
            target,
            bench=bench,
            store_url=knowledge_url,
            default_store=True,
            environ=os.environ,
            events=events,
            upload=upload_to(upload, server),
        )
    if as_json:
        click.echo(json.dumps(outcome.to_dict(), indent=2, sort_keys=True))
        return
    for obs in outcome.performance:
        where = f"{obs.package}=={obs.version}" if obs.package else "-"
        spread = f" ±{obs.spread:.3g}" if obs.spread is not None else ""
        runs = f" ({len(obs.samples)} runs)" if obs.samples else ""
        click.echo(
            f"{obs.probe:40} {where:30} {obs.metric:20} {obs.value:.6g} {obs.unit}{spread}{runs}"
        )
    click.echo(
        f"{len(outcome.performance)} performance and {len(outcome.builds)} build observations "
        "recorded",
        err=True,
    )
