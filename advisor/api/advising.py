"""``advisor advise``'s search: the knowledge (:func:`open_knowledge`), the ``--verify``
verifier (:func:`verifying`) and the planner handed to
:func:`advisor.advice.targets.advise_targets`. Wiring only (:class:`~advisor.options.
AdviseOptions` decides).
"""

from __future__ import annotations

import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from advisor._version import TOOL
from advisor.events import SILENT
from advisor.options.jobs import AdviseOptions
from advisor.options.outcomes import AdviseOutcome

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from contextlib import AbstractContextManager

    from advisor.events import ProgressEvents
    from advisor.knowledge.store import KnowledgeStore
    from advisor.observe.verify import VenvVerifier
    from advisor.options.prepared import Prepared
    from advisor.options.resolve import ResolveOptions
    from advisor.scoring.base import Recommendation
    from advisor.scoring.knowledge_view import StoreKnowledge

__all__ = ["AdviseOptions", "AdviseOutcome", "open_knowledge", "run_advice", "verifying"]


def open_knowledge(
    advise: AdviseOptions, environ: Mapping[str, str]
) -> AbstractContextManager[tuple[StoreKnowledge, KnowledgeStore, str | None]]:
    """:func:`~advisor.scoring.knowledge_view.advice_knowledge` of ``advise``'s store (its
    shared one, else its URL's) and curated folders (:meth:`AdviseOptions.curated_folders`)."""
    from advisor.knowledge.bundled import bundled_knowledge_dir
    from advisor.knowledge.store import choose_store_url, store_opener
    from advisor.scoring.knowledge_view import advice_knowledge

    store = store_opener(choose_store_url(advise.knowledge, environ), shared=advise.shared_store)
    folders = advise.curated_folders(bundled_knowledge_dir())
    today = datetime.now(UTC).date()
    return advice_knowledge(store, folders=folders, osv=advise.osv, today=today)


def run_advice(
    prep: Prepared,
    *,
    opts: ResolveOptions,
    advise: AdviseOptions,
    now: datetime | None = None,
    kind: Recommendation | None = None,
    events: ProgressEvents = SILENT,
) -> AdviseOutcome:
    """The best stacks of ``opts.recommendation`` (or ``kind``) for every target of ``prep``.
    Raises :class:`~advisor.errors.NoViableStack` when a target has none."""
    from advisor.advice.targets import advise_targets
    from advisor.api.context import planning
    from advisor.index.hashes import with_hashes
    from advisor.lockfile.render import baseline_pins
    from advisor.options.record import advice_outcome
    from advisor.scoring.types import recommendation

    now = now or datetime.now(UTC)
    kind = advise.searched(kind or recommendation(opts.recommendation))
    if opts.workload is not None:
        from advisor.api.workloads import workload_recommendation

        kind = workload_recommendation(kind, opts.workload, knowledge_dirs=advise.knowledge_dirs)
    verify = verifying(
        prep, verify=advise.verify, now=now, timeout=opts.build_timeout, events=events
    )
    with verify as verifier, open_knowledge(advise, prep.environ) as (knowledge, store, as_of):
        settings = advise.settings(kind, knowledge=knowledge, config=prep.config, now=now,
                                   advisories_as_of=as_of, verifier=verifier)  # fmt: skip
        deadline = time.monotonic() + advise.time_limit  # sdist builds stop at it too
        try:
            with planning(
                prep, opts, knowledge=knowledge, now=now, deadline=deadline, events=events
            ) as (planner, session):
                baseline = baseline_pins([advise.baseline, prep.lock_path])
                found = advise_targets(
                    planner, prep.targets, settings=settings, baseline=baseline, events=events
                )
                merged = with_hashes(found.merged, session.fetcher)
                stopped, requests = session.metadata.time_limited, session.finder.requests
        finally:
            if verifier is not None and verifier.observations:
                store.put(verifier.observations)  # what the failures taught, kept for next time
    return advice_outcome(
        found, resolution=merged, stopped=stopped, requests=requests, advise=advise
    )


@contextmanager
def verifying(
    prep: Prepared, *, verify: bool, now: datetime, timeout: float, events: ProgressEvents
) -> Iterator[VenvVerifier | None]:
    """The ``--verify`` verifier, its venvs in a throwaway folder (``None`` without
    ``verify``). Raises :class:`~advisor.errors.InputError` when a target is not here."""
    if not verify:
        yield None
        return
    from advisor.environment import RuntimeEnvironment
    from advisor.observe.compat import PipSource
    from advisor.observe.recorder import detect_recorder
    from advisor.observe.verify import VenvVerifier, VerifySettings, check_hosts

    host = RuntimeEnvironment.detect()
    check_hosts(prep.targets, host)
    with tempfile.TemporaryDirectory(prefix="advisor-verify-") as scratch:
        settings = VerifySettings(
            python=sys.executable,
            pip=PipSource.of_indexes(prep.index.indexes, find_links=prep.index.find_links),
            workdir=Path(scratch),
            timeout=timeout,
            today=now.date().isoformat(),
            tool=TOOL,
            recorder=detect_recorder(prep.environ),
        )
        yield VenvVerifier(settings=settings, env=host, environ=prep.environ, events=events)
