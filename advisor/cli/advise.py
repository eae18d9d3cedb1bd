"""``advisor advise`` and ``advisor explain``: the best stack of a type, and why each pin."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from advisor.cli._app import cli
from advisor.cli._common import (
    Command,
    from_command_line,
    knowledge_store_option,
    lock_output_options,
    pop_value,
    pop_values,
    resolve_options,
    resolve_opts,
    server_option,
    setup_logging,
    stderr,
)
from advisor.cli._progress import progress_events

if TYPE_CHECKING:
    from collections.abc import Callable, MutableMapping, Sequence

    from advisor.api import AdviseOptions, RecommendationType

__all__ = ["advise", "explain"]

#: The search's options: ``advise`` only (``explain`` scores one stack, it searches nothing).
#: Their bounds are :class:`advisor.api.AdviseOptions`' (one rule for the CLI, the server and
#: Python callers): a value out of them is bad input, exit 2, the option named.
_search_options = [
    click.option(
        "--count",
        type=int,
        default=3,
        show_default=True,
        help="Distinct stacks to keep (1 or more).",
    ),
    click.option(
        "--budget",
        type=int,
        default=12,
        show_default=True,
        help="Resolutions the search may run (1 or more).",
    ),
    click.option(
        "--time-limit",
        type=float,
        default=30.0,
        show_default=True,
        help="Seconds the search may take (more than 0).",
    ),
    click.option("--seed", default=0, show_default=True, help="Seed of the search."),
    click.option(
        "--allow-sdist",
        is_flag=True,
        help="testing: allow direct versions that have no wheel for the target (sdist builds).",
    ),
    click.option(
        "--strict",
        is_flag=True,
        help="security: fail when an advisory that no release fixes stays in the stack.",
    ),
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


def _with_options(options: Sequence[Callable[[Command], Command]]) -> Callable[[Command], Command]:
    def apply(func: Command) -> Command:
        for option in reversed(options):
            func = option(func)
        return func

    return apply


def _advise_opts(
    kw: MutableMapping[str, object],
    baseline: Path | None = None,
    recommendation: RecommendationType | None = None,
) -> AdviseOptions:
    """The advice options in ``kw`` (popped); the search's default where it has none. A
    bound out of range is a usage error naming its option."""
    from advisor.api import AdviseOptions
    from advisor.errors import InvalidOption

    default = AdviseOptions()
    count, budget, seed = (pop_value(kw, name, int) for name in ("count", "budget", "seed"))
    time_limit = pop_value(kw, "time_limit", float)
    try:
        return AdviseOptions(
            count=default.count if count is None else count,
            budget=default.budget if budget is None else budget,
            time_limit=default.time_limit if time_limit is None else time_limit,
            seed=default.seed if seed is None else seed,
            recommendation=recommendation,
            knowledge=pop_value(kw, "knowledge_url", str),
            knowledge_dirs=pop_values(kw, "knowledge_dirs", Path),
            osv=pop_value(kw, "osv", Path),
            baseline=baseline,
            allow_sdist=bool(pop_value(kw, "allow_sdist", bool)),
            strict=bool(pop_value(kw, "strict", bool)),
            verify=bool(pop_value(kw, "verify", bool)),
        )
    except InvalidOption as exc:
        flag = "'--" + exc.option.replace("_", "-") + "'"  # as click names an option
        message = f"must be {exc.expected}, not {exc.value!r}"
        raise click.BadParameter(message, param_hint=flag) from exc


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
@click.option(
    "--verify",
    is_flag=True,
    help="Install each stack the search would keep into a throwaway venv here and import "
    "it; a failure is recorded and the search goes on (off by default).",
)
@click.option(
    "--compare-env",
    "compare_envs",
    multiple=True,
    metavar="RUNTIME",
    help="Advise for each runtime (a configured environment, or a Python version: py312) "
    "and recommend one; repeat, at least twice. Writes no lock.",
)
@server_option
def advise(inputs: tuple[Path, ...], **kw: object) -> None:
    """Find the best stack of a recommendation type for INPUTS, write its lock, say why."""
    from advisor.api import (
        ComparisonResult,
        LockFormat,
        LockOptions,
        RecommendationType,
        ReportOptions,
    )
    from advisor.api import advise as run_advise
    from advisor.report import ReportFormat

    if not inputs:
        raise click.UsageError("name at least one requirements file or pyproject.toml")
    compare_envs = pop_values(kw, "compare_envs", str)
    kw.pop("as_json")
    server = pop_value(kw, "server", str)
    for name in ("cache_dir", "knowledge_url") if server else ():
        if not from_command_line(name):
            kw[name] = None  # from the environment: this machine's; the server has its own
    verbose, quiet = pop_value(kw, "verbose", int) or 0, bool(pop_value(kw, "quiet", bool))
    setup_logging(max(verbose - 1, 0), quiet)
    output = pop_value(kw, "output", Path)
    fmt = LockFormat(
        pop_value(kw, "fmt", str)
        or ("requirements" if output and output.suffix == ".txt" else "pylock")
    )
    dry_run = bool(pop_value(kw, "dry_run", bool))
    report_file = pop_value(kw, "report_file", Path)
    report = ReportOptions(
        format=ReportFormat(pop_value(kw, "report_fmt", str) or "text"),
        verbose=bool(verbose),
        path=report_file,
    )
    explicit = kw.get("recommendation")  # None: the api takes the project's, else stable
    given = RecommendationType(explicit) if isinstance(explicit, str) else None
    workload = pop_value(kw, "workload", str)
    advise_opts = _advise_opts(kw, baseline=pop_value(kw, "baseline", Path), recommendation=given)
    opts = dataclasses.replace(resolve_opts(kw), workload=workload)
    out = LockOptions(output=output, format=fmt, dry_run=dry_run, command="advisor advise")
    with progress_events(quiet=quiet) as events:
        done = run_advise(
            list(inputs),
            opts=opts,
            out=out,
            advice=advise_opts,
            report=report,
            compare=compare_envs,
            events=events,
            server=server,
        )
    if isinstance(done, ComparisonResult):  # --compare-env: the report only
        if not report.to_file:
            click.echo(done.report)
        if done.comparison.recommended is None:
            raise SystemExit(1)
        return
    written = done.lock
    if not report.to_file and (not quiet or report_file is not None):
        click.echo(done.report)
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
@server_option
def explain(name: str, lock_path: Path, as_json: bool, quiet: bool, **kw: object) -> None:
    """Why NAME is in the lock (every path from the inputs) and why this version."""
    from advisor.api import explain as explain_pin
    from advisor.report import ReportFormat, render_explanation

    server = pop_value(kw, "server", str)
    if server and not from_command_line("knowledge_url"):
        kw["knowledge_url"] = None  # ADVISOR_KNOWLEDGE: this machine's store, not the server's
    advise_opts = _advise_opts(kw)
    with progress_events(quiet=quiet) as events:
        result = explain_pin(
            lock_path, name, advise=advise_opts, environ=os.environ, events=events, server=server
        )
    click.echo(
        render_explanation(
            result.name,
            paths=result.paths,
            pin=result.pin,
            version=result.version,
            fmt=ReportFormat.JSON if as_json else ReportFormat.TEXT,
        )
    )
