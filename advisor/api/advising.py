"""``advisor advise``: the best stack of a recommendation type for each target, and why.

Per target: a scorer built from the recommendation's units and the knowledge (the store
plus the curated ``knowledge/`` folder), a best-first resolution ordered by score, the stack
search around it, the ``latest`` stack for comparison, and the project's existing lock scored
the same way (the baseline). The best stacks of all targets are merged into one lock.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName, canonicalize_name

from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.version import Version

    from advisor.api.context import ResolveOptions
    from advisor.api.locking import Prepared
    from advisor.api.planner import Planner
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import Observation
    from advisor.models import Resolution
    from advisor.resolution.provider import AdvisorProvider, ProviderCache
    from advisor.resolution.search import Evaluation
    from advisor.scoring.advice import Advice, StackAdvice
    from advisor.scoring.base import Recommendation
    from advisor.scoring.engine import UnitScorer

__all__ = [
    "AdviseOptions",
    "AdviseOutcome",
    "Explanation",
    "bundled_knowledge_dir",
    "explain_pin",
    "run_advice",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviseOptions:
    count: int = 3
    budget: int = 12
    time_limit: float = 30.0
    seed: int = 0
    knowledge: str | None = None  # store URL (None: ADVISOR_KNOWLEDGE or the default store)
    knowledge_dirs: tuple[Path, ...] = ()  # curated folders read directly (no sync needed)
    osv: Path | None = None  # an OSV dump to use instead of the store's advisories
    baseline: Path | None = None  # the lock to compare with (default: the output path)
    workload: str | None = None  # --workload: the probes the performance unit weighs


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviseOutcome:
    resolution: Resolution  # the best stacks of every target, merged
    advices: tuple[Advice, ...]  # one per target
    warnings: tuple[str, ...]
    requests: int
    tool: Mapping[str, Any]  # what the lock's [tool.advisor] records about the advice


def bundled_knowledge_dir(
    *, checkout: Path | None = None, prefixes: Sequence[Path] | None = None
) -> Path | None:
    """The curated ``knowledge/`` folder: this checkout's when running from one (an editable
    install), else the copy an installed wheel put under ``<prefix>/share/stack-advisor``
    (``prefixes``: this environment's data path and ``sys.prefix``), else ``None``."""
    import sys
    import sysconfig

    root = checkout or Path(__file__).resolve().parents[2]
    found = [root / "knowledge"]
    if prefixes is None:
        prefixes = [Path(sysconfig.get_path("data")), Path(sys.prefix)]
    found += [p / "share" / "stack-advisor" / "knowledge" for p in prefixes]
    return next((f for f in found if (f / "prescriptions").is_dir()), None)


def _load_knowledge(advise: AdviseOptions, environ: Mapping[str, str]) -> tuple[Any, Any]:
    """The knowledge view for scoring: the store, after an implicit ``knowledge sync`` of the
    curated folders (free when their content digest is unchanged), plus ``--osv`` advisories.
    """
    from advisor.api.knowledge import sync
    from advisor.knowledge.store import default_store_url, open_store
    from advisor.scoring.knowledge_view import StoreKnowledge

    url = advise.knowledge or default_store_url(environ)
    folders = list(advise.knowledge_dirs)
    bundled = bundled_knowledge_dir()
    if bundled is not None and bundled not in folders:
        folders.append(bundled)
    for folder in folders:
        # the checkout's curated rules under their own source, so a project folder laid
        # out the same way (prescriptions/numpy.yaml) never replaces them, nor they it
        prefix = "advisor-knowledge" if folder == bundled else "knowledge"
        sync(folder, store_url=url, source_prefix=prefix)
    extra: list[Observation] = []
    if advise.osv is not None:
        from advisor.knowledge.sources.osv_import import load_osv

        today = datetime.now(UTC).date().isoformat()
        extra.extend(load_osv(advise.osv, date=today).advisories)
    store = open_store(url)
    return StoreKnowledge(store, extra=extra), store


def run_advice(
    prep: Prepared,
    *,
    opts: ResolveOptions,
    advise: AdviseOptions,
    now: datetime | None = None,
    kind: Recommendation | None = None,
    events: ProgressEvents = SILENT,
) -> AdviseOutcome:
    """Search the best stacks of ``opts.recommendation`` (or of ``kind``, a recommendation
    assembled by the caller) for every target of ``prep``; every resolution, build and
    retry reports to ``events``."""
    from advisor.api.benching import workload_recommendation
    from advisor.api.context import open_session
    from advisor.api.locking import with_hashes
    from advisor.api.planner import Planner
    from advisor.resolution.resolve import TargetResult, merge
    from advisor.scoring.types import recommendation

    kind = kind or recommendation(opts.recommendation)
    if advise.workload is not None:
        kind = workload_recommendation(kind, advise.workload, knowledge_dirs=advise.knowledge_dirs)
    policy = prep.config.policy
    now = now or datetime.now(UTC)
    knowledge, store = _load_knowledge(advise, prep.environ)
    # the time limit bounds sdist builds too: one that would overrun it is stopped
    deadline = time.monotonic() + advise.time_limit
    session = open_session(
        opts, prep.index, prep.pip, prep.environ, deadline=deadline, events=events
    )
    try:
        planner = Planner(prep.resolvable, opts=opts, session=session)
        advices: list[Advice] = []
        results: list[TargetResult] = []
        warnings: list[str] = []
        for target in prep.targets:
            advice, best, notes = _advise_target(
                planner, target, prep, kind=kind, policy=policy, now=now,
                knowledge=knowledge, advise=advise,
            )  # fmt: skip
            advices.append(advice)
            results.append(TargetResult(marker=target.lock_marker(), resolution=best))
            warnings.extend(notes)
        merged = with_hashes(merge(results), session.fetcher)
        requests = session.finder.requests
        stopped = session.metadata.time_limited
        if stopped:
            warnings.append(
                f"--time-limit {advise.time_limit:g} s stopped or refused the metadata build of "
                f"{', '.join(stopped)}: those versions were left out, so pins may differ from a "
                "run with more time"
            )
    except BaseException:  # an interrupt or an error: stop running builds now
        session.cancel()
        raise
    finally:
        session.close()
        if store is not None:
            store.close()
    first = advices[0]
    tool = {
        "advice": {
            "score": round(first.best.score, 4),
            "latest-score": round(first.latest.score, 4),
            "differs-from-latest": sorted(p.name for p in first.best.pins if p.differs),
            "seed": advise.seed,
            "budget": advise.budget,
        }
    }
    return AdviseOutcome(
        resolution=merged,
        advices=tuple(advices),
        warnings=tuple(dict.fromkeys(warnings)),
        requests=requests,
        tool=tool,
    )


def _advise_target(
    planner: Planner,
    target: RuntimeEnvironment,
    prep: Prepared,
    *,
    kind: Any,
    policy: Any,
    now: datetime,
    knowledge: Any,
    advise: AdviseOptions,
) -> tuple[Advice, Resolution, list[str]]:
    from advisor.resolution.provider import CandidateOrder, ProviderCache
    from advisor.resolution.resolve import resolve
    from advisor.resolution.search import SearchOptions, search
    from advisor.scoring.advice import Advice
    from advisor.scoring.base import ScoringContext
    from advisor.scoring.engine import UnitScorer

    started = time.monotonic()
    label = planner.label(target, prep.targets)
    cache = ProviderCache()
    ctx = ScoringContext(
        env=target, recommendation=kind.name, now=now, knowledge=knowledge, policy=policy
    )

    def versions_of(name: str) -> list[Version]:
        # every version the index offers, newest first (the provider grouped them already)
        return sorted(cache.versions.get(canonicalize_name(name), {}), reverse=True)

    scorer = UnitScorer(kind, ctx, versions_of=versions_of)
    scoring = bool(kind.filters or kind.scorers)
    order = CandidateOrder.OLDEST_DIRECT if kind.lowest_direct else None
    providers: list[AdvisorProvider] = []

    def run(bans: Mapping[NormalizedName, frozenset[Version]]) -> Resolution:
        provider = planner.provider(
            target, scorer=scorer if scoring else None, bans=bans, cache=cache, order=order
        )
        if not providers:
            provider.warm(planner.root_names)
        providers.append(provider)
        return resolve(provider, planner.roots, target=label, events=planner.session.events)

    def score_pins(res: Resolution) -> None:
        # verdicts for pins the ordering did not need (latest, baseline, unscored types)
        probe = planner.provider(target, scorer=scorer, cache=cache)
        for pin in res.pins:
            if pin.version in probe.versions(pin.name):
                probe.score(pin.name, pin.version)

    def evaluate(res: Resolution) -> Evaluation:
        from advisor.resolution.search import Evaluation

        score_pins(res)
        verdict = scorer.evaluate_stack({p.name: p.version for p in res.pins})
        return Evaluation(
            total=verdict.total,
            pin_scores=verdict.pin_scores,
            reject=verdict.reject,
            reject_package=verdict.reject_package,
        )

    def best_possible(name: str) -> float:
        return scorer.best_score(name)

    budget = advise.budget if scoring and not kind.lowest_direct else 1
    found = search(
        run,
        evaluate,
        best_possible=best_possible,
        options=SearchOptions(
            count=advise.count, budget=budget, time_limit=advise.time_limit, seed=advise.seed
        ),
    )
    if not found.stacks:
        from advisor.errors import NoViableStack

        raise NoViableStack(
            f"every stack found for {label} was rejected:",
            causes=[f"  {reason}" for reason in found.rejected],
        )
    latest_res = resolve(
        planner.provider(target, cache=cache),
        planner.roots,
        target=label,
        events=planner.session.events,
    )
    latest_pins = {str(p.name): str(p.version) for p in latest_res.pins}
    best = found.stacks[0]
    filtered: dict[tuple[str, Version], str] = {}
    for provider in providers:
        filtered.update({(str(n), v): r for (n, v), r in provider.filtered.items()})
    advice_of = _Describer(scorer, latest_pins, planner.direct, filtered)
    best_advice = advice_of.stack(best.resolution, evaluate(best.resolution))
    if found.rejected:
        from advisor.scoring.base import Justification

        rejections = tuple(
            Justification(level="info", message=f"a stack was rejected: {reason}", unit="search")
            for reason in found.rejected
        )
        best_advice = dataclasses.replace(
            best_advice, justifications=best_advice.justifications + rejections
        )
    latest_advice = advice_of.stack(latest_res, evaluate(latest_res))
    baseline = _baseline(prep, advise, scorer, planner, target, cache, advice_of)
    unknown = tuple(
        sorted(p.name for p in best.resolution.pins if not knowledge.for_package(p.name))
    )
    notes = [w for p in providers for w in p.warnings]
    advice = Advice(
        recommendation=kind.name,
        targets=(label,),
        best=best_advice,
        latest=latest_advice,
        others=tuple(advice_of.stack(f.resolution, f.evaluation) for f in found.stacks[1:]),
        baseline=baseline,
        unknown=unknown,
        resolutions=found.resolutions,
        seed=advise.seed,
        budget=advise.budget,
        elapsed=time.monotonic() - started,
    )
    return advice, best.resolution, notes


def _baseline(
    prep: Prepared,
    advise: AdviseOptions,
    scorer: UnitScorer,
    planner: Planner,
    target: RuntimeEnvironment,
    cache: ProviderCache,
    describer: _Describer,
) -> StackAdvice | None:
    """The project's existing lock, scored the same way (``None`` without one)."""
    from advisor.lockfile.pylock import read_pylock

    path = advise.baseline or (prep.output if str(prep.output) != "-" else None)
    if path is None or not Path(path).is_file() or Path(path).suffix != ".toml":
        return None
    locked = read_pylock(Path(path))
    pins = {p.name: p.version for p in locked.packages if p.version is not None}
    probe = planner.provider(target, scorer=scorer, cache=cache)
    for name, version in pins.items():
        if version in probe.versions(name):
            probe.score(name, version)
    verdict = scorer.evaluate_stack(pins)
    from advisor.resolution.search import Evaluation

    return describer.stack_from_pins(
        pins,
        Evaluation(
            total=verdict.total,
            pin_scores=verdict.pin_scores,
            reject=verdict.reject,
            reject_package=verdict.reject_package,
        ),
    )


class _Describer:
    """Turns scored stacks into the report's values (pins, terms, alternatives)."""

    def __init__(
        self,
        scorer: UnitScorer,
        latest: Mapping[str, str],
        direct: frozenset[NormalizedName],
        filtered: Mapping[tuple[str, Version], str],
    ) -> None:
        self._scorer = scorer
        self._latest = latest
        self._direct = direct
        self._filtered = filtered

    def _why(self, name: str, version: Version) -> str:
        """The terms that held a scored alternative back, in a few words."""
        known = self._scorer.known(name, version)
        if known is None:
            return ""
        against = [f"{t.unit} {t.value:+.2f}: {t.reason}" for t, _ in known.terms if t.value < 0]
        return "; ".join(against)

    def stack(self, res: Resolution, ev: Evaluation) -> StackAdvice:
        pins = {p.name: p.version for p in res.pins}
        markers = {str(p.name): p.marker for p in res.pins}
        builds = {str(p.name) for p in res.pins if p.needs_build}
        return self.stack_from_pins(pins, ev, markers=markers, builds=builds)

    def stack_from_pins(
        self,
        pins: Mapping[NormalizedName, Version],
        ev: Evaluation,
        *,
        markers: Mapping[str, str | None] | None = None,
        builds: frozenset[str] | set[str] = frozenset(),
    ) -> StackAdvice:
        from advisor.scoring.advice import Alternative, PinAdvice, StackAdvice

        verdict = self._scorer.evaluate_stack(pins)
        out = []
        for name in sorted(pins):
            version = pins[name]
            known = self._scorer.known(name, version)
            found = self._scorer.alternatives(name, exclude=version)
            latest = self._latest.get(name)
            # latest's own choice always shows, whatever its rank: it is what was turned down
            found.sort(key=lambda item: str(item[0]) != latest)
            alternatives = [
                Alternative(
                    version=str(v),
                    score=None if reason else score,
                    reason=reason or self._why(name, v),
                )
                for v, reason, score in found
            ]
            for (fname, v), reason in sorted(self._filtered.items(), key=lambda kv: str(kv[0])):
                if (
                    fname == name
                    and v != version
                    and all(a.version != str(v) for a in alternatives)
                ):
                    alternatives.append(Alternative(version=str(v), score=None, reason=reason))
            out.append(
                PinAdvice(
                    name=name,
                    version=str(version),
                    latest=self._latest.get(name),
                    score=known.score if known else 0.0,
                    terms=tuple(t for t, _ in known.terms) if known else (),
                    justifications=tuple(j for j in verdict.justifications if j.package == name),
                    alternatives=tuple(alternatives[:5]),
                    direct=name in self._direct,
                    needs_build=name in builds,
                    marker=(markers or {}).get(name),
                )
            )
        return StackAdvice(
            score=ev.total,
            pins=tuple(out),
            stack_terms=verdict.stack_terms,
            justifications=tuple(j for j in verdict.justifications if j.package is None),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    name: str
    version: str
    paths: list[list[str]]
    pin: Any  # PinAdvice | None: the locked version's terms and alternatives


def explain_pin(
    lock_path: Path,
    name: str,
    *,
    advise: AdviseOptions,
    environ: Mapping[str, str],
    events: ProgressEvents = SILENT,
) -> Explanation:
    """Why ``name`` is in the lock (paths from the roots) and why this version: the lock's
    inputs are advised again under the lock's recommendation (stable for a latest lock), with
    the lock as the baseline, so the locked version's own terms and its alternatives show."""
    import dataclasses

    from advisor.api.knowledge import store_url
    from advisor.api.lock_facts import stack_graph_for_lock
    from advisor.api.locking import LockOptions, prepare, recorded_request
    from advisor.errors import InputError
    from advisor.knowledge.graph import why
    from advisor.lockfile.pylock import read_pylock

    canonical = canonicalize_name(name)
    locked = {p.name: p for p in read_pylock(lock_path).packages}
    if canonical not in locked:
        known = ", ".join(sorted(locked)[:8])
        raise InputError(f"{name} is not in {lock_path} (it locks {known}, ...)")
    version = str(locked[canonical].version)
    graph = stack_graph_for_lock(lock_path, store_url=store_url(advise.knowledge, environ))
    paths = why(graph, canonical)
    files, opts = recorded_request(lock_path)
    if opts.recommendation == "latest":
        opts = dataclasses.replace(opts, recommendation="stable")
    out = LockOptions(output=lock_path, dry_run=True)
    prep = prepare(files, opts=opts, out=out, environ=environ, cwd=lock_path.resolve().parent)
    outcome = run_advice(
        prep,
        opts=opts,
        advise=dataclasses.replace(advise, baseline=lock_path, budget=1),
        events=events,
    )
    baseline = outcome.advices[0].baseline
    pin = baseline.pin(canonical) if baseline is not None else None
    return Explanation(name=canonical, version=version, paths=paths, pin=pin)
