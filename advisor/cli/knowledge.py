"""``advisor knowledge``: validate, sync, import-osv, show, stats, graph."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

__all__ = ["knowledge_group"]


from advisor.cli._app import cli
from advisor.cli._common import (
    knowledge_store_option,
    pop_value,
    resolve_options,
    resolve_opts,
    server_option,
    setup_logging,
    stderr,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from advisor.api.knowledge import Problem

_MAX_SHOWN_PROBLEMS = 20


def _warn_problems(problems: Sequence[Problem], *, verbose: bool) -> None:
    """Problems as warnings on stderr; at most 20 unless ``verbose``."""
    from rich.markup import escape

    console = stderr()
    shown = problems if verbose else problems[:_MAX_SHOWN_PROBLEMS]
    for problem in shown:
        console.print(f"[yellow]warning:[/] {escape(str(problem))}")
    if len(problems) > len(shown):
        console.print(f"  … and {len(problems) - len(shown)} more (-v shows all)")


@cli.group("knowledge")
def knowledge_group() -> None:
    """The knowledge store: curated rules, advisories and observations."""


@knowledge_group.command("validate")
@click.argument("path", required=False, default="knowledge", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def knowledge_validate(path: Path, as_json: bool) -> None:
    """Check knowledge files; list every problem.

    PATH is a knowledge folder (default ./knowledge) or one file. Every problem is printed
    as FILE:LINE: FIELD: MESSAGE. Exit 0 when clean, 1 when there are problems."""
    from advisor.api.knowledge import validate
    from advisor.report.knowledge import problems_json

    problems = validate(path)
    if as_json:
        click.echo(json.dumps(problems_json(problems), indent=2))
    else:
        for problem in problems:
            click.echo(str(problem))
        noun = "problem" if len(problems) == 1 else "problems"
        click.echo(f"{path}: {len(problems) or 'no'} {noun}", err=True)
    if problems:
        # not click's Exit: main() runs click with standalone_mode=False, which returns
        # Exit's code instead of exiting with it
        sys.exit(1)


@knowledge_group.command("sync")
@click.argument("path", required=False, default="knowledge", type=click.Path(path_type=Path))
@knowledge_store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-v", "--verbose", is_flag=True, help="Show every problem.")
def knowledge_sync(path: Path, knowledge_url: str | None, as_json: bool, verbose: bool) -> None:
    """Load a knowledge folder into the store.

    PATH defaults to ./knowledge. A no-op when the folder has not changed since the last
    clean sync; otherwise changed files replace their facts and removed files' facts go."""
    from advisor.api.knowledge import sync
    from advisor.report.knowledge import sync_json, sync_line

    report = sync(path, store_url=knowledge_url, environ=os.environ)
    if as_json:
        click.echo(json.dumps(sync_json(report), indent=2))
        return
    from rich.text import Text

    if not report.skipped:
        _warn_problems(report.problems, verbose=verbose)
    stderr().print(Text(sync_line(report, path)))


@knowledge_group.command("import-osv")
@click.argument("source", required=False, type=click.Path(path_type=Path))
@click.option("--api", "api_url", metavar="URL", help="An OSV-compatible API to query.")
@click.option(
    "--package",
    "packages",
    multiple=True,
    metavar="NAME[==VERSION]",
    help="With --api: a package to ask about (repeatable).",
)
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --api: ask about every package of this pylock.toml.",
)
@knowledge_store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-v", "--verbose", is_flag=True, help="Show every problem.")
def knowledge_import_osv(
    source: Path | None,
    api_url: str | None,
    packages: tuple[str, ...],
    lock_path: Path | None,
    knowledge_url: str | None,
    as_json: bool,
    verbose: bool,
) -> None:
    """Import OSV advisories (dump, folder, API).

    SOURCE is an OSV dump zip or a folder of OSV JSON/YAML files; or query an
    OSV-compatible API (--api URL) about some packages (--package, --lock)."""
    from advisor.api.knowledge import OsvQuery, import_osv
    from advisor.report.knowledge import import_json, import_line

    if (source is None) == (api_url is None):
        raise click.UsageError("give either SOURCE (a zip or folder) or --api URL")
    if source is not None and (packages or lock_path):
        raise click.UsageError("--package and --lock go with --api")
    if api_url is not None and not (packages or lock_path):
        raise click.UsageError("--api needs --package NAME[==VERSION] or --lock FILE")
    query = OsvQuery(specs=packages, lock=lock_path)
    outcome = import_osv(api_url or source or Path(), store_url=knowledge_url, query=query,
                         environ=os.environ)  # fmt: skip
    if as_json:
        click.echo(json.dumps(import_json(outcome), indent=2))
        return
    _warn_problems(outcome.report.problems, verbose=verbose)
    from rich.text import Text

    stderr().print(Text(import_line(outcome)))


_source_option = click.option(
    "--source",
    metavar="PATTERN",
    help="Only facts whose provenance source matches (a name or a pattern: 'image-build:*').",
)
_recorder_option = click.option(
    "--recorder", metavar="ID", help="Only observations this recorder (a machine's id) made."
)


@knowledge_group.command("show")
@click.argument("spec", metavar="NAME[==VERSION]")
@knowledge_store_option
@_source_option
@_recorder_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@server_option
def knowledge_show(
    spec: str,
    knowledge_url: str | None,
    source: str | None,
    recorder: str | None,
    as_json: bool,
    server: str | None,
) -> None:
    """What is known about a package, per kind.

    With ==VERSION, what applies to that version is marked."""
    from advisor.api.knowledge import show
    from advisor.report.knowledge import facts_summary, facts_table

    known = show(spec, store_url=knowledge_url, source=source, recorder=recorder,
                 environ=os.environ, server=server)  # fmt: skip
    if as_json:
        click.echo(json.dumps(known.to_dict(), indent=2, sort_keys=True))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    console.print(Text(facts_summary(known)))
    for kind in dict.fromkeys(f.kind for f in known.facts):
        console.print(
            facts_table(kind, known.of_kind(kind), name=known.name, version=known.version)
        )


@knowledge_group.command("index-facts")
@click.argument("names", nargs=-1, required=True)
@resolve_options
@knowledge_store_option
def knowledge_index_facts(names: tuple[str, ...], knowledge_url: str | None, **kw: object) -> None:
    """Store what the index says about NAMES: upload times, yanks, wheel coverage per target."""
    from advisor.api.lock_facts import index_facts
    from advisor.report.knowledge import index_facts_json, index_facts_line

    as_json = bool(pop_value(kw, "as_json", bool))
    verbose, quiet = pop_value(kw, "verbose", int) or 0, bool(pop_value(kw, "quiet", bool))
    setup_logging(verbose, quiet)
    outcome = index_facts(
        list(names),
        store_url=knowledge_url,
        opts=resolve_opts(kw),
        environ=os.environ,
        cwd=Path.cwd(),
    )
    if as_json:
        click.echo(json.dumps(index_facts_json(outcome), indent=2))
    elif not quiet:
        click.echo(index_facts_line(outcome), err=True)


@knowledge_group.command("stats")
@knowledge_store_option
@_source_option
@_recorder_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def knowledge_stats(
    knowledge_url: str | None, source: str | None, recorder: str | None, as_json: bool
) -> None:
    """Counts per kind, per source and per recorder (this machine's id is marked)."""
    from advisor.api.knowledge import stats
    from advisor.report.knowledge import stats_json, stats_tables, stats_title

    found = stats(knowledge_url, source=source, recorder=recorder, environ=os.environ)
    if as_json:
        click.echo(json.dumps(stats_json(found, source=source, recorder=recorder), indent=2))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    console.print(Text(stats_title(found, source=source, recorder=recorder)))
    for table in stats_tables(found):
        console.print(table)


@knowledge_group.command("graph")
@click.argument("lock", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["dot", "graphml", "json"]),
    default="dot",
    show_default=True,
    help="Graphviz DOT, GraphML or node-link JSON.",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write here ('-': stdout, default)."
)
@knowledge_store_option
def knowledge_graph(lock: Path, fmt: str, output: Path | None, knowledge_url: str | None) -> None:
    """Export a lock's stack as a graph.

    LOCK is a pylock.toml; what the store knows about each locked version is attached."""
    from advisor.api.lock_facts import ExportFormat, export_lock_graph

    to_stdout = output is None or str(output) == "-"
    text = export_lock_graph(
        lock,
        store_url=knowledge_url,
        fmt=ExportFormat(fmt),
        environ=os.environ,
        output=None if to_stdout else output,
    )
    if to_stdout:
        click.echo(text, nl=False)
        return
    from rich.text import Text

    stderr().print(Text(f"Wrote the graph of {lock} to {output}"))
