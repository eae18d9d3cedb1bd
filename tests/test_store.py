"""The knowledge stores: one suite, run on SQLite and on a real PostgreSQL server.

Every test taking ``knowledge_store_url`` runs once per backend. Rows are corrupted and
schema versions forged through a separate raw connection (sqlite3 or psycopg), as another
program would, never by reaching into the store.
"""

from __future__ import annotations

import random
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from advisor.errors import InputError
from advisor.knowledge.migrations import MIGRATIONS, Migration, latest_version
from advisor.knowledge.schema import (
    Action,
    Advisory,
    Affected,
    BuildObservation,
    CoInstalled,
    EnvironmentFingerprint,
    EnvironmentPredicate,
    ImageRecipe,
    Match,
    PerformanceObservation,
    Prescription,
    Provenance,
    RangeEvent,
    Severity,
    VersionRange,
    observation_key,
)
from advisor.knowledge.store import (
    KnowledgeStore,
    KnowledgeStoreError,
    PutResult,
    default_store_url,
    open_store,
    sqlite_path,
)
from advisor.knowledge.store_rows import STATS_QUERY
from advisor.urls import redact_url

# Until tests/conftest.py imports these fixtures, they are imported here (hence the file-wide
# F811 waiver above: each test's parameter "redefines" the imported name). Drop both then.

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from advisor.knowledge.schema import Observation

ROOT = Path(__file__).resolve().parents[1]
OSV = Provenance(source="osv", date="2024-10-10", tool="test")


# -- helpers --------------------------------------------------------------------------------


def advisory(ident: str, *packages: str, summary: str = "", source: str = "osv") -> Advisory:
    return Advisory(
        id=ident,
        summary=summary or f"advisory {ident}",
        affected=tuple(
            Affected(
                package=p,
                ranges=(
                    VersionRange(
                        type="ECOSYSTEM",
                        events=(RangeEvent(introduced="0"), RangeEvent(fixed="2.0")),
                    ),
                ),
            )
            for p in packages
        ),
        provenance=Provenance(source=source, date="2024-10-10"),
    )


def every_kind() -> list[Observation]:
    """One observation of each kind, with every optional part filled in somewhere."""
    return [
        Advisory(
            id="PYSEC-2024-1",
            summary="Buffer overflow in the parser",
            aliases=("CVE-2024-0001", "GHSA-xxxx-yyyy-zzzz"),
            affected=(
                Affected(
                    package="numpy",
                    versions=("1.21.0", "1.21.1"),
                    ranges=(
                        VersionRange(
                            type="ECOSYSTEM",
                            events=(RangeEvent(introduced="1.0"), RangeEvent(fixed="1.22.0")),
                        ),
                        VersionRange(type="GIT", events=(RangeEvent(introduced="abc123"),)),
                    ),
                ),
            ),
            severity=(Severity(type="CVSS_V3", score="CVSS:3.1/AV:N/AC:L"),),
            published="2024-01-01T00:00:00Z",
            modified="2024-02-01T00:00:00Z",
            references=("https://example.org/advisory",),
            provenance=OSV,
        ),
        BuildObservation(
            package="h5py",
            version="3.11.0",
            environment=EnvironmentPredicate(python=">=3.13", os="linux", arch="aarch64"),
            outcome="needs-build",
            failure_class="missing-headers",
            duration=41.5,
            log_excerpt="fatal error: hdf5.h: No such file or directory\ttab\\backslash",
            provenance=Provenance(source="observe", date="2024-11-02", tool="advisor 0.1"),
        ),
        PerformanceObservation(
            package="numpy",
            version="2.1.0",
            probe="matmul-1k",
            metric="time",
            value=0.0123,
            unit="s",
            spread=0.0004,
            repeats=20,
            environment=EnvironmentFingerprint(
                python="3.12.7",
                platform="manylinux_2_17_x86_64",
                cpu_model="Test CPU",
                cpu_features=("avx2", "fma"),
                cores=8,
            ),
            provenance=Provenance(source="observe", date="2024-11-03"),
        ),
        Prescription(
            id="pandas-numpy2-abi",
            summary="pandas < 2.2.2 was built against NumPy 1 and fails with NumPy 2",
            link="https://example.org/release-notes",
            quote="pandas 2.2.2 is the first release compatible with NumPy 2.0",
            match=Match(
                package="pandas",
                specifier="<2.2.2",
                co_installed=(CoInstalled(package="NumPy", specifier=">=2"),),
                environment=EnvironmentPredicate(recommendation_types=("stable",)),
            ),
            action=Action(kind="filter", message="pandas < 2.2.2 breaks with NumPy 2"),
            env_advice={"OMP_NUM_THREADS": "1"},
            provenance=Provenance(source="knowledge/prescriptions/numpy.yaml", date="2024-06-16"),
        ),
        ImageRecipe(
            name="ds-cpu",
            summary="data science on CPU",
            base_image="registry.example/library/python:3.12-slim",
            python="3.12",
            platform="manylinux_2_36_x86_64",
            system_packages=("libgomp1",),
            requirements=("numpy", "pandas"),
            env={"PYTHONDONTWRITEBYTECODE": "1"},
            labels={"org.opencontainers.image.title": "ds-cpu"},
            provenance=Provenance(source="knowledge/images/ds-cpu.toml", date="2024-09-01"),
        ),
    ]


def keys(observations: Sequence[Observation]) -> list[str]:
    return [observation_key(o) for o in observations]


def raw(url: str, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
    """Run ``sql`` (``?`` placeholders) on a connection of its own, as another program."""
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(sqlite_path(url))
        try:
            with conn:
                return conn.execute(sql, tuple(params)).fetchall()
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        cur = pg.execute(sql.replace("?", "%s"), tuple(params) or None)
        return cur.fetchall() if cur.description else []


def tables(url: str) -> set[str]:
    if url.startswith("sqlite:"):
        rows = raw(url, "SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = raw(
            url,
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema()",
        )
    return {str(name) for (name,) in rows}


def open_with(url: str, migrations: Sequence[Migration]) -> KnowledgeStore:
    """A store of the URL's kind, migrated with ``migrations`` instead of the real ones."""
    if url.startswith("sqlite:"):
        from advisor.knowledge.sqlite_store import SQLiteStore

        return SQLiteStore(sqlite_path(url), migrations=migrations)
    from advisor.knowledge.postgres_store import PostgresStore

    return PostgresStore(url, migrations=migrations)


@pytest.fixture
def store(knowledge_store_url: str) -> Iterator[KnowledgeStore]:
    with open_store(knowledge_store_url) as opened:
        yield opened


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- round trips ----------------------------------------------------------------------------


def test_every_kind_round_trips(store: KnowledgeStore) -> None:
    facts = every_kind()
    assert store.put(facts) == PutResult(added=5)
    for fact in facts:
        assert store.get(observation_key(fact)) == fact
    for fact in facts:
        kind = type(fact).__struct_config__.tag
        assert list(store.iter_kind(str(kind))) == [fact]
    assert store.get("advisory:NOPE") is None
    # numpy: the advisory, the measurement, and the rule that needs numpy co-installed
    assert keys(store.for_package("numpy")) == sorted(keys([facts[0], facts[2], facts[3]]))
    assert store.for_package("h5py") == [facts[1]]
    assert store.problems == ()


def test_put_is_idempotent_and_counts(store: KnowledgeStore) -> None:
    facts = every_kind()
    assert store.put(facts) == PutResult(added=5)
    assert store.put(facts) == PutResult(unchanged=5)
    assert store.put(reversed(facts)) == PutResult(unchanged=5)
    assert store.stats().total == 5
    assert len(store.for_package("numpy")) == 3  # nothing duplicated in the package index

    changed = msgspec.structs.replace(facts[0], summary="now with a new summary")
    assert store.put([changed, facts[1]]) == PutResult(replaced=1, unchanged=1)
    assert store.get(observation_key(changed)) == changed
    assert len(store.for_package("numpy")) == 3
    # the same key twice in one batch: the last one wins, counted once
    again = msgspec.structs.replace(facts[0], summary="third")
    assert store.put([changed, again]) == PutResult(replaced=1)
    assert store.get(observation_key(again)) == again


def test_replace_source_removes_what_the_new_import_lacks(store: KnowledgeStore) -> None:
    kept = advisory("LOCAL-1", "numpy", source="local")
    store.put([advisory("A", "numpy"), advisory("B", "scipy"), kept])
    result = store.put(
        [advisory("B", "scipy", summary="changed"), advisory("C", "pandas")],
        replace_source="osv",
    )
    assert result == PutResult(added=1, replaced=1, removed=1)
    assert store.get("advisory:A") is None
    assert store.for_packages(["numpy", "scipy", "pandas"]) == {
        "numpy": [kept],
        "scipy": [advisory("B", "scipy", summary="changed")],
        "pandas": [advisory("C", "pandas")],
    }
    # the same import again changes nothing; an empty one removes the source
    same = [advisory("B", "scipy", summary="changed"), advisory("C", "pandas")]
    assert store.put(same, replace_source="osv") == PutResult(unchanged=2)
    assert store.put([], replace_source="osv") == PutResult(removed=2)
    assert [s.source for s in store.stats().sources] == ["local"]


def test_a_failing_input_writes_nothing(store: KnowledgeStore) -> None:
    def broken() -> Iterator[Observation]:
        yield advisory("A", "numpy")
        raise ValueError("bad record")

    with pytest.raises(ValueError, match="bad record"):
        store.put(broken())
    assert store.stats().total == 0


def test_delete_source(store: KnowledgeStore) -> None:
    store.put([advisory("A", "numpy"), advisory("B", "numpy"), *every_kind()[1:3]])
    assert store.delete_source("osv") == 2
    assert store.delete_source("osv") == 0
    assert keys(store.for_package("numpy")) == keys([every_kind()[2]])
    assert store.stats().total == 2


def test_random_operations_match_a_model(store: KnowledgeStore) -> None:
    """Seeded random puts, replacements and deletions agree with a dict, result by result."""
    rng = random.Random(20241010)
    packages = [f"pkg-{i}" for i in range(8)]
    model: dict[str, Advisory] = {}

    def random_advisory() -> Advisory:
        return advisory(
            f"R-{rng.randrange(25)}",
            *rng.sample(packages, rng.randint(1, 3)),
            summary=rng.choice(["x", "y"]),
            source=rng.choice(["a", "b", "c"]),
        )

    for _ in range(60):
        if rng.random() < 0.15:
            source = rng.choice(["a", "b", "c"])
            gone = [k for k, v in model.items() if v.provenance.source == source]
            assert store.delete_source(source) == len(gone)
            for key in gone:
                del model[key]
            continue
        batch = [random_advisory() for _ in range(rng.randint(0, 8))]
        replace = rng.choice([None, None, "a", "b", "c"])
        latest = {observation_key(a): a for a in batch}
        expected = PutResult(
            added=sum(k not in model for k in latest),
            replaced=sum(k in model and model[k] != a for k, a in latest.items()),
            unchanged=sum(model.get(k) == a for k, a in latest.items()),
            removed=sum(
                k not in latest and v.provenance.source == replace for k, v in model.items()
            ),
        )
        assert store.put(batch, replace_source=replace) == expected
        model = {k: v for k, v in model.items() if k in latest or v.provenance.source != replace}
        model.update(latest)
        found = store.for_packages(packages)
        for name in packages:
            wanted = sorted(
                (a for a in model.values() if name in {x.package for x in a.affected}),
                key=observation_key,
            )
            assert found[name] == wanted
    assert list(store.iter_kind("advisory")) == [model[k] for k in sorted(model)]


# -- lookups --------------------------------------------------------------------------------


def test_for_packages(store: KnowledgeStore) -> None:
    facts = every_kind()
    store.put([*facts, advisory("Z-1", "Pandas", "numpy")])
    found = store.for_packages(["pandas", "NumPy", "not_here", "numpy", "h5py"])
    assert list(found) == ["pandas", "numpy", "not-here", "h5py"]
    assert keys(found["pandas"]) == ["advisory:Z-1", "prescription:pandas-numpy2-abi"]
    assert keys(found["numpy"]) == sorted(
        ["advisory:PYSEC-2024-1", "advisory:Z-1", *keys(facts[2:4])]
    )
    assert found["not-here"] == []
    only = store.for_packages(["numpy", "pandas"], kinds=["advisory"])
    assert {name: keys(obs) for name, obs in only.items()} == {
        "numpy": ["advisory:PYSEC-2024-1", "advisory:Z-1"],
        "pandas": ["advisory:Z-1"],
    }
    assert keys(store.for_package("numpy", kinds={"performance", "build"})) == keys(facts[2:3])
    assert store.for_packages([]) == {}
    with pytest.raises(InputError, match="unknown observation kind"):
        store.for_packages(["numpy"], kinds=["advisories"])
    with pytest.raises(InputError, match="unknown observation kind"):
        list(store.iter_kind("rule"))


def test_bulk_import_and_paged_iteration(store: KnowledgeStore) -> None:
    """Thousands of rows at once (the OSV snapshot's size), read back page by page."""
    facts = [advisory(f"BULK-{i:05d}", f"pkg-{i % 300}", "common") for i in range(3000)]
    started = time.perf_counter()
    assert store.put(facts) == PutResult(added=3000)
    assert store.put(facts) == PutResult(unchanged=3000)
    assert time.perf_counter() - started < 30  # seconds, not minutes
    assert [a.id for a in store.iter_kind("advisory")] == [f.id for f in facts]
    found = store.for_packages([f"pkg-{i}" for i in range(150)])
    assert all(len(v) == 10 for v in found.values())
    assert len(store.for_package("common")) == 3000


def _build(n: int, *, date: str, package: str = "six") -> BuildObservation:
    return BuildObservation(
        package=package,
        version=f"1.{n}",
        outcome="ok",
        provenance=Provenance(source="observe", date=date, tool="stack-advisor 0.1"),
    )


def _model_newest(observations: Sequence[Observation]) -> list[str]:
    """Keys by provenance date, then key, newest first: what ``newest`` must answer."""
    ordered = sorted(observations, key=lambda o: (o.provenance.date, observation_key(o)))
    return [observation_key(o) for o in reversed(ordered)]


def test_newest_of_a_kind_by_date(store: KnowledgeStore, knowledge_store_url: str) -> None:
    """The newest N of a kind, in order, on both stores: ties on a date broken by key, dates
    with and without a time ordered by code point, other kinds left out; those about a
    package, or about none (a stack's build), when asked."""
    rng = random.Random(7)
    dates = ["2026-11-01", "2026-11-01T08:00:00Z", "2026-11-02", "2025-12-31", "2026-01-10"]
    builds = [_build(n, date=rng.choice(dates)) for n in range(1200)]
    stacks = [
        BuildObservation(
            image="datascience",
            stack_digest=f"{n:064x}",
            outcome="ok",
            provenance=Provenance(source="image-build:x", date=f"2020-01-0{1 + n % 5}"),
        )
        for n in range(7)
    ]
    store.put([*builds, *stacks, advisory("NEWEST-1", "six")])
    everything = [*builds, *stacks]
    assert keys(store.newest("build", 25)) == _model_newest(everything)[:25]
    assert keys(store.newest("build", 25, packaged=True)) == _model_newest(builds)[:25]
    assert store.newest("build", 0) == []
    assert [a.id for a in store.newest("advisory", 5)] == ["NEWEST-1"]  # type: ignore[attr-defined]
    # the stacks' builds are the oldest of all: found past every package's
    assert keys(store.newest("build", 5, packaged=False)) == _model_newest(stacks)[:5]
    assert keys(store.newest("build", 20, packaged=False)) == _model_newest(stacks)  # all 7
    with pytest.raises(InputError, match="unknown observation kind"):
        store.newest("rule", 3)
    # the newest-first read is an index's, not a sort of every row of the kind
    if knowledge_store_url.startswith("sqlite"):
        names = raw(knowledge_store_url, "SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        names = raw(knowledge_store_url, "SELECT indexname FROM pg_indexes")
    assert ("observations_kind_date",) in names


# -- stats, meta, schema --------------------------------------------------------------------


def test_stats(store: KnowledgeStore, knowledge_store_url: str) -> None:
    empty = store.stats()
    assert empty.total == 0
    assert [(k.kind, k.count, k.newest) for k in empty.kinds] == [
        ("advisory", 0, None),
        ("build", 0, None),
        ("compatibility", 0, None),
        ("image", 0, None),
        ("performance", 0, None),
        ("prescription", 0, None),
        ("release", 0, None),
    ]
    store.put([*every_kind(), advisory("OLD", "x"), advisory("NEW", "y")])
    stats = store.stats()
    assert stats.url == store.url == redact_url(knowledge_store_url)
    assert stats.schema_version == latest_version()
    assert {k.kind: (k.count, k.newest) for k in stats.kinds} == {
        "advisory": (3, "2024-10-10"),
        "build": (1, "2024-11-02"),
        "compatibility": (0, None),
        "image": (1, "2024-09-01"),
        "performance": (1, "2024-11-03"),
        "prescription": (1, "2024-06-16"),
        "release": (0, None),
    }
    assert [(s.source, s.count) for s in stats.sources] == [
        ("knowledge/images/ds-cpu.toml", 1),
        ("knowledge/prescriptions/numpy.yaml", 1),
        ("observe", 2),
        ("osv", 3),
    ]


def _six(recorder: str, *, date: str = "2026-11-01", log: str = "") -> BuildObservation:
    return BuildObservation(
        package="six",
        version="1.17.0",
        environment=EnvironmentPredicate(python="==3.11.*", os="linux"),
        outcome="failed",
        failure_class="import-error",
        log_excerpt=log or "ImportError: boom",
        provenance=Provenance(
            source="observe", date=date, tool="stack-advisor 0.1", recorder=recorder
        ),
    )


def test_stats_read_an_index_not_every_row(store: KnowledgeStore, knowledge_store_url: str) -> None:
    """The stats' grouped count is answered from an index of (kind, source, recorder, date):
    on SQLite a covering index scan, never the rows and their payloads."""
    store.put([advisory(f"COUNT-{i}", "six", summary="x" * 5000) for i in range(50)])
    if knowledge_store_url.startswith("sqlite"):
        steps = raw(knowledge_store_url, f"EXPLAIN QUERY PLAN {STATS_QUERY}")
        plan = " ".join(str(step[-1]) for step in steps)
        assert "COVERING INDEX observations_counts" in plan, plan
    else:
        names = raw(knowledge_store_url, "SELECT indexname FROM pg_indexes")
        assert ("observations_counts",) in names
    assert [(k.kind, k.count) for k in store.stats().kinds if k.count] == [("advisory", 50)]


def test_observations_keep_their_recorder(store: KnowledgeStore, knowledge_store_url: str) -> None:
    mine, theirs, again = _six("aaaa"), _six("bbbb"), _six("aaaa", date="2026-11-02")
    unattributed = _six("")
    # the same outcome on two machines is two observations; the same machine's is one
    assert len({observation_key(o) for o in (mine, theirs, again, unattributed)}) == 3
    # a record without a recorder keeps the key it had before recorders existed
    import hashlib

    body = msgspec.structs.replace(unattributed, provenance=Provenance(source="", date=""))
    encoded = msgspec.json.Encoder(order="deterministic").encode(body)
    assert observation_key(unattributed) == "build:" + hashlib.sha256(encoded).hexdigest()[:32]
    result = store.put([mine, theirs, unattributed])
    assert result.added == 3
    assert store.put([again]).replaced == 1
    assert sorted(o.provenance.recorder for o in store.for_package("six")) == ["", "aaaa", "bbbb"]
    assert store.get(observation_key(again)) == again
    column = raw(knowledge_store_url, "SELECT recorder FROM observations ORDER BY recorder")
    assert [r for (r,) in column] == ["", "aaaa", "bbbb"]


def test_stats_filter_by_source_and_recorder(store: KnowledgeStore) -> None:
    image = msgspec.structs.replace(
        _six("bbbb", log="other"),
        provenance=Provenance(source="image-build:buildah", date="2026-11-05", recorder="bbbb"),
    )
    store.put([*every_kind(), _six("aaaa"), _six("bbbb"), image])
    everything = store.stats()
    assert [(r.recorder, r.count) for r in everything.recorders] == [
        ("", 5),
        ("aaaa", 1),
        ("bbbb", 2),
    ]
    assert (everything.source, everything.recorder) == (None, None)
    by_source = store.stats(source="observe")
    assert {k.kind: k.count for k in by_source.kinds if k.count} == {"build": 3, "performance": 1}
    assert [(s.source, s.count) for s in by_source.sources] == [("observe", 4)]
    assert by_source.source == "observe"
    pattern = store.stats(source="image-build:*")
    assert (pattern.total, [r.recorder for r in pattern.recorders]) == (1, ["bbbb"])
    assert {k.kind: k.newest for k in pattern.kinds if k.count} == {"build": "2026-11-05"}
    curated = store.stats(source="knowledge/*")
    assert [(s.source, s.count) for s in curated.sources] == [
        ("knowledge/images/ds-cpu.toml", 1),
        ("knowledge/prescriptions/numpy.yaml", 1),
    ]
    by_recorder = store.stats(recorder="bbbb")
    assert [(s.source, s.count) for s in by_recorder.sources] == [
        ("image-build:buildah", 1),
        ("observe", 1),
    ]
    both = store.stats(source="observe", recorder="bbbb")
    assert both.total == 1 and both.recorder == "bbbb"
    assert store.stats(recorder="nobody").total == 0


def test_a_store_from_before_recorders_is_migrated(knowledge_store_url: str) -> None:
    first = (MIGRATIONS[0],)
    old = _six("")
    open_with(knowledge_store_url, first).close()
    assert raw(knowledge_store_url, "SELECT MAX(version) FROM schema_version") == [(1,)]
    # a row as an advisor of schema 1 wrote it (its put knows no recorder column)
    raw(
        knowledge_store_url,
        "INSERT INTO observations (key, kind, source, date, payload) VALUES (?, ?, ?, ?, ?)",
        (observation_key(old), "build", "observe", "2026-11-01", msgspec.json.encode(old).decode()),
    )
    raw(
        knowledge_store_url,
        "INSERT INTO observation_packages (package, key) VALUES (?, ?)",
        ("six", observation_key(old)),
    )
    with open_store(knowledge_store_url) as store:
        assert store.stats().schema_version == latest_version() >= 2
        assert store.for_package("six") == [old]
        assert [(r.recorder, r.count) for r in store.stats().recorders] == [("", 1)]
        store.put([_six("cccc")])
        assert store.stats(recorder="cccc").total == 1


def test_meta_persists(knowledge_store_url: str) -> None:
    with open_store(knowledge_store_url) as store:
        assert store.get_meta("knowledge-digest") is None
        store.set_meta("knowledge-digest", "abc")
        store.set_meta("knowledge-digest", "def")
        store.set_meta("other", "")
    with open_store(knowledge_store_url) as store:
        assert store.get_meta("knowledge-digest") == "def"
        assert store.get_meta("other") == ""


def test_migrations_are_idempotent(knowledge_store_url: str) -> None:
    for _ in range(3):
        with open_store(knowledge_store_url) as store:
            assert store.stats().schema_version == latest_version()
    versions = raw(knowledge_store_url, "SELECT version FROM schema_version ORDER BY version")
    assert [v for (v,) in versions] == [m.version for m in MIGRATIONS]


@pytest.mark.parametrize("recorded", range(latest_version()))
def test_a_store_recorded_behind_its_schema_opens(knowledge_store_url: str, recorded: int) -> None:
    # a development branch (or an older tool) left the schema ahead of its record: the
    # steps missing on record run again over tables, columns and indexes that exist
    with open_store(knowledge_store_url) as store:
        store.put([advisory("A", "numpy"), _six("bbbb")])
        before = tables(knowledge_store_url)
    raw(knowledge_store_url, "DELETE FROM schema_version WHERE version > ?", (recorded,))
    with open_store(knowledge_store_url) as store:
        assert store.stats().schema_version == latest_version()
        assert store.get("advisory:A") == advisory("A", "numpy")
        assert [(r.recorder, r.count) for r in store.stats().recorders] == [("", 1), ("bbbb", 1)]
    assert tables(knowledge_store_url) == before
    versions = raw(knowledge_store_url, "SELECT version FROM schema_version ORDER BY version")
    assert [v for (v,) in versions] == [m.version for m in MIGRATIONS]


def test_forward_migration_applies_only_new_steps(knowledge_store_url: str) -> None:
    with open_with(knowledge_store_url, MIGRATIONS) as store:
        store.put([advisory("A", "numpy")])
    step = Migration(
        version=len(MIGRATIONS) + 1,
        description="a test step",
        statements=("CREATE TABLE extra_step (value TEXT)",),
        only={"sqlite": ("INSERT INTO extra_step VALUES ('sqlite')",)},
    )
    with open_with(knowledge_store_url, (*MIGRATIONS, step)) as store:
        assert store.stats().schema_version == step.version
        assert store.get("advisory:A") == advisory("A", "numpy")
    with open_with(knowledge_store_url, (*MIGRATIONS, step)) as store:
        pass  # nothing left to apply
    rows = raw(knowledge_store_url, "SELECT value FROM extra_step")
    assert rows == ([("sqlite",)] if knowledge_store_url.startswith("sqlite") else [])


def test_failed_migration_leaves_nothing_half_done(knowledge_store_url: str) -> None:
    broken = Migration(
        version=len(MIGRATIONS) + 1,
        description="broken",
        statements=("CREATE TABLE half_done (value TEXT)", "THIS IS NOT SQL"),
    )
    with pytest.raises(KnowledgeStoreError, match=r"NOT SQL|syntax"):
        open_with(knowledge_store_url, (*MIGRATIONS, broken))
    assert tables(knowledge_store_url) == set()  # not even the first, valid steps
    with open_store(knowledge_store_url) as store:
        store.put([advisory("A", "numpy")])
    with pytest.raises(KnowledgeStoreError):
        open_with(knowledge_store_url, (*MIGRATIONS, broken))
    assert "half_done" not in tables(knowledge_store_url)
    with open_store(knowledge_store_url) as store:
        assert store.stats().schema_version == latest_version()
        assert store.get("advisory:A") is not None


def test_a_newer_schema_is_refused(knowledge_store_url: str) -> None:
    open_store(knowledge_store_url).close()
    raw(knowledge_store_url, "INSERT INTO schema_version (version, description) VALUES (99, 'x')")
    with pytest.raises(KnowledgeStoreError, match="newer than this advisor supports"):
        open_store(knowledge_store_url)


def test_corrupt_rows_are_reported_and_skipped(
    store: KnowledgeStore,
    knowledge_store_url: str,
) -> None:
    good = advisory("GOOD", "numpy")
    store.put([good, advisory("BAD-JSON", "numpy"), advisory("BAD-FIELD", "numpy")])
    update = "UPDATE observations SET payload = ? WHERE key = ?"
    raw(knowledge_store_url, update, ("{not json", "advisory:BAD-JSON"))
    raw(knowledge_store_url, update, ('{"type": "advisory", "id": 3}', "advisory:BAD-FIELD"))
    assert store.for_package("numpy") == [good]
    assert list(store.iter_kind("advisory")) == [good]
    assert store.get("advisory:BAD-JSON") is None
    problems = {p.key: p.reason for p in store.problems}
    assert sorted(problems) == ["advisory:BAD-FIELD", "advisory:BAD-JSON"]
    assert "$.id" in problems["advisory:BAD-FIELD"]
    # a re-import repairs them
    result = store.put([advisory("BAD-JSON", "numpy"), advisory("BAD-FIELD", "numpy")])
    assert result == PutResult(replaced=2)
    assert len(store.for_package("numpy")) == 3


def test_closed_store_says_so(knowledge_store_url: str) -> None:
    store = open_store(knowledge_store_url)
    store.close()
    store.close()
    with pytest.raises(KnowledgeStoreError, match="closed"):
        store.get("advisory:A")


# -- concurrency ----------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from advisor.knowledge.schema import Advisory, Affected, Provenance
    from advisor.knowledge.store import open_store

    url, source, rounds, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open_store(url) as store:
        for round in range(rounds):
            batch = [
                Advisory(
                    id=f"{source}-{round % 2}-{i}",
                    summary=f"round {round}",
                    affected=(Affected(package="shared"), Affected(package=f"p{i}")),
                    provenance=Provenance(source=source, date="2024-01-01"),
                )
                for i in range(size)
            ]
            result = store.put(batch, replace_source=source)
            assert result.added == size and result.removed == (size if round else 0), result
    """
)


def test_readers_see_whole_writes_while_two_processes_write(
    knowledge_store_url: str,
) -> None:
    """Each put replaces a writer's whole set: a reader sees one round of each, never a mix,
    and two writers wait for each other instead of failing."""
    rounds, size = 30, 40
    open_store(knowledge_store_url).close()  # migrated before the writers race
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, knowledge_store_url, name, str(rounds), str(size)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("w1", "w2")
    ]
    reads = 0
    try:
        with open_store(knowledge_store_url) as store:
            while any(w.poll() is None for w in writers) or reads == 0:
                by_source: dict[str, set[tuple[str, str]]] = {}
                for obs in store.for_package("shared"):
                    assert isinstance(obs, Advisory)
                    parity = obs.id.split("-")[1]
                    by_source.setdefault(obs.provenance.source, set()).add((parity, obs.summary))
                for seen in by_source.values():
                    assert len(seen) == 1, seen  # one round of that writer
                assert store.stats().total in (0, size, 2 * size)
                reads += 1
    finally:
        errors = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    assert reads > 1, reads
    with open_store(knowledge_store_url) as store:
        assert store.stats().total == 2 * size
        assert {a.summary for a in store.iter_kind("advisory")} == {f"round {rounds - 1}"}


# -- URLs and failures ----------------------------------------------------------------------


def test_sqlite_urls(tmp_path: Path) -> None:
    assert sqlite_path("sqlite:///rel/k.db", cwd=tmp_path) == tmp_path / "rel" / "k.db"
    assert sqlite_path(f"sqlite:///{tmp_path}/k.db") == tmp_path / "k.db"
    assert sqlite_path("k.db", cwd=tmp_path) == tmp_path / "k.db"
    assert sqlite_path(str(tmp_path / "k.db")) == tmp_path / "k.db"
    for url in (f"sqlite:///{tmp_path}/a/b/k.db", str(tmp_path / "bare.db")):
        with open_store(url) as store:
            store.put([advisory("A", "numpy")])
            assert store.url.startswith(f"sqlite:///{tmp_path}")
        with open_store(store.url) as again:  # the URL it reports opens the same file
            assert again.stats().total == 1
    journal = raw(f"sqlite:///{tmp_path}/bare.db", "PRAGMA journal_mode")
    assert journal == [("wal",)]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty path"),
        ("sqlite://host/k.db", "no host"),
        ("sqlite:///", "no database path"),
        ("sqlite:///k.db?mode=ro", "no query"),
        ("mysql://user:s3cret@db.example/k", "unsupported URL"),
        ("postgresql://user:s3cret@127.0.0.1:notaport/k", "not a number"),
        ("postgresql://user:s3cret@127.0.0.1/k?no_such_option=1", "no_such_option"),
    ],
)
def test_bad_urls_are_input_errors(url: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        open_store(url)
    assert "s3cret" not in str(caught.value)


def test_in_memory_sqlite_store() -> None:
    with open_store("sqlite:///:memory:") as store:
        assert store.put(every_kind()) == PutResult(added=5)
        assert len(store.for_package("numpy")) == 3
        assert store.url == "sqlite:///:memory:"


def test_unusable_sqlite_files(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeStoreError, match="cannot open") as caught:
        open_store(str(tmp_path))  # a folder
    assert caught.value.exit_code == 3
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database, just some bytes " * 200)
    with pytest.raises(KnowledgeStoreError, match="not a database"):
        open_store(str(junk))


def test_unreachable_postgres_names_host_and_port() -> None:
    pytest.importorskip("psycopg")
    port = free_port()
    url = f"postgresql://advisor:s3cret@127.0.0.1:{port}/knowledge?connect_timeout=5"
    with pytest.raises(KnowledgeStoreError) as caught:
        open_store(url)
    error = caught.value
    assert f"127.0.0.1:{port}" in str(error)
    assert "s3cret" not in str(error) and "s3cret" not in error.url
    assert (error.host, error.port, error.exit_code) == ("127.0.0.1", port, 3)
    with pytest.raises(KnowledgeStoreError) as caught:
        open_store(f"postgres://127.0.0.1:{port}/knowledge?password=s3cret")
    assert "s3cret" not in str(caught.value)


def test_postgres_url_keeps_the_password_out(postgres_url: str) -> None:
    with_password = postgres_url.replace("postgres@", "postgres:s3cret@")  # trust auth
    with open_store(with_password) as store:
        assert "s3cret" not in store.url
        assert "s3cret" not in repr(store) and "s3cret" not in store.stats().url


def test_default_store_url(tmp_path: Path) -> None:
    assert default_store_url({"ADVISOR_KNOWLEDGE": "postgresql://h/d"}) == "postgresql://h/d"
    assert default_store_url({}, data_dir=tmp_path) == f"sqlite:///{tmp_path}/knowledge.db"
    default = default_store_url({"ADVISOR_KNOWLEDGE": " "})
    assert default.startswith("sqlite:///") and default.endswith("knowledge.db")
    assert "stack-advisor" in default
