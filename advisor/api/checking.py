"""``advisor check``: :mod:`advisor.check` given the process environment, the clock, the
current folder and its :class:`~advisor.check.knowledge.HostSources` (the store or the
``--osv`` dump, the host, the lock's indexes for ``--online``, the lock job for ``--fix``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.check.run import CheckOptions, CheckReport
from advisor.check.run import run_check as run_checks
from advisor.events import SILENT
from advisor.options.resolve import ResolveOptions

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from contextlib import AbstractContextManager

    from advisor.check.sources import ProjectFiles, RelockPlan
    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
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
    """:func:`advisor.check.run.run_check` here, or on ``server``."""
    if server:
        from advisor.api.remote import remote_check

        return remote_check(server, paths, opts=opts, environ=environ, cwd=cwd, events=events)
    from advisor.check.knowledge import HostSources, RunKnowledge
    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.bundled import bundled_knowledge_dir
    from advisor.knowledge.store import choose_store_url, store_opener

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    now = datetime.now(UTC) if now is None else now
    store = store_opener(choose_store_url(opts.knowledge, environ), shared=opts.shared_store)
    knowledge = RunKnowledge(open_store=store, curated=opts.curated_folder(bundled_knowledge_dir()),
                             today=now.date().isoformat(), osv=opts.osv)  # fmt: skip
    sources = HostSources(knowledge=knowledge, detect=RuntimeEnvironment.detect,
                          build_targets=_targets, index=partial(_open_index, environ, cwd, events),
                          lock=partial(_relock, environ, events))  # fmt: skip
    try:
        return run_checks(paths, opts=opts, sources=sources, environ=environ, cwd=cwd, now=now)
    finally:
        knowledge.close()


def _targets(
    config: AdvisorConfig, names: Sequence[str], host: RuntimeEnvironment
) -> Sequence[RuntimeEnvironment]:
    from advisor.api.context import build_targets

    return build_targets(ResolveOptions(envs=tuple(names)), config, host)


def _open_index(
    environ: Mapping[str, str], cwd: Path, events: ProgressEvents, index: IndexRecord
) -> AbstractContextManager[ProjectFiles]:
    from advisor.api.lock_facts import open_finder
    from advisor.config import AdvisorConfig
    from advisor.options.record import recorded_index

    opts = recorded_index(index, refresh=True)
    return open_finder(opts, environ, cwd, config=AdvisorConfig(), events=events)


def _relock(environ: Mapping[str, str], events: ProgressEvents, plan: RelockPlan) -> None:
    from advisor.api.locking import lock
    from advisor.check.paths import LockKind
    from advisor.options.record import relock_request

    pylock = plan.kind is LockKind.PYLOCK
    files, opts, out = relock_request(plan.lock, pylock=pylock, inputs=plan.inputs,
                                      index=plan.index)  # fmt: skip
    cwd = plan.lock.resolve().parent
    lock(files, opts=opts, out=out, environ=environ, cwd=cwd, events=events)
