"""Tests of the recommendation bundles (:mod:`advisor.scoring.types`), the advice policy
parser (:mod:`advisor.scoring.policy`) and the knowledge views
(:mod:`advisor.scoring.knowledge_view`), the values that configure and feed the units.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

import advisor.scoring.types as types_module
from advisor.config import RECOMMENDATIONS as CONFIG_RECOMMENDATIONS
from advisor.environment import RuntimeEnvironment
from advisor.errors import InputError
from advisor.knowledge.schema import (
    Action,
    Advisory,
    Affected,
    CoInstalled,
    Match,
    Prescription,
    Provenance,
    RangeEvent,
    VersionRange,
    observation_key,
)
from advisor.knowledge.sqlite_store import SQLiteStore
from advisor.scoring.base import CandidateInfo, ScoringContext
from advisor.scoring.engine import UnitScorer
from advisor.scoring.knowledge_view import StaticKnowledge, StoreKnowledge
from advisor.scoring.types import RECOMMENDATIONS, recommendation, with_sdists, with_workload
from advisor.scoring.units import (
    PrescriptionAnnotator,
    SecurityFilter,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable
    from pathlib import Path

    from advisor.knowledge.schema import Observation
    from advisor.knowledge.store import KnowledgeStore

NOW = datetime(2024, 10, 10, tzinfo=UTC)
PROV = Provenance(source="test", date="2024-09-01")


def _advisory(adv_id: str, package: str = "requests", fixed: str = "2.31.0") -> Advisory:
    return Advisory(
        id=adv_id,
        summary=f"summary of {adv_id}",
        aliases=(f"CVE-{adv_id}",),
        affected=(
            Affected(
                package=package,
                ranges=(
                    VersionRange(
                        type="ECOSYSTEM",
                        events=(RangeEvent(introduced="0"), RangeEvent(fixed=fixed)),
                    ),
                ),
            ),
        ),
        provenance=Provenance(source="osv:test", date="2024-09-01"),
    )


def _rule(rule_id: str, package: str, *, co: str | None = None, summary: str = "s") -> Prescription:
    return Prescription(
        id=rule_id,
        summary=summary,
        link=f"https://example.org/{rule_id}",
        quote="q",
        match=Match(
            package=package,
            co_installed=(CoInstalled(package=co),) if co else (),
        ),
        action=Action(kind="justify", message=f"about {package}", level="info"),
        provenance=Provenance(source="knowledge/prescriptions/t.yaml", date="2024-09-01"),
    )


# -- recommendation bundles -------------------------------------------------------------------


def _scorers(name: str) -> list[tuple[str, float]]:
    return [(s.name, w) for s, w in RECOMMENDATIONS[name].scorers]


STABLE = [("security", 3.0), ("build_risk", 1.5), ("stability", 1.0), ("prescriptions", 1.0)]


def test_the_types_are_the_configurable_ones() -> None:
    assert tuple(RECOMMENDATIONS) == CONFIG_RECOMMENDATIONS
    assert all(r.name == key and r.description for key, r in RECOMMENDATIONS.items())
    with pytest.raises(TypeError):
        RECOMMENDATIONS["mine"] = RECOMMENDATIONS["stable"]  # type: ignore[index]


def test_bundles() -> None:
    latest, testing = RECOMMENDATIONS["latest"], RECOMMENDATIONS["testing"]
    assert (latest.filters, latest.scorers, latest.checks) == ((), (), ())
    # testing orders nothing, but takes wheels only and never a stack a rule rejects
    assert [f.name for f in testing.filters] == ["wheels", "prescriptions"]
    assert [f.name for f in with_sdists(testing).filters] == ["prescriptions"]
    assert testing.scorers == ()
    assert [(c.name, w) for c, w in testing.checks] == [
        ("compatibility", 1.0),
        ("prescriptions", 1.0),
    ]
    for kind in (latest, testing):
        assert [a.name for a in kind.annotators] == ["prescriptions", "security", "compatibility"]
        first = kind.annotators[0]
        assert isinstance(first, PrescriptionAnnotator) and first.all_kinds
    assert not latest.lowest_direct and testing.lowest_direct
    assert _scorers("stable") == STABLE
    assert _scorers("security") == STABLE
    assert _scorers("performance") == [*STABLE, ("performance", 2.0)]
    for name in ("stable", "performance", "security"):
        kind = RECOMMENDATIONS[name]
        assert [(c.name, w) for c, w in kind.checks] == [
            ("compatibility", 1.0),
            ("prescriptions", 1.0),
        ]
        extra = ["performance"] if name == "performance" else []  # workload, unusable data
        assert [a.name for a in kind.annotators] == ["prescriptions", "security", *extra]
        assert not kind.lowest_direct
    for name in ("stable", "performance"):
        assert [f.name for f in RECOMMENDATIONS[name].filters] == ["stability", "prescriptions"]
    security_filters = RECOMMENDATIONS["security"].filters
    assert [f.name for f in security_filters] == ["security", "stability", "prescriptions"]
    assert isinstance(security_filters[0], SecurityFilter)


def _documented() -> dict[str, dict[str, str]]:
    """The bundle table of the module docstring: row label → type → cell."""
    doc = types_module.__doc__ or ""
    lines = [line for line in doc.splitlines() if line.startswith("| unit | `latest`")]
    assert lines, "the bundle table is missing from the docstring"
    start = doc.splitlines().index(lines[0])
    rows = doc.splitlines()[start:]
    header = [c.strip(" `") for c in rows[0].strip("|").split("|")]
    table: dict[str, dict[str, str]] = {}
    for row in rows[2:]:
        if not row.startswith("|"):
            break
        cells = [c.strip() for c in row.strip("|").split("|")]
        table[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    return table


def test_the_documented_table_is_the_code() -> None:
    table = _documented()
    for name, kind in RECOMMENDATIONS.items():
        for scorer, weight in kind.scorers:
            assert table[f"{scorer.name.replace('_', ' ')} scorer"][name] == f"{weight:.1f}"
        for check, weight in kind.checks:
            assert table[f"{check.name} stack check"][name] == f"{weight:.1f}"
        for unit in kind.filters:
            assert table[f"{unit.name} filter"][name] == "yes"
        scored = {s.name.replace("_", " ") for s, _ in kind.scorers}
        for label, cells in table.items():
            if label.endswith(" scorer") and label.removesuffix(" scorer") not in scored:
                assert cells[name] == "", (label, name)
            if label.endswith(" filter") and label.removesuffix(" filter") not in {
                f.name for f in kind.filters
            }:
                assert cells[name] == "", (label, name)
        order = table["candidate order"][name]
        assert (order == "lowest direct first") is kind.lowest_direct


def test_a_workload_changes_only_the_performance_units() -> None:
    from advisor.scoring.units.performance import PerformanceAnnotator, PerformanceScorer, Workload

    sort = Workload(name="sort", probes=frozenset({"numpy.sort-1m"}))
    base = RECOMMENDATIONS["performance"]
    kind = with_workload(base, sort)
    assert kind.name == "performance" and kind.filters == base.filters
    assert [(s.name, w) for s, w in kind.scorers] == [(s.name, w) for s, w in base.scorers]
    (scorer,) = [s for s, _ in kind.scorers if isinstance(s, PerformanceScorer)]
    (annotator,) = [a for a in kind.annotators if isinstance(a, PerformanceAnnotator)]
    assert scorer.workload is sort and annotator.workload is sort
    assert base.scorers[-1][0].workload is None  # type: ignore[attr-defined]  # unchanged


@pytest.mark.parametrize("name", ["stable", " Security ", "TESTING"])
def test_recommendation_by_name(name: str) -> None:
    assert recommendation(name) is RECOMMENDATIONS[name.strip().lower()]


def test_an_unknown_recommendation_lists_the_known_ones() -> None:
    with pytest.raises(InputError) as info:
        recommendation("fastest")
    assert str(info.value) == (
        "unknown recommendation type 'fastest'; known: latest, stable, performance, security, "
        "testing"
    )


def test_bundles_through_the_engine() -> None:
    """The engine's weighted sums with the real bundles: an affected, too-young release."""
    env = RuntimeEnvironment(python_version="3.12", platform="manylinux_2_28_x86_64")
    knowledge = StaticKnowledge([_advisory("GHSA-aaaa")])
    cand = CandidateInfo(
        name=canonicalize_name("requests"),
        version=Version("2.30.0"),
        upload_time=NOW - timedelta(days=1),
        versions=(Version("2.31.0"), Version("2.30.0")),
    )
    scores = {}
    for name in RECOMMENDATIONS:
        ctx = ScoringContext(env=env, recommendation=name, now=NOW, knowledge=knowledge)
        verdict = UnitScorer(recommendation(name), ctx).verdict(cand)
        scores[name] = (verdict.reason, verdict.score)
    assert scores["latest"] == (None, 0.0) and scores["testing"] == (None, 0.0)
    assert scores["stable"] == (None, pytest.approx(-3.0 - 0.6))
    assert scores["performance"] == scores["stable"]
    reason, _ = scores["security"]
    assert reason is not None and reason.startswith("affected by GHSA-aaaa (fixed in 2.31.0)")


# -- knowledge views --------------------------------------------------------------------------


def test_static_knowledge() -> None:
    a1, a2 = _advisory("GHSA-bbbb"), _advisory("GHSA-aaaa")
    rule = _rule("pandas-pyarrow", "pandas", co="PyArrow")
    view = StaticKnowledge([a1, a2, rule, a1])
    assert view.for_package("Requests") == (a2, a1)  # by key, duplicates once
    assert view.for_package("pyarrow") == (rule,) == view.for_package("pandas")
    assert view.for_package("flask") == ()
    assert view.packages == ("pandas", "pyarrow", "requests")
    view.prefetch(["requests"])  # nothing to do


class _CountingStore:
    """A real store, with its reads counted (the view must batch and memoise)."""

    def __init__(self, store: KnowledgeStore) -> None:
        self.store = store
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def for_package(self, name: str, *, kinds: Collection[str] | None = None) -> list[Observation]:
        self.calls.append(("one", (name,)))
        return self.store.for_package(name, kinds=kinds)

    def for_packages(
        self, names: Iterable[str], *, kinds: Collection[str] | None = None
    ) -> dict[str, list[Observation]]:
        wanted = tuple(names)
        self.calls.append(("many", wanted))
        return self.store.for_packages(wanted, kinds=kinds)


def test_store_knowledge_batches_memoises_and_merges(tmp_path: Path) -> None:
    stored_rule = _rule("jinja-note", "jinja2", summary="stored")
    curated_rule = _rule("jinja-note", "jinja2", summary="curated")
    with SQLiteStore(tmp_path / "knowledge.db") as store:
        store.put([_advisory("GHSA-aaaa"), _advisory("GHSA-jjjj", "jinja2", "2.11.3"), stored_rule])
        counting = _CountingStore(store)
        view = StoreKnowledge(counting, extra=[curated_rule])  # type: ignore[arg-type]
        view.prefetch(["Requests", "Jinja2", "flask", "requests"])
        assert counting.calls == [("many", ("requests", "jinja2", "flask"))]
        jinja = view.for_package("jinja2")
        assert [observation_key(o) for o in jinja] == [
            "advisory:GHSA-jjjj",
            "prescription:jinja-note",
        ]
        assert isinstance(jinja[1], Prescription) and jinja[1].summary == "curated"  # extra wins
        assert [observation_key(o) for o in view.for_package("requests")] == ["advisory:GHSA-aaaa"]
        assert view.for_package("flask") == ()
        view.prefetch(["jinja2"])
        assert len(counting.calls) == 1  # memoised: no more reads
        store.put([_advisory("GHSA-ffff", "flask", "3.0.0")])
        assert view.for_package("flask") == ()  # a snapshot for the view's life
        assert [observation_key(o) for o in view.for_package("Django")] == []
        assert counting.calls[-1] == ("one", ("django",))
        fresh = StoreKnowledge(store)
        assert [observation_key(o) for o in fresh.for_package("flask")] == ["advisory:GHSA-ffff"]
        advisories_only = StoreKnowledge(store, extra=[curated_rule], kinds=["advisory"])
        assert [observation_key(o) for o in advisories_only.for_package("jinja2")] == [
            "advisory:GHSA-jjjj"
        ]
        with pytest.raises(InputError, match="unknown observation kind"):
            StoreKnowledge(store, kinds=["advisories"])
