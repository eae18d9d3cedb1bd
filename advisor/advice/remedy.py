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
   ``allow_major``;
3. the other pins are *held* (every other version banned), and released in this order until a
   resolution succeeds: none; one transitive pin at a time; every transitive pin; one direct
   pin at a time; every pin (preferred, no longer held). Transitive pins move before direct
   ones, since a direct pin is what the project asked for.

A package new to the stack that is itself affected gets its affected versions banned and the
step is retried. What a step chooses freely (a released pin, a package new to the stack) is
ordered by the lock's recommendation (its scorers; its filters remove nothing here). A lock
for several targets is held target by target, at each target's own pins
(:mod:`advisor.advice.locked_targets`), and a change only some targets make names them.
Pure apart from the index reads behind the providers; deterministic for a fixed index and
knowledge snapshot.
"""

from __future__ import annotations

import dataclasses
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
    from datetime import datetime

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.advice.planner import Planner
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.models import DistFile, Resolution
    from advisor.policy import Policy
    from advisor.resolution.options import CandidateScorer
    from advisor.scoring.base import KnowledgeView

__all__ = [
    "AdvisoryRef",
    "PinChange",
    "Remedy",
    "RemedyOptions",
    "Unfixable",
    "plan_remedy",
]

_MAX_RETRIES = 4  # rounds of "a new package is affected too" per step


@dataclass(frozen=True, slots=True, kw_only=True)
class RemedyOptions:
    """``allow_major``: a pin may move to a new major version (off: fixes stay within the
    pinned major version, as a semver-minded reviewer expects). ``recommendation``: the
    lock's recommendation type (``None`` or ``latest``: newest first, as pip); its scorers
    order the versions a fix chooses freely (a released pin, a package new to the stack),
    but its filters remove nothing: which versions a fix may take is decided here."""

    allow_major: bool = False
    recommendation: str | None = None


class _OrderOnly:
    """A :class:`~advisor.resolution.options.CandidateScorer` that orders by a
    recommendation's scores and removes nothing: a version its filters would remove comes
    last instead (a fix may need it: a young release that fixes an advisory, say)."""

    def __init__(self, scorer: CandidateScorer) -> None:
        self._scorer = scorer

    def evaluate(
        self,
        name: NormalizedName,
        version: Version,
        *,
        files: tuple[DistFile, ...],
        needs_build: bool,
        yanked: bool,
        direct: bool,
    ) -> tuple[str | None, float]:
        reason, score = self._scorer.evaluate(
            name, version, files=files, needs_build=needs_build, yanked=yanked, direct=direct
        )
        return None, (float("-inf") if reason is not None else score)


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
    needs); ``targets`` the labels of the targets it is for, when not every target of a
    multi-target lock makes the same change."""

    name: NormalizedName
    old: Version | None
    new: Version | None
    direct: bool
    fixes: tuple[AdvisoryRef, ...] = ()
    targets: tuple[str, ...] = ()  # the targets the change is for (empty: every target)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": str(self.name),
            "old": None if self.old is None else str(self.old),
            "new": None if self.new is None else str(self.new),
            "direct": self.direct,
            "fixes": [a.to_dict() for a in self.fixes],
            "targets": list(self.targets),
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
    target per step tried (at most ``2 + pins`` steps), sharing the providers' cache.
    Raises nothing for an unfixable advisory (it is in :attr:`Remedy.unfixable`); index
    errors propagate.
    """
    per_target = [dict(p) for p in target_pins] if target_pins is not None else []
    if len(per_target) != len(targets):
        per_target = [dict(pins) for _ in targets]
    ctx = ScoringContext(
        env=targets[0], recommendation="security", now=now, knowledge=knowledge, policy=policy
    )
    judge = _Judge(ctx)
    affected = {(n, v) for tp in per_target for n, v in tp.items() if judge.open(n, v)}
    if not affected:
        return Remedy()
    cache = ProviderCache()
    probes = [planner.provider(t, cache=cache) for t in targets]

    def versions(i: int, name: NormalizedName) -> list[Version]:
        return sorted(probes[i].versions(name))  # a project the index lacks has none

    def allowed(v: Version, pinned: Version | None) -> bool:
        if pinned is not None and not options.allow_major and v.major > pinned.major:
            return False
        return not (v.is_prerelease and not (pinned is not None and pinned.is_prerelease))

    bans: list[dict[NormalizedName, set[Version]]] = [{} for _ in targets]
    preferences: list[dict[NormalizedName, Version]] = [{} for _ in targets]
    unfixable: dict[tuple[str, Version, str], Unfixable] = {}
    stuck: set[tuple[int, NormalizedName]] = set()
    for i, tpins in enumerate(per_target):
        for name, version in sorted(tpins.items()):
            for v in versions(i, name):
                if not allowed(v, version) or (v != version and judge.open(name, v)):
                    bans[i].setdefault(name, set()).add(v)
            refs = judge.open(name, version)
            if not refs:
                preferences[i][name] = version
                continue
            bans[i].setdefault(name, set()).add(version)
            safe = [v for v in versions(i, name) if allowed(v, version) and not judge.open(name, v)]
            if safe:
                above = [v for v in safe if v > version]
                preferences[i][name] = above[0] if above else safe[-1]
                continue
            stuck.add((i, name))
            beyond = [
                v for v in versions(i, name) if not v.is_prerelease and not judge.open(name, v)
            ]
            if beyond and not options.allow_major:
                why = f"only a new major version is unaffected ({beyond[0]}): pass --allow-major"
            else:
                why = "no release fixes it"
            for a in refs:
                unfixable.setdefault(
                    (name, version, a.id),
                    Unfixable(name=name, version=version, advisory=a, reason=why),
                )
    for i, name in stuck:  # unfixable: keep the pin as it is
        bans[i][name] = {v for v in versions(i, name) if v != per_target[i][name]}
        preferences[i][name] = per_target[i][name]
    if all(
        (i, n) in stuck
        for i, tp in enumerate(per_target)
        for n, v in tp.items()
        if (n, v) in affected
    ):
        return Remedy(unfixable=tuple(unfixable.values()), affected=len(affected))

    def hold(i: int, held: frozenset[NormalizedName]) -> dict[NormalizedName, frozenset[Version]]:
        out = {k: frozenset(v) for k, v in bans[i].items()}
        for name in held & per_target[i].keys():
            out[name] = frozenset(v for v in versions(i, name) if v != per_target[i][name])
        return out

    names = {n: v for tp in per_target for n, v in tp.items()}
    labels = [planner.label(t, targets) for t in targets]
    scorers = _scorers(planner, targets, options.recommendation, cache=cache, ctx=ctx)
    tried = 0
    last: NoViableStack | None = None
    for attempt in _attempts(names, affected={n for n, _ in affected}, direct=planner.direct):
        for _ in range(_MAX_RETRIES):
            tried += 1
            try:
                results = _resolve_all(
                    planner,
                    targets,
                    [hold(i, attempt.held) for i in range(len(targets))],
                    preferences,
                    scorers,
                    cache,
                    events,
                )
            except NoViableStack as exc:
                last = exc
                break
            fresh = [
                p
                for r in results
                for p in r.resolution.pins
                if p.name not in names and judge.open(p.name, p.version)
            ]
            if not fresh:
                return _outcome(
                    results,
                    per_target,
                    labels,
                    judge=judge,
                    direct=planner.direct,
                    unfixable=tuple(unfixable.values()),
                    affected=len(affected),
                    tried=tried,
                )
            for p in fresh:  # a new package that is affected too: ban what is affected
                for i in range(len(targets)):
                    bans[i].setdefault(p.name, set()).update(
                        v for v in versions(i, p.name) if judge.open(p.name, v)
                    )
    why = f"no consistent stack holds a fixed version ({last})" if last else "no stack resolves"
    for i, tpins in enumerate(per_target):
        for name, version in sorted(tpins.items()):
            if (name, version) not in affected or (i, name) in stuck:
                continue
            for a in judge.open(name, version):
                unfixable.setdefault(
                    (name, version, a.id),
                    Unfixable(name=name, version=version, advisory=a, reason=why),
                )
    return Remedy(unfixable=tuple(unfixable.values()), affected=len(affected), resolutions=tried)


def _attempts(
    pins: Mapping[NormalizedName, Version],
    *,
    affected: set[NormalizedName],
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
    bans: Sequence[Mapping[NormalizedName, frozenset[Version]]],
    preferences: Sequence[Mapping[NormalizedName, Version]],
    scorers: Sequence[CandidateScorer | None],
    cache: ProviderCache,
    events: ProgressEvents,
) -> list[TargetResult]:
    """One resolution per target, with that target's ``bans``, ``preferences`` and
    ``scorers`` (``None``: newest first)."""
    results = []
    for i, target in enumerate(targets):
        provider = planner.provider(
            target, preferences=preferences[i], bans=bans[i], scorer=scorers[i], cache=cache
        )
        label = planner.label(target, targets)
        res = resolve(provider, planner.roots, target=label, events=events)
        results.append(TargetResult(marker=target.lock_marker(), resolution=res))
    return results


def _scorers(
    planner: Planner,
    targets: Sequence[RuntimeEnvironment],
    name: str | None,
    *,
    cache: ProviderCache,
    ctx: ScoringContext,
) -> list[CandidateScorer | None]:
    """One order-only scorer per target for the recommendation ``name`` (``None`` each for
    ``latest``, or a type whose units score nothing)."""
    from packaging.utils import canonicalize_name

    from advisor.scoring.engine import UnitScorer
    from advisor.scoring.types import recommendation

    kind = recommendation(name) if name else None
    if kind is None or not kind.scorers:
        return [None for _ in targets]

    def versions_of(project: str) -> list[Version]:
        return sorted(cache.versions.get(canonicalize_name(project), {}), reverse=True)

    return [
        _OrderOnly(
            UnitScorer(
                kind,
                dataclasses.replace(ctx, env=target, recommendation=kind.name),
                versions_of=versions_of,
                status_of=planner.project_status,
            )
        )
        for target in targets
    ]


def _outcome(
    results: Sequence[TargetResult],
    per_target: Sequence[Mapping[NormalizedName, Version]],
    labels: Sequence[str],
    *,
    judge: _Judge,
    direct: frozenset[NormalizedName],
    unfixable: Sequence[Unfixable],
    affected: int,
    tried: int,
) -> Remedy:
    """The changes of every target, each once: a change every target makes names no target;
    one only some targets make names those."""
    where: dict[tuple[NormalizedName, Version | None, Version | None], list[str]] = {}
    for result, old_pins, label in zip(results, per_target, labels, strict=True):
        new_pins = {p.name: p.version for p in result.resolution.pins}
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
        unfixable=tuple(unfixable),
        resolution=merge(results) if changes else None,
        affected=affected,
        resolutions=tried,
    )
