"""Pip's stack: one ``latest`` resolution per target, merged into one lock's resolution.

Part of the composition root, under the lock job: the planner over one index session
(:func:`advisor.api.context.planning`), :func:`advisor.advice.targets.resolve_targets`, and
the files' hashes (:func:`advisor.index.hashes.with_hashes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.events import SILENT
from advisor.index.hashes import with_hashes

if TYPE_CHECKING:
    from advisor.events import ProgressEvents
    from advisor.models import Resolution
    from advisor.options.prepared import Prepared
    from advisor.options.resolve import ResolveOptions

__all__ = ["resolve_request", "with_hashes"]


def resolve_request(
    prep: Prepared, *, opts: ResolveOptions, events: ProgressEvents = SILENT
) -> tuple[Resolution, tuple[str, ...], int]:
    """Pip's stack for every target of ``prep``, keeping the pins
    :func:`~advisor.advice.targets.kept_pins` keeps: (resolution, warnings, requests made)."""
    from advisor.advice.targets import kept_pins, resolve_targets
    from advisor.api.context import planning

    keep = kept_pins(prep.previous, upgrade=opts.upgrade, upgrade_packages=opts.upgrade_packages)
    with planning(prep, opts, events=events) as (planner, session):
        merged, warnings = resolve_targets(
            planner, prep.targets, preferences=keep, events=session.events
        )
        return with_hashes(merged, session.fetcher), warnings, session.finder.requests
