"""The frontier of bans perturbs only the stacks among the ``count`` best found so far.

A synthetic landscape, so each resolution is counted exactly: ``x`` 3 scores +1.0 but needs
``y`` 1 (-0.9); without ``y`` 1, ``x`` falls to 2 or 1 (0.0) beside ``y`` 3 (0.0). The best
stack is x3 + y1 (+0.1); banning y1 gives x2 + y3 (0.0), a worse stack. Its own children
(ban x2, then x1) carry an optimistic bound of +1.0 (x could still gain 1.0), yet cannot beat
the best: perturbing a stack outside the ``count`` best spent the budget on every real
input (12 of 12 resolutions on the bundled data-science example, 6 with this rule).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from advisor.errors import NoViableStack
from advisor.models import Pin, Resolution
from advisor.resolution.search import Evaluation, SearchOptions, search

if TYPE_CHECKING:
    from collections.abc import Mapping

SCORES = {("x", 3): 1.0, ("x", 2): 0.0, ("x", 1): 0.0, ("y", 3): 0.0, ("y", 2): 0.0}
SCORES[("y", 1)] = -0.9


def _resolve(bans: Mapping[NormalizedName, frozenset[Version]], calls: list[int]) -> Resolution:
    calls.append(1)

    def allowed(name: str) -> list[int]:
        banned = bans.get(canonicalize_name(name), frozenset())
        return [v for v in (3, 2, 1) if Version(str(v)) not in banned]

    ys = allowed("y")
    xs = [x for x in allowed("x") if x != 3 or 1 in ys]
    if not xs or not ys:
        raise NoViableStack("no stack", causes=("every version banned",))
    x = xs[0]
    y = 1 if x == 3 else ys[0]
    return Resolution(
        pins=(
            Pin(name=canonicalize_name("x"), version=Version(str(x))),
            Pin(name=canonicalize_name("y"), version=Version(str(y))),
        )
    )


def _evaluate(res: Resolution) -> Evaluation:
    scores = {p.name: SCORES[(p.name, int(str(p.version)))] for p in res.pins}
    return Evaluation(total=sum(scores.values()), pin_scores=scores)


def _search(count: int) -> tuple[int, list[dict[str, str]]]:
    calls: list[int] = []
    result = search(
        lambda bans: _resolve(bans, calls),
        _evaluate,
        best_possible=lambda name: max(v for (n, _), v in SCORES.items() if n == name),
        versions_in=lambda name, spec: frozenset(),
        options=SearchOptions(count=count, budget=12),
    )
    stacks = [{p.name: str(p.version) for p in s.resolution.pins} for s in result.stacks]
    assert result.resolutions == len(calls)
    return len(calls), stacks


def test_a_worse_stack_is_not_perturbed_for_one_stack() -> None:
    resolutions, stacks = _search(count=1)
    assert stacks == [{"x": "3", "y": "1"}]
    # the first resolution, then the ban of y1 (bound +1.0); x2 + y3 is not perturbed
    assert resolutions == 2


def test_count_two_perturbs_the_second_stack_too() -> None:
    resolutions, stacks = _search(count=2)
    assert stacks[:2] == [{"x": "3", "y": "1"}, {"x": "2", "y": "3"}]
    assert resolutions > 2
