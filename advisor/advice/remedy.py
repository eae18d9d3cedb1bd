"""Minimal-change remediation: from a lock's pins, the consistent stack without fixable
advisories that changes the fewest pins (``advisor fix``).

Sits in the decide layer beside the advice engine: it resolves with the planner's providers
(one per target, sharing one :class:`~advisor.resolution.options.ProviderCache`), expressing
every decision as the provider's *bans* and *preferences*, so the resolver itself stays the
one that decides consistency. Advisories come through the scoring layer's knowledge view and
:func:`~advisor.scoring.units.security.advisories_affecting` (waivers honoured, as ``check``
and the ``security`` filter honour them).

The search, cheapest change first:

1. every pin affected by an open advisory must move: its affected versions are banned, and
   it prefers the lowest unaffected release above its pin (the smallest step); one with no
   unaffected release (or only in a new major version, without ``allow_major``) is
   *unfixable*: it keeps its pin and is reported with the reason;
2. no pin may move to an affected version, nor to a new major version without
   ``allow_major`` (:func:`is_new_major`: a calendar-versioned project, whose first release
   component is a year, has no major versions);
3. the other pins are *held* (every other version banned), and released in this order until a
   resolution succeeds: none; one transitive pin at a time; every transitive pin; one direct
   pin at a time; every pin (preferred, no longer held). Transitive pins move before direct
   ones, since a direct pin is what the project asked for.

A package new to the stack that is itself affected gets its affected versions banned and the
step is retried. When no step moves every affected pin at once (one fix needs what another
pin's constraints forbid), the fixes are taken one affected pin at a time, transitive first:
each joins when a stack holds it with those already taken, else it keeps its pin and is
reported with its own conflict (alone, or with the fixes it cannot join), so one unfixable
advisory never blocks the others. Pure apart from the index reads behind the providers;
deterministic for a fixed index and knowledge snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from advisor.errors import NoViableStack
from advisor.events import SILENT
from advisor.resolution.options import ProviderCache
from advisor.resolution.resolve import TargetResult, merge, resolve
from advisor.scoring.base import ScoringContext
from advisor.scoring.units.security import advisories_affecting, advisory_link

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from collections.abc import Set as AbstractSet
    from datetime import datetime

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.advice.planner import Planner
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.models import Resolution
    from advisor.policy import Policy
    from advisor.scoring.base import KnowledgeView

__all__ = [
    "AdvisoryRef",
    "PinChange",
    "Remedy",
    "RemedyOptions",
    "Unfixable",
    "is_new_major",
    "plan_remedy",
]

_MAX_RETRIES = 4  # rounds of "a new package is affected too" per step
#: a first release component at least this large is a year: calendar versioning (certifi's
#: 2024.8.30), whose "major" changes every January and promises nothing about compatibility
_YEAR = 1900


@dataclass(frozen=True, slots=True, kw_only=True)
class RemedyOptions:
    """``allow_major``: a pin may move to a new major version (off: fixes stay within the
    pinned major version, as a semver-minded reviewer expects)."""

    allow_major: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AdvisoryRef:
    """An advisory as the remedy names it: its id, one-line summary and where to read it."""

    id: str
    summary: str = ""
    link: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "summary": self.summary, "link": self.link}


@dataclass(frozen=True, slots=True, kw_only=True)
class PinChange:
    """One pin changed: ``old`` ``None`` for a package added, ``new`` ``None`` for one
    removed; ``fixes`` the advisories the change fixes (empty for a change another fix
    needs)."""

    name: NormalizedName
    old: Version | None
    new: Version | None
    direct: bool
    fixes: tuple[AdvisoryRef, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": str(self.name),
            "old": None if self.old is None else str(self.old),
            "new": None if self.new is None else str(self.new),
            "direct": self.direct,
            "fixes": [a.to_dict() for a in self.fixes],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Unfixable:
    """An advisory left open on ``name`` ``version``, and why no change fixes it."""

    name: NormalizedName
    version: Version
    advisory: AdvisoryRef
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": str(self.name),
            "version": str(self.version),
            "advisory": self.advisory.to_dict(),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Remedy:
    """The outcome: ``changes`` (transitive first, then by name), ``unfixable`` advisories,
    the ``resolution`` to lock (``None``: nothing to change) and how many pins were
    ``affected`` before."""

    changes: tuple[PinChange, ...] = ()
    unfixable: tuple[Unfixable, ...] = ()
    resolution: Resolution | None = None
    affected: int = 0
    resolutions: int = 0

    @property
    def fixed(self) -> tuple[AdvisoryRef, ...]:
        """Every advisory the changes fix, once, by id."""
        seen = {a.id: a for c in self.changes for a in c.fixes}
        return tuple(seen[k] for k in sorted(seen))

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``advisor fix --report json`` prints (the renderers read it)."""
        return {
            "changes": [c.to_dict() for c in self.changes],
            "unfixable": [u.to_dict() for u in self.unfixable],
            "fixed": [a.to_dict() for a in self.fixed],
            "affected-pins": self.affected,
            "resolutions": self.resolutions,
        }


class _Judge:
    """Open (non-waived) advisories per version, memoised."""

    def __init__(self, ctx: ScoringContext) -> None:
        self._ctx = ctx
        self._memo: dict[tuple[str, Version], tuple[AdvisoryRef, ...]] = {}

    def open(self, name: str, version: Version) -> tuple[AdvisoryRef, ...]:
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
class _Attempt:
    held: frozenset[NormalizedName]
    label: str


def is_new_major(pinned: Version, version: Version) -> bool:
    """Whether moving from ``pinned`` to ``version`` is a new major version: a larger first
    release component, unless ``pinned`` is calendar-versioned (its first component is a
    year, >= 1900), where a later year is no new major version."""
    return pinned.major < _YEAR and version.major > pinned.major


def plan_remedy(
    planner: Planner,
    targets: Sequence[RuntimeEnvironment],
    *,
    pins: Mapping[NormalizedName, Version],
    knowledge: KnowledgeView,
    policy: Policy,
    now: datetime,
    options: RemedyOptions = RemedyOptions(),
    events: ProgressEvents = SILENT,
) -> Remedy:
    """The smallest change of ``pins`` (a lock's, for ``targets``) that leaves no fixable
    open advisory (see the module docstring for the order of the search).

    Cost: one index page per pinned project (to know its versions), then one resolution per
    target per step tried (at most ``2 + pins`` steps), sharing the providers' cache.
    Raises nothing for an unfixable advisory (it is in :attr:`Remedy.unfixable`); index
    errors propagate.
    """
    ctx = ScoringContext(
        env=targets[0], recommendation="security", now=now, knowledge=knowledge, policy=policy
    )
    judge = _Judge(ctx)
    affected = {n: judge.open(n, v) for n, v in sorted(pins.items()) if judge.open(n, v)}
    if not affected:
        return Remedy()
    cache = ProviderCache()
    probe = planner.provider(targets[0], cache=cache)

    def versions(name: NormalizedName) -> list[Version]:
        return sorted(probe.lookup.versions(name))  # a project the index lacks has none

    def allowed(name: NormalizedName, v: Version) -> bool:
        pinned = pins.get(name)
        if pinned is not None and not options.allow_major and is_new_major(pinned, v):
            return False
        return not (v.is_prerelease and not (pinned is not None and pinned.is_prerelease))

    bans: dict[NormalizedName, set[Version]] = {}
    fix_to: dict[NormalizedName, Version] = {}  # the fixed release each affected pin prefers
    unfixable: list[Unfixable] = []
    stuck: set[NormalizedName] = set()
    for name, version in sorted(pins.items()):
        for v in versions(name):
            if not allowed(name, v) or (v != version and judge.open(name, v)):
                bans.setdefault(name, set()).add(v)
        if name not in affected:
            continue
        safe = [v for v in versions(name) if allowed(name, v) and not judge.open(name, v)]
        if safe:
            above = [v for v in safe if v > version]
            fix_to[name] = above[0] if above else safe[-1]
            continue
        stuck.add(name)
        beyond = [v for v in versions(name) if not v.is_prerelease and not judge.open(name, v)]
        if beyond and not options.allow_major:
            why = f"only a new major version is unaffected ({beyond[0]}): pass --allow-major"
        else:
            why = "no release fixes it"
        unfixable += [
            Unfixable(name=name, version=version, advisory=a, reason=why) for a in affected[name]
        ]
    for name in stuck:  # unfixable: keep the pin as it is
        bans[name] = {v for v in versions(name) if v != pins[name]}
    if not fix_to:
        return Remedy(unfixable=tuple(unfixable), affected=len(affected))

    tried = 0

    def step(moving: frozenset[NormalizedName]) -> Resolution | NoViableStack:
        """The fewest changes that move every pin of ``moving`` to a fixed release (the other
        affected pins may stay), or why none resolves."""
        nonlocal tried
        preferences = {n: fix_to[n] if n in moving else v for n, v in pins.items()}

        def hold(held: frozenset[NormalizedName]) -> dict[NormalizedName, frozenset[Version]]:
            out = {k: frozenset(v) for k, v in bans.items()}
            for name in moving:
                out[name] = out.get(name, frozenset()) | {pins[name]}
            for name in held:
                out[name] = frozenset(v for v in versions(name) if v != pins[name])
            return out

        last = NoViableStack("no stack resolves")
        for attempt in _attempts(pins, affected=moving | stuck, direct=planner.direct):
            for _ in range(_MAX_RETRIES):
                tried += 1
                try:
                    merged = _resolve_all(
                        planner, targets, hold(attempt.held), preferences, cache, events
                    )
                except NoViableStack as exc:
                    last = exc
                    break
                fresh = [
                    p for p in merged.pins if p.name not in pins and judge.open(p.name, p.version)
                ]
                if not fresh:
                    return merged
                for p in fresh:  # a new package that is affected too: ban what is affected
                    bans.setdefault(p.name, set()).update(
                        v for v in versions(p.name) if judge.open(p.name, v)
                    )
        return last

    found = step(frozenset(fix_to))
    reasons: dict[NormalizedName, str] = {}
    if isinstance(found, NoViableStack):
        # one fix blocks the others: fix what can be fixed, one affected pin at a time
        # (transitive first, as they move first), each blocked one named with its own reason
        solved: frozenset[NormalizedName] = frozenset()
        best: Resolution | None = None
        for name in sorted(fix_to, key=lambda n: (n in planner.direct, n)):
            got = step(solved | {name})
            if not isinstance(got, NoViableStack):
                solved, best = solved | {name}, got
                continue
            alone = step(frozenset({name})) if solved else got
            if isinstance(alone, NoViableStack):
                reasons[name] = f"no consistent stack holds a fixed version ({alone})"
            else:
                reasons[name] = (
                    "its fixed version conflicts with the fixes of "
                    f"{', '.join(sorted(solved))} ({got})"
                )
        if best is None:
            unfixable += [
                Unfixable(name=n, version=pins[n], advisory=a, reason=reasons[n])
                for n in sorted(fix_to)
                for a in affected[n]
            ]
            return Remedy(unfixable=tuple(unfixable), affected=len(affected), resolutions=tried)
        found = best
    return _outcome(found, pins, judge, planner.direct, unfixable, reasons, len(affected), tried)


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


def _resolve_all(
    planner: Planner,
    targets: Sequence[RuntimeEnvironment],
    bans: Mapping[NormalizedName, frozenset[Version]],
    preferences: Mapping[NormalizedName, Version],
    cache: ProviderCache,
    events: ProgressEvents,
) -> Resolution:
    results = []
    for target in targets:
        provider = planner.provider(target, preferences=preferences, bans=bans, cache=cache)
        label = planner.label(target, targets)
        res = resolve(provider, planner.roots, target=label, events=events)
        results.append(TargetResult(marker=target.lock_marker(), resolution=res))
    return merge(results)


def _outcome(
    merged: Resolution,
    pins: Mapping[NormalizedName, Version],
    judge: _Judge,
    direct: frozenset[NormalizedName],
    unfixable: Sequence[Unfixable],
    reasons: Mapping[NormalizedName, str],
    affected: int,
    tried: int,
) -> Remedy:
    """The changes from ``pins`` to ``merged``; ``reasons`` say why each affected pin whose
    fix could not join the others did not move: its advisories still open in ``merged`` are
    added to ``unfixable``."""
    new: dict[NormalizedName, Version] = {}
    for p in merged.pins:
        new[p.name] = max(new.get(p.name, p.version), p.version)
    left = [
        Unfixable(name=name, version=new[name], advisory=a, reason=why)
        for name, why in sorted(reasons.items())
        if name in new
        for a in judge.open(name, new[name])
    ]
    changes: list[PinChange] = []
    for name in sorted(set(pins) | set(new)):
        old, now = pins.get(name), new.get(name)
        if old == now:
            continue
        fixed = judge.open(name, old) if old is not None else ()
        still = {a.id for a in judge.open(name, now)} if now is not None else set()
        changes.append(
            PinChange(
                name=name,
                old=old,
                new=now,
                direct=name in direct,
                fixes=tuple(a for a in fixed if a.id not in still),
            )
        )
    changes.sort(key=lambda c: (c.direct, c.name))
    return Remedy(
        changes=tuple(changes),
        unfixable=(*unfixable, *left),
        resolution=merged if changes else None,
        affected=affected,
        resolutions=tried,
    )
