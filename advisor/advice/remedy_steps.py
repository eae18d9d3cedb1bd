"""One step of ``advisor fix``'s search: the resolutions that move a set of affected pins.

Beside :mod:`advisor.advice.remedy` in the decide layer, which chooses what a fix may do (a
:class:`FixPlan`: each target's bans and fixed releases) and decides which affected pins a
step moves; a :class:`RemedySearch` then tries the held sets, fewest changes first, one
resolution per target each (:class:`TargetResolvers`), banning the affected versions of a
package new to the stack and retrying. :class:`AdvisoryJudge` answers which advisories are
open on a version, for both. Pure apart from the index reads behind the providers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.advice.remedy_values import AdvisoryRef
from advisor.errors import NoViableStack
from advisor.resolution.resolve import TargetResult, resolve
from advisor.scoring.units.security import advisories_affecting, advisory_link

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from collections.abc import Set as AbstractSet

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.advice.planner import Planner
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.resolution.options import CandidateScorer, ProviderCache
    from advisor.scoring.base import ScoringContext

__all__ = ["AdvisoryJudge", "FixPlan", "RemedySearch", "TargetResolvers"]

_MAX_RETRIES = 4  # rounds of "a new package is affected too" per step


class AdvisoryJudge:
    """Open (non-waived) advisories per version, memoised."""

    def __init__(self, ctx: ScoringContext) -> None:
        self._ctx = ctx
        self._memo: dict[tuple[str, Version], tuple[AdvisoryRef, ...]] = {}

    def open(self, name: str, version: Version) -> tuple[AdvisoryRef, ...]:
        """The advisories open on ``name`` ``version`` (waivers honoured); cached per version."""
        key = (name, version)
        hit = self._memo.get(key)
        if hit is None:
            hit = tuple(
                AdvisoryRef(
                    id=h.advisory.id,
                    summary=h.advisory.summary or "",
                    link=advisory_link(h.advisory),
                )
                for h in advisories_affecting(name, version, self._ctx)
                if not h.waived
            )
            self._memo[key] = hit
        return hit


@dataclass(frozen=True, slots=True, kw_only=True)
class FixPlan:
    """What a fix chose before resolving, one entry per target (in the targets' order):
    ``locked``, the pins the target installs; ``bans``, the versions no pin may take
    (affected, a new major version or pre-release not allowed; every other version of an
    unfixable pin); ``fix_to``, each fixable affected pin's fixed release; ``stuck``, the
    ``(target index, name)`` pairs with no fix (they keep their pins)."""

    locked: Sequence[Mapping[NormalizedName, Version]]
    bans: Sequence[Mapping[NormalizedName, frozenset[Version]]]
    fix_to: Sequence[Mapping[NormalizedName, Version]]
    stuck: frozenset[tuple[int, NormalizedName]]

    @property
    def fixing(self) -> frozenset[NormalizedName]:
        """The names with a fix in some target."""
        return frozenset(n for fixes in self.fix_to for n in fixes)

    @property
    def stuck_everywhere(self) -> frozenset[NormalizedName]:
        """The names unfixable in every target that locks them."""
        return frozenset(
            n
            for _, n in self.stuck
            if all((i, n) in self.stuck for i, tp in enumerate(self.locked) if n in tp)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetResolvers:
    """How each target of ``targets`` resolves in a step: through ``planner``'s providers,
    with the words ``reasons`` gives for its bans in a conflict explanation, its order
    (``scorers``; ``None``: newest first) and its cache (``caches``), one entry each."""

    planner: Planner
    targets: Sequence[RuntimeEnvironment]
    reasons: Sequence[Callable[[NormalizedName, Version], str]]
    scorers: Sequence[CandidateScorer | None]
    caches: Sequence[ProviderCache]
    events: ProgressEvents

    def resolve_all(
        self,
        bans: Sequence[Mapping[NormalizedName, frozenset[Version]]],
        preferences: Sequence[Mapping[NormalizedName, Version]],
    ) -> list[TargetResult]:
        """One resolution per target, with that target's ``bans`` and ``preferences``.

        Raises :class:`~advisor.errors.NoViableStack` when a target does not resolve."""
        results = []
        for i, target in enumerate(self.targets):
            provider = self.planner.provider(
                target,
                preferences=preferences[i],
                bans=bans[i],
                ban_reason=self.reasons[i],
                scorer=self.scorers[i],
                cache=self.caches[i],
            )
            label = self.planner.label(target, self.targets)
            res = resolve(provider, self.planner.roots, target=label, events=self.events)
            results.append(TargetResult(marker=target.lock_marker(), resolution=res))
        return results


@dataclass(frozen=True, slots=True, kw_only=True)
class _Attempt:
    held: frozenset[NormalizedName]
    label: str


class RemedySearch:
    """The steps of one fix over ``plan``: :meth:`step` moves a set of affected pins.
    ``versions(i, name)`` are the versions the index has of ``name`` for the ``i``-th
    target, sorted. Each step's resolutions are counted in :attr:`tried`; the bans grow
    when a package new to the stack is affected, and stay for the later steps."""

    def __init__(
        self,
        resolvers: TargetResolvers,
        plan: FixPlan,
        *,
        judge: AdvisoryJudge,
        versions: Callable[[int, NormalizedName], Sequence[Version]],
    ) -> None:
        self._resolvers = resolvers
        self._plan = plan
        self._judge = judge
        self._versions = versions
        self._bans = [dict(b) for b in plan.bans]
        self._names = {n: v for tp in plan.locked for n, v in tp.items()}
        self.tried = 0

    def step(self, moving: AbstractSet[NormalizedName]) -> list[TargetResult] | NoViableStack:
        """The fewest changes that move every pin of ``moving`` to a fixed release, in every
        target where it is affected (the other affected pins may stay), or why none resolves.

        Cost: one resolution per target per attempt (at most ``2 + pins`` attempts), each
        retried up to 4 times when a package new to the stack is affected."""
        plan = self._plan
        preferences = [
            {
                n: plan.fix_to[i][n] if n in moving and n in plan.fix_to[i] else v
                for n, v in tp.items()
            }
            for i, tp in enumerate(plan.locked)
        ]
        last = NoViableStack("no stack resolves")
        # a pin unfixable in every target that locks it is held by its bans; one unfixable in
        # some targets only is held like any other pin (and released in its turn) in the rest
        frozen = frozenset(moving) | plan.stuck_everywhere
        direct = self._resolvers.planner.direct
        for attempt in _attempts(self._names, affected=frozen, direct=direct):
            for _ in range(_MAX_RETRIES):
                self.tried += 1
                held = [self._hold(i, attempt.held, moving) for i in range(len(plan.locked))]
                try:
                    results = self._resolvers.resolve_all(held, preferences)
                except NoViableStack as exc:
                    last = exc
                    break
                if not self._ban_fresh(results):
                    return results
        return last

    def _hold(
        self, i: int, held: AbstractSet[NormalizedName], moving: AbstractSet[NormalizedName]
    ) -> dict[NormalizedName, frozenset[Version]]:
        """The ``i``-th target's bans for an attempt: its plan's, a moving pin's affected
        version, and every other version of a ``held`` pin."""
        locked, fix_to = self._plan.locked[i], self._plan.fix_to[i]
        out = dict(self._bans[i])
        for name in moving & fix_to.keys():  # a moving pin leaves its affected version
            out[name] = out.get(name, frozenset()) | {locked[name]}
        for name in held & locked.keys():
            out[name] = frozenset(v for v in self._versions(i, name) if v != locked[name])
        return out

    def _ban_fresh(self, results: Sequence[TargetResult]) -> bool:
        """Bans, in every target, the affected versions of each package new to the stack
        that ``results`` pin at an affected version; whether there was one (then retry)."""
        fresh = [
            p
            for r in results
            for p in r.resolution.pins
            if p.name not in self._names and self._judge.open(p.name, p.version)
        ]
        for p in fresh:
            for i, bans in enumerate(self._bans):
                bans[p.name] = bans.get(p.name, frozenset()) | {
                    v for v in self._versions(i, p.name) if self._judge.open(p.name, v)
                }
        return bool(fresh)


def _attempts(
    pins: Mapping[NormalizedName, Version],
    *,
    affected: AbstractSet[NormalizedName],
    direct: frozenset[NormalizedName],
) -> Iterator[_Attempt]:
    """The held sets to try, fewest changes first: transitive pins released before direct."""
    others = frozenset(n for n in pins if n not in affected)
    transitive = sorted(n for n in others if n not in direct)
    directs = sorted(n for n in others if n in direct)
    yield _Attempt(held=others, label="only the affected pins")
    for name in transitive:
        yield _Attempt(held=others - {name}, label=f"also {name}")
    if len(transitive) > 1:
        yield _Attempt(held=others - set(transitive), label="every transitive pin")
    rest = others - set(transitive)
    for name in directs:
        yield _Attempt(held=rest - {name}, label=f"also {name}")
    if directs:
        yield _Attempt(held=frozenset(), label="every pin")
