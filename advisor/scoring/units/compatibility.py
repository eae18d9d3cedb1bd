"""Compatibility unit: a stack holding a pair of releases observed failing together is rejected.

Sits between the compatibility observations ``advisor observe sweep … --with …`` records
(:class:`~advisor.knowledge.schema.CompatibilityObservation`, read per pinned package from
``ctx.knowledge``) and the recommendation bundles (``stable``, ``performance`` and
``security`` run :class:`CompatibilityCheck`; ``latest`` and ``testing`` only report through
:class:`CompatibilityAnnotator`). The observations that apply become the knowledge graph's
compatibility edges (:func:`advisor.knowledge.graph.compatibility_graph`), and the edges
among the stack's pins are its observed pairs.

**Which observations apply.** One recorded on an environment the target is: its Python
(the recorded ``==X.Y.*``), OS, architecture and C library must hold for the target
(:func:`advisor.knowledge.rules.environment_matches`). The recorded platform tag's glibc
level is not compared: a pair's wheels are the same files on every glibc Linux of that
architecture, so a failure seen on ``manylinux_2_35_x86_64`` holds on
``manylinux_2_28_x86_64`` too, but not on macOS, on aarch64 or under another Python minor.

**What rejects.** A pair with at least one applicable ``failed`` observation and no
applicable ``ok`` one. A passing observation never rejects; a pair observed both ways gets
a warning instead (one of them ran in a different environment than its predicate says, or
the failure is intermittent), and the stack stands.

**The rejection** cites the observation (its class, date, recorder, the interpreter that
ran, its key) and the dependency path that brought each side in (the resolution's edges,
when the caller passes them). ``package`` is the side whose import failed (``other``: the
extension built against another ABI, which a newer build usually fixes), or the swept side
when a root requirement pins ``other`` exactly (``pandas==2.0.3``); ``nogood`` holds
both pins (``("numpy", "==2.0.2"), ("pandas", "==2.1.4")``), so the search can ban either
and learn that the two never go together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from packaging.utils import canonicalize_name

from advisor.errors import InputError
from advisor.knowledge.graph import (
    build_graph,
    compatibility_graph,
    observed_pairs,
    release_node,
    why,
)
from advisor.knowledge.rules import environment_matches
from advisor.knowledge.schema import CompatibilityObservation, observation_key
from advisor.scoring.base import Justification, StackVerdict
from advisor.scoring.units._common import of_kind

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.models import Edge
    from advisor.scoring.base import ScoringContext

__all__ = ["CompatibilityAnnotator", "CompatibilityCheck", "applies", "failing_pairs"]

UNIT = "compatibility"

PairKey = tuple[str, str]


def applies(obs: CompatibilityObservation, ctx: ScoringContext) -> bool:
    """Whether ``obs`` holds for the target (see the module docstring); an observation
    whose predicate cannot be evaluated does not."""
    where = msgspec.structs.replace(obs.environment, platform=None)
    try:
        return environment_matches(where, ctx.env, recommendation=None)
    except InputError:
        return False


def _pair_key(obs: CompatibilityObservation) -> PairKey:
    a = release_node(obs.package, obs.version)
    b = release_node(obs.other, obs.other_version)
    return (a, b) if a <= b else (b, a)


def failing_pairs(
    pins: Mapping[NormalizedName, Version], ctx: ScoringContext
) -> tuple[list[list[CompatibilityObservation]], list[list[CompatibilityObservation]]]:
    """The stack's observed pairs that fail (each: its applicable failed observations,
    newest first) and those observed both ways (each: all its applicable observations)."""
    found: dict[str, CompatibilityObservation] = {}
    for name in sorted(pins):
        for obs in of_kind(ctx, name, CompatibilityObservation):
            if applies(obs, ctx):
                found[observation_key(obs)] = obs
    if not found:
        return [], []
    graph = compatibility_graph(found.values())
    by_pair: dict[PairKey, list[CompatibilityObservation]] = {}
    for obs in observed_pairs(graph, {n: str(v) for n, v in pins.items()}):
        by_pair.setdefault(_pair_key(obs), []).append(obs)
    failing, mixed = [], []
    for key in sorted(by_pair):
        seen = by_pair[key]
        failed = [o for o in seen if o.outcome == "failed"]
        if failed and len(failed) == len(seen):
            failing.append(sorted(failed, key=lambda o: (o.provenance.date, observation_key(o)),
                                  reverse=True))  # fmt: skip
        elif failed:
            mixed.append(seen)
    return failing, mixed


def _path_text(name: str, edges: Sequence[Edge]) -> str:
    """What brought ``name`` in: ``"requested directly"`` or ``"via app → pandas"``."""
    if not edges:
        return ""
    paths = why(build_graph((), edges), name, limit=1)
    if not paths:
        return ""
    path = paths[0]
    return "requested directly" if len(path) == 1 else "via " + " → ".join(path)


def _pinned_exactly(name: str, edges: Sequence[Edge]) -> bool:
    """Whether a root requirement pins ``name`` to one version (``name==X``)."""
    from packaging.requirements import InvalidRequirement, Requirement

    for edge in edges:
        if edge.parent is None and edge.child == name:
            try:
                spec = Requirement(edge.requirement).specifier
            except InvalidRequirement:
                continue
            if any(s.operator in ("==", "===") and "*" not in s.version for s in spec):
                return True
    return False


def _cited(obs: CompatibilityObservation) -> str:
    who = obs.provenance.recorder or "an unattributed recorder"
    ran = f", {obs.interpreter}" if obs.interpreter else ""
    where = f" on {obs.environment.platform}" if obs.environment.platform else ""
    return (
        f"{obs.failure_class or 'failed'}, observed {obs.provenance.date} by recorder {who}"
        f"{ran}{where} [{observation_key(obs)}]"
    )


def _rejection(
    failed: Sequence[CompatibilityObservation],
    pins: Mapping[NormalizedName, Version],
    edges: Sequence[Edge],
) -> StackVerdict:
    newest = failed[0]
    a, b = canonicalize_name(newest.package), canonicalize_name(newest.other)
    pair = f"{a}=={pins[a]} with {b}=={pins[b]}"
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    paths = [f"{n} {t}" for n in (a, b) if (t := _path_text(n, edges))]
    reason = f"{pair} failed together: {_cited(newest)}{more}"
    if paths:
        reason += "; " + "; ".join(paths)
    # blame the side a newer build fixes, unless the user pinned it exactly
    blamed = a if _pinned_exactly(b, edges) and not _pinned_exactly(a, edges) else b
    return StackVerdict(
        reject=reason,
        package=blamed,
        nogood=((a, f"=={pins[a]}"), (b, f"=={pins[b]}")),
        justifications=(Justification(level="error", message=reason, unit=UNIT, package=b),),
    )


def _mixed(seen: Sequence[CompatibilityObservation]) -> Justification:
    first = seen[0]
    failed = sum(1 for o in seen if o.outcome == "failed")
    return Justification(
        level="warning",
        message=(
            f"{first.package}=={first.version} with {first.other}=={first.other_version}: "
            f"observed failing {failed} time(s) and working {len(seen) - failed} time(s) "
            "on environments like this one; not rejected"
        ),
        unit=UNIT,
        package=canonicalize_name(first.other),
    )


class CompatibilityCheck:
    """Rejects a stack that holds a pair of releases observed failing together (see the
    module docstring). Cost: one knowledge read per pin (memoised by the view) and a graph
    of the applicable observations; the dependency paths only when a pair fails."""

    name = UNIT

    def check(
        self,
        pins: Mapping[NormalizedName, Version],
        ctx: ScoringContext,
        *,
        edges: Sequence[Edge] = (),
    ) -> Sequence[StackVerdict]:
        failing, mixed = failing_pairs(pins, ctx)
        verdicts = [_rejection(failed, pins, edges) for failed in failing]
        verdicts += [StackVerdict(justifications=(_mixed(seen),)) for seen in mixed]
        return tuple(verdicts)


class CompatibilityAnnotator:
    """For the types that never reject (``latest``, ``testing``): says which observed
    failing pairs the stack holds, as errors, without changing it."""

    name = UNIT

    def annotate(
        self, pins: Mapping[NormalizedName, Version], ctx: ScoringContext
    ) -> Sequence[Justification]:
        failing, mixed = failing_pairs(pins, ctx)
        out = [j for failed in failing for j in _rejection(failed, pins, ()).justifications]
        return tuple(out + [_mixed(seen) for seen in mixed])
