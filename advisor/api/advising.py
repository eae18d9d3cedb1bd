"""``advisor advise``: the best stack of a recommendation type for each target, and why.

Part of the composition root, around the decide layer
(:func:`advisor.advice.targets.advise_targets`: the advice engine for each target, the best
stacks merged): it loads the knowledge (the store, after an implicit sync of the curated
``knowledge/`` folders, plus an ``--osv`` dump), opens the index session, reads the baseline
lock (:func:`advisor.lockfile.render.baseline_pins`), and adds the files' hashes.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.api.bundled import bundled_knowledge_dir
from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Mapping

    from advisor.api.context import ResolveOptions
    from advisor.api.inputs import Prepared
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import Observation
    from advisor.knowledge.store import KnowledgeStore
    from advisor.lockfile.record import AdviceRecord
    from advisor.models import Resolution
    from advisor.scoring.advice import Advice
    from advisor.scoring.base import Recommendation
    from advisor.scoring.knowledge_view import StoreKnowledge

__all__ = [
    "AdviseOptions",
    "AdviseOutcome",
    "bundled_knowledge_dir",
    "run_advice",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviseOptions:
    """How an advice searches (``count`` stacks kept, ``budget`` resolutions, ``time_limit``
    seconds, ``seed``), what it knows, and what it compares with."""

    count: int = 3
    budget: int = 12
    time_limit: float = 30.0
    seed: int = 0
    knowledge: str | None = None  # store URL (None: ADVISOR_KNOWLEDGE or the default store)
    knowledge_dirs: tuple[Path, ...] = ()  # curated folders read directly (no sync needed)
    osv: Path | None = None  # an OSV dump to use instead of the store's advisories
    baseline: Path | None = None  # the lock to compare with (default: the output path)
    allow_sdist: bool = False  # --allow-sdist: testing may pick direct versions without wheels
    strict: bool = False  # --strict: an advisory no release fixes fails the advice
    verify: bool = False  # install and import each accepted stack here first (--verify)


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviseOutcome:
    """What :func:`run_advice` found, ready for the lock (``resolution``, ``tool``) and the
    report (``advices``)."""

    resolution: Resolution  # the best stacks of every target, merged
    advices: tuple[Advice, ...]  # one per target
    warnings: tuple[str, ...]
    requests: int
    record: AdviceRecord  # what the lock's [tool.advisor] records about the advice


def _load_knowledge(
    advise: AdviseOptions, environ: Mapping[str, str]
) -> tuple[StoreKnowledge, KnowledgeStore, str | None]:
    """The knowledge view for scoring: the store, after an implicit ``knowledge sync`` of the
    curated folders (free when their content digest is unchanged), plus ``--osv`` advisories;
    and how current the advisory database is (ISO day; ``None``: none loaded).
    """
    from advisor.api.knowledge import advisory_data, sync
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
    as_of = None
    if advise.osv is not None:
        from advisor.knowledge.sources.osv_import import load_osv

        today = datetime.now(UTC).date()
        report = load_osv(advise.osv, date=today.isoformat())
        extra.extend(report.advisories)
        as_of = report.newest_modified or today
    store = open_store(url)
    as_of = as_of or advisory_data(store)[1]
    return StoreKnowledge(store, extra=extra), store, as_of.isoformat() if as_of else None


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
    retry reports to ``events``.

    Raises :class:`~advisor.errors.NoViableStack` when a target has no acceptable stack.
    """
    from advisor.advice.engine import AdviceSettings
    from advisor.advice.targets import advise_targets, time_limit_warning
    from advisor.api.context import cooldown_for, make_planner, open_session
    from advisor.api.workloads import workload_recommendation
    from advisor.index.hashes import with_hashes
    from advisor.lockfile.render import baseline_pins
    from advisor.resolution.search import SearchOptions
    from advisor.scoring.types import recommendation, with_sdists

    kind = kind or recommendation(opts.recommendation)
    if advise.allow_sdist:
        kind = with_sdists(kind)
    if opts.workload is not None:
        kind = workload_recommendation(kind, opts.workload, knowledge_dirs=advise.knowledge_dirs)
    now = now or datetime.now(UTC)
    scratch = tempfile.TemporaryDirectory(prefix="advisor-verify-") if advise.verify else None
    verifier = None
    if scratch is not None:
        from advisor.api.verifying import make_verifier

        try:
            verifier = make_verifier(prep, workdir=Path(scratch.name), now=now,
                                     timeout=opts.build_timeout, events=events)  # fmt: skip
        except BaseException:
            scratch.cleanup()
            raise
    knowledge, store, advisories_as_of = _load_knowledge(advise, prep.environ)
    search = SearchOptions(
        count=advise.count, budget=advise.budget, time_limit=advise.time_limit, seed=advise.seed
    )
    settings = AdviceSettings(
        recommendation=kind,
        knowledge=knowledge,
        policy=prep.config.policy,
        now=now,
        strict=advise.strict,
        search=search,
        advisories_as_of=advisories_as_of,
        verifier=verifier,
    )
    # the time limit bounds sdist builds too: one that would overrun it is stopped
    deadline = time.monotonic() + advise.time_limit
    session = open_session(
        opts, prep.index, prep.pip, prep.environ, deadline=deadline, events=events
    )
    try:
        cooldown, _ = cooldown_for(
            opts,
            policy=prep.config.policy,
            target=prep.targets[0],
            environ=prep.environ,
            knowledge=knowledge,
            now=now,
        )
        planner = make_planner(prep.resolvable, opts=opts, session=session, cooldown=cooldown)
        output = prep.output if str(prep.output) != "-" else None
        baseline = baseline_pins([advise.baseline, output])
        found = advise_targets(
            planner, prep.targets, settings=settings, baseline=baseline, events=events
        )
        merged = with_hashes(found.merged, session.fetcher)
        stopped = time_limit_warning(session.metadata.time_limited, advise.time_limit)
        warnings = (*found.warnings, *([stopped] if stopped else []))
        requests = session.finder.requests
    except BaseException:  # an interrupt or an error: stop running builds now
        session.cancel()
        raise
    finally:
        if verifier is not None and verifier.observations:
            store.put(verifier.observations)  # what the failures taught, kept for next time
        session.close()
        store.close()
        if scratch is not None:
            scratch.cleanup()
    return AdviseOutcome(
        resolution=merged,
        advices=found.advices,
        warnings=tuple(dict.fromkeys(warnings)),
        requests=requests,
        record=_advice_record(found.advices[0], advise),
    )


def _advice_record(first: Advice, advise: AdviseOptions) -> AdviceRecord:
    """What the lock's ``[tool.advisor]`` records about the advice (of the first target)."""
    from advisor.lockfile.record import AdviceRecord

    return AdviceRecord(
        score=first.best.score,
        latest_score=first.latest.score,
        differs_from_latest=tuple(p.name for p in first.best.pins if p.differs),
        seed=advise.seed,
        budget=advise.budget,
    )
