"""``advisor fix``: the fewest pin changes that leave no fixable advisory in a lock. Wiring
only: the lock's inputs (:mod:`advisor.options.record`), the knowledge and planner ``advise``
uses, :func:`advisor.advice.remedy.plan_remedy`, the lock written by ``locking.finish``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.events import SILENT
from advisor.options.jobs import FixOptions
from advisor.options.outcomes import FixOutcome, LockedStack

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from pathlib import Path

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
    from advisor.api.context import here, planning
    from advisor.api.inputs import prepare
    from advisor.api.locking import finish
    from advisor.index.hashes import with_hashes
    from advisor.options.record import fix_record, fixed_lock, lock_request

    at = here(environ, cwd, now)
    path = at.cwd / lock  # an absolute ``lock`` as it is
    if not path.is_file():
        raise InputError(f"{lock}: no such lock file")
    files, opts, fmt = lock_request(path, options.inputs, cwd=at.cwd, environ=at.environ)
    out = options.lock_options(path, fmt)
    prep = prepare(files, opts=opts, out=out, environ=at.environ, cwd=path.parent)
    locked = fixed_lock(path, prep, opts=opts, fmt=fmt, shown=lock)
    target_pins = pins_per_target(locked.packages, prep.targets) if locked else None
    with (
        open_knowledge(options.knowledge_options(), prep.environ) as (knowledge, _, _),
        planning(prep, opts, knowledge=knowledge, now=at.now, events=events) as (planner, s),
    ):
        remedy = plan_remedy(planner, prep.targets, pins=prep.previous, target_pins=target_pins,
                             knowledge=knowledge, policy=prep.config.policy, now=at.now,
                             options=options.remedy_options(opts.recommendation),
                             events=events)  # fmt: skip
        if remedy.resolution is None:
            return FixOutcome(remedy=remedy, lock=path)
        resolution = with_hashes(remedy.resolution, s.fetcher)
    stack = LockedStack(resolution=resolution)
    written = finish(prep, stack, opts=opts, out=out, tool=fix_record(locked, remedy))
    return FixOutcome(remedy=remedy, lock=path, text=written.text, path=written.path)
