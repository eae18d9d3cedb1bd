"""Minimal-change remediation: from a lock's pins, the consistent stack without fixable
advisories that changes the fewest pins (``advisor fix``).

Sits in the decide layer beside the advice engine: it resolves with the planner's providers
(one per target, each with its own :class:`~advisor.resolution.options.ProviderCache`
sharing the index pages and metadata, never a target's markers or files), expressing
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
pin's constraints forbid), the fixes are taken one affected pin at a time (over the names
affected in any target), transitive first: each joins when a stack holds it with those
already taken, else it keeps its pin and is reported with its own conflict (alone, or with
the fixes it cannot join), so one unfixable advisory never blocks the others.

This module decides what a fix may do (each target's bans and fixed releases), which
affected pins each step moves, and the changes reported; a step's resolutions (the held sets,
the retries) run in :mod:`advisor.advice.remedy_steps`.
What a step chooses freely (a released pin, a package new to the stack) is
ordered by the lock's recommendation (:mod:`advisor.advice.remedy_order`). A lock
for several targets is held target by target, at each target's own pins
(:mod:`advisor.advice.locked_targets`), and a change only some targets make names them.
Pure apart from the index reads behind the providers; deterministic for a fixed index and
knowledge snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from advisor.advice.remedy_order import order_scorers
from advisor.advice.remedy_steps import AdvisoryJudge, FixPlan, RemedySearch, TargetResolvers
from advisor.advice.remedy_values import AdvisoryRef, PinChange, Remedy, Unfixable
from advisor.errors import NoViableStack
from advisor.events import SILENT
from advisor.resolution.options import ProviderCache
from advisor.resolution.resolve import merge
from advisor.scoring.base import ScoringContext

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.advice.planner import Planner
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.policy import Policy
    from advisor.resolution.provider import AdvisorProvider
    from advisor.resolution.resolve import TargetResult
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

#: a first release component at least this large is a year: calendar versioning (certifi's
#: 2024.8.30), whose "major" changes every January and promises nothing about compatibility
_YEAR = 1900

#: the advisories left open, keyed so that targets sharing a pin report each once
_Open = dict[tuple[str, "Version", str], Unfixable]


@dataclass(frozen=True, slots=True, kw_only=True)
class RemedyOptions:
    """``allow_major``: a pin may move to a new major version (off: fixes stay within the
    pinned major version, as a semver-minded reviewer expects). ``recommendation``: the
    lock's recommendation type (``None`` or ``latest``: newest first, as pip); its scorers
    order the versions a fix chooses freely (a released pin, a package new to the stack),
    but its filters remove nothing: which versions a fix may take is decided here."""

    allow_major: bool = False
    recommendation: str | None = None


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
    target_pins: Sequence[Mapping[NormalizedName, Version]] | None = None,
) -> Remedy:
    """The smallest change of ``pins`` (a lock's, for ``targets``) that leaves no fixable
    open advisory (see the module docstring for the order of the search).

    ``target_pins`` (a multi-target lock's, see
    :func:`~advisor.advice.locked_targets.pins_per_target`) are the pins each
    target installs, in the order of ``targets`` (``None``: ``pins`` for every target): a
    package locked at different versions for different targets is held at each target's own
    version, and a change is reported for the targets it is for.

    Cost: one index page per pinned project (to know its versions), then one resolution per
    target per attempt tried (at most ``2 + pins`` attempts per step), each target's
    resolutions sharing one cache; one step when every fix resolves at once, else up to two
    more per affected name.
    Raises nothing for an unfixable advisory (it is in :attr:`Remedy.unfixable`); index
    errors propagate.
    """
    per_target = [dict(p) for p in target_pins] if target_pins is not None else []
    if len(per_target) != len(targets):
        per_target = [dict(pins) for _ in targets]
    ctx = ScoringContext(
        env=targets[0], recommendation="security", now=now, knowledge=knowledge, policy=policy
    )
    judge = AdvisoryJudge(ctx)
    affected = len({(n, v) for tp in per_target for n, v in tp.items() if judge.open(n, v)})
    if not affected:
        return Remedy()
    shared = ProviderCache()  # the index pages and metadata every target reads
    caches = [shared.for_another_target() for _ in targets]  # markers, files: each its own
    probes = [planner.provider(t, cache=c) for t, c in zip(targets, caches, strict=True)]
    versions = partial(_versions, probes)
    plan, unfixable = _choose_fixes(
        per_target, judge=judge, versions=versions, allow_major=options.allow_major
    )
    if not plan.fixing:
        return Remedy(unfixable=tuple(unfixable.values()), affected=affected)
    allowed = partial(_is_allowed, allow_major=options.allow_major)
    resolvers = TargetResolvers(
        planner=planner,
        targets=targets,
        reasons=[  # the words a conflict explanation gives for each target's bans
            partial(_ban_reason, locked=tp, judge=judge, allowed=allowed) for tp in per_target
        ],
        scorers=order_scorers(planner, targets, options.recommendation, cache=shared, ctx=ctx),
        caches=caches,
        events=events,
    )
    search = RemedySearch(resolvers, plan, judge=judge, versions=versions)
    return _settle(
        search,
        plan,
        unfixable,
        judge=judge,
        direct=planner.direct,
        labels=[planner.label(t, targets) for t in targets],
        affected=affected,
    )


def _versions(probes: Sequence[AdvisorProvider], i: int, name: NormalizedName) -> list[Version]:
    """The versions the ``i``-th target's index has of ``name``, oldest first."""
    return sorted(probes[i].lookup.versions(name))  # a project the index lacks has none


def _is_allowed(v: Version, pinned: Version | None, *, allow_major: bool) -> bool:
    """Whether a pin at ``pinned`` (``None``: a package new to the stack) may move to ``v``:
    no new major version without ``allow_major``, no pre-release unless ``pinned`` is one."""
    if pinned is not None and not allow_major and is_new_major(pinned, v):
        return False
    return not (v.is_prerelease and not (pinned is not None and pinned.is_prerelease))


def _choose_fixes(
    per_target: Sequence[Mapping[NormalizedName, Version]],
    *,
    judge: AdvisoryJudge,
    versions: Callable[[int, NormalizedName], Sequence[Version]],
    allow_major: bool,
) -> tuple[FixPlan, _Open]:
    """Each target's bans and fixed releases (the lowest unaffected release above the pin,
    else the newest unaffected one), and the advisories no allowed release fixes, each with
    its reason (such a pin keeps its version: every other one is banned)."""
    allowed = partial(_is_allowed, allow_major=allow_major)
    bans: list[dict[NormalizedName, set[Version]]] = [{} for _ in per_target]
    fix_to: list[dict[NormalizedName, Version]] = [{} for _ in per_target]
    unfixable: _Open = {}
    stuck: set[tuple[int, NormalizedName]] = set()
    for i, tpins in enumerate(per_target):
        for name, version in sorted(tpins.items()):
            for v in versions(i, name):
                if not allowed(v, version) or (v != version and judge.open(name, v)):
                    bans[i].setdefault(name, set()).add(v)
            refs = judge.open(name, version)
            if not refs:
                continue
            safe = [v for v in versions(i, name) if allowed(v, version) and not judge.open(name, v)]
            if safe:
                above = [v for v in safe if v > version]
                fix_to[i][name] = above[0] if above else safe[-1]
                continue
            stuck.add((i, name))
            beyond = [
                v for v in versions(i, name) if not v.is_prerelease and not judge.open(name, v)
            ]
            if beyond and not allow_major:
                why = f"only a new major version is unaffected ({beyond[0]}): pass --allow-major"
            else:
                why = "no release fixes it"
            _add(unfixable, name, version, refs, why)
    for i, name in stuck:  # unfixable: keep the pin as it is
        bans[i][name] = {v for v in versions(i, name) if v != per_target[i][name]}
    plan = FixPlan(
        locked=per_target,
        bans=[{n: frozenset(vs) for n, vs in b.items()} for b in bans],
        fix_to=fix_to,
        stuck=frozenset(stuck),
    )
    return plan, unfixable


def _settle(
    search: RemedySearch,
    plan: FixPlan,
    unfixable: _Open,
    *,
    judge: AdvisoryJudge,
    direct: frozenset[NormalizedName],
    labels: Sequence[str],
    affected: int,
) -> Remedy:
    """Every fix of ``plan`` at once, else one at a time (:func:`_fix_in_turn`): the changes
    of the stack found, or, when no fix resolves, every advisory left open with its reason
    (added to ``unfixable``). ``labels`` name the targets, ``affected`` counts the affected
    pins."""
    found = search.step(plan.fixing)
    reasons: dict[NormalizedName, str] = {}
    if isinstance(found, NoViableStack):
        best, reasons = _fix_in_turn(search, plan, direct=direct)
        if best is None:
            _keep_unfixed(unfixable, plan, judge=judge, reasons=reasons)
            return Remedy(
                unfixable=tuple(unfixable.values()), affected=affected, resolutions=search.tried
            )
        found = best
    return _outcome(
        found,
        plan.locked,
        labels,
        judge=judge,
        direct=direct,
        unfixable=unfixable,
        reasons=reasons,
        affected=affected,
        tried=search.tried,
    )


def _fix_in_turn(
    search: RemedySearch, plan: FixPlan, *, direct: frozenset[NormalizedName]
) -> tuple[list[TargetResult] | None, dict[NormalizedName, str]]:
    """When the fixes do not resolve together: one affected name at a time (transitive
    first, as they move first), each joining those already taken when a stack holds them
    all. Returns the last stack found (``None``: no fix resolves) and, per name left out,
    why (alone, or with the fixes it cannot join)."""
    reasons: dict[NormalizedName, str] = {}
    solved: frozenset[NormalizedName] = frozenset()
    best: list[TargetResult] | None = None
    for name in sorted(plan.fixing, key=lambda n: (n in direct, n)):
        got = search.step(solved | {name})
        if not isinstance(got, NoViableStack):
            solved, best = solved | {name}, got
            continue
        alone = search.step({name}) if solved else got
        if isinstance(alone, NoViableStack):
            reasons[name] = f"no consistent stack holds a fixed version ({alone})"
        else:
            reasons[name] = (
                f"its fixed version conflicts with the fixes of {', '.join(sorted(solved))} ({got})"
            )
    return best, reasons


def _keep_unfixed(
    unfixable: _Open,
    plan: FixPlan,
    *,
    judge: AdvisoryJudge,
    reasons: Mapping[NormalizedName, str],
) -> None:
    """Adds the advisories of every fixable pin to ``unfixable`` with its reason, when no
    fix resolves (each pin keeps its version)."""
    for i, fixes in enumerate(plan.fix_to):
        for name in sorted(fixes):
            version = plan.locked[i][name]
            _add(unfixable, name, version, judge.open(name, version), reasons[name])


def _add(
    unfixable: dict[tuple[str, Version, str], Unfixable],
    name: NormalizedName,
    version: Version,
    refs: Sequence[AdvisoryRef],
    reason: str,
) -> None:
    """Adds each advisory of ``refs`` left open on ``name`` ``version`` to ``unfixable``,
    keyed so that targets sharing the pin report it once (the first reason stays)."""
    for a in refs:
        unfixable.setdefault(
            (name, version, a.id), Unfixable(name=name, version=version, advisory=a, reason=reason)
        )


def _ban_reason(
    name: NormalizedName,
    version: Version,
    *,
    locked: Mapping[NormalizedName, Version],
    judge: AdvisoryJudge,
    allowed: Callable[[Version, Version | None], bool],
) -> str:
    """Why the fix bans ``version`` of ``name`` (the target's pins are ``locked``), in the
    words a conflict explanation shows: affected by an advisory (the one being fixed, for the
    locked version of a pin that moves), a new major version or a pre-release, else held at
    the locked version (the fix changes the fewest pins)."""
    pinned = locked.get(name)
    refs = judge.open(name, version)
    if refs:
        return f"excluded by the fix: affected by {', '.join(a.id for a in refs)}"
    if not allowed(version, pinned):
        if version.is_prerelease:
            return "excluded by the fix: a pre-release"
        return "excluded by the fix: a new major version (allow with --allow-major)"
    if pinned is not None:
        return f"excluded by the fix: {name} is held at its locked version {pinned}"
    return "excluded by the fix"


def _outcome(
    results: Sequence[TargetResult],
    per_target: Sequence[Mapping[NormalizedName, Version]],
    labels: Sequence[str],
    *,
    judge: AdvisoryJudge,
    direct: frozenset[NormalizedName],
    unfixable: Mapping[tuple[str, Version, str], Unfixable],
    reasons: Mapping[NormalizedName, str],
    affected: int,
    tried: int,
) -> Remedy:
    """The changes of every target, each once: a change every target makes names no target;
    one only some targets make names those. ``reasons`` say why each affected name whose fix
    could not join the others did not move: its advisories still open in a target's new pins
    are added to ``unfixable``."""
    left = dict(unfixable)
    where: dict[tuple[NormalizedName, Version | None, Version | None], list[str]] = {}
    for result, old_pins, label in zip(results, per_target, labels, strict=True):
        new_pins = {p.name: p.version for p in result.resolution.pins}
        for name, why in sorted(reasons.items()):
            if name in new_pins:
                _add(left, name, new_pins[name], judge.open(name, new_pins[name]), why)
        for name in sorted(set(old_pins) | set(new_pins)):
            old, now = old_pins.get(name), new_pins.get(name)
            if old != now:
                where.setdefault((name, old, now), []).append(label)
    changes: list[PinChange] = []
    for (name, old, now), found in where.items():
        fixed = judge.open(name, old) if old is not None else ()
        still = {a.id for a in judge.open(name, now)} if now is not None else set()
        changes.append(
            PinChange(
                name=name,
                old=old,
                new=now,
                direct=name in direct,
                fixes=tuple(a for a in fixed if a.id not in still),
                targets=() if len(found) == len(labels) else tuple(found),
            )
        )
    changes.sort(key=lambda c: (c.direct, c.name, c.targets))
    return Remedy(
        changes=tuple(changes),
        unfixable=tuple(left.values()),
        resolution=merge(results) if changes else None,
        affected=affected,
        resolutions=tried,
    )
