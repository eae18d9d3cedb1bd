"""Every target of one run: ``latest`` as pip resolves it, or the advice engine's best stack,
for each target, merged into the one resolution a lock records.

Top of the decide layer, under the composition root, which opens the index session and the
knowledge, builds the :class:`~advisor.advice.planner.Planner` and adds the files' hashes to
the merged resolution. :func:`kept_pins` decides which pins of the lock being replaced a
re-lock keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from advisor.events import SILENT
from advisor.resolution.resolve import TargetResult, merge, resolve

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.advice.engine import AdviceSettings
    from advisor.advice.planner import Planner
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.models import Resolution
    from advisor.scoring.advice import Advice

__all__ = [
    "AdvisedTargets",
    "advice_warnings",
    "advise_targets",
    "kept_pins",
    "resolve_targets",
    "time_limit_warning",
]


def kept_pins(
    previous: Mapping[NormalizedName, Version],
    *,
    upgrade: bool = False,
    upgrade_packages: Iterable[str] = (),
) -> dict[NormalizedName, Version]:
    """The pins of the lock being replaced that a re-lock prefers: all of them, except under
    ``upgrade`` (none) and those ``upgrade_packages`` names."""
    if upgrade:
        return {}
    moving = {canonicalize_name(n) for n in upgrade_packages}
    return {k: v for k, v in previous.items() if k not in moving}


def resolve_targets(
    planner: Planner,
    targets: Sequence[RuntimeEnvironment],
    *,
    preferences: Mapping[NormalizedName, Version],
    events: ProgressEvents = SILENT,
) -> tuple[Resolution, tuple[str, ...]]:
    """Pip's stack for every target, merged (without hashes), and the providers' warnings
    (once each). Later targets prefer the pins of earlier ones, so one lock converges.

    Raises :class:`~advisor.errors.NoViableStack` when a target has no stack."""
    results: list[TargetResult] = []
    warnings: list[str] = []
    prefs = dict(preferences)
    for target in targets:
        provider = planner.provider(target, preferences=prefs)
        provider.warm(planner.root_names)
        res = resolve(provider, planner.roots, target=planner.label(target, targets), events=events)
        results.append(TargetResult(marker=target.lock_marker(), resolution=res))
        warnings.extend(provider.warnings)
        for p in res.pins:
            prefs.setdefault(p.name, p.version)
    return merge(results), tuple(dict.fromkeys(warnings))


@dataclass(frozen=True, slots=True, kw_only=True)
class AdvisedTargets:
    """The advice engine's answer for every target: the best stacks ``merged`` (without
    hashes), one ``advices`` entry per target, and the warnings of every resolution, in
    order (not yet made unique)."""

    merged: Resolution
    advices: tuple[Advice, ...]
    warnings: tuple[str, ...]


def advise_targets(
    planner: Planner,
    targets: Sequence[RuntimeEnvironment],
    *,
    settings: AdviceSettings,
    baseline: Mapping[NormalizedName, Version] | None = None,
    events: ProgressEvents = SILENT,
) -> AdvisedTargets:
    """Run the advice engine for each target (:func:`~advisor.advice.engine.advise_target`)
    and merge the best stacks. Raises :class:`~advisor.errors.NoViableStack` when a target
    has no acceptable stack."""
    from advisor.advice.engine import advise_target

    found = [
        advise_target(
            planner,
            target,
            label=planner.label(target, targets),
            settings=settings,
            baseline=baseline,
            events=events,
        )
        for target in targets
    ]
    merged = merge(
        [
            TargetResult(marker=target.lock_marker(), resolution=done.resolution)
            for target, done in zip(targets, found, strict=True)
        ]
    )
    return AdvisedTargets(
        merged=merged,
        advices=tuple(done.advice for done in found),
        warnings=tuple(w for done in found for w in done.warnings),
    )


def time_limit_warning(stopped: Sequence[str], time_limit: float) -> str | None:
    """What to say when a time limit of ``time_limit`` seconds stopped (or refused) the sdist
    metadata builds of ``stopped``; ``None`` when it stopped none."""
    if not stopped:
        return None
    return (
        f"--time-limit {time_limit:g} s stopped or refused the metadata build of "
        f"{', '.join(stopped)}: those versions were left out, so pins may differ from a "
        "run with more time"
    )


def advice_warnings(
    found: Sequence[str], *, stopped: Sequence[str], time_limit: float
) -> tuple[str, ...]:
    """The warnings of an advice: the targets' (``found``), then what the time limit of
    ``time_limit`` seconds stopped (``stopped``: the sdists whose builds it cut), each once."""
    cut = time_limit_warning(stopped, time_limit)
    return tuple(dict.fromkeys([*found, *([cut] if cut else [])]))
