"""The stack search finds what greedy best-first misses, deterministically for a seed.

The fixture: ``a 2.0`` scores best but requires ``b==1.0``, which is heavily penalised;
``a 1.0`` scores lower but lets ``b 2.0`` (neutral) in. Best-first takes ``a 2.0`` and is
forced into ``b 1.0`` (total -0.5); the search bans a pin, re-resolves and finds ``a 1.0`` +
``b 2.0`` (total 0.0). The scorer is a real unit of the scoring layer, with fixed scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name

from advisor.api.advising import AdviseOptions, run_advice
from advisor.api.context import ResolveOptions
from advisor.api.inputs import LockOptions, prepare
from advisor.scoring.base import Recommendation, ScoreTerm
from tests.functional.helpers import clean_environ
from tests.support.index import Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.models import Edge
    from advisor.scoring.base import CandidateInfo, ScoringContext, StackVerdict

SCORES = {("a", "2.0"): 0.5, ("a", "1.0"): 0.0, ("b", "1.0"): -1.0, ("b", "2.0"): 0.0}


@dataclass(frozen=True)
class FixedScores:
    """A scorer unit whose knowledge is a table of (name, version) → score."""

    name: str = "fixed"

    def score(self, candidate: CandidateInfo, ctx: ScoringContext) -> Sequence[ScoreTerm]:
        value = SCORES.get((candidate.name, str(candidate.version)))
        if value is None:
            return ()
        return (ScoreTerm(unit=self.name, value=value, reason=f"table says {value:+g}"),)


KIND = Recommendation(name="table", description="fixed scores", scorers=((FixedScores(), 1.0),))


def _advise(tmp_path: Path, *, budget: int, seed: int = 0):  # type: ignore[no-untyped-def]
    index = build_index(
        tmp_path / "index",
        [
            Project(name="a", files=[*release("1.0"), *release("2.0", requires_dist=["b==1.0"])]),
            Project(name="b", files=[*release("1.0"), *release("2.0")]),
        ],
    )
    req = tmp_path / "requirements.in"
    req.write_text("a\nb\n")
    opts = ResolveOptions(index_url=index.file_url, no_cache=True, recommendation="table")
    environ = clean_environ(tmp_path / "home")
    prep = prepare([req], opts=opts, out=LockOptions(dry_run=True), environ=environ, cwd=tmp_path)
    advise = AdviseOptions(budget=budget, seed=seed, knowledge=f"sqlite:///{tmp_path / 'k.db'}")
    return run_advice(prep, opts=opts, advise=advise, kind=KIND).advices[0]


def _pins(stack) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {p.name: p.version for p in stack.pins}


def test_greedy_best_first_is_not_optimal_with_budget_one(tmp_path: Path) -> None:
    advice = _advise(tmp_path, budget=1)
    assert _pins(advice.best) == {"a": "2.0", "b": "1.0"}
    assert advice.best.score == pytest.approx(-0.5)


def test_default_budget_finds_the_better_stack(tmp_path: Path) -> None:
    advice = _advise(tmp_path, budget=AdviseOptions().budget)
    assert _pins(advice.best) == {"a": "1.0", "b": "2.0"}
    assert advice.best.score == pytest.approx(0.0)
    # the greedy stack is still reported, as the runner-up, with its lower total
    assert [pytest.approx(s.score) for s in advice.others][:1] == [-0.5]
    assert _pins(advice.latest) == {"a": "2.0", "b": "1.0"}
    b = advice.best.pin("b")
    assert b is not None and b.latest == "1.0" and b.differs


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_search_is_deterministic_for_a_seed(tmp_path: Path, seed: int) -> None:
    first = _advise(tmp_path / "one", budget=6, seed=seed)
    second = _advise(tmp_path / "two", budget=6, seed=seed)
    assert [(_pins(s), s.score) for s in (first.best, *first.others)] == [
        (_pins(s), s.score) for s in (second.best, *second.others)
    ]


def test_count_on_a_neutral_set_and_the_report_of_differences(tmp_path: Path) -> None:
    """Without knowledge every pin is at its best (score 0): the search still returns
    ``--count`` distinct stacks (it used to stop after one resolution), the newest first, and
    each report says how the others differ from the best."""
    import json

    from tests.functional.helpers import run_cli

    index = build_index(
        tmp_path / "index",
        [
            Project(name="x", files=[f for v in ("1.0", "1.1", "1.2") for f in release(v)]),
            Project(name="y", files=[*release("1.0"), *release("2.0")]),
        ],
    )
    req = tmp_path / "requirements.in"
    req.write_text("x\ny\n")
    env = clean_environ(tmp_path / "home")

    def run(*args: object) -> str:
        result = run_cli(
            [
                "advise", req, "--index-url", index.file_url, "--dry-run",
                "--knowledge", f"sqlite:///{tmp_path / 'k.db'}", "--count", "3", *args,
            ],
            env=env,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return result.stdout

    report = json.loads(run("--report", "json"))
    assert {p["name"]: p["version"] for p in report["best"]["pins"]} == {"x": "1.2", "y": "2.0"}
    others = report["others"]
    assert len(others) == 2
    best = {p["name"]: p["version"] for p in report["best"]["pins"]}
    seen = {tuple(sorted(best.items()))}
    for other in others:
        pins = {p["name"]: p["version"] for p in other["pins"]}
        seen.add(tuple(sorted(pins.items())))
        assert other["differences"] == [
            {"name": n, "best": best[n], "version": pins[n]}
            for n in sorted(pins)
            if pins[n] != best[n]
        ]
        assert other["score_difference"] == pytest.approx(other["score"] - report["best"]["score"])
    assert len(seen) == 3
    first = others[0]["differences"][0]
    markdown = run("--report", "md")
    assert "#### Other stacks found" in markdown
    assert f"`{first['name']}` {first['best']} → {first['version']}" in markdown
    text = run("--report", "text", "-v")
    assert "Other stacks found" in text and f"{first['name']} {first['best']} → " in text


# A landscape where the third-best stack needs two bans at once: ``a`` and ``b`` must move
# together (a stack check penalises a mixed pair), so banning ``a 2.0`` alone, or ``b 2.0``
# alone, gives a stack worse than the one that bans both.
PAIR_SCORES = {
    ("a", "2.0"): 0.0, ("a", "1.0"): -0.3,
    ("b", "2.0"): 0.0, ("b", "1.0"): -0.3,
    ("c", "2.0"): 0.0, ("c", "1.0"): -0.1,
}  # fmt: skip


@dataclass(frozen=True)
class PairScores:
    """A scorer unit reading :data:`PAIR_SCORES`."""

    name: str = "pair-table"

    def score(self, candidate: CandidateInfo, ctx: ScoringContext) -> Sequence[ScoreTerm]:
        value = PAIR_SCORES.get((candidate.name, str(candidate.version)))
        if value is None:
            return ()
        return (ScoreTerm(unit=self.name, value=value, reason=f"table says {value:+g}"),)


@dataclass(frozen=True)
class MixedPair:
    """A stack check: ``a`` and ``b`` from different majors cost -1.0 (a stack term)."""

    name: str = "mixed-pair"

    def check(
        self,
        pins: Mapping[NormalizedName, Version],
        ctx: ScoringContext,
        *,
        edges: Sequence[Edge] = (),
    ) -> Sequence[StackVerdict]:
        from advisor.scoring.base import StackVerdict

        if pins[canonicalize_name("a")].major == pins[canonicalize_name("b")].major:
            return ()
        term = ScoreTerm(unit=self.name, value=-1.0, reason="a and b from different majors")
        return (StackVerdict(terms=(term,)),)


PAIR_KIND = Recommendation(
    name="pair",
    description="fixed scores and a pair penalty",
    scorers=((PairScores(), 1.0),),
    checks=((MixedPair(), 1.0),),
)


def _advise_pairs(tmp_path: Path, *, budget: int, seed: int = 0, count: int = 3):  # type: ignore[no-untyped-def]
    index = build_index(
        tmp_path / "index",
        [Project(name=n, files=[*release("1.0"), *release("2.0")]) for n in ("a", "b", "c")],
    )
    req = tmp_path / "requirements.in"
    req.write_text("a\nb\nc\n")
    opts = ResolveOptions(index_url=index.file_url, no_cache=True, recommendation="pair")
    environ = clean_environ(tmp_path / "home")
    prep = prepare([req], opts=opts, out=LockOptions(dry_run=True), environ=environ, cwd=tmp_path)
    advise = AdviseOptions(
        budget=budget, seed=seed, count=count, knowledge=f"sqlite:///{tmp_path / 'k.db'}"
    )
    return run_advice(prep, opts=opts, advise=advise, kind=PAIR_KIND).advices[0]


def test_count_finds_a_stack_two_bans_away(tmp_path: Path) -> None:
    """The three best stacks: everything at 2.0 (0.0), ``c 1.0`` (-0.1), then ``a 1.0`` with
    ``b 1.0`` (-0.6), which needs ``a 2.0`` and ``b 2.0`` banned at once; either ban alone
    gives a mixed pair (-1.3). The search used to return a mixed pair third."""
    advice = _advise_pairs(tmp_path, budget=20)
    assert [(_pins(s), round(s.score, 6)) for s in (advice.best, *advice.others)] == [
        ({"a": "2.0", "b": "2.0", "c": "2.0"}, 0.0),
        ({"a": "2.0", "b": "2.0", "c": "1.0"}, -0.1),
        ({"a": "1.0", "b": "1.0", "c": "2.0"}, -0.6),
    ]
    # it stopped once no ban set left could beat the third stack, before the budget
    assert advice.resolutions < 20


@pytest.mark.parametrize("seed", [0, 5])
def test_count_search_is_deterministic(tmp_path: Path, seed: int) -> None:
    first = _advise_pairs(tmp_path / "one", budget=20, seed=seed)
    second = _advise_pairs(tmp_path / "two", budget=20, seed=seed)
    assert [(_pins(s), s.score) for s in (first.best, *first.others)] == [
        (_pins(s), s.score) for s in (second.best, *second.others)
    ]
    assert first.resolutions == second.resolutions


def test_count_search_keeps_to_the_budget(tmp_path: Path) -> None:
    """Four resolutions reach only the stacks one ban from the first: the two-ban stack is
    not found, and no more resolutions run than the budget allows."""
    advice = _advise_pairs(tmp_path, budget=4)
    assert advice.resolutions == 4
    stacks = [_pins(s) for s in (advice.best, *advice.others)]
    assert len(stacks) == 3
    assert {"a": "1.0", "b": "1.0", "c": "2.0"} not in stacks
