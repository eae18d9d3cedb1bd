"""Versioned, forward-only schema migrations for the knowledge stores.

Sits under the SQLite and PostgreSQL stores: each store opens a write transaction, takes its
database's write lock, and calls :func:`migrate`, which reads ``schema_version`` and applies
the missing steps in order. Everything happens in the caller's one transaction, so a failing
step leaves the store exactly as it was (never half-migrated); the caller rolls back.

A step's SQL is shared by both dialects where the SQL allows it: ``{ordered_text}`` stands
for a text type that sorts by code point in both (PostgreSQL's default collation may follow
the server's locale; SQLite's is binary), so reads come back in the same order from either
store. ``only`` adds statements for one dialect. Steps are never edited once released: a
change is a new step.

Every step is safe to run on a schema that already has what it makes (``CREATE … IF NOT
EXISTS``; :class:`AddColumn`, which neither dialect's ``ALTER TABLE`` can make conditional
in the same words, skips a column that exists). A store whose recorded version is behind its
real schema, as a development branch or an interrupted tool may leave one, therefore opens
like any older store: the steps it lacks on record run again, change nothing that is there,
and are recorded. (The released steps were rewritten once to this form; the schema they make
is unchanged.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "MIGRATIONS",
    "AddColumn",
    "Dialect",
    "Migration",
    "MigrationTarget",
    "SchemaTooNew",
    "Statement",
    "current_version",
    "latest_version",
    "migrate",
]

Dialect = Literal["sqlite", "postgres"]

_WORDS: Mapping[str, Mapping[str, str]] = {
    "sqlite": {"ordered_text": "TEXT"},
    "postgres": {"ordered_text": 'TEXT COLLATE "C"'},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AddColumn:
    """``ALTER TABLE {table} ADD COLUMN {column} {definition}``, skipped when ``table``
    already has ``column`` (SQLite has no ``ADD COLUMN IF NOT EXISTS``). ``definition`` may
    use the ``{ordered_text}`` words."""

    table: str
    column: str
    definition: str

    def sql(self, dialect: Dialect) -> str:
        definition = self.definition.format_map(_WORDS[dialect])
        return f"ALTER TABLE {self.table} ADD COLUMN {self.column} {definition}"


Statement = str | AddColumn


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    """One schema step: ``version`` (1, 2, …), a description, the shared ``statements``
    (SQL with ``{ordered_text}`` words filled in per dialect, or :class:`AddColumn`) and
    per-dialect extra ``only[dialect]`` statements (run after the shared ones). Each
    statement should be safe to run again on a schema that has what it makes (see the
    module docstring)."""

    version: int
    description: str
    statements: tuple[Statement, ...] = ()
    only: Mapping[str, tuple[Statement, ...]] = field(default_factory=dict)

    def sql(self, dialect: Dialect) -> tuple[Statement, ...]:
        words = _WORDS[dialect]
        shared = tuple(s.format_map(words) if isinstance(s, str) else s for s in self.statements)
        return shared + tuple(self.only.get(dialect, ()))


class MigrationTarget(Protocol):
    """A connection inside an open write transaction, as the runner needs it.

    ``execute`` runs one statement with ``?`` placeholders (the target translates them to
    its driver's style) and returns the rows it produced (empty for DDL).
    """

    @property
    def dialect(self) -> Dialect: ...

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    def table_exists(self, name: str) -> bool: ...


class SchemaTooNew(Exception):
    """The store was written by a newer advisor (its schema version is unknown here)."""

    def __init__(self, found: int, supported: int) -> None:
        super().__init__(
            f"schema version {found} is newer than this advisor supports ({supported}); "
            "upgrade the advisor"
        )
        self.found = found
        self.supported = supported


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="observations, their packages, and meta",
        statements=(
            "CREATE TABLE IF NOT EXISTS observations ("
            " key {ordered_text} PRIMARY KEY,"
            " kind TEXT NOT NULL,"
            " source TEXT NOT NULL,"
            " date TEXT NOT NULL,"
            " payload TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS observations_kind ON observations (kind, key)",
            "CREATE INDEX IF NOT EXISTS observations_source ON observations (source)",
            "CREATE TABLE IF NOT EXISTS observation_packages ("
            " package {ordered_text} NOT NULL,"
            " key {ordered_text} NOT NULL REFERENCES observations (key) ON DELETE CASCADE,"
            " PRIMARY KEY (package, key))",
            # the primary key indexes lookups by package; this one serves deletes by key
            "CREATE INDEX IF NOT EXISTS observation_packages_key ON observation_packages (key)",
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ),
    ),
    Migration(
        version=2,
        description="the server's access tokens (sha256 digests of their secrets)",
        statements=(
            # a revoked token keeps its row, so its name (the provenance of what it
            # uploaded) is never given to another holder
            "CREATE TABLE IF NOT EXISTS tokens ("
            " name {ordered_text} PRIMARY KEY,"
            " scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),"
            " digest TEXT NOT NULL UNIQUE,"
            " created TEXT NOT NULL,"
            " revoked TEXT)",
        ),
    ),
    Migration(
        version=3,
        # no backfill: an advisor without this step drops a recorder it reads, so no row
        # stored before it names one
        description="who recorded each observation (the provenance's recorder)",
        statements=(
            AddColumn(
                table="observations",
                column="recorder",
                definition="{ordered_text} NOT NULL DEFAULT ''",
            ),
            "CREATE INDEX IF NOT EXISTS observations_recorder ON observations (recorder)",
        ),
    ),
    Migration(
        version=4,
        # no table changes: rows of the new kind live in ``observations`` like the others,
        # but an advisor without this step cannot decode them and counts kinds it does not
        # know with a KeyError; the version bump makes it refuse the store ("upgrade the
        # advisor") instead
        description="compatibility observations (pairs of releases seen working or failing)",
        statements=(),
    ),
    Migration(
        version=5,
        description="indexes: each kind by date (newest first), and the stats' counts",
        # the stats' grouped count reads this index alone (SQLite: a covering index scan)
        # instead of every row, whose payload comes before the recorder column
        statements=(
            "CREATE INDEX IF NOT EXISTS observations_counts"
            " ON observations (kind, source, recorder, date)",
        ),
        # the dashboard's "newest N of a kind": an ordered read of N index entries instead
        # of decoding every row of the kind; PostgreSQL's date is ordered by code point as
        # the query orders it (its default collation may follow the server's locale)
        only={
            "sqlite": (
                "CREATE INDEX IF NOT EXISTS observations_kind_date"
                " ON observations (kind, date, key)",
            ),
            "postgres": (
                "CREATE INDEX IF NOT EXISTS observations_kind_date"
                ' ON observations (kind, date COLLATE "C", key)',
            ),
        },
    ),
)


def latest_version(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    return max((m.version for m in migrations), default=0)


def current_version(target: MigrationTarget) -> int:
    """The highest applied step, 0 for an empty database."""
    if not target.table_exists("schema_version"):
        return 0
    rows = target.execute("SELECT MAX(version) FROM schema_version")
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def migrate(target: MigrationTarget, *, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply every step newer than the store's version; returns the version reached.

    Must run inside the caller's write transaction (the caller commits, or rolls back on
    any exception). Raises :class:`SchemaTooNew` when the store is ahead of ``migrations``,
    ``ValueError`` when ``migrations`` is not numbered 1, 2, 3 … and whatever the driver
    raises for a failing statement.
    """
    ordered = sorted(migrations, key=lambda m: m.version)
    if [m.version for m in ordered] != list(range(1, len(ordered) + 1)):
        raise ValueError("migrations must be numbered 1, 2, 3 … without gaps")
    target.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    found = current_version(target)
    supported = latest_version(ordered)
    if found > supported:
        raise SchemaTooNew(found, supported)
    for step in ordered[found:]:
        for statement in step.sql(target.dialect):
            if isinstance(statement, str):
                target.execute(statement)
            elif not _has_column(target, statement.table, statement.column):
                target.execute(statement.sql(target.dialect))
        target.execute(
            "INSERT INTO schema_version (version, description) VALUES (?, ?)",
            (step.version, step.description),
        )
    return supported


def _has_column(target: MigrationTarget, table: str, column: str) -> bool:
    """Whether ``table`` (in the schema the connection resolves names in) has ``column``."""
    if target.dialect == "sqlite":
        query = "SELECT 1 FROM pragma_table_info(?) WHERE name = ?"
    else:
        # current_schema(): the first schema of the search_path, where the steps made it
        query = (
            "SELECT 1 FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?"
        )
    return bool(target.execute(query, (table, column)))
