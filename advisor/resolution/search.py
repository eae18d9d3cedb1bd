"""Stack search: best-first resolution, learned constraints, then a budgeted frontier of bans.

The first resolution orders every project's candidates by score (the provider's scorer), so
it is greedy: it takes the best-scored version of each project it meets. Two things can make
that stack not the answer:

* **A stack check rejects it** (a curated ``reject-stack`` rule, an observed incompatible
  pair). The rejection carries a *nogood*, the (project, specifier) pairs that together
  matched: "not (A in S1 and B in S2)". As a clause-learning solver would, the search
  satisfies it by branching: one resolution with every version of A in S1 banned, one with
  every version of B in S2 banned. Bans accumulate down a branch, so every later stack of the
  branch respects every constraint learned above it. Branches run before the frontier,
  newest rejection first, so an accepted stack is found within a few resolutions when one
  exists.
* **Greedy is not optimal**, and ``--count k`` wants the k best stacks. The search keeps a
  frontier of ban sets: every accepted stack it finds among the ``count`` best so far (a
  worse one's children rarely beat them, and perturbing every stack spent the whole budget
  on every real input) spawns one child per pin, its ban set
  plus that pin's version (plus, for a pin that costs although no version scores better,
  every version of it: the resolver may then pick parents that avoid the project). Children
  are deduplicated by their ban set and resolved best bound first: a child's bound is its
  stack's pin scores without the stack's penalties, plus what the banned pin could still
  gain (see :func:`_children`). So a stack two or more bans away (two pins that must move
  together) is reached through its one-ban parent, whatever that parent scores. Ties go to
  low-scoring pins, then to a seeded draw: the result is deterministic for the same
  knowledge and seed.

It stops when the budget of resolutions or the time limit is spent, when nothing is left to
try, or when ``count`` accepted stacks are known and no bound left beats the ``count``-th
(bounds are estimates, since resolution is greedy: the budget is the hard limit). Only
accepted stacks are returned; :attr:`SearchResult.learned` says which constraints were learned
and what became of each way around them (for the explanation when none is left).
"""

from __future__ import annotations

import heapq
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from advisor.errors import NoViableStack

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.models import Resolution

__all__ = [
    "Branch",
    "Evaluation",
    "FoundStack",
    "LearnedConstraint",
    "SearchOptions",
    "SearchResult",
    "search",
]

Bans = dict[str, frozenset[str]]
BansKey = tuple[tuple[str, tuple[str, ...]], ...]
#: (project name, PEP 440 specifier) pairs that together matched a rejection
Nogood = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    """How a stack scores: ``total`` (``-inf`` when ``reject`` says why it is unacceptable),
    each pin's own score, the package a rejection is about (to ban first when there is no
    nogood), ``nogood``: the (project, specifier) pairs that together matched the
    rejection (empty: nothing to learn beyond the blamed pin), and ``tie_break``: among
    stacks of equal totals the lower one ranks first (empty for all: the earlier found)."""

    total: float
    pin_scores: Mapping[str, float] = field(default_factory=dict)
    reject: str | None = None
    reject_package: str | None = None
    nogood: Nogood = ()
    tie_break: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchOptions:
    """``count`` stacks to return, ``budget`` resolutions, ``time_limit`` seconds, ``seed``;
    ``explore`` False runs only the branches of learned constraints (no frontier of bans: for
    a type whose order is fixed, such as ``testing``)."""

    count: int = 3
    budget: int = 12
    time_limit: float = 30.0
    seed: int = 0
    explore: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundStack:
    """A stack the search found: ``found_at`` counts the stacks found before it (ties in
    score go to the earlier one: the first resolution takes the newest of equal scores)."""

    resolution: Resolution
    evaluation: Evaluation
    bans: Mapping[str, frozenset[str]]
    found_at: int = 0

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        return tuple((p.name, str(p.version)) for p in self.resolution.pins)


@dataclass(frozen=True, slots=True, kw_only=True)
class Branch:
    """One way around a learned constraint: ``name`` kept out of ``specifier``, and its
    ``outcome`` (``""``: not tried within the budget; else ``accepted``, ``rejected: …`` or
    ``no consistent stack: …``)."""

    name: str
    specifier: str
    outcome: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LearnedConstraint:
    """A constraint the search learned from a rejection: ``reason`` (the rule or advisory
    that rejected, first) and ``nogood``, with what became of each branch around it."""

    reason: str
    nogood: Nogood
    branches: tuple[Branch, ...] = ()

    def describe(self) -> str:
        """``not (opencv-python<4.10.0.84 and numpy>=2)``."""
        parts = [f"{name}{spec or ' (any version)'}" for name, spec in self.nogood]
        return f"not ({' and '.join(parts)})"


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResult:
    stacks: tuple[FoundStack, ...]  # accepted, best first, distinct, at most ``count``
    resolutions: int
    rejected: tuple[str, ...] = ()  # reasons stacks were rejected by a stack check
    exhausted: bool = False  # stopped because nothing was left to try
    learned: tuple[LearnedConstraint, ...] = ()
    untried: int = 0  # branches around learned constraints left when budget or time ran out


@dataclass(slots=True)
class _Learning:
    """The constraints learned so far and the outcomes of their branches (mutable, private)."""

    order: list[tuple[str, Nogood]] = field(default_factory=list)
    outcomes: dict[tuple[str, Nogood], dict[tuple[str, str], str]] = field(default_factory=dict)

    def learn(self, reason: str, nogood: Nogood) -> None:
        key = (reason, nogood)
        if key not in self.outcomes:
            self.order.append(key)
            self.outcomes[key] = {}

    def record(self, key: tuple[str, Nogood], part: tuple[str, str], outcome: str) -> None:
        self.outcomes[key].setdefault(part, outcome)

    def result(self) -> tuple[LearnedConstraint, ...]:
        return tuple(
            LearnedConstraint(
                reason=reason,
                nogood=nogood,
                branches=tuple(
                    Branch(
                        name=n, specifier=s, outcome=self.outcomes[(reason, nogood)].get((n, s), "")
                    )
                    for n, s in nogood
                ),
            )
            for reason, nogood in self.order
        )


def search(
    resolve: Callable[[Mapping[NormalizedName, frozenset[Version]]], Resolution],
    evaluate: Callable[[Resolution], Evaluation],
    *,
    best_possible: Callable[[str], float],
    versions_in: Callable[[str, str], frozenset[str]],
    options: SearchOptions,
    clock: Callable[[], float] = time.monotonic,
) -> SearchResult:
    """Search the best ``options.count`` accepted stacks.

    ``resolve(bans)`` runs one resolution with some versions banned (raises
    :class:`NoViableStack` when none is consistent); ``evaluate`` scores a stack;
    ``best_possible(name)`` is the highest score any candidate of ``name`` has (a pin already
    at its best is not worth banning to improve); ``versions_in(name, specifier)`` are the
    known versions of ``name`` inside ``specifier`` (what a learned constraint bans). The
    first resolution's conflict propagates; later ones just count against the budget.
    """
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    rng = random.Random(options.seed)
    start = clock()
    pool: dict[tuple[tuple[str, str], ...], FoundStack] = {}
    rejected: list[str] = []
    tried: set[BansKey] = {()}
    learning = _Learning()
    # branches around learned constraints, run last-in first-out (depth first)
    pending: list[tuple[Bans, tuple[str, Nogood], tuple[str, str]]] = []
    # ban sets still to resolve, best bound first (see _children)
    frontier: list[tuple[float, float, float, int, Bans]] = []

    def run(bans: Bans) -> Resolution:
        return resolve(
            {canonicalize_name(n): frozenset(Version(v) for v in vs) for n, vs in bans.items()}
        )

    def add(res: Resolution, bans: Bans) -> FoundStack:
        found = FoundStack(resolution=res, evaluation=evaluate(res), bans=bans, found_at=len(pool))
        ev = found.evaluation
        if ev.reject is not None:
            rejected.append(ev.reject)
            _branch(found, learning, pending, tried, versions_in)
        elif found.key not in pool and options.explore and _among_best(found, pool, options):
            # a stack found again under more bans adds nothing: its children's stacks are
            # (for a resolver that backtracks around bans) those of its first finding; and
            # only a stack among the ``count`` best so far is worth perturbing (a worse one's
            # children are bounded by its own pins, which rarely beat the best: expanding
            # them spent the whole budget on every input)
            for bound, weight, child in _children(found, best_possible, versions_in):
                key = _bans_key(child)
                if key not in tried:
                    tried.add(key)
                    entry = (-bound, -weight, rng.random(), len(tried), child)
                    heapq.heappush(frontier, entry)
        pool.setdefault(found.key, found)
        return found

    add(resolve({}), {})
    resolutions = 1
    exhausted = False
    while resolutions < options.budget and clock() - start < options.time_limit:
        if pending:
            bans, key, part = pending.pop()
            resolutions += 1
            try:
                found = add(run(bans), bans)
            except NoViableStack as exc:
                learning.record(key, part, f"no consistent stack: {exc.summary}")
                continue
            reject = found.evaluation.reject
            learning.record(key, part, "accepted" if reject is None else f"rejected: {reject}")
            continue
        accepted = _ranked([f for f in pool.values() if f.evaluation.reject is None])
        want = max(options.count, 1)
        if not frontier or (
            len(accepted) >= want and -frontier[0][0] <= accepted[want - 1].evaluation.total + 1e-9
        ):
            # nothing left, or nothing left whose bound beats the k-th stack already found
            exhausted = True
            break
        bans = heapq.heappop(frontier)[-1]
        resolutions += 1
        try:
            add(run(bans), bans)
        except NoViableStack:
            continue
    acceptable = _ranked([f for f in pool.values() if f.evaluation.reject is None])
    return SearchResult(
        stacks=tuple(acceptable[: options.count]),
        resolutions=resolutions,
        rejected=tuple(dict.fromkeys(rejected)),
        exhausted=exhausted,
        learned=learning.result(),
        untried=len(pending),
    )


def _among_best(
    found: FoundStack,
    pool: Mapping[tuple[tuple[str, str], ...], FoundStack],
    options: SearchOptions,
) -> bool:
    """Whether accepted ``found`` ranks among the ``options.count`` best accepted stacks of
    ``pool`` (it not yet in it)."""
    accepted = [f for f in pool.values() if f.evaluation.reject is None]
    better = _ranked([*accepted, found]).index(found)
    return better < max(options.count, 1)


def _ranked(stacks: list[FoundStack]) -> list[FoundStack]:
    # totals to 9 digits: the same terms summed in another order may differ in the last bit;
    # a tie goes to the lower tie-break (``testing``: the lower direct versions), then to the
    # stack found first (the unbanned best-first one: newer versions)
    return sorted(
        stacks,
        key=lambda f: (-round(f.evaluation.total, 9), f.evaluation.tie_break, f.found_at),
    )


def _branch(
    found: FoundStack,
    learning: _Learning,
    pending: list[tuple[Bans, tuple[str, Nogood], tuple[str, str]]],
    tried: set[BansKey],
    versions_in: Callable[[str, str], frozenset[str]],
) -> None:
    """Learn the rejection of ``found`` and queue one branch per part of its nogood (the
    first part is tried first). Without a nogood, the blamed pin alone is the constraint."""
    ev = found.evaluation
    reason = ev.reject or ""
    nogood = ev.nogood
    if not nogood and ev.reject_package is not None:
        pinned = next((p for p in found.resolution.pins if p.name == ev.reject_package), None)
        if pinned is not None:
            nogood = ((pinned.name, f"=={pinned.version}"),)
    if not nogood:
        return
    learning.learn(reason, nogood)
    key = (reason, nogood)
    branches = []
    for part in nogood:
        name, spec = part
        banned = versions_in(name, spec)
        bans = _with_bans(found.bans, name, banned)
        if not banned or _bans_key(bans) in tried:
            learning.record(key, part, "already excluded" if banned else "no version to exclude")
            continue
        tried.add(_bans_key(bans))
        branches.append((bans, key, part))
    pending.extend(reversed(branches))


def _children(
    stack: FoundStack,
    best_possible: Callable[[str], float],
    versions_in: Callable[[str, str], frozenset[str]],
) -> list[tuple[float, float, Bans]]:
    """(bound, weight, bans) of the ban sets one ban beyond ``stack``'s: one per pin (its
    version banned), plus every known version of a pin that costs although none of its
    versions scores better (banning them all lets the resolver pick parents that avoid the
    project altogether: the fewest advisories no release fixes, say).

    ``bound`` is what a stack of the child could score at most if only the banned pin moved:
    the stack's pin scores, without its (negative) stack terms, which another pair may lose,
    plus what the pin could still gain. Resolution is greedy, so it is an estimate, not a
    proof; it orders the frontier and stops the search once ``count`` stacks beat every
    bound left. ``weight`` breaks ties toward low-scoring pins.
    """
    ev = stack.evaluation
    pins_total = sum(ev.pin_scores.values())
    base = pins_total + max(ev.total - pins_total, 0.0)
    out: list[tuple[float, float, Bans]] = []
    for pin in stack.resolution.pins:
        own = ev.pin_scores.get(pin.name, 0.0)
        gap = max(best_possible(pin.name) - own, 0.0)
        weight = 1.0 + gap + max(-own, 0.0)
        version = frozenset({str(pin.version)})
        out.append((base + gap, weight, _with_bans(stack.bans, pin.name, version)))
        if gap <= 1e-9 and own < 0:
            every = version | versions_in(pin.name, "")
            out.append((base - own, weight, _with_bans(stack.bans, pin.name, every)))
    return out


def _with_bans(bans: Mapping[str, frozenset[str]], name: str, versions: frozenset[str]) -> Bans:
    new = dict(bans)
    new[name] = frozenset({*new.get(name, frozenset()), *versions})
    return new


def _bans_key(bans: Mapping[str, frozenset[str]]) -> BansKey:
    return tuple(sorted((n, tuple(sorted(v))) for n, v in bans.items()))
