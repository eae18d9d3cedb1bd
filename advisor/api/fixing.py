"""``advisor fix``: change the fewest pins of a lock so that no fixable advisory is left.

Part of the composition root, thin: reads what the lock was made from (a pylock.toml's
record, or a requirements lock's ``.in`` beside it: :func:`advisor.options.record.
lock_request`), loads the knowledge as ``advise`` does, opens the index session and hands the
decision to :func:`advisor.advice.remedy.plan_remedy`; the lock is then rendered and written
atomically by :func:`advisor.api.locking.finish` (nothing is written with ``dry_run``).
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
    from collections.abc import Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.advice.remedy import Remedy
    from advisor.events import ProgressEvents
    from advisor.models import Resolution
    from advisor.options.prepared import Prepared
    from advisor.options.resolve import ResolveOptions

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
    """Remediate ``lock`` (a pylock.toml recording its inputs, or a requirements lock with
    its inputs). Raises :class:`InputError` for a lock that is missing, records no inputs
    or is stale (its inputs changed since: re-lock first, or the diff would mix both
    changes), :class:`~advisor.errors.LockfileError` for one that cannot be read."""
    from advisor.advice.locked_targets import pins_per_target
    from advisor.api.inputs import LockOptions, prepare
    from advisor.api.locking import finish
    from advisor.lockfile.pylock import read_pylock
    from advisor.lockfile.record import FixRecord
    from advisor.models import LockFormat
    from advisor.options.record import is_stale, lock_request

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    path = lock if lock.is_absolute() else cwd / lock
    if not path.is_file():
        raise InputError(f"{lock}: no such lock file")
    files, opts, fmt = lock_request(path, options.inputs, cwd=cwd, environ=environ)
    out = LockOptions(output=path, format=fmt, dry_run=options.dry_run, command="advisor fix")
    prep = prepare(files, opts=opts, out=out, environ=environ, cwd=path.parent)
    if fmt is LockFormat.PYLOCK and is_stale(path, prep, opts=opts):
        raise InputError(
            f"{lock}: the lock is stale (its inputs, options or indexes changed since it was"
            " written): re-lock it first (`advisor check --fix`), then fix it"
        )
    locked = read_pylock(path) if fmt is LockFormat.PYLOCK else None
    target_pins = pins_per_target(locked.packages, prep.targets) if locked else None
    remedy, resolution = _remedy(
        prep, opts=opts, options=options, target_pins=target_pins, now=now, events=events
    )
    if resolution is None:
        return FixOutcome(remedy=remedy, lock=path)
    # the advice's scores described the stack before the fix: record the fix instead
    fixed = FixRecord.after(
        locked.record.other if locked else {},
        changed=(str(c.name) for c in remedy.changes),
        advisories=(a.id for a in remedy.fixed),
    )
    written = finish(prep, resolution, opts=opts, out=out, tool=fixed)
    return FixOutcome(remedy=remedy, lock=path, text=written.text, path=written.path)


def _remedy(
    prep: Prepared,
    *,
    opts: ResolveOptions,
    options: FixOptions,
    target_pins: Sequence[Mapping[NormalizedName, Version]] | None,
    now: datetime | None,
    events: ProgressEvents,
) -> tuple[Remedy, Resolution | None]:
    """The remedy of ``prep``'s pins (``target_pins``: each target's own, for a pylock.toml),
    over the knowledge and one index session, and its resolution with the files' hashes
    (``None``: nothing to change)."""
    from advisor.advice.remedy import RemedyOptions, plan_remedy
    from advisor.api.advising import AdviseOptions, load_knowledge
    from advisor.api.context import planning
    from advisor.index.hashes import with_hashes

    knowledge, store, _ = load_knowledge(
        AdviseOptions(knowledge=options.knowledge, osv=options.osv), prep.environ
    )
    now = now or datetime.now(UTC)
    try:
        with planning(prep, opts, knowledge=knowledge, now=now, events=events) as (planner, s):
            remedy = plan_remedy(
                planner,
                prep.targets,
                pins=prep.previous,
                target_pins=target_pins,
                knowledge=knowledge,
                policy=prep.config.policy,
                now=now,
                options=RemedyOptions(
                    allow_major=options.allow_major, recommendation=opts.recommendation
                ),
                events=events,
            )
            if remedy.resolution is None:
                return remedy, None
            return remedy, with_hashes(remedy.resolution, s.fetcher)
    finally:
        store.close()
