"""Performance unit: measured probes of a package's versions on environments like the target.

Sits between the knowledge layer (:class:`~advisor.knowledge.schema.PerformanceObservation`
values, recorded by ``advisor observe`` or imported from ``knowledge/observations``) and the
``performance`` recommendation. :class:`PerformanceScorer` gives one term per probe and metric
measured for the candidate's version.

**Which measurements count.** An observation about the project (``package`` set, any
``stack_digest`` ignored) whose environment fingerprint has the target's implementation, the
target's Python minor version (``3.12.4`` counts as ``3.12``), operating system and
architecture. It is an *exact* match when the CPU is the same too (same x86-64 level, or the
same CPU model), else a *nearby* match.

**Direction.** Decided by the unit: ``s``, ``ms``, ``us``/``µs``, ``ns`` and memory sizes
(``B``, ``kB``, ``MB``, ``GB``, ``KiB``, ``MiB``, ``GiB``, ``bytes``) are lower-is-better;
rates (``ops/s``, anything ending in ``/s``) are higher-is-better. Other units are skipped.

**Value.** Per probe and metric, each measured version's value is the median of its
observations of the best match class it has (exact over nearby); the best value is the best
of those across versions. The candidate's shortfall is ``s = (v - best) / |best|`` for
lower-is-better (``(best - v) / |best|`` for higher-is-better), and the term is
``weight * clamp(1 - 2 s)``: +1 for the best, 0 when 50 % worse, -1 when 100 % worse or more;
``weight`` is 1.0 for an exact environment match and 0.5 for a nearby one. A version without
measurements gets no term (neutral). Each term's reason names the probe, the value, the best
and the environment with its date; its evidence is the observation key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.environment.platforms import parse_platform
from advisor.errors import InputError
from advisor.knowledge.rules import target_arch, target_os
from advisor.knowledge.schema import PerformanceObservation, observation_key
from advisor.scoring.base import ScoreTerm, clamp
from advisor.scoring.units._common import of_kind, parse_version, same_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from packaging.version import Version

    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.schema import EnvironmentFingerprint
    from advisor.scoring.base import CandidateInfo, ScoringContext

__all__ = [
    "EXACT_WEIGHT",
    "NEARBY_WEIGHT",
    "PerformanceScorer",
    "fingerprint_match",
    "lower_is_better",
]

UNIT = "performance"
EXACT_WEIGHT = 1.0
NEARBY_WEIGHT = 0.5
_LOWER = frozenset("s sec ms us µs μs ns b bytes kb mb gb kib mib gib".split())
_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "x86": "i686"}
_OS_FAMILIES = ("linux", "macos", "windows")


def lower_is_better(unit: str) -> bool | None:
    """``True`` for times and sizes, ``False`` for rates (``…/s``), ``None`` when unknown."""
    text = unit.strip().lower()
    if text in _LOWER:
        return True
    if text.endswith("/s") and len(text) > 2:
        return False
    return None


def _python_minor(text: str) -> tuple[int, int] | None:
    parts = text.strip().split(".")
    try:
        return (int(parts[0]), int("".join(c for c in parts[1] if c.isdigit())))
    except (IndexError, ValueError):
        return None


def fingerprint_match(fp: EnvironmentFingerprint, env: RuntimeEnvironment) -> float | None:
    """The weight of a measurement taken on ``fp`` for the target ``env``:
    :data:`EXACT_WEIGHT` (same implementation, Python minor, OS, architecture and CPU),
    :data:`NEARBY_WEIGHT` (all but the CPU), or ``None`` (not comparable)."""
    if fp.implementation != env.implementation:
        return None
    if _python_minor(fp.python) != _python_minor(env.python_version):
        return None
    try:
        plat = parse_platform(fp.platform)
    except InputError:
        return None
    family = plat.family if plat.family in _OS_FAMILIES else None
    if family is None or family != target_os(env):
        return None
    arch = (fp.arch or plat.arch or "").lower()
    arch = _ARCH_ALIASES.get(arch, arch)
    if not arch or arch != target_arch(env):
        return None
    cpu = env.cpu
    if cpu is not None and (
        (fp.cpu_level is not None and fp.cpu_level == cpu.level)
        or (fp.cpu_model is not None and fp.cpu_model == cpu.model)
    ):
        return EXACT_WEIGHT
    return NEARBY_WEIGHT


@dataclass(frozen=True, slots=True, kw_only=True)
class _Measure:
    """One version's representative measurement of one probe and metric."""

    value: float
    weight: float
    observation: PerformanceObservation
    count: int


def _median(observations: Sequence[PerformanceObservation]) -> PerformanceObservation:
    """The lower median observation (a real one, so it can be cited), ties by key."""
    ranked = sorted(observations, key=lambda o: (o.value, observation_key(o)))
    return ranked[(len(ranked) - 1) // 2]


def _measures(
    observations: Iterable[PerformanceObservation], env: RuntimeEnvironment
) -> dict[tuple[str, str, str], dict[Version, _Measure]]:
    """(probe, metric, unit) → version → representative measurement."""
    grouped: dict[tuple[str, str, str], dict[Version, list[tuple[float, PerformanceObservation]]]]
    grouped = {}
    for obs in observations:
        version = parse_version(obs.version)
        if version is None or math.isnan(obs.value) or lower_is_better(obs.unit) is None:
            continue
        weight = fingerprint_match(obs.environment, env)
        if weight is None:
            continue
        key = (obs.probe, obs.metric, obs.unit)
        grouped.setdefault(key, {}).setdefault(version, []).append((weight, obs))
    out: dict[tuple[str, str, str], dict[Version, _Measure]] = {}
    for key, by_version in grouped.items():
        for version, weighted in by_version.items():
            weight = max(w for w, _ in weighted)
            best_class = [o for w, o in weighted if w == weight]
            rep = _median(best_class)
            out.setdefault(key, {})[version] = _Measure(
                value=rep.value, weight=weight, observation=rep, count=len(best_class)
            )
    return out


def _shortfall(value: float, best: float, *, lower: bool) -> float:
    gap = value - best if lower else best - value
    if gap <= 0:
        return 0.0
    if best == 0:
        return math.inf
    return gap / abs(best)


def _where(obs: PerformanceObservation) -> str:
    fp = obs.environment
    cpu = fp.cpu_level or fp.cpu_model or "unknown CPU"
    return f"{fp.implementation}{fp.python} {fp.platform}, {cpu}"


class PerformanceScorer:
    """Measured probes relative to the best measured version, on matching environments."""

    name = UNIT

    def score(self, candidate: CandidateInfo, ctx: ScoringContext) -> Sequence[ScoreTerm]:
        observations = [
            obs
            for obs in of_kind(ctx, candidate.name, PerformanceObservation)
            if obs.package is not None and same_name(obs.package, candidate.name)
        ]
        if not observations:
            return ()
        terms: list[ScoreTerm] = []
        for (probe, metric, unit), by_version in sorted(_measures(observations, ctx.env).items()):
            mine = by_version.get(candidate.version)
            if mine is None:
                continue
            lower = lower_is_better(unit) is True
            values = [m.value for m in by_version.values()]
            best = min(values) if lower else max(values)
            best_version = max(v for v, m in by_version.items() if m.value == best)
            value = mine.weight * clamp(1.0 - 2.0 * _shortfall(mine.value, best, lower=lower))
            obs = mine.observation
            match = "exact" if mine.weight == EXACT_WEIGHT else "nearby"
            versus = (
                "the best measured"
                if best_version == candidate.version
                else f"best {best:g} {unit} ({best_version})"
            )
            terms.append(
                ScoreTerm(
                    unit=UNIT,
                    value=value,
                    reason=(
                        f"{probe} {metric}: {mine.value:g} {unit}, {versus}, "
                        f"of {len(by_version)} measured versions; {match} environment match "
                        f"({_where(obs)}; {obs.provenance.date[:10]}; "
                        f"{mine.count} observation{'s' if mine.count != 1 else ''})"
                    ),
                    evidence=observation_key(obs),
                )
            )
        return tuple(terms)
