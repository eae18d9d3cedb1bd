"""``advisor check``: the composition of :mod:`advisor.check` (the decisions live there).

Reads the process environment, the clock and the current folder, and gives the check run its
:class:`~advisor.check.sources.CheckSources`: the knowledge store (or the ``--osv`` dump), the
host, the lock's indexes for ``--online``, and the lock job for ``--fix``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.check.run import CheckOptions, CheckReport
from advisor.check.run import run_check as run_checks
from advisor.events import SILENT
from advisor.models import LockFormat
from advisor.options.resolve import ResolveOptions

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from advisor.check.knowledge import RunKnowledge
    from advisor.check.sources import AdvisoryData, ProjectFiles, RelockPlan
    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import Prescription
    from advisor.lockfile.record import IndexRecord

__all__ = ["CheckOptions", "CheckReport", "run_check"]


def run_check(
    paths: Sequence[Path],
    *,
    opts: CheckOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    now: datetime | None = None,
    events: ProgressEvents = SILENT,
    server: str | None = None,
) -> CheckReport:
    """Check the locks ``paths`` name (locks, or inputs for the locks beside them; none: the
    lock here: :func:`~advisor.check.paths.select_locks`). Relative paths, and
    ``opts.inputs``, are relative to ``cwd`` (default: the current folder). The index
    queries of ``--online`` and the re-locks of ``--fix`` report progress to ``events``.
    With ``server``, the team server at that URL checks against its store
    (:func:`advisor.api.remote.remote_check`)."""
    if server:
        from advisor.api.remote import remote_check

        return remote_check(server, paths, opts=opts, environ=environ, cwd=cwd, events=events)
    from advisor.api.bundled import bundled_knowledge_dir
    from advisor.check.knowledge import RunKnowledge
    from advisor.knowledge.store import default_store_url, open_store

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    now = datetime.now(UTC) if now is None else now
    url = opts.knowledge or default_store_url(environ)
    # one store for the whole run (every lock's advisories and rules), opened on first need
    knowledge = RunKnowledge(open_store=lambda: open_store(url), curated=bundled_knowledge_dir(),
                             today=now.date().isoformat())  # fmt: skip
    sources = _Sources(opts=opts, environ=environ, cwd=cwd, events=events, knowledge=knowledge)
    try:
        return run_checks(paths, opts=opts, sources=sources, environ=environ, cwd=cwd, now=now)
    finally:
        knowledge.close()


@dataclass(slots=True, kw_only=True)
class _Sources:
    """:class:`~advisor.check.sources.CheckSources` over this process's store and index."""

    opts: CheckOptions
    environ: Mapping[str, str]
    cwd: Path
    events: ProgressEvents
    knowledge: RunKnowledge
    detected: RuntimeEnvironment | None = None

    def advisories(self, names: Sequence[str]) -> AdvisoryData:
        from advisor.check.sources import advisories_from_dump

        if self.opts.osv is not None:
            return advisories_from_dump(self.opts.osv, names)
        return self.knowledge.advisories(names)

    def prescriptions(self, names: Sequence[str]) -> Sequence[Prescription]:
        return self.knowledge.prescriptions(names)

    def host(self) -> RuntimeEnvironment:
        from advisor.environment import RuntimeEnvironment

        if self.detected is None:
            self.detected = RuntimeEnvironment.detect()
        return self.detected

    def targets(self, config: AdvisorConfig, names: Sequence[str]) -> Sequence[RuntimeEnvironment]:
        from advisor.api.context import build_targets

        return build_targets(ResolveOptions(envs=tuple(names)), config, self.host())

    @contextmanager
    def open_index(self, index: IndexRecord) -> Iterator[ProjectFiles]:
        from advisor.api.context import index_config, open_session
        from advisor.config import AdvisorConfig
        from advisor.options.record import recorded_index
        from advisor.request import AdviceRequest

        opts = recorded_index(index, refresh=True)
        request = AdviceRequest(requirements=())
        config, pip = index_config(opts, request, AdvisorConfig(), self.environ, self.cwd)
        with open_session(opts, config, pip, self.environ, events=self.events) as session:
            yield session.finder

    def relock(self, plan: RelockPlan) -> None:
        from advisor.api.locking import lock
        from advisor.check.paths import LockKind
        from advisor.options.jobs import LockOptions
        from advisor.options.record import recorded_request

        if plan.kind is LockKind.PYLOCK:
            files, opts = recorded_request(plan.lock)
            fmt = LockFormat.PYLOCK
        else:
            files, opts = list(plan.inputs), ResolveOptions.from_index(plan.index)
            fmt = LockFormat.REQUIREMENTS
        out = LockOptions(output=plan.lock, format=fmt, command="advisor check --fix")
        cwd = plan.lock.resolve().parent
        lock(files, opts=opts, out=out, environ=self.environ, cwd=cwd, events=self.events)
