"""Stack search: best-first resolution, then a seeded, budgeted local search.

The first resolution orders every project's candidates by score (the provider's scorer), so
it is greedy: it takes the best-scored version of each project it meets. Greedy is not always
optimal — the best-scored version of one package can force a heavily penalised dependency —
so the search then perturbs stacks: it bans one pinned version (the resolver then backtracks
around the ban) and resolves again, keeping the best ``count`` distinct stacks. Which pin to
ban is chosen by a seeded random draw weighted toward low-scoring pins and the pins a stack
check blamed, so the result is deterministic for the same knowledge and seed. It stops when
the budget of resolutions or the time limit is spent, or when no pin can do better.
"""

from __future__ import annotations

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

__all__ = ["Evaluation", "FoundStack", "SearchOptions", "SearchResult", "search"]

Bans = dict[str, frozenset[str]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    """How a stack scores: ``total`` (``-inf`` when ``reject`` says why it is unacceptable),
    each pin's own score, the package a rejection is about (to ban first) and the pins
    that together make it (``nogood``: (name, ``"==version"``) pairs; each is worth
    banning)."""

    total: float
    pin_scores: Mapping[str, float] = field(default_factory=dict)
    reject: str | None = None
    reject_package: str | None = None
    nogood: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchOptions:
    count: int = 3
    budget: int = 12
    time_limit: float = 30.0
    seed: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundStack:
    resolution: Resolution
    evaluation: Evaluation
    bans: Mapping[str, frozenset[str]]

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        return tuple((p.name, str(p.version)) for p in self.resolution.pins)

    @property
    def rank(self) -> tuple[float, int, tuple[tuple[str, str], ...]]:
        """Best first: the higher total (to 9 digits: sums in another order may differ in
        the last bit), then the fewer banned versions, so that on a tie the stack the
        unbanned best-first resolution chose (ties toward newer versions) wins over one
        a ban pushed to older versions; then the pins, for a fixed order."""
        banned = sum(len(v) for v in self.bans.values())
        return (-round(self.evaluation.total, 9), banned, self.key)


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResult:
    stacks: tuple[FoundStack, ...]  # best first, distinct, at most ``count``
    resolutions: int
    rejected: tuple[str, ...] = ()  # reasons stacks were rejected by a stack check
    exhausted: bool = False  # stopped because no pin could improve


def _better(a: FoundStack, b: FoundStack) -> bool:
    return (a.evaluation.total, b.key) > (b.evaluation.total, a.key)


def search(
    resolve: Callable[[Mapping[NormalizedName, frozenset[Version]]], Resolution],
    evaluate: Callable[[Resolution], Evaluation],
    *,
    best_possible: Callable[[str], float],
    options: SearchOptions,
    clock: Callable[[], float] = time.monotonic,
) -> SearchResult:
    """Search for the best ``options.count`` stacks.

    ``resolve(bans)`` runs one resolution with some versions banned (raises
    :class:`NoViableStack` when none is consistent); ``evaluate`` scores a stack;
    ``best_possible(name)`` is the highest score any candidate of ``name`` has (a pin already
    at its best is not worth banning). The first resolution's conflict propagates; later
    ones just count against the budget.
    """
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    rng = random.Random(options.seed)
    start = clock()
    first = resolve({})
    resolutions = 1
    pool: dict[tuple[tuple[str, str], ...], FoundStack] = {}
    rejected: list[str] = []
    tried: set[tuple[tuple[str, tuple[str, ...]], ...]] = {()}

    def add(res: Resolution, bans: Bans) -> None:
        found = FoundStack(resolution=res, evaluation=evaluate(res), bans=bans)
        if found.evaluation.reject is not None:
            rejected.append(found.evaluation.reject)
        pool.setdefault(found.key, found)

    add(first, {})
    exhausted = False
    while resolutions < options.budget and clock() - start < options.time_limit:
        ranked = sorted(pool.values(), key=lambda f: f.rank)
        # the stack to perturb: usually the best, sometimes one of the next (seeded)
        base = ranked[0] if rng.random() < 0.7 or len(ranked) == 1 else rng.choice(ranked[1:4])
        choices = _ban_choices(base, best_possible)
        choices = [c for c in choices if _bans_key(_with_ban(base.bans, c[0], c[1])) not in tried]
        if not choices:
            if base is ranked[0]:
                exhausted = True
                break
            continue
        weights = [w for _, _, w in choices]
        name, version, _ = rng.choices(choices, weights=weights, k=1)[0]
        bans = _with_ban(base.bans, name, version)
        tried.add(_bans_key(bans))
        resolutions += 1
        try:
            res = resolve(
                {canonicalize_name(n): frozenset(Version(v) for v in vs) for n, vs in bans.items()}
            )
        except NoViableStack:
            continue
        add(res, bans)
    ranked = sorted(pool.values(), key=lambda f: f.rank)
    acceptable = [f for f in ranked if f.evaluation.reject is None]
    return SearchResult(
        stacks=tuple(acceptable[: options.count]),
        resolutions=resolutions,
        rejected=tuple(dict.fromkeys(rejected)),
        exhausted=exhausted,
    )


def _ban_choices(
    stack: FoundStack, best_possible: Callable[[str], float]
) -> list[tuple[str, str, float]]:
    """(name, version, weight) for each pin worth banning, in a fixed order."""
    ev = stack.evaluation
    out: list[tuple[str, str, float]] = []
    for pin in stack.resolution.pins:
        own = ev.pin_scores.get(pin.name, 0.0)
        gap = best_possible(pin.name) - own
        blamed = ev.reject_package == pin.name or any(n == pin.name for n, _ in ev.nogood)
        if gap <= 1e-9 and not blamed and own >= 0:
            # already at its best; still worth trying when it is negative: banning it can
            # let the resolver pick parents that avoid it altogether
            continue
        weight = 1.0 + max(gap, 0.0) + max(-own, 0.0) + (5.0 if blamed else 0.0)
        out.append((pin.name, str(pin.version), weight))
    return out


def _with_ban(bans: Mapping[str, frozenset[str]], name: str, version: str) -> Bans:
    new = dict(bans)
    new[name] = frozenset({*new.get(name, frozenset()), version})
    return new


def _bans_key(bans: Mapping[str, frozenset[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((n, tuple(sorted(v))) for n, v in bans.items()))
