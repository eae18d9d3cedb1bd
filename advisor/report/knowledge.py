"""The knowledge jobs' outcomes as JSON and as text: ``advisor knowledge validate``, ``sync``,
``import-osv``, ``update``, ``show``, ``index-facts`` and ``stats``.

The report layer's end of the knowledge jobs (:mod:`advisor.knowledge` decides, the API
composes, this renders; the CLI prints): pure and deterministic, the same outcome gives the
same JSON object (builtins only, for ``json.dumps``) and the same lines. The rows of
``knowledge show``'s tables are :mod:`advisor.report.facts`'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.report.facts import FACT_COLUMNS, KIND_WORDS, fact_cells

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.table import Table

    from advisor.knowledge.package_facts import KnownFact, PackageKnowledge
    from advisor.knowledge.sources import Problem
    from advisor.knowledge.sources.index_facts import IndexFactsOutcome
    from advisor.knowledge.sources.osv_store import ImportOutcome, UpdateOutcome
    from advisor.knowledge.store import StoreStats
    from advisor.knowledge.sync import SyncReport

__all__ = [
    "facts_summary",
    "facts_table",
    "import_json",
    "import_line",
    "index_facts_json",
    "index_facts_line",
    "problems_json",
    "stats_json",
    "stats_tables",
    "stats_title",
    "sync_json",
    "sync_line",
    "update_json",
]


def problems_json(problems: Sequence[Problem]) -> list[dict[str, object]]:
    """``knowledge validate --json``: each problem's file, line, field and message."""
    return [
        {"file": p.file, "line": p.line, "field": p.field, "message": p.message} for p in problems
    ]


def sync_json(report: SyncReport) -> dict[str, object]:
    """``knowledge sync --json`` (the store without its credentials)."""
    return {
        "folder": report.folder,
        "store": report.shown_store,
        "digest": report.digest,
        "skipped": report.skipped,
        "files": report.files,
        "changed": list(report.changed),
        "removed": list(report.removed),
        "added": report.added,
        "replaced": report.replaced,
        "unchanged": report.unchanged,
        "deleted": report.deleted,
        "problems": problems_json(report.problems),
    }


def sync_line(report: SyncReport, folder: object) -> str:
    """The line ``knowledge sync`` prints for ``folder`` (as the user named it)."""
    if report.skipped:
        return f"{folder}: unchanged since the last sync (nothing to do)"
    return (
        f"Synced {folder} into {report.shown_store}: {report.files} files, "
        f"{len(report.changed)} written, {len(report.removed)} removed; "
        f"{report.added} added, {report.replaced} replaced, {report.deleted} deleted"
        + (f"; {len(report.problems)} problems" if report.problems else "")
    )


def import_json(outcome: ImportOutcome) -> dict[str, object]:
    """``knowledge import-osv --json``."""
    report = outcome.report
    return {
        "source": outcome.source,
        "store": outcome.shown_store,
        "records": report.records,
        "advisories": len(report.advisories),
        "withdrawn": report.withdrawn,
        "skipped-git-ranges": report.skipped_git,
        "other-ecosystems": report.foreign,
        "added": outcome.added,
        "replaced": outcome.replaced,
        "unchanged": outcome.unchanged,
        "removed": outcome.removed,
        "problems": problems_json(report.problems),
    }


def import_line(outcome: ImportOutcome) -> str:
    """The line ``knowledge import-osv`` prints: what was read, and what the store did."""
    report = outcome.report
    notes = [
        f"{len(report.problems)} problems" if report.problems else "",
        f"{report.withdrawn} withdrawn" if report.withdrawn else "",
        f"{report.skipped_git} GIT ranges skipped" if report.skipped_git else "",
    ]
    note = "; ".join(n for n in notes if n)
    return (
        f"Imported {len(report.advisories)} advisories from {outcome.source} "
        f"({report.records} records{'; ' + note if note else ''}) into {outcome.shown_store}: "
        f"{outcome.added} added, {outcome.replaced} replaced, {outcome.unchanged} unchanged, "
        f"{outcome.removed} removed"
    )


def update_json(outcome: UpdateOutcome) -> dict[str, object]:
    """``knowledge update --json``."""
    report = outcome.report
    return {
        "url": outcome.url,
        "store": outcome.shown_store,
        "changed": outcome.changed,
        "advisories": outcome.advisories,
        "as-of": outcome.as_of.isoformat() if outcome.as_of else None,
        "size": outcome.size,
        "records": report.records if report else 0,
        "added": outcome.added,
        "replaced": outcome.replaced,
        "unchanged": outcome.unchanged,
        "removed": outcome.removed,
        "problems": problems_json(report.problems if report else ()),
    }


def facts_summary(known: PackageKnowledge) -> str:
    """``knowledge show``'s first line: the count of each kind, and with a version how many
    apply to it (``Nothing known about …`` when the store knows nothing)."""
    name, version = known.name, known.version
    title = f"{name} {version}" if version else name
    if not known.facts:
        return f"Nothing known about {title}."
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
    return f"{title}: {', '.join(parts)}"


def facts_table(kind: str, facts: Sequence[KnownFact], *, name: str, version: str | None) -> Table:
    """``knowledge show``'s table of one kind (with a version, whether each fact applies)."""
    from rich.table import Table

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


def index_facts_json(outcome: IndexFactsOutcome) -> dict[str, object]:
    """``knowledge index-facts --json``."""
    return {
        "packages": list(outcome.packages),
        "facts": outcome.facts,
        "added": outcome.added,
        "replaced": outcome.replaced,
        "unchanged": outcome.unchanged,
    }


def index_facts_line(outcome: IndexFactsOutcome) -> str:
    """The line ``knowledge index-facts`` prints."""
    return (
        f"{outcome.facts} release facts for {', '.join(outcome.packages) or 'nothing'}: "
        f"{outcome.added} added, {outcome.replaced} replaced, {outcome.unchanged} unchanged "
        f"({outcome.shown_store})"
    )


def stats_json(found: StoreStats, *, source: str | None, recorder: str | None) -> dict[str, object]:
    """``knowledge stats --json`` (``source``/``recorder``: the filter it was asked with)."""
    return {
        "store": found.url,
        "schema-version": found.schema_version,
        "total": found.total,
        "kinds": {k.kind: {"count": k.count, "newest": k.newest} for k in found.kinds},
        "sources": {s.source: s.count for s in found.sources},
        "recorders": {r.recorder: r.count for r in found.recorders},
        "this-recorder": found.this_recorder,
        "filter": {"source": source, "recorder": recorder},
    }


def stats_title(found: StoreStats, *, source: str | None, recorder: str | None) -> str:
    """``knowledge stats``' first line: the store, its schema, how many observations (of the
    filter it was asked with)."""
    selected = " and ".join(
        f"{what} {value}" for what, value in (("source", source), ("recorder", recorder)) if value
    )
    return f"{found.url} (schema {found.schema_version}): {found.total} observations" + (
        f" of {selected}" if selected else ""
    )


def stats_tables(found: StoreStats) -> list[Table]:
    """``knowledge stats``' tables: per kind, per source (when any), per recorder (when any
    is attributed; this machine's marked)."""
    from rich.table import Table

    kinds = Table(show_edge=False, pad_edge=False)
    for column in ("kind", "count", "newest"):
        kinds.add_column(column, justify="right" if column == "count" else "left")
    for k in found.kinds:
        kinds.add_row(k.kind, str(k.count), k.newest or "")
    tables = [kinds]
    if found.sources:
        sources = Table(show_edge=False, pad_edge=False)
        sources.add_column("source", overflow="fold")
        sources.add_column("count", justify="right")
        for s in found.sources:
            sources.add_row(s.source, str(s.count))
        tables.append(sources)
    mine = found.this_recorder
    if any(r.recorder for r in found.recorders):
        recorders = Table(show_edge=False, pad_edge=False)
        recorders.add_column("recorder")
        recorders.add_column("count", justify="right")
        for r in found.recorders:
            who = r.recorder or "(unattributed)"
            recorders.add_row(who + (" (this machine)" if mine and r.recorder == mine else ""),
                              str(r.count))  # fmt: skip
        tables.append(recorders)
    return tables
