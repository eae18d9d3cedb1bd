"""The jobs ``advisor serve`` runs (``/v1/lock``, ``advise``, ``check``, ``explain``,
``sweeps``): :class:`ServerJobs`, the server's :class:`~advisor.server.calls.AdviceJobs`,
over the store the server holds open; a call's options come from
:mod:`advisor.server.job_options`, its answer is written by :mod:`advisor.server.answers`.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.server import answers
from advisor.server import job_options as made

if TYPE_CHECKING:
    from collections.abc import Mapping

    from advisor.knowledge.store import KnowledgeStore
    from advisor.server.calls import CheckCall, ExplainCall, LockCall
    from advisor.server.settings import ServerSettings
    from advisor.server.sweep_calls import PlannedJob, SweepCall

__all__ = ["ServerJobs"]


class ServerJobs:
    """The advice jobs of one server process: its ``settings`` (indexes, cache) and the
    process ``environ`` (pip's configuration, when no index is set)."""

    def __init__(self, settings: ServerSettings, *, environ: Mapping[str, str]) -> None:
        self._settings = settings
        self._environ = dict(environ)
        self._curated = threading.Lock()
        self._curated_synced = False

    def _scoring(self, store: KnowledgeStore) -> KnowledgeStore:
        """``store``, with the shipped curated knowledge synced into it once in this process,
        by the first job that scores with it (each offline run syncs it into its own store,
        so a server answers as the same job run here would; a job lent the store syncs
        nothing itself)."""
        with self._curated:
            if not self._curated_synced:
                from advisor.knowledge.bundled import CURATED_PREFIX, bundled_knowledge_dir
                from advisor.knowledge.sync import sync_folders

                shipped = bundled_knowledge_dir()
                today = datetime.now(UTC).date().isoformat()
                sync_folders(store, ((shipped, CURATED_PREFIX),) if shipped else (), today=today)
                self._curated_synced = True
        return store

    def lock(
        self, call: LockCall, *, folder: Path, deadline: float, store: KnowledgeStore
    ) -> dict[str, Any]:
        from advisor.api.locking import lock

        run = made.lock_run(call, folder=folder, settings=self._settings)
        search = None  # latest: pip's stack, no knowledge read
        if not run.opts.is_pip_choice:
            left = made.time_left(deadline, time.monotonic())
            search = made.search_options(call, left=left, store=self._scoring(store))
        done = lock(run.inputs, opts=run.opts, out=run.out, advice=search,
                    environ=self._environ, cwd=folder)  # fmt: skip
        return answers.lock_answer_dict(done)

    def advise(
        self, call: LockCall, *, folder: Path, deadline: float, store: KnowledgeStore
    ) -> dict[str, Any]:
        from advisor.api.locking import advise

        run = made.lock_run(call, folder=folder, settings=self._settings)
        left = made.time_left(deadline, time.monotonic())
        search = made.search_options(call, left=left, store=self._scoring(store))
        result = advise(run.inputs, opts=run.opts, out=run.out, advice=search,
                        environ=self._environ, cwd=folder)  # fmt: skip
        return answers.advice_answer_dict(result)

    def check(
        self, call: CheckCall, *, folder: Path, deadline: float, store: KnowledgeStore
    ) -> dict[str, Any]:
        from advisor.api.checking import run_check

        paths, opts = made.check_run(call, store=self._scoring(store))
        report = run_check(paths, opts=opts, environ=self._environ, cwd=folder)
        return answers.check_answer(
            report.findings, checked=report.checked, lockless=report.lockless, folder=folder
        )

    def explain(
        self, call: ExplainCall, *, folder: Path, deadline: float, store: KnowledgeStore
    ) -> dict[str, Any]:
        from advisor.api.explaining import explain_pin

        left = made.time_left(deadline, time.monotonic())
        advise = made.explain_options(self._settings, left=left, store=self._scoring(store))
        override = partial(made.served, self._settings)  # the lock's own index is not ours
        result = explain_pin(
            folder / call.lock, call.name, advise=advise, environ=self._environ, override=override
        )
        return answers.explanation_answer(result)

    def plan_sweep(self, call: SweepCall, *, today: str) -> tuple[PlannedJob, ...]:
        import tempfile

        from advisor.api.observing import plan_sweep

        sweep, opts = made.sweep_options(call, settings=self._settings)
        with tempfile.TemporaryDirectory(prefix="advisor-sweep-plan-") as tmp:
            # no store_url: the workers upload to the server, no store travels
            specs = plan_sweep(call.requirements, sweep=sweep, opts=opts, workdir=Path(tmp),
                               environ=self._environ, cwd=Path(tmp), today=today)  # fmt: skip
            return made.planned_jobs(specs)
