"""``advisor advise``: the best stack of a recommendation type for each target, and why.

Part of the composition root, around the decide layer
(:func:`advisor.advice.targets.advise_targets`: the advice engine for each target, the best
stacks merged): it loads the knowledge (the store, after an implicit sync of the curated
``knowledge/`` folders, plus an ``--osv`` dump), builds the ``--verify`` verifier, opens the
index session, reads the baseline lock (:func:`advisor.lockfile.render.baseline_pins`), and
adds the files' hashes.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.api.bundled import bundled_knowledge_dir
from advisor.events import SILENT
from advisor.options.jobs import AdviseOptions
from advisor.options.outcomes import AdviseOutcome

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from advisor.advice.engine import AdviceSettings
    from advisor.advice.targets import AdvisedTargets
    from advisor.events import ProgressEvents
    from advisor.knowledge.store import KnowledgeStore
    from advisor.models import Resolution
    from advisor.observe.verify import VenvVerifier
    from advisor.options.prepared import Prepared
    from advisor.options.resolve import ResolveOptions
    from advisor.scoring.base import Recommendation
    from advisor.scoring.knowledge_view import StoreKnowledge

__all__ = [
    "AdviseOptions",
    "AdviseOutcome",
    "bundled_knowledge_dir",
    "load_knowledge",
    "run_advice",
]


def load_knowledge(
    advise: AdviseOptions, environ: Mapping[str, str]
) -> tuple[StoreKnowledge, KnowledgeStore, str | None]:
    """The knowledge view for scoring: the store, after an implicit ``knowledge sync`` of the
    curated folders (free when their content digest is unchanged), plus ``--osv`` advisories;
    and how current the advisory database is (ISO day; ``None``: none loaded). The caller
    closes the store.
    """
    from advisor.api.knowledge import advisory_data, sync
    from advisor.knowledge.store import default_store_url, open_store
    from advisor.scoring.knowledge_view import StoreKnowledge

    url = advise.knowledge or default_store_url(environ)
    bundled = bundled_knowledge_dir()
    for folder in dict.fromkeys([*advise.knowledge_dirs, *([bundled] if bundled else [])]):
        # the checkout's curated rules under their own source, so a project folder laid
        # out the same way (prescriptions/numpy.yaml) never replaces them, nor they it
        prefix = "advisor-knowledge" if folder == bundled else "knowledge"
        sync(folder, store_url=url, source_prefix=prefix)
    today = datetime.now(UTC).date()
    dump = None
    if advise.osv is not None:
        from advisor.knowledge.sources.osv_import import load_osv

        dump = load_osv(advise.osv, date=today.isoformat())
    store = open_store(url)
    as_of = (dump.newest_modified or today) if dump is not None else advisory_data(store)[1]
    extra = list(dump.advisories) if dump is not None else []
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
    from advisor.options.record import advice_record
    from advisor.resolution.search import SearchOptions

    now = now or datetime.now(UTC)
    kind = _recommendation(opts, advise, kind)
    with _verifier(prep, opts=opts, advise=advise, now=now, events=events) as verifier:
        knowledge, store, advisories_as_of = load_knowledge(advise, prep.environ)
        try:
            settings = AdviceSettings(
                recommendation=kind,
                knowledge=knowledge,
                policy=prep.config.policy,
                now=now,
                strict=advise.strict,
                search=SearchOptions(
                    count=advise.count,
                    budget=advise.budget,
                    time_limit=advise.time_limit,
                    seed=advise.seed,
                ),
                advisories_as_of=advisories_as_of,
                verifier=verifier,
            )
            found, merged, warnings, requests = _search(
                prep, opts=opts, advise=advise, settings=settings, events=events
            )
        finally:
            if verifier is not None and verifier.observations:
                store.put(verifier.observations)  # what the failures taught, kept for next time
            store.close()
    return AdviseOutcome(
        resolution=merged,
        advices=found.advices,
        warnings=warnings,
        requests=requests,
        record=advice_record(found.advices[0], seed=advise.seed, budget=advise.budget),
    )


def _recommendation(
    opts: ResolveOptions, advise: AdviseOptions, kind: Recommendation | None
) -> Recommendation:
    """The recommendation searched for: ``kind``, else ``opts.recommendation``'s bundle, with
    sdists allowed (``--allow-sdist``) and narrowed to a workload (``--workload``)."""
    from advisor.api.workloads import workload_recommendation
    from advisor.scoring.types import recommendation, with_sdists

    kind = kind or recommendation(opts.recommendation)
    if advise.allow_sdist:
        kind = with_sdists(kind)
    if opts.workload is not None:
        kind = workload_recommendation(kind, opts.workload, knowledge_dirs=advise.knowledge_dirs)
    return kind


@contextmanager
def _verifier(
    prep: Prepared,
    *,
    opts: ResolveOptions,
    advise: AdviseOptions,
    now: datetime,
    events: ProgressEvents,
) -> Iterator[VenvVerifier | None]:
    """The ``--verify`` verifier (``None`` without it), its venvs in a throwaway folder
    removed on the way out."""
    if not advise.verify:
        yield None
        return
    from advisor.api.verifying import make_verifier

    with tempfile.TemporaryDirectory(prefix="advisor-verify-") as scratch:
        yield make_verifier(
            prep, workdir=Path(scratch), now=now, timeout=opts.build_timeout, events=events
        )


def _search(
    prep: Prepared,
    *,
    opts: ResolveOptions,
    advise: AdviseOptions,
    settings: AdviceSettings,
    events: ProgressEvents,
) -> tuple[AdvisedTargets, Resolution, tuple[str, ...], int]:
    """The advice engine over one index session for every target of ``prep``: what it
    found, the best stacks merged with their files' hashes, the warnings and the index
    requests made."""
    from advisor.advice.targets import advice_warnings, advise_targets
    from advisor.api.context import planning
    from advisor.index.hashes import with_hashes
    from advisor.lockfile.render import baseline_pins

    # the time limit bounds sdist builds too: one that would overrun it is stopped
    deadline = time.monotonic() + advise.time_limit
    knowledge, now = settings.knowledge, settings.now
    with planning(prep, opts, knowledge=knowledge, now=now, deadline=deadline, events=events) as (
        planner,
        session,
    ):
        baseline = baseline_pins([advise.baseline, prep.lock_path])
        found = advise_targets(
            planner, prep.targets, settings=settings, baseline=baseline, events=events
        )
        merged = with_hashes(found.merged, session.fetcher)
        stopped = session.metadata.time_limited
        warnings = advice_warnings(found.warnings, stopped=stopped, time_limit=advise.time_limit)
        return found, merged, warnings, session.finder.requests
