"""Pip's stack: one ``latest`` resolution per target, merged into one lock's resolution.

Part of the composition root, under the lock job (``latest``) and beside the advice search,
which shares :func:`with_hashes`: opens the index session, builds the decide layer's planner
and resolves each target as pip would, later targets preferring the pins of earlier ones.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.api.context import IndexConfig, ResolveOptions
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.index.fetch import Fetcher
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
    from advisor.api.context import cooldown_for, make_planner, open_session
    from advisor.policy import Policy
    from advisor.resolution.resolve import TargetResult, merge, resolve

    cooldown, close = cooldown_for(
        opts, policy=policy or Policy(), target=targets[0], environ=environ
    )
    session = open_session(opts, index, pip, environ, events=events)
    try:
        planner = make_planner(request, opts=opts, session=session, cooldown=cooldown)
        results: list[TargetResult] = []
        warnings: list[str] = []
        prefs = dict(preferences)
        for target in targets:
            provider = planner.provider(target, preferences=prefs)
            provider.warm(planner.root_names)
            label = planner.label(target, targets)
            res = resolve(provider, planner.roots, target=label, events=session.events)
            results.append(TargetResult(marker=target.lock_marker(), resolution=res))
            warnings.extend(provider.warnings)
            # later targets prefer the pins of earlier ones, so one lock converges
            for p in res.pins:
                prefs.setdefault(p.name, p.version)
        return (
            with_hashes(merge(results), session.fetcher),
            tuple(dict.fromkeys(warnings)),
            session.finder.requests,
        )
    except BaseException:  # an interrupt or an error: stop running builds now
        session.cancel()
        raise
    finally:
        session.close()
        close()


def with_hashes(resolution: Resolution, fetcher: Fetcher) -> Resolution:
    """Every locked file with a sha256 (folders and direct URLs list none)."""
    from advisor.index.hashes import ensure_hash

    pins = []
    for pin in resolution.pins:
        files = tuple(ensure_hash(f, fetcher=fetcher) for f in pin.files)
        pins.append(pin if files == pin.files else dataclasses.replace(pin, files=files))
    return dataclasses.replace(resolution, pins=tuple(pins))
