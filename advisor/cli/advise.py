"""``advisor advise`` and ``advisor explain``: the best stack of a type, and why each pin."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from advisor.cli._app import cli
from advisor.cli._common import (
    knowledge_store_option,
    lock_output_options,
    resolve_options,
    resolve_opts,
    server_option,
    setup_logging,
    stderr,
)
from advisor.cli._progress import progress_events

if TYPE_CHECKING:
    from collections.abc import Callable

    from advisor.api.advising import AdviseOptions

__all__ = ["advise", "explain"]

#: The search's options: ``advise`` only (``explain`` scores one stack, it searches nothing).
_search_options = [
    click.option("--count", default=3, show_default=True, help="Distinct stacks to keep."),
    click.option("--budget", default=12, show_default=True, help="Resolutions the search may run."),
    click.option(
        "--time-limit", default=30.0, show_default=True, help="Seconds the search may take."
    ),
    click.option("--seed", default=0, show_default=True, help="Seed of the search."),
]

#: Where the knowledge comes from: ``advise`` and ``explain``.
_knowledge_options = [
    knowledge_store_option,
    click.option(
        "--knowledge-dir",
        "knowledge_dirs",
        multiple=True,
        type=click.Path(path_type=Path),
        help="A curated knowledge folder to read as well (repeatable).",
    ),
    click.option(
        "--osv",
        type=click.Path(path_type=Path, exists=True),
        help="An OSV dump (zip or folder) to use for advisories.",
    ),
]


def _with_options(options: list[Any]) -> Callable[[Any], Any]:
    def apply(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return apply


def _advise_opts(kw: dict[str, Any], baseline: Path | None = None) -> AdviseOptions:
    """The advice options in ``kw`` (popped); the search's default where it has none."""
    from advisor.api.advising import AdviseOptions

    search = {
        name: kw.pop(name) for name in ("count", "budget", "time_limit", "seed") if name in kw
    }
    return AdviseOptions(
        **search,
        knowledge=kw.pop("knowledge_url"),
        knowledge_dirs=tuple(kw.pop("knowledge_dirs")),
        osv=kw.pop("osv"),
        baseline=baseline,
        workload=kw.pop("workload", None),
    )


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@resolve_options
@_with_options(_search_options)
@_with_options(_knowledge_options)
@lock_output_options
@click.option("--dry-run", is_flag=True, help="Report only; write no lock.")
@click.option(
    "--report",
    "report_fmt",
    type=click.Choice(["text", "md", "json"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--report-file",
    type=click.Path(path_type=Path),
    help="Write the report here, not to stdout ('-': stdout).",
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="The lock to compare with (default: the existing lock at the output path).",
)
@click.option(
    "--workload",
    metavar="NAME",
    help="performance: weigh only this workload's probes (sort, matmul, groupby, strings, "
    "csv, import …).",
)
@server_option
def advise(inputs: tuple[Path, ...], **kw: Any) -> None:
    """Find the best stack of a recommendation type for INPUTS, write its lock, say why."""
    from advisor.api.locking import LockFormat, LockOptions
    from advisor.api.locking import advise as run_advise
    from advisor.report import render_advice

    if not inputs:
        raise click.UsageError("name at least one requirements file or pyproject.toml")
    kw.pop("as_json")
    server = kw.pop("server")
    verbose, quiet = kw.pop("verbose"), kw.pop("quiet")
    setup_logging(max(verbose - 1, 0), quiet)
    output: Path | None = kw.pop("output")
    fmt = LockFormat(
        kw.pop("fmt") or ("requirements" if output and output.suffix == ".txt" else "pylock")
    )
    dry_run, report_fmt, report_file = (
        kw.pop("dry_run"),
        kw.pop("report_fmt"),
        kw.pop("report_file"),
    )
    explicit = kw.get("recommendation")  # None: the api takes the project's, else stable
    advise_opts = _advise_opts(kw, baseline=kw.pop("baseline"))
    opts = resolve_opts(kw)
    out = LockOptions(output=output, format=fmt, dry_run=dry_run, command="advisor advise")
    with progress_events(quiet=quiet) as events:
        done = run_advise(
            list(inputs),
            opts=opts,
            out=out,
            advice=advise_opts,
            recommendation=explicit,
            events=events,
            server=server,
        )
    written = done.lock
    report = "\n\n".join(
        render_advice(a, fmt=report_fmt, verbose=bool(verbose)) for a in done.advices
    )
    if report_file is not None and str(report_file) != "-":
        from advisor.api.output import write_output

        write_output(report_file, report + "\n")
    elif not quiet or report_file is not None:
        click.echo(report)
    if output is not None and str(output) == "-":
        click.echo(written.text, nl=False)
    if not quiet:
        console = stderr()
        for w in written.warnings:
            console.print(f"warning: {w}", markup=False)
        where = f" -> {written.path}" if written.path else " (no lock written)"
        console.print(f"Advised {len(written.resolution.pins)} packages{where}", markup=False)


@cli.command()
@click.argument("name")
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=Path("pylock.toml"),
    show_default=True,
    help="The lock to explain.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@_with_options(_knowledge_options)
def explain(name: str, lock_path: Path, as_json: bool, quiet: bool, **kw: Any) -> None:
    """Why NAME is in the lock (every path from the inputs) and why this version."""
    from advisor.api.explaining import explain_pin
    from advisor.report import ReportFormat, render_explanation

    advise_opts = _advise_opts(kw)
    with progress_events(quiet=quiet) as events:
        result = explain_pin(lock_path, name, advise=advise_opts, environ=os.environ, events=events)
    click.echo(
        render_explanation(
            result.name,
            paths=result.paths,
            pin=result.pin,
            version=result.version,
            fmt=ReportFormat.JSON if as_json else ReportFormat.TEXT,
        )
    )
