"""The advice engine: the best stacks of a recommendation type for one target, and why.

Middle of the decide layer. For one target it scores candidates with the recommendation's
units (a :class:`~advisor.scoring.engine.UnitScorer`), runs the stack search
(:func:`~advisor.resolution.search.search`: a best-first resolution ordered by score, then
seeded bans), resolves the ``latest`` stack for comparison, scores the project's own lock (the
baseline) the same way, and has the :class:`~advisor.advice.describer.Describer` turn every
stack into the report's values. Providers come from the
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
    from advisor.models import Edge, Resolution
    from advisor.policy import Policy
    from advisor.resolution.provider import AdvisorProvider
    from advisor.resolution.search import Evaluation, SearchOptions
    from advisor.scoring.advice import Advice, StackAdvice
    from advisor.scoring.base import KnowledgeView, Recommendation

__all__ = ["AdviceSettings", "TargetAdvice", "advise_target"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviceSettings:
    """What every target of one advice run is judged by.

    ``search`` bounds the stack search as asked (a recommendation whose units order nothing,
    and ``testing``, whose order is fixed, run one resolution whatever its ``budget``);
    ``now`` is the instant age-based units measure from; ``knowledge`` is read only through
    ``for_package``; ``advisories_as_of`` is how current the loaded advisory database is (an
    ISO day; ``None``: none is loaded), for the report's count of pins checked.
    ``verifier`` (``--verify``; ``None``: off) installs and imports every stack the stack
    checks accept before the search keeps it; a failure rejects the stack like a check.
    """

    recommendation: Recommendation
    knowledge: KnowledgeView
    policy: Policy
    now: datetime
    search: SearchOptions
    advisories_as_of: str | None = None
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
        self._providers: list[AdvisorProvider] = []
        self._verifier = settings.verifier
        self.verified: set[tuple[tuple[str, str], ...]] = set()
        self.lessons: list[str] = []
        self._nogoods: list[tuple[str, str | None, tuple[tuple[str, str], ...]]] = []
        # a search helps only where the scorer orders the candidates
        self.budget = settings.search.budget if self._scoring and not kind.lowest_direct else 1

    def _versions_of(self, name: str) -> list[Version]:
        # every version the index offers, newest first (the provider grouped them already)
        return sorted(self._cache.versions.get(canonicalize_name(name), {}), reverse=True)

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

        from advisor.advice.verification import violates
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
        self.lessons.append(found.lesson)
        self._nogoods.append((found.reason, found.package, found.nogood))
        return Evaluation(
            total=-math.inf,
            pin_scores=ev.pin_scores,
            reject=f"--verify: {found.reason}",
            reject_package=found.package,
            nogood=found.nogood,
        )

    def evaluate_pins(
        self, pins: Mapping[NormalizedName, Version], *, edges: Sequence[Edge] = ()
    ) -> Evaluation:
        """The stack's evaluation, after scoring the pins the ordering did not need (those of
        ``latest``, of the baseline, of a type that orders nothing); ``edges`` (the
        resolution's) let a stack check say what brought a package in."""
        from advisor.resolution.search import Evaluation

        probe = self._planner.provider(self._target, scorer=self.scorer, cache=self._cache)
        for name, version in pins.items():
            if version in probe.versions(name):
                probe.score(name, version)
        verdict = self.scorer.evaluate_stack(pins, edges=edges)
        return Evaluation(
            total=verdict.total,
            pin_scores=verdict.pin_scores,
            reject=verdict.reject,
            reject_package=verdict.reject_package,
            nogood=verdict.nogood,
        )

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
        options=dataclasses.replace(settings.search, budget=run.budget),
    )
    if not found.stacks:
        raise NoViableStack(
            f"every stack found for {label} was rejected:",
            causes=[f"  {reason}" for reason in found.rejected],
        )
    latest = run.resolve_latest()
    describer = Describer(
        run.scorer,
        latest={str(p.name): str(p.version) for p in latest.pins},
        direct=planner.direct,
        filtered=run.filtered(),
    )
    best = found.stacks[0]
    # keep this order: a description lists the alternatives the scorer has seen so far, and
    # every evaluation shows it more
    best_advice = _with_rejections(
        describer.stack(best.resolution, run.evaluate(best.resolution)), found.rejected
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
    warnings = run.warnings()
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


def _with_rejections(stack: StackAdvice, reasons: tuple[str, ...]) -> StackAdvice:
    """``stack`` with one info justification per stack the search saw rejected."""
    if not reasons:
        return stack
    from advisor.scoring.base import Justification

    rejections = tuple(
        Justification(level="info", message=f"a stack was rejected: {reason}", unit="search")
        for reason in reasons
    )
    return dataclasses.replace(stack, justifications=stack.justifications + rejections)
