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

    from rich.table import Table

    from advisor.api.knowledge import KnownFact, Problem

_MAX_SHOWN_PROBLEMS = 20


def _problem_dict(problem: Problem) -> dict[str, object]:
    return {
        "file": problem.file,
        "line": problem.line,
        "field": problem.field,
        "message": problem.message,
    }


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

    problems = validate(path)
    if as_json:
        click.echo(json.dumps([_problem_dict(p) for p in problems], indent=2))
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

    report = sync(path, store_url=knowledge_url, environ=os.environ)
    url = report.shown_store
    if as_json:
        payload = {
            "folder": report.folder,
            "store": url,
            "digest": report.digest,
            "skipped": report.skipped,
            "files": report.files,
            "changed": list(report.changed),
            "removed": list(report.removed),
            "added": report.added,
            "replaced": report.replaced,
            "unchanged": report.unchanged,
            "deleted": report.deleted,
            "problems": [_problem_dict(p) for p in report.problems],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    from rich.text import Text

    console = stderr()
    if report.skipped:
        console.print(Text(f"{path}: unchanged since the last sync (nothing to do)"))
        return
    _warn_problems(report.problems, verbose=verbose)
    console.print(
        Text(
            f"Synced {path} into {url}: {report.files} files, "
            f"{len(report.changed)} written, {len(report.removed)} removed; "
            f"{report.added} added, {report.replaced} replaced, {report.deleted} deleted"
            + (f"; {len(report.problems)} problems" if report.problems else "")
        )
    )


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
    from advisor.api.knowledge import import_osv

    if (source is None) == (api_url is None):
        raise click.UsageError("give either SOURCE (a zip or folder) or --api URL")
    if source is not None and (packages or lock_path):
        raise click.UsageError("--package and --lock go with --api")
    if api_url is not None and not (packages or lock_path):
        raise click.UsageError("--api needs --package NAME[==VERSION] or --lock FILE")
    outcome = import_osv(
        api_url or source or Path(),
        store_url=knowledge_url,
        specs=packages,
        lock=lock_path,
        environ=os.environ,
    )
    report, url = outcome.report, outcome.shown_store
    if as_json:
        payload = {
            "source": outcome.source,
            "store": url,
            "records": report.records,
            "advisories": len(report.advisories),
            "withdrawn": report.withdrawn,
            "skipped-git-ranges": report.skipped_git,
            "other-ecosystems": report.foreign,
            "added": outcome.added,
            "replaced": outcome.replaced,
            "unchanged": outcome.unchanged,
            "removed": outcome.removed,
            "problems": [_problem_dict(p) for p in report.problems],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    _warn_problems(report.problems, verbose=verbose)
    notes = [
        f"{len(report.problems)} problems" if report.problems else "",
        f"{report.withdrawn} withdrawn" if report.withdrawn else "",
        f"{report.skipped_git} GIT ranges skipped" if report.skipped_git else "",
    ]
    note = "; ".join(n for n in notes if n)
    from rich.text import Text

    stderr().print(
        Text(
            f"Imported {len(report.advisories)} advisories from {outcome.source} "
            f"({report.records} records{'; ' + note if note else ''}) into {url}: "
            f"{outcome.added} added, {outcome.replaced} replaced, {outcome.unchanged} unchanged, "
            f"{outcome.removed} removed"
        )
    )


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

    known = show(
        spec,
        store_url=knowledge_url,
        source=source,
        recorder=recorder,
        environ=os.environ,
        server=server,
    )
    name, version = known.name, known.version
    if as_json:
        click.echo(json.dumps(known.to_dict(), indent=2, sort_keys=True))
        return
    from rich.console import Console
    from rich.text import Text

    from advisor.report.facts import KIND_WORDS

    console = Console(highlight=False, soft_wrap=True)
    title = f"{name} {version}" if version else name
    if not known.facts:
        console.print(Text(f"Nothing known about {title}."))
        return
    parts = []
    for kind in dict.fromkeys(f.kind for f in known.facts):
        facts = known.of_kind(kind)
        one, many = KIND_WORDS.get(kind, (kind, kind))
        part = f"{len(facts)} {one if len(facts) == 1 else many}"
        if version is not None:
            hits = sum(1 for f in facts if f.applies)
            if kind == "advisory":
                verb = "affects" if hits == 1 else "affect"
            else:
                verb = ("applies" if hits == 1 else "apply") + " to"
            part += f" ({hits} {verb} {version})"
        parts.append(part)
    console.print(Text(f"{title}: {', '.join(parts)}"))
    for kind in dict.fromkeys(f.kind for f in known.facts):
        console.print(_facts_table(kind, known.of_kind(kind), name=name, version=version))


def _facts_table(kind: str, facts: Sequence[KnownFact], *, name: str, version: str | None) -> Table:
    from rich.table import Table

    from advisor.report.facts import FACT_COLUMNS, fact_cells

    columns = FACT_COLUMNS.get(kind, ("key", "", "", ""))
    table = Table(title=kind, title_justify="left", show_edge=False, pad_edge=False)
    if version is not None:
        table.add_column("affects" if kind == "advisory" else "applies")
    for column in columns:
        table.add_column(column, overflow="fold")
    for fact in facts:
        mark = {True: "yes", False: "no", None: "-"}[fact.applies]
        row = fact_cells(fact.observation, name=name)
        table.add_row(*([mark] if version is not None else []), *row)
    return table


@knowledge_group.command("index-facts")
@click.argument("names", nargs=-1, required=True)
@resolve_options
@knowledge_store_option
def knowledge_index_facts(names: tuple[str, ...], knowledge_url: str | None, **kw: object) -> None:
    """Store what the index says about NAMES: upload times, yanks, wheel coverage per target."""
    from advisor.api.lock_facts import index_facts

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
        click.echo(
            json.dumps(
                {
                    "packages": list(outcome.packages),
                    "facts": outcome.facts,
                    "added": outcome.added,
                    "replaced": outcome.replaced,
                    "unchanged": outcome.unchanged,
                },
                indent=2,
            )
        )
    elif not quiet:
        click.echo(
            f"{outcome.facts} release facts for {', '.join(outcome.packages) or 'nothing'}: "
            f"{outcome.added} added, {outcome.replaced} replaced, {outcome.unchanged} unchanged "
            f"({outcome.shown_store})",
            err=True,
        )


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

    found = stats(knowledge_url, source=source, recorder=recorder, environ=os.environ)
    mine = found.this_recorder
    if as_json:
        payload = {
            "store": found.url,
            "schema-version": found.schema_version,
            "total": found.total,
            "kinds": {k.kind: {"count": k.count, "newest": k.newest} for k in found.kinds},
            "sources": {s.source: s.count for s in found.sources},
            "recorders": {r.recorder: r.count for r in found.recorders},
            "this-recorder": mine,
            "filter": {"source": source, "recorder": recorder},
        }
        click.echo(json.dumps(payload, indent=2))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    selected = " and ".join(
        f"{what} {value}" for what, value in (("source", source), ("recorder", recorder)) if value
    )
    console.print(
        Text(
            f"{found.url} (schema {found.schema_version}): {found.total} observations"
            + (f" of {selected}" if selected else "")
        )
    )
    kinds = Table(show_edge=False, pad_edge=False)
    for column in ("kind", "count", "newest"):
        kinds.add_column(column, justify="right" if column == "count" else "left")
    for k in found.kinds:
        kinds.add_row(k.kind, str(k.count), k.newest or "")
    console.print(kinds)
    if found.sources:
        sources = Table(show_edge=False, pad_edge=False)
        sources.add_column("source", overflow="fold")
        sources.add_column("count", justify="right")
        for s in found.sources:
            sources.add_row(s.source, str(s.count))
        console.print(sources)
    if any(r.recorder for r in found.recorders):
        recorders = Table(show_edge=False, pad_edge=False)
        recorders.add_column("recorder")
        recorders.add_column("count", justify="right")
        for r in found.recorders:
            who = r.recorder or "(unattributed)"
            recorders.add_row(who + (" (this machine)" if mine and r.recorder == mine else ""),
                              str(r.count))  # fmt: skip
        console.print(recorders)


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
