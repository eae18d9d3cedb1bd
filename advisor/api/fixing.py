"""``advisor fix``: the fewest pin changes that leave no fixable advisory in a lock. Wiring
only: the lock's inputs (:mod:`advisor.options.record`), the knowledge and planner ``advise``
uses, :func:`advisor.advice.remedy.plan_remedy`, the lock written by ``locking.finish``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.events import SILENT
from advisor.options.jobs import FixOptions
from advisor.options.outcomes import FixOutcome

if TYPE_CHECKING:
    from collections.abc import Mapping

    from advisor.events import ProgressEvents

__all__ = ["FixOptions", "FixOutcome", "fix"]

_DEFAULT = FixOptions()


def fix(
    lock: Path,
    *,
    options: FixOptions = _DEFAULT,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    now: datetime | None = None,
    events: ProgressEvents = SILENT,
) -> FixOutcome:
    """Remediate ``lock``. Raises :class:`InputError` for a lock that is missing, records no
    inputs or is stale, :class:`~advisor.errors.LockfileError` for one that cannot be read."""
    from advisor.advice.locked_targets import pins_per_target
    from advisor.advice.remedy import plan_remedy
    from advisor.api.advising import open_knowledge
    from advisor.api.context import planning
    from advisor.api.inputs import prepare
    from advisor.api.locking import finish
    from advisor.index.hashes import with_hashes
    from advisor.options.record import fix_record, fixed_lock, lock_request

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    path = lock if lock.is_absolute() else cwd / lock
    if not path.is_file():
        raise InputError(f"{lock}: no such lock file")
    files, opts, fmt = lock_request(path, options.inputs, cwd=cwd, environ=environ)
    out = options.lock_options(path, fmt)
    prep = prepare(files, opts=opts, out=out, environ=environ, cwd=path.parent)
    locked = fixed_lock(path, prep, opts=opts, fmt=fmt, shown=lock)
    target_pins = pins_per_target(locked.packages, prep.targets) if locked else None
    with open_knowledge(options.knowledge_options(), prep.environ) as (knowledge, _, _):
        now = now or datetime.now(UTC)
        with planning(prep, opts, knowledge=knowledge, now=now, events=events) as (planner, s):
            remedy = plan_remedy(
                planner,
                prep.targets,
                pins=prep.previous,
                target_pins=target_pins,
                knowledge=knowledge,
                policy=prep.config.policy,
                now=now,
                options=options.remedy_options(opts.recommendation),
                events=events,
            )
            if remedy.resolution is None:
                return FixOutcome(remedy=remedy, lock=path)
            resolution = with_hashes(remedy.resolution, s.fetcher)
    written = finish(prep, resolution, opts=opts, out=out, tool=fix_record(locked, remedy))
    return FixOutcome(remedy=remedy, lock=path, text=written.text, path=written.path)
