"""Invariants of ``advise`` on small generated indexes (hypothesis).

Each example is a generated fixture index (2-4 projects, 1-3 versions each, dependencies
only toward later projects, so the graph has no cycle) written as a ``file://`` index, a
table of raw scores (some outside [-1, 1], some NaN or infinite, to exercise clamping), and
maybe a forbidden pin that a stack check rejects. The scorers are real units of the scoring
layer with fixed knowledge (the pattern of ``tests/functional/test_advise_search.py``), run
through the whole pipeline: :func:`advisor.api.advising.run_advice`.

Properties: every term of every reported stack is in [-1, 1] and every pin's score is the
weighted sum of its terms; the search is deterministic for a seed (the same stacks and
totals twice); the top-k stacks are distinct, at most ``count``, ordered by total (best
first), and none is a rejected stack. Examples are few (each builds an index and resolves
several times), with no deadline; each test takes a few seconds, so they are marked slow.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from advisor.api.advising import AdviseOptions, run_advice
from advisor.api.context import ResolveOptions
from advisor.api.inputs import LockOptions, prepare
from advisor.errors import NoViableStack
from advisor.scoring.base import Recommendation, ScoreTerm, StackVerdict
from tests.functional.helpers import clean_environ
from tests.support.index import Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.models import Edge
    from advisor.scoring.advice import Advice, StackAdvice
    from advisor.scoring.base import CandidateInfo, ScoringContext

NOW = datetime(2026, 1, 1, tzinfo=UTC)
VERSIONS = ("1.0", "2.0", "3.0")
OPERATORS = (">=", "<=", "==", "!=")
SETTINGS = settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# -- units with fixed knowledge --------------------------------------------------------------


class TableScorer:
    """A scorer unit whose knowledge is a table of (name, version) → raw value."""

    def __init__(self, *, name: str, table: tuple[tuple[tuple[str, str], float], ...]) -> None:
        self.name = name
        self.table = dict(table)

    def score(self, candidate: CandidateInfo, ctx: ScoringContext) -> Sequence[ScoreTerm]:
        value = self.table.get((candidate.name, str(candidate.version)))
        if value is None:
            return ()
        return (ScoreTerm(unit=self.name, value=value, reason=f"table says {value!r}"),)


class ForbiddenPin:
    """A stack check rejecting every stack that pins one (name, version)."""

    name = "forbidden"

    def __init__(self, *, forbidden: tuple[str, str] | None) -> None:
        self.forbidden = forbidden

    def check(
        self,
        pins: Mapping[NormalizedName, Version],
        ctx: ScoringContext,
        *,
        edges: Sequence[Edge] = (),
    ) -> Sequence[StackVerdict]:
        if self.forbidden is None:
            return ()
        name, version = self.forbidden
        if any(str(n) == name and str(v) == version for n, v in pins.items()):
            return (StackVerdict(reject=f"{name} {version} is forbidden", package=name),)
        return ()


# -- generated worlds ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class World:
    projects: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...]
    roots: tuple[str, ...]
    scores: tuple[tuple[tuple[str, str], float], ...]
    bonus: tuple[tuple[tuple[str, str], float], ...]
    weights: tuple[float, float]
    forbidden: tuple[str, str] | None

    def kind(self) -> Recommendation:
        return Recommendation(
            name="table",
            description="fixed scores",
            scorers=(
                (TableScorer(name="table", table=self.scores), self.weights[0]),
                (TableScorer(name="bonus", table=self.bonus), self.weights[1]),
            ),
            checks=((ForbiddenPin(forbidden=self.forbidden), 1.0),),
        )


RAW = st.one_of(
    st.floats(min_value=-5.0, max_value=5.0, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -math.inf, 1.0, -1.0, 0.0]),
)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    count = draw(st.integers(min_value=2, max_value=4))
    names = [f"p{i}" for i in range(count)]
    versions = {
        n: sorted(draw(st.sets(st.sampled_from(VERSIONS), min_size=1, max_size=3))) for n in names
    }
    projects = []
    for i, name in enumerate(names):
        releases = []
        for version in versions[name]:
            deps = []
            for later in names[i + 1 :]:
                if draw(st.booleans()):
                    op = draw(st.sampled_from(OPERATORS))
                    target = draw(st.sampled_from(versions[later]))
                    deps.append(f"{later}{op}{target}")
            releases.append((version, tuple(deps)))
        projects.append((name, tuple(releases)))
    roots = ("p0", *(["p1"] if draw(st.booleans()) else []))
    every = [(n, v) for n in names for v in versions[n]]
    scored = draw(st.lists(st.sampled_from(every), unique=True, max_size=len(every)))
    scores = tuple((key, draw(RAW)) for key in scored)
    boosted = draw(st.lists(st.sampled_from(every), unique=True, max_size=3))
    bonus = tuple((key, draw(RAW)) for key in boosted)
    weights = (draw(st.sampled_from([0.5, 1.0, 2.0])), draw(st.sampled_from([0.5, 1.0, 3.0])))
    forbidden = draw(st.none() | st.sampled_from(every))
    return World(
        projects=tuple(projects),
        roots=roots,
        scores=scores,
        bonus=bonus,
        weights=weights,
        forbidden=forbidden,
    )


def _advise(world: World, root: Path, *, seed: int, count: int = 3, budget: int = 8) -> Advice:
    index_root = root / "index"
    if not index_root.exists():
        build_index(
            index_root,
            [
                Project(
                    name=name,
                    files=[
                        f
                        for version, deps in releases
                        for f in release(version, requires_dist=list(deps), sdist=False)
                    ],
                )
                for name, releases in world.projects
            ],
        )
    req = root / "requirements.in"
    req.write_text("".join(f"{r}\n" for r in world.roots))
    opts = ResolveOptions(
        index_url=(index_root / "simple").as_uri(), no_cache=True, recommendation="table"
    )
    environ = clean_environ(root / "home")
    prep = prepare([req], opts=opts, out=LockOptions(dry_run=True), environ=environ, cwd=root)
    advise = AdviseOptions(
        count=count, budget=budget, seed=seed, knowledge=f"sqlite:///{root / 'k.db'}"
    )
    return run_advice(prep, opts=opts, advise=advise, kind=world.kind(), now=NOW).advices[0]


def _try_advise(world: World, root: Path, *, seed: int, count: int = 3) -> Advice:
    try:
        return _advise(world, root, seed=seed, count=count)
    except NoViableStack:
        assume(False)  # the generated constraints conflict, or every stack is forbidden
        raise  # unreachable: assume(False) raises


def _stacks(advice: Advice) -> list[StackAdvice]:
    return [advice.best, *advice.others]


def _key(stack: StackAdvice) -> tuple[tuple[str, str], ...]:
    return tuple((p.name, p.version) for p in stack.pins)


# -- properties ----------------------------------------------------------------------------


@pytest.mark.slow
@SETTINGS
@given(world=worlds())
def test_every_term_is_bounded_and_pin_scores_are_weighted_sums(world: World) -> None:
    weights = {"table": world.weights[0], "bonus": world.weights[1]}
    with tempfile.TemporaryDirectory() as tmp:
        advice = _try_advise(world, Path(tmp), seed=0)
    limit = sum(weights.values())
    for stack in [*_stacks(advice), advice.latest]:
        assert math.isfinite(stack.score) or stack is advice.latest
        for pin in stack.pins:
            for term in pin.terms:
                assert -1.0 <= term.value <= 1.0, term
                assert not math.isnan(term.value)
            expected = sum(t.value * weights[t.unit] for t in pin.terms)
            assert pin.score == pytest.approx(expected)
            assert -limit <= pin.score <= limit
        for term in stack.stack_terms:
            assert -1.0 <= term.value <= 1.0
    for stack in _stacks(advice):
        assert stack.score == pytest.approx(sum(p.score for p in stack.pins))
        assert abs(stack.score) <= limit * len(stack.pins) + 1e-9


@pytest.mark.slow
@SETTINGS
@given(world=worlds(), seed=st.integers(min_value=0, max_value=2**16))
def test_the_search_is_deterministic_for_a_seed(world: World, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        first = _try_advise(world, Path(tmp) / "one", seed=seed)
        second = _advise(world, Path(tmp) / "two", seed=seed)
    assert [(_key(s), s.score) for s in _stacks(first)] == [
        (_key(s), s.score) for s in _stacks(second)
    ]
    assert (_key(first.latest), first.latest.score) == (_key(second.latest), second.latest.score)
    assert first.resolutions == second.resolutions


@pytest.mark.slow
@SETTINGS
@given(world=worlds(), count=st.integers(min_value=1, max_value=4))
def test_the_top_k_are_distinct_ordered_and_never_rejected(world: World, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        advice = _try_advise(world, Path(tmp), seed=1, count=count)
    stacks = _stacks(advice)
    assert 1 <= len(stacks) <= count
    keys = [_key(s) for s in stacks]
    assert len(set(keys)) == len(keys)
    totals = [s.score for s in stacks]
    assert all(math.isfinite(t) for t in totals)
    assert totals == sorted(totals, reverse=True)
    if world.forbidden is not None:
        name, version = world.forbidden
        assert all((name, version) not in set(k) for k in keys)
    assert advice.resolutions <= 8
