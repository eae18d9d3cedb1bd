"""``advisor check``: the checks behind the pre-commit hooks."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["check"]


from advisor.cli._app import cli
from advisor.cli._common import (
    advisory_source_options,
    from_command_line,
    lock_inputs_option,
    server_option,
)
from advisor.cli._progress import progress_events


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="github: workflow annotations.",
)
@advisory_source_options
@click.option("--online", is_flag=True, help="Also ask the index whether a pin was yanked.")
@click.option("--fix", is_flag=True, help="Re-lock a lock that is merely stale.")
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(
        ["freshness", "hashes", "indexes", "advisories", "prescriptions", "environments"]
    ),
    help="Run only these checks (repeatable).",
)
@lock_inputs_option
@click.option("-q", "--quiet", is_flag=True, help="No progress and no 'ok' line on stderr.")
@server_option
def check(
    paths: tuple[Path, ...],
    fmt: str,
    osv: Path | None,
    knowledge_url: str | None,
    online: bool,
    fix: bool,
    only: tuple[str, ...],
    inputs: tuple[Path, ...],
    quiet: bool,
    server: str | None,
) -> None:
    """Check locks (and the inputs that feed them): fresh, hashed, allowed indexes, no
    known advisory, covered environments. Exit 0 clean, 1 findings, 2 usage error.

    PATHS are locks (pylock.toml, pylock.NAME.toml, requirements*.txt, or any file that is a
    lock by its content) or inputs (*.in, pyproject.toml, advisor.toml), which stand for
    the locks beside them; anything else is refused (exit 2)."""
    from advisor.api import CheckOptions
    from advisor.api import check as run_check
    from advisor.report.findings import FindingsFormat, render_findings

    if server and not from_command_line("knowledge_url"):
        knowledge_url = None  # ADVISOR_KNOWLEDGE: this machine's store, not the server's
    with progress_events(quiet=quiet) as events:
        report = run_check(
            paths,
            opts=CheckOptions(
                knowledge=knowledge_url,
                osv=osv,
                online=online,
                fix=fix,
                inputs=inputs,
                only=frozenset(only),
            ),
            events=events,
            server=server,
        )
    for path in report.lockless:
        click.echo(f"{path}: no lock beside it, nothing to check", err=True)
    if not report.checked:
        return  # only inputs without a lock beside them were named
    for shown in report.fixed:
        click.echo(f"re-locked {shown}: stage the new lock", err=True)
    if report.findings:
        click.echo(render_findings(report.findings, fmt=FindingsFormat(fmt)))
    elif fmt == "json":
        click.echo("[]")
    if fmt == "text" and not report.findings and not quiet:
        click.echo(f"ok: {', '.join(report.checked)}", err=True)
    if report.findings or report.fixed:
        click.get_current_context().exit(1)
