"""The knowledge jobs of the public API as the CLI calls them, one call per command: the
store from ``environ`` when none is named, and what the CLI shows carried in the result
(the store's URL, this machine's recorder id); the package specs the knowledge layer parses.

Real SQLite stores in a temporary folder, a real ``knowledge/`` folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from advisor.api.knowledge import show, stats, sync
from advisor.errors import InputError
from advisor.knowledge.graph import ExportFormat
from advisor.knowledge.lock_graph import export_format, osv_query_packages
from advisor.knowledge.package_facts import merge_packages, parse_package_spec
from advisor.lockfile import LockRecord
from advisor.lockfile.pylock import LockedPackage, LockedStack

if TYPE_CHECKING:
    from pathlib import Path

RULE = """\
- id: r1
  summary: A rule for tests.
  link: https://example.invalid/changelog
  quote: a short quotation
  match:
    package: Alpha_Pkg
    specifier: ">=1"
  action:
    kind: justify
    message: something to know
"""


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """The default store (``ADVISOR_KNOWLEDGE``) and this machine's recorder id."""
    return {
        "ADVISOR_KNOWLEDGE": f"sqlite:///{tmp_path / 'k.db'}",
        "ADVISOR_RECORDER": "box-7",
        "HOME": str(tmp_path / "home"),
    }


def test_sync_show_and_stats_use_the_default_store_of_environ(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    folder = tmp_path / "knowledge"
    (folder / "prescriptions").mkdir(parents=True)
    (folder / "prescriptions" / "a.yaml").write_text(RULE, encoding="utf-8")
    report = sync(folder, store_url=None, environ=environ, today="2026-12-01")
    assert report.store == environ["ADVISOR_KNOWLEDGE"]
    assert report.added == 1
    known = show("Alpha_Pkg==1.5", store_url=None, environ=environ)
    assert (known.name, known.version) == ("alpha-pkg", "1.5")
    assert [f.applies for f in known.facts] == [True]
    assert show("alpha-pkg", "0.5", store_url=None, environ=environ).facts[0].applies is False
    found = stats(None, environ=environ)
    assert found.url.endswith("k.db")
    assert found.total == 1
    assert found.this_recorder == "box-7"


def test_show_refuses_a_spec_that_is_not_a_name_and_version(environ: dict[str, str]) -> None:
    with pytest.raises(InputError, match="expected NAME or NAME==VERSION"):
        show("alpha>=1", store_url=None, environ=environ)


def test_package_specs_merge_into_a_lock_s_packages() -> None:
    assert parse_package_spec(" Foo_Bar==1.0 ") == ("foo-bar", "1.0")
    assert parse_package_spec("foo") == ("foo", None)
    for bad in ("foo==", "foo==1,<2", "not a name"):
        with pytest.raises(InputError):
            parse_package_spec(bad)
    locked = {"a": "1.0", "b": "2.0"}
    merged = merge_packages(locked, ["A==1.0", "b==3.0", "c", "d==1", "d==2"])
    # the same version stays; another version of one name asks for all of them
    assert merged == {"a": "1.0", "b": None, "c": None, "d": None}
    assert locked == {"a": "1.0", "b": "2.0"}  # not changed in place


def _stack(*pins: tuple[str, str]) -> LockedStack:
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    packages = tuple(LockedPackage(name=canonicalize_name(n), version=Version(v)) for n, v in pins)
    return LockedStack(
        path="pylock.toml",
        pins={p.name: p.version for p in packages if p.version is not None},
        packages=packages,
        record=LockRecord(),
        environments=(),
    )


def test_an_osv_query_asks_about_the_lock_the_packages_and_the_specs() -> None:
    lock = _stack(("a", "1.0"), ("b", "2.0"), ("b", "2.1"), ("c", "3.0"))
    wanted = osv_query_packages({"c": "3.5"}, ["d==1", "a==1.0"], lock=lock)
    # b is locked twice: all its versions; c as given overrides the lock; d added
    assert wanted == {"a": "1.0", "b": None, "c": "3.5", "d": "1"}
    assert osv_query_packages({}, ["x"], lock=None) == {"x": None}


def test_a_graph_format_is_one_of_the_known_ones() -> None:
    assert export_format("dot") is ExportFormat.DOT
    assert export_format(ExportFormat.JSON) is ExportFormat.JSON
    with pytest.raises(InputError, match="unknown graph format 'svg': use dot, graphml, json"):
        export_format("svg")


def test_the_outcomes_show_their_store_without_credentials() -> None:
    """What the CLI prints of a sync, an OSV import or update, and an index-facts run: the
    store's URL with its password out (the value keeps the URL it was given)."""
    from advisor.knowledge.sources.index_facts import IndexFactsOutcome
    from advisor.knowledge.sources.osv_import import ImportReport
    from advisor.knowledge.sources.osv_store import ImportOutcome, UpdateOutcome
    from advisor.knowledge.sync import SyncReport

    url = "postgresql://advisor:s3cret@db.example:5432/knowledge"
    outcomes = [
        SyncReport(folder="knowledge", digest="d", store=url),
        ImportOutcome(source="osv.zip", report=ImportReport(origin="osv.zip"), store=url),
        UpdateOutcome(url="file:///m/all.zip", changed=False, as_of=None, advisories=0, store=url),
        IndexFactsOutcome(packages=(), facts=0, added=0, replaced=0, unchanged=0, store=url),
    ]
    for outcome in outcomes:
        assert outcome.store == url
        assert "s3cret" not in outcome.shown_store
        assert outcome.shown_store.endswith("db.example:5432/knowledge")
    plain = SyncReport(folder="knowledge", digest="d", store="sqlite:////tmp/k.db")
    assert plain.shown_store == "sqlite:////tmp/k.db"


def test_an_advice_knowledge_syncs_its_folders_once_its_dump_is_read(tmp_path: Path) -> None:
    """``advise``'s knowledge: the curated folders synced into the store, the ``--osv``
    dump's advisories on top; a dump that cannot be read stops it before any sync."""
    from datetime import date

    from advisor.errors import AdvisorError
    from advisor.knowledge.store import open_store, store_opener
    from advisor.scoring.knowledge_view import advice_knowledge

    folder = tmp_path / "knowledge"
    (folder / "prescriptions").mkdir(parents=True)
    (folder / "prescriptions" / "a.yaml").write_text(RULE, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'k.db'}"
    bad = tmp_path / "dump.zip"
    bad.write_bytes(b"not a zip")
    day = date(2026, 12, 1)
    with (
        pytest.raises(AdvisorError),
        advice_knowledge(store_opener(url), folders=[(folder, "knowledge")], osv=bad, today=day),
    ):
        pass
    assert not (tmp_path / "k.db").exists()  # nothing synced, no store made
    opener = store_opener(url)
    with advice_knowledge(opener, folders=[(folder, "knowledge")], osv=None, today=day) as opened:
        knowledge, _, as_of = opened
        assert [o.id for o in knowledge.for_package("alpha-pkg")] == ["r1"]
        assert as_of is None  # no advisories loaded
    with open_store(url) as store:
        assert store.stats().total == 1
