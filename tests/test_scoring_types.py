"""Tests of the recommendation bundles (:mod:`advisor.scoring.types`), the advice policy
parser (:mod:`advisor.scoring.policy`) and the knowledge views
(:mod:`advisor.scoring.knowledge_view`), the values that configure and feed the units.
"""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

import advisor.scoring.types as types_module
from advisor.config import RECOMMENDATIONS as CONFIG_RECOMMENDATIONS
from advisor.config import load_config
from advisor.environment import RuntimeEnvironment
from advisor.errors import ConfigError, InputError
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
from advisor.scoring.base import AdvicePolicy, CandidateInfo, ScoringContext, Waiver
from advisor.scoring.engine import UnitScorer
from advisor.scoring.knowledge_view import StaticKnowledge, StoreKnowledge
from advisor.scoring.policy import parse_advice_policy
from advisor.scoring.types import RECOMMENDATIONS, recommendation
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
    for kind in (latest, testing):
        assert (kind.filters, kind.scorers, kind.checks) == ((), (), ())
        assert [a.name for a in kind.annotators] == ["prescriptions", "security"]
        first = kind.annotators[0]
        assert isinstance(first, PrescriptionAnnotator) and first.all_kinds
    assert not latest.lowest_direct and testing.lowest_direct
    assert _scorers("stable") == STABLE
    assert _scorers("security") == STABLE
    assert _scorers("performance") == [*STABLE, ("performance", 2.0)]
    for name in ("stable", "performance", "security"):
        kind = RECOMMENDATIONS[name]
        assert [(c.name, w) for c, w in kind.checks] == [("prescriptions", 1.0)]
        assert [a.name for a in kind.annotators] == ["prescriptions", "security"]
        assert not kind.lowest_direct
    assert [f.name for f in RECOMMENDATIONS["stable"].filters] == ["prescriptions"]
    security_filters = RECOMMENDATIONS["security"].filters
    assert [f.name for f in security_filters] == ["security", "prescriptions"]
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


# -- policy -----------------------------------------------------------------------------------


def test_policy_defaults() -> None:
    assert parse_advice_policy({}, source="pyproject.toml") == AdvicePolicy()
    assert AdvicePolicy().minimum_release_age_days == 7


def test_policy_values() -> None:
    raw: dict[str, Any] = {
        "minimum-release-age-days": 3,
        "allow-prereleases": ["Torch_Vision", "jax"],
        "allow-advisories": [
            {"id": "GHSA-j8r2-6x86-q33q", "reason": "proxy\n  unused", "until": date(2025, 6, 30)},
            {"id": "PYSEC-2023-74", "reason": "r", "until": "2025-01-31"},
            {"id": "A", "reason": "r", "until": datetime(2025, 1, 1, 8, 0)},
            {
                "id": "B",
                "reason": "r",
                "until": datetime(2025, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=2))),
            },
            {"id": "C", "reason": "forever"},
        ],
        "max-advisory-age-days": 30,  # advisor check's key: accepted, not read here
    }
    policy = parse_advice_policy(raw, source="pyproject.toml")
    assert policy.minimum_release_age_days == 3.0
    assert policy.allow_prereleases == frozenset({"torch-vision", "jax"})
    assert policy.waivers == (
        Waiver(
            id="GHSA-j8r2-6x86-q33q",
            reason="proxy unused",
            until=datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
        ),
        Waiver(
            id="PYSEC-2023-74",
            reason="r",
            until=datetime(2025, 1, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ),
        Waiver(id="A", reason="r", until=datetime(2025, 1, 1, 8, 0, tzinfo=UTC)),
        Waiver(id="B", reason="r", until=datetime(2025, 1, 1, 6, 0, tzinfo=UTC)),
        Waiver(id="C", reason="forever", until=None),
    )


_E = "pyproject.toml: tool.advisor.policy."


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"minimum-release-age-days": -1},
            f"{_E}minimum-release-age-days must be a number of days >= 0 (got -1)",
        ),
        (
            {"minimum-release-age-days": True},
            f"{_E}minimum-release-age-days must be a number of days >= 0 (got True)",
        ),
        (
            {"minimum-release-age-days": "7"},
            f"{_E}minimum-release-age-days must be a number of days >= 0 (got '7')",
        ),
        (
            {"minimum-release-age-days": float("nan")},
            f"{_E}minimum-release-age-days must be a number of days >= 0 (got nan)",
        ),
        (
            {"allow-prereleases": "torch"},
            f"{_E}allow-prereleases must be an array of project names",
        ),
        (
            {"allow-prereleases": ["torch", "not valid!"]},
            f"{_E}allow-prereleases[1] has 'not valid!', which is not a valid project name",
        ),
        (
            {"allow-advisories": {"id": "X"}},
            f"{_E}allow-advisories must be an array of tables {{id, reason, until}}",
        ),
        (
            {"allow-advisories": ["GHSA-x"]},
            f"{_E}allow-advisories[0] must be a table {{id, reason, until}}",
        ),
        (
            {"allow-advisories": [{"reason": "r"}]},
            f"{_E}allow-advisories[0].id is required: the advisory id or one of its aliases",
        ),
        (
            {"allow-advisories": [{"id": "X", "reason": " "}]},
            f"{_E}allow-advisories[0].reason is required: a waiver says why the advisory is "
            "accepted",
        ),
        (
            {"allow-advisories": [{"id": "X", "reason": "r", "until": "next year"}]},
            f'{_E}allow-advisories[0].until must be a date like 2025-06-30 (got "next year")',
        ),
        (
            {"allow-advisories": [{"id": "X", "reason": "r", "until": 20250101}]},
            f"{_E}allow-advisories[0].until must be a date like 2025-06-30 (got 20250101)",
        ),
        (
            {"allow-advisories": [{"id": "X", "reason": "r", "expires": "2025-01-01"}]},
            f"{_E}allow-advisories[0].expires is not a known key (known: id, reason, until)",
        ),
        (
            {"minimum-release-age": 3},
            f"{_E}minimum-release-age is not a known key; did you mean "
            "'minimum-release-age-days'? (known: minimum-release-age-days, allow-advisories, "
            "allow-prereleases, max-advisory-age-days, allowed-indexes)",
        ),
    ],
)
def test_policy_errors_name_the_file_and_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_advice_policy(raw, source="pyproject.toml")
    assert str(info.value) == message


def test_policy_key_prefix_follows_the_file() -> None:
    with pytest.raises(ConfigError, match=re.escape("advisor.toml: policy.allow-prereleases ")):
        parse_advice_policy({"allow-prereleases": 1}, source="advisor.toml")
    with pytest.raises(ConfigError, match=re.escape("x.toml: [p].minimum-release-age-days ")):
        parse_advice_policy({"minimum-release-age-days": -2}, source="x.toml", prefix="[p].")


def test_policy_from_a_real_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "demo"

            [tool.advisor.policy]
            minimum-release-age-days = 14
            allow-prereleases = ["torch"]
            allow-advisories = [
              { id = "CVE-2023-32681", reason = "no proxies here", until = 2025-06-30 },
            ]
            """
        ),
        encoding="utf-8",
    )
    config = load_config(tmp_path)
    assert config.source is not None
    policy = parse_advice_policy(config.policy, source=config.source)
    assert policy.minimum_release_age_days == 14
    (waiver,) = policy.waivers
    assert waiver.until == datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)


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
