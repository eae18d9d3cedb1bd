"""``advisor knowledge update``: download OSV's advisories for PyPI into the store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from advisor.cli._common import human_size, knowledge_store_option, stderr
from advisor.cli._progress import progress_events
from advisor.cli.knowledge import knowledge_group

__all__ = ["knowledge_update"]


@knowledge_group.command("update")
@click.option(
    "--url",
    metavar="URL",
    help="The OSV dump (a zip) to download; also ADVISOR_OSV_DUMP_URL or osv-dump-url in "
    "advisor.toml / [tool.advisor] (default: OSV's public dump for PyPI).",
)
@knowledge_store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-v", "--verbose", is_flag=True, help="Show every problem.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display on stderr.")
def knowledge_update(
    url: str | None, knowledge_url: str | None, as_json: bool, verbose: bool, quiet: bool
) -> None:
    """Download OSV's advisories for PyPI into the store, if they changed.

    A conditional GET (the ETag / Last-Modified of the last update are kept in the store):
    an unchanged dump is not downloaded again. A new dump replaces the advisories of the
    previous one in one transaction; a failed or corrupt download keeps them."""
    from advisor.api.advisory_update import update_advisories
    from advisor.report.knowledge import update_json

    with progress_events(quiet=quiet) as events:
        outcome = update_advisories(
            store_url=knowledge_url, url=url, environ=os.environ, cwd=Path.cwd(), events=events
        )
    if as_json:
        click.echo(json.dumps(update_json(outcome), indent=2))
        return
    from rich.text import Text

    from advisor.cli.knowledge import _warn_problems

    as_of = outcome.as_of.isoformat() if outcome.as_of else "unknown"
    held = f"{outcome.advisories} advisories, newest modified {as_of}"
    if not outcome.changed:
        stderr().print(
            Text(f"{outcome.url}: not modified since the last update, nothing to do ({held})")
        )
        return
    report = outcome.report
    problems = report.problems if report else ()
    _warn_problems(problems, verbose=verbose)
    note = f"; {len(problems)} problems" if problems else ""
    stderr().print(
        Text(
            f"Updated {outcome.shown_store} from {outcome.url} ({human_size(outcome.size)}"
            f"{note}): {held}; {outcome.added} added, {outcome.replaced} replaced, "
            f"{outcome.unchanged} unchanged, {outcome.removed} removed"
        )
    )
