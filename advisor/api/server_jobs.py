"""The jobs ``advisor serve`` runs for ``/v1/lock``, ``/v1/advise``, ``/v1/check``,
``/v1/explain``, ``/v1/knowledge/sync`` and ``/v1/sweeps``.

Wiring only: :class:`ServerJobs` is the :class:`~advisor.server.calls.AdviceJobs` (and the
:class:`~advisor.server.sweep_calls.SweepPlanner`) :mod:`advisor.api.serving` gives the
server: a call becomes the offline job's options over the folder holding the client's files,
with the server's indexes, cache and store; :mod:`advisor.server.answers` writes the results
as JSON. The client's half is :mod:`advisor.api.remote`.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.server.answers import check_answer, lock_answer_dict, sync_answer

if TYPE_CHECKING:
    from collections.abc import Mapping

    from advisor.api.context import ResolveOptions
    from advisor.api.inputs import LockOptions
    from advisor.server.calls import CheckCall, ExplainCall, LockCall
    from advisor.server.settings import ServerSettings
    from advisor.server.sweep_calls import PlannedJob, SweepCall

__all__ = ["ServerJobs"]


class ServerJobs:
    """The advice jobs of one server process: its ``settings`` (indexes, cache, store) and
    the process ``environ`` (pip's configuration, when no index is set)."""

    def __init__(self, settings: ServerSettings, *, environ: Mapping[str, str]) -> None:
        self._settings = settings
        self._environ = dict(environ)

    def _sources(self, opts: ResolveOptions | None = None) -> ResolveOptions:
        """``opts`` (default: the defaults) resolving from the server's indexes and cache
        only, whatever they named."""
        from advisor.api.context import ResolveOptions

        indexes, cache = self._settings.index_urls, self._settings.cache_dir
        return dataclasses.replace(
            opts or ResolveOptions(),
            index_url=indexes[0] if indexes else None,
            extra_index_urls=indexes[1:],
            find_links=(),
            no_index=False,
            cache_dir=Path(cache) if cache else None,
        )

    def _opts(self, call: LockCall, folder: Path) -> ResolveOptions:
        from advisor.models import RecommendationType

        return dataclasses.replace(
            self._sources(),
            constraints=tuple(folder / c for c in call.constraints),
            overrides=tuple(folder / o for o in call.overrides),
            extras=call.extras,
            groups=call.groups,
            python=call.target.python,
            platform=call.target.platform,
            implementation=call.target.implementation,
            cuda=call.target.cuda,
            envs=call.target.envs,
            pre=call.pre,
            only_binary=call.only_binary,
            recommendation=RecommendationType.parse(call.recommendation or "latest"),
            upgrade=call.upgrade,
            upgrade_packages=call.upgrade_packages,
        )

    def _out(self, call: LockCall, folder: Path) -> LockOptions:
        from advisor.api.inputs import LockOptions
        from advisor.models import LockFormat

        output = Path("-") if call.output == "-" else folder / call.output
        # dry run: the lock goes back to the client, nothing stays on the server
        return LockOptions(
            output=output, format=LockFormat(call.format), dry_run=True, command=call.command
        )

    def lock(self, call: LockCall, *, folder: Path, deadline: float) -> dict[str, Any]:
        from advisor.api.locking import lock

        outcome = lock(
            [folder / i for i in call.inputs],
            opts=self._opts(call, folder),
            out=self._out(call, folder),
            environ=self._environ,
            cwd=folder,
        )
        return lock_answer_dict(outcome)

    def advise(self, call: LockCall, *, folder: Path, deadline: float) -> dict[str, Any]:
        from advisor.api.advising import AdviseOptions
        from advisor.api.locking import advise
        from advisor.report.json import advice_to_dict

        search = call.search
        left = max(1.0, deadline - time.monotonic() - 5.0)  # the lock is rendered after it
        result = advise(
            [folder / i for i in call.inputs],
            opts=self._opts(call, folder),
            out=self._out(call, folder),
            advice=AdviseOptions(
                count=search.count,
                budget=search.budget,
                time_limit=min(search.time_limit, left),
                seed=search.seed,
                knowledge=self._settings.store_url,
            ),
            recommendation=call.recommendation,
            environ=self._environ,
            cwd=folder,
        )
        return {
            **lock_answer_dict(result.lock),
            "advices": [advice_to_dict(a) for a in result.advices],
        }

    def check(self, call: CheckCall, *, folder: Path, deadline: float) -> dict[str, Any]:
        from advisor.api.checking import CheckOptions, run_check

        report = run_check(
            [Path(p) for p in call.paths],
            opts=CheckOptions(
                knowledge=self._settings.store_url,
                inputs=tuple(Path(i) for i in call.inputs),
                only=frozenset(call.only),
            ),
            environ=self._environ,
            cwd=folder,
        )
        return check_answer(
            report.findings, checked=report.checked, lockless=report.lockless, folder=folder
        )

    def plan_sweep(self, call: SweepCall, *, today: str) -> tuple[PlannedJob, ...]:
        import tempfile

        from advisor.api.observing import plan_sweep
        from advisor.observe.plan import SweepOptions
        from advisor.observe.sweep import read_spec
        from advisor.server.sweep_calls import PlannedJob

        opts = dataclasses.replace(self._sources(), python=call.python)
        with tempfile.TemporaryDirectory(prefix="advisor-sweep-plan-") as tmp:
            specs = plan_sweep(
                call.requirements,
                sweep=SweepOptions(
                    count=call.versions,
                    probes=call.probes,
                    repeat=call.repeat,
                    threads=call.threads,
                    timeout=call.timeout,
                ),
                opts=opts,
                workdir=Path(tmp),
                store_url=None,  # the workers upload to the server: no store travels
                environ=self._environ,
                cwd=Path(tmp),
                today=today,
            )
            return tuple(
                PlannedJob(requirement=read_spec(p).requirement, spec=p.read_text("utf-8"))
                for p in specs
            )

    def explain(self, call: ExplainCall, *, folder: Path, deadline: float) -> dict[str, Any]:
        from advisor.api.advising import AdviseOptions
        from advisor.api.explaining import explain_pin
        from advisor.report.explain import explanation_to_dict

        left = max(1.0, deadline - time.monotonic() - 5.0)
        result = explain_pin(
            folder / call.lock,
            call.name,
            advise=AdviseOptions(
                knowledge=self._settings.store_url, time_limit=min(AdviseOptions().time_limit, left)
            ),
            environ=self._environ,
            override=self._sources,  # the lock's own index is not the server's
        )
        return explanation_to_dict(
            result.name, paths=result.paths, pin=result.pin, version=result.version
        )

    def sync(self) -> dict[str, Any]:
        from advisor.api.knowledge import sync

        reports = [
            sync(Path(folder), store_url=self._settings.store_url)
            for folder in self._settings.knowledge_dirs
        ]
        return sync_answer(reports)
