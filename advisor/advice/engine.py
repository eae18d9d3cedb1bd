"""The advice engine: the best stacks of a recommendation type for one target, and why.

Middle of the decide layer. For one target it scores candidates with the recommendation's
units (a :class:`~advisor.scoring.engine.UnitScorer`), runs the stack search
(:func:`~advisor.resolution.search.search`: a best-first resolution ordered by score, then
a frontier of ban sets), resolves the ``latest`` stack for comparison, scores the project's
own lock (the baseline) the same way, and has the :class:`~advisor.advice.describer.Describer`
turn every stack into the report's values. Providers come from the
:class:`~advisor.advice.planner.Planner`. The result is a frozen :class:`TargetAdvice`; the API
opens the session and the knowledge, reads the baseline lock, merges the targets and writes
the lock.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.advice.planner import Planner
    from advisor.advice.verification import StackVerifier
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.models import DistFile, Edge, Resolution
    from advisor.policy import Policy
    from advisor.resolution.provider import AdvisorProvider
    from advisor.resolution.search import Evaluation, SearchOptions, SearchResult
    from advisor.scoring.advice import Advice, StackAdvice
    from advisor.scoring.base import KnowledgeView, Recommendation

__all__ = ["AdviceSettings", "TargetAdvice", "advise_target"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviceSettings:
    """What every target of one advice run is judged by.

    ``search`` bounds the stack search as asked (a recommendation whose units order nothing,
    and ``testing``, whose order is fixed, explore no ban set: they resolve again only around
    what a stack check rejected);
    ``now`` is the instant age-based units measure from; ``knowledge`` is read only through
    ``for_package``; ``advisories_as_of`` is how current the loaded advisory database is (an
    ISO day; ``None``: none is loaded), for the report's count of pins checked.
    ``for_package``; ``strict`` fails an advice whose best stack keeps an advisory that no
    release fixes (else it is a loud warning); ``verifier`` (``--verify``; ``None``: off)
    installs and imports every stack the stack checks accept before the search keeps it; a
    failure rejects the stack like a check.
    """

    recommendation: Recommendation
    knowledge: KnowledgeView
    policy: Policy
    now: datetime
    search: SearchOptions
    advisories_as_of: str | None = None
    strict: bool = False
    verifier: StackVerifier | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetAdvice:
    """The engine's answer for one target: the report's value, the best stack (what the lock
    records for the target) and the warnings of the resolutions behind it, in order."""

    advice: Advice
    resolution: Resolution
    warnings: tuple[str, ...] = ()


class _TargetRun:
    """One target's scorer, the provider cache its resolutions share, and the providers the
    search used (their filtered versions and warnings belong to the advice).

    Cost: every resolution builds a provider (cheap: the cache keeps files, metadata and
    verdicts); every evaluation builds one more to score the pins no resolution scored.
    """

    def __init__(
        self,
        planner: Planner,
        target: RuntimeEnvironment,
        *,
        label: str,
        settings: AdviceSettings,
        events: ProgressEvents,
    ) -> None:
        from advisor.resolution.provider import CandidateOrder, ProviderCache
        from advisor.scoring.base import ScoringContext
        from advisor.scoring.engine import UnitScorer

        kind = settings.recommendation
        self._planner = planner
        self._target = target
        self._label = label
        self._events = events
        self._cache = ProviderCache()
        ctx = ScoringContext(
            env=target,
            recommendation=kind.name,
            now=settings.now,
            knowledge=settings.knowledge,
            policy=settings.policy,
        )
        self.scorer = UnitScorer(
            kind, ctx, versions_of=self._versions_of, status_of=planner.project_status
        )
        self._scoring = bool(kind.filters or kind.scorers)
        self._order = CandidateOrder.OLDEST_DIRECT if kind.lowest_direct else None
        self._lowest = kind.lowest_direct
        self._providers: list[AdvisorProvider] = []
        self._verifier = settings.verifier
        self.verified: set[tuple[tuple[str, str], ...]] = set()
        self.lessons: list[str] = []
        self._nogoods: list[tuple[str, str | None, tuple[tuple[str, str], ...]]] = []
        # exploring ban sets helps only where the scorer orders the candidates; learned
        # constraints (a stack check's rejection) are followed under every type
        self.explore = self._scoring and not kind.lowest_direct

    def _versions_of(self, name: str) -> list[Version]:
        # every version the index offers, newest first (the provider grouped them already)
        return sorted(self._cache.versions.get(canonicalize_name(name), {}), reverse=True)

    def versions_in(self, name: str, specifier: str) -> frozenset[str]:
        """The known versions of ``name`` inside ``specifier`` (pre-releases included, as
        rules match them), for a learned constraint to ban."""
        from packaging.specifiers import SpecifierSet

        spec = SpecifierSet(specifier)
        return frozenset(
            str(v) for v in self._versions_of(name) if spec.contains(v, prereleases=True)
        )

    def resolve(self, bans: Mapping[NormalizedName, frozenset[Version]]) -> Resolution:
        """One resolution of the search, ordered by score, with ``bans`` ruled out."""
        from advisor.resolution.resolve import resolve

        provider = self._planner.provider(
            self._target,
            scorer=self.scorer if self._scoring else None,
            bans=bans,
            cache=self._cache,
            order=self._order,
        )
        if not self._providers:
            provider.warm(self._planner.root_names)
        self._providers.append(provider)
        return resolve(provider, self._planner.roots, target=self._label, events=self._events)

    def resolve_latest(self) -> Resolution:
        """The ``latest`` stack: pip's choice, unscored, over the same cache."""
        from advisor.resolution.resolve import resolve

        provider = self._planner.provider(self._target, cache=self._cache)
        return resolve(provider, self._planner.roots, target=self._label, events=self._events)

    def evaluate(self, res: Resolution) -> Evaluation:
        return self.evaluate_pins({p.name: p.version for p in res.pins}, edges=res.edges)

    def evaluate_verified(self, res: Resolution) -> Evaluation:
        """:meth:`evaluate`, then (``--verify``) the stack installed and imported here when
        the checks accept it: a failure rejects it with the verifier's nogood, and a later
        stack holding a nogood learnt in this run is rejected without installing it."""
        import math

        from advisor.advice.verification import violates, widen
        from advisor.resolution.search import Evaluation

        ev = self.evaluate(res)
        if ev.reject is not None or self._verifier is None:
            return ev
        pins = {p.name: p.version for p in res.pins}
        for reason, package, nogood in self._nogoods:
            if violates(pins, nogood):
                held = " with ".join(f"{n}{spec}" for n, spec in nogood)
                return Evaluation(
                    total=-math.inf,
                    pin_scores=ev.pin_scores,
                    reject=f"--verify: holds {held}, learnt when {reason}",
                    reject_package=package,
                    nogood=nogood,
                )
        found = self._verifier.verify(pins)
        self.verified.add(tuple(sorted((str(n), str(v)) for n, v in pins.items())))
        if found.ok:
            return ev
        # an ABI mismatch holds for the consumer's releases built before the provider's major
        nogood = widen(found.nogood, files=self._files)
        lesson = found.lesson
        if nogood != found.nogood:
            name, spec = nogood[1]
            provider, major = nogood[0][0], nogood[0][1].removeprefix(">=")
            lesson += (
                f"; widened to {name}{spec}, every release of {name} whose wheels were all "
                f"uploaded before the first {provider} {major} release"
            )
        self.lessons.append(lesson)
        self._nogoods.append((found.reason, found.package, nogood))
        return Evaluation(
            total=-math.inf,
            pin_scores=ev.pin_scores,
            reject=f"--verify: {found.reason}",
            reject_package=found.package,
            nogood=nogood,
        )

    def _files(self, name: str) -> Mapping[Version, Sequence[DistFile]]:
        """The index's files of ``name`` by version, as the resolutions found them."""
        return self._cache.versions.get(canonicalize_name(name), {})

    def evaluate_pins(
        self, pins: Mapping[NormalizedName, Version], *, edges: Sequence[Edge] = ()
    ) -> Evaluation:
        """The stack's evaluation, after scoring the pins the ordering did not need (those of
        ``latest``, of the baseline, of a type that orders nothing); ``edges`` (the
        resolution's) let a stack check say what brought a package in."""
        from advisor.resolution.search import Evaluation

        probe = self._planner.provider(self._target, scorer=self.scorer, cache=self._cache)
        for name, version in pins.items():
            if version in probe.lookup.versions(name):
                probe.score(name, version)
        verdict = self.scorer.evaluate_stack(pins, edges=edges)
        return Evaluation(
            total=verdict.total,
            pin_scores=verdict.pin_scores,
            reject=verdict.reject,
            reject_package=verdict.reject_package,
            nogood=verdict.nogood,
            tie_break=self._lowest_direct(pins) if self._lowest else (),
        )

    def _lowest_direct(self, pins: Mapping[NormalizedName, Version]) -> tuple[int, ...]:
        """``testing``'s tie-break (DESIGN.md: its ties go to the lowest direct versions):
        the sum of each direct pin's rank among its project's versions (0: the oldest), then
        the ranks one by one in name order; lower ranks first. The search finds the stacks
        around a learned constraint in branch order, not by version, so without it a tie went
        to whichever branch ran first."""
        import bisect

        ranks = [
            bisect.bisect_left(sorted(self._versions_of(name)), pins[name])
            for name in sorted(self._planner.direct)
            if name in pins
        ]
        return (sum(ranks), *ranks)

    def unfixable(self, res: Resolution) -> tuple[str, ...]:
        """One loud warning per advisory in ``res`` that no release fixes, under a type that
        filters advisories (the filter let it through: nothing avoids it); empty otherwise."""
        from advisor.scoring.units.security import SecurityFilter, unfixable_hits

        if not any(isinstance(f, SecurityFilter) for f in self.scorer.recommendation.filters):
            return ()
        out: list[str] = []
        for pin in res.pins:
            for hit in unfixable_hits(
                pin.name, pin.version, self._versions_of(pin.name), self.scorer.ctx
            ):
                summary = f" ({hit.advisory.summary})" if hit.advisory.summary else ""
                out.append(
                    f"UNFIXABLE ADVISORY {hit.advisory.id}{summary} affects {pin.name} "
                    f"{pin.version} and every release of {pin.name} on the index: the stack "
                    "keeps it (--strict fails instead; a waiver in the policy accepts it)"
                )
        return tuple(out)

    def filtered(self) -> dict[tuple[str, Version], str]:
        """(package, version) → why a filter removed it, over the search's resolutions."""
        found: dict[tuple[str, Version], str] = {}
        for provider in self._providers:
            found.update({(str(n), v): r for (n, v), r in provider.filtered.items()})
        return found

    def warnings(self) -> tuple[str, ...]:
        return tuple(w for p in self._providers for w in p.warnings)


def advise_target(
    planner: Planner,
    target: RuntimeEnvironment,
    *,
    label: str,
    settings: AdviceSettings,
    baseline: Mapping[NormalizedName, Version] | None = None,
    events: ProgressEvents = SILENT,
) -> TargetAdvice:
    """Search the best stacks of ``settings.recommendation`` for ``target`` (named ``label``
    in resolutions and the report), compare them with ``latest`` and with ``baseline`` (the
    pins of the project's own lock; ``None``: there is none). Resolutions report to
    ``events``.

    Raises :class:`~advisor.errors.NoViableStack` when no stack resolves, or when a stack
    check rejects every stack found (its ``causes`` say why).
    """
    from advisor.advice.describer import Describer
    from advisor.errors import NoViableStack
    from advisor.resolution.search import search
    from advisor.scoring.advice import Advice
    from advisor.scoring.coverage import count_knowledge

    started = time.monotonic()
    run = _TargetRun(planner, target, label=label, settings=settings, events=events)
    found = search(
        run.resolve,
        run.evaluate_verified,
        best_possible=run.scorer.best_score,
        versions_in=run.versions_in,
        options=dataclasses.replace(settings.search, explore=run.explore),
    )
    if not found.stacks:
        raise NoViableStack(
            f"every stack found for {label} was rejected:",
            causes=_unsatisfiable(found, settings.search),
        )
    latest = run.resolve_latest()
    describer = Describer(
        run.scorer,
        latest={str(p.name): str(p.version) for p in latest.pins},
        direct=planner.direct,
        filtered=run.filtered(),
    )
    best = found.stacks[0]
    stuck = run.unfixable(best.resolution)
    if stuck and settings.strict:
        raise NoViableStack(
            f"--strict: the best stack for {label} keeps advisories that no release fixes:",
            causes=[f"  {line}" for line in stuck],
        )
    # keep this order: a description lists the alternatives the scorer has seen so far, and
    # every evaluation shows it more
    best_advice = _with_rejections(
        describer.stack(best.resolution, run.evaluate(best.resolution)), found
    )
    latest_advice = describer.stack(latest, run.evaluate(latest))
    baseline_advice = (
        None
        if baseline is None
        else describer.stack_from_pins(baseline, run.evaluate_pins(baseline))
    )
    counts, unknown = count_knowledge(
        {p.name: p.version for p in best.resolution.pins},
        seen=run.scorer.candidate,
        knowledge=settings.knowledge,
        advisories_as_of=settings.advisories_as_of,
    )
    warnings = (*run.warnings(), *stuck)
    others = tuple(describer.stack(f.resolution, f.evaluation) for f in found.stacks[1:])
    advice = Advice(
        recommendation=settings.recommendation.name,
        targets=(label,),
        best=best_advice,
        latest=latest_advice,
        others=others,
        baseline=baseline_advice,
        unknown=unknown,
        knowledge=counts,
        workload=settings.recommendation.workload,
        resolutions=found.resolutions,
        seed=settings.search.seed,
        budget=settings.search.budget,
        elapsed=time.monotonic() - started,
        verified=None if settings.verifier is None else len(run.verified),
        lessons=tuple(dict.fromkeys(run.lessons)),
    )
    return TargetAdvice(advice=advice, resolution=best.resolution, warnings=warnings)


def _unsatisfiable(found: SearchResult, options: SearchOptions) -> list[str]:
    """Why no accepted stack is left: each learned constraint, the rule or advisory that
    taught it first, then what became of every way around it."""
    causes: list[str] = []
    for learned in found.learned:
        causes.append(f"  {learned.reason}")
        causes.append(f"    learned: {learned.describe()}")
        for branch in learned.branches:
            outcome = branch.outcome or "not tried within the budget"
            causes.append(
                f"    {branch.name} outside {branch.specifier or 'every version'}: {outcome}"
            )
    seen = {learned.reason for learned in found.learned}
    causes += [f"  {reason}" for reason in found.rejected if reason not in seen]
    if found.untried:
        causes.append(
            f"  {found.untried} ways around these constraints were not tried within "
            f"--budget {options.budget} / --time-limit {options.time_limit:g} s: raise them"
        )
    return causes


def _with_rejections(stack: StackAdvice, found: SearchResult) -> StackAdvice:
    """``stack`` with one info justification per stack the search saw rejected, saying what
    it learned from the rejection; about the package of the learned constraint that the
    stack moved away from latest's version (the report's "why" for that pin), if any."""
    if not found.rejected:
        return stack
    from advisor.scoring.base import Justification

    learned = {c.reason: c for c in found.learned}
    moved = {p.name for p in stack.pins if p.differs}
    rejections: list[Justification] = []
    for reason in found.rejected:
        constraint = learned.get(reason)
        message = f"a stack was rejected: {reason}"
        package = None
        if constraint is not None:
            message += f"; the search learned {constraint.describe()}"
            package = next((n for n, _ in constraint.nogood if n in moved), None)
        rejections.append(
            Justification(level="info", message=message, unit="search", package=package)
        )
    return dataclasses.replace(stack, justifications=stack.justifications + tuple(rejections))
