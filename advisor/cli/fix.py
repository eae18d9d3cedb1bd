"""``advisor fix``: the fewest pin changes that leave a lock without fixable advisories."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["fix"]


from advisor.cli._app import cli
from advisor.cli._common import advisory_source_options, lock_inputs_option, setup_logging
from advisor.cli._progress import progress_events


@cli.command()
@click.argument(
    "lock", required=False, default="pylock.toml", type=click.Path(path_type=Path, dir_okay=False)
)
@click.option("--allow-major", is_flag=True, help="A fix may be a new major version.")
@click.option("--dry-run", is_flag=True, help="Report the changes; write nothing.")
@click.option(
    "--report",
    "report_fmt",
    type=click.Choice(["text", "md", "json"]),
    default="text",
    show_default=True,
    help="text: a diff of pins; md: a pull-request description; json: for machines.",
)
@advisory_source_options
@lock_inputs_option
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def fix(
    lock: Path,
    allow_major: bool,
    dry_run: bool,
    report_fmt: str,
    osv: Path | None,
    knowledge_url: str | None,
    inputs: tuple[Path, ...],
    quiet: bool,
) -> None:
    """Change the fewest pins of LOCK (default: ./pylock.toml) so that no fixable advisory
    affects it: transitive pins before direct ones, never an affected version, a new major
    version only with --allow-major. Exit 0 fixed or nothing to fix, 1 when an advisory
    cannot be fixed (each is named, with why), 2 bad input."""
    from advisor.api.fixing import FixOptions
    from advisor.api.fixing import fix as run_fix
    from advisor.report.fix import render_fix

    setup_logging(0, quiet)
    with progress_events(quiet=quiet) as events:
        done = run_fix(
            lock,
            options=FixOptions(
                allow_major=allow_major,
                dry_run=dry_run,
                knowledge=knowledge_url,
                osv=osv,
                inputs=inputs,
            ),
            events=events,
        )
    click.echo(
        render_fix(done.remedy.to_dict(), fmt=report_fmt, lock=str(lock), written=bool(done.path))
    )
    if done.remedy.unfixable:
        click.get_current_context().exit(1)
