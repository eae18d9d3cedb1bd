"""Pip's stack: one ``latest`` resolution per target, merged into one lock's resolution.

Part of the composition root, under the lock job (``latest``): opens the index session and
the decide layer's planner, has :func:`advisor.advice.targets.resolve_targets` resolve each
target as pip would, and adds the files' hashes (:func:`advisor.index.hashes.with_hashes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.events import SILENT
from advisor.index.hashes import with_hashes

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.api.context import IndexConfig, ResolveOptions
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.index.settings import PipSettings
    from advisor.models import Resolution
    from advisor.policy import Policy
    from advisor.request import AdviceRequest

__all__ = ["resolve_request", "with_hashes"]


def resolve_request(
    request: AdviceRequest,
    *,
    opts: ResolveOptions,
    index: IndexConfig,
    pip: PipSettings,
    targets: Sequence[RuntimeEnvironment],
    environ: Mapping[str, str],
    preferences: Mapping[NormalizedName, Version],
    policy: Policy | None = None,
    events: ProgressEvents = SILENT,
) -> tuple[Resolution, tuple[str, ...], int]:
    """Resolve for every target and merge, reporting progress to ``events``. Returns
    (resolution, warnings, requests made). ``policy`` holds the cooldown's exemptions."""
    from advisor.advice.targets import resolve_targets
    from advisor.api.context import cooldown_for, make_planner, open_session
    from advisor.policy import Policy

    cooldown, close = cooldown_for(
        opts, policy=policy or Policy(), target=targets[0], environ=environ
    )
    session = open_session(opts, index, pip, environ, events=events)
    try:
        planner = make_planner(request, opts=opts, session=session, cooldown=cooldown)
        merged, warnings = resolve_targets(
            planner, targets, preferences=preferences, events=session.events
        )
        return with_hashes(merged, session.fetcher), warnings, session.finder.requests
    except BaseException:  # an interrupt or an error: stop running builds now
        session.cancel()
        raise
    finally:
        session.close()
        close()
