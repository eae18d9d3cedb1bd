"""``advisor fix``: change the fewest pins of a lock so that no fixable advisory is left.

Part of the composition root, thin: reads the lock and what it was made from (a pylock.toml's
record, or a requirements lock's ``.in`` beside it), loads the knowledge as ``advise`` does,
opens the index session and hands the decision to
:func:`advisor.advice.remedy.plan_remedy`; the lock is then rendered and written atomically
by :func:`advisor.api.locking.finish` (nothing is written with ``dry_run``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.advice.remedy import Remedy
    from advisor.api.context import ResolveOptions
    from advisor.events import ProgressEvents

__all__ = ["FixOptions", "FixOutcome", "fix"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FixOptions:
    """``allow_major``: a fix may be a new major version; ``dry_run``: write nothing;
    ``knowledge``/``osv``: where advisories come from (as for ``advise``); ``inputs``: what
    a requirements lock was made from (default: its ``.in`` sibling)."""

    allow_major: bool = False
    dry_run: bool = False
    knowledge: str | None = None
    osv: Path | None = None
    inputs: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FixOutcome:
    """The ``remedy`` found, the lock's new ``text`` (``""`` when nothing changed) and the
    ``path`` written (``None``: a dry run, or nothing to change)."""

    remedy: Remedy
    lock: Path
    text: str = ""
    path: Path | None = None


def fix(
    lock: Path,
    *,
    options: FixOptions = FixOptions(),
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
    from advisor.advice.remedy import RemedyOptions, plan_remedy
    from advisor.api.advising import AdviseOptions, _load_knowledge
    from advisor.api.context import cooldown_for, make_planner, open_session
    from advisor.api.inputs import LockOptions, prepare
    from advisor.api.locking import finish, lock_record
    from advisor.api.resolving import with_hashes
    from advisor.lockfile.pylock import read_pylock
    from advisor.lockfile.record import FixRecord
    from advisor.models import LockFormat

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    path = lock if lock.is_absolute() else cwd / lock
    if not path.is_file():
        raise InputError(f"{lock}: no such lock file")
    fmt = LockFormat.PYLOCK if path.suffix == ".toml" else LockFormat.REQUIREMENTS
    files, opts = _recorded(path, fmt, options.inputs, cwd=cwd, environ=environ)
    out = LockOptions(output=path, format=fmt, dry_run=options.dry_run, command="advisor fix")
    prep = prepare(files, opts=opts, out=out, environ=environ, cwd=path.parent)
    if fmt is LockFormat.PYLOCK and (
        read_pylock(path).record.input_digest != lock_record(prep, opts=opts).input_digest
    ):
        raise InputError(
            f"{lock}: the lock is stale (its inputs, options or indexes changed since it was"
            " written): re-lock it first (`advisor check --fix`), then fix it"
        )
    knowledge, store, _ = _load_knowledge(
        AdviseOptions(knowledge=options.knowledge, osv=options.osv), environ
    )
    now = now or datetime.now(UTC)
    policy = prep.config.policy
    cooldown, _ = cooldown_for(
        opts, policy=policy, target=prep.targets[0], environ=environ, knowledge=knowledge, now=now
    )
    session = open_session(opts, prep.index, prep.pip, environ, events=events)
    try:
        remedy = plan_remedy(
            make_planner(prep.resolvable, opts=opts, session=session, cooldown=cooldown),
            prep.targets,
            pins=prep.previous,
            target_pins=pins_per_target(read_pylock(path).packages, prep.targets)
            if fmt is LockFormat.PYLOCK
            else None,
            knowledge=knowledge,
            policy=policy,
            now=now,
            options=RemedyOptions(
                allow_major=options.allow_major, recommendation=opts.recommendation
            ),
            events=events,
        )
        if remedy.resolution is None:
            return FixOutcome(remedy=remedy, lock=path)
        resolution = with_hashes(remedy.resolution, session.fetcher)
    except BaseException:
        session.cancel()
        raise
    finally:
        session.close()
        store.close()
    # the advice's scores described the stack before the fix: record the fix instead
    earlier = read_pylock(path).record.other if fmt is LockFormat.PYLOCK else {}
    changed = FixRecord.after(
        earlier,
        changed=(str(c.name) for c in remedy.changes),
        advisories=(a.id for a in remedy.fixed),
    )
    written = finish(prep, resolution, opts=opts, out=out, tool=changed)
    return FixOutcome(remedy=remedy, lock=path, text=written.text, path=written.path)


def _recorded(
    path: Path,
    fmt: str,
    inputs: Sequence[Path],
    *,
    cwd: Path,
    environ: Mapping[str, str],
) -> tuple[list[Path], ResolveOptions]:
    """The inputs and options the lock was made with: a pylock's record; for a requirements
    lock, ``inputs`` (or its ``.in`` sibling) and the index lines it names."""
    from advisor.api.context import ResolveOptions
    from advisor.api.locking import recorded_request
    from advisor.request import load_request

    if fmt == "pylock":
        return recorded_request(path)
    files = [i if i.is_absolute() else cwd / i for i in inputs] or [path.with_suffix(".in")]
    if not files[0].is_file():
        raise InputError(f"{path}: no input to re-resolve from (pass --inputs)")
    found = load_request([path], environ=environ, cwd=path.parent).index_options
    return files, ResolveOptions(
        index_url=found.index_url,
        extra_index_urls=found.extra_index_urls,
        find_links=found.find_links,
        no_index=found.no_index,
    )
