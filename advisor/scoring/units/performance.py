"""Performance unit: versions compared by their measured samples, on environments like the
target, with an effect size and a confidence interval.

Sits between the knowledge layer (:class:`~advisor.knowledge.schema.PerformanceObservation`
values, recorded by ``advisor observe`` or imported from ``knowledge/observations``) and the
``performance`` recommendation. :class:`PerformanceScorer` gives at most one term per probe;
:class:`PerformanceAnnotator` says, once per stack, which workload was optimised and which
observations could not be used. The statistics are :mod:`advisor.scoring.stats`.

**Which measurements count.** An observation about the project (``package`` set) with
samples, whose environment has the target's implementation, Python minor version (``3.12.4``
counts as ``3.12``), operating system and architecture. Observations without samples
(recorded before samples were kept) never make a term. Two versions are compared only on
samples taken in one *setting*: the same CPU vendor and model, Python minor, BLAS library
and thread count (and probe, metric and unit). A setting on the target's CPU (same vendor and
model) counts at full weight (:data:`SAME_CPU_WEIGHT`); one on another CPU at
:data:`OTHER_CPU_WEIGHT`, and the term says so. For each probe the candidate's setting is the
heaviest one where it and another version were measured. Within it, the samples of one
interleaved run (the observations' ``session`` condition: one sweep's bench) that measured
both versions are preferred, since those versions shared the machine's drift; otherwise
each version's samples from all runs in the setting are pooled, and the term says so. Then
the most samples.

**Which comparison.** The candidate against the other version with the best median in that
setting (ties: the newest), among those with enough samples for an interval. The factor
between them is the Hodges-Lehmann estimate on log values with its 95 % distribution-free
interval. When the observations record their rounds (``rounds``: a sweep measures versions
interleaved, one sample of each per round) and the two versions share rounds of one run,
the samples are compared in pairs, round by round (the signed-rank interval of the
per-round log-ratios, :func:`~advisor.scoring.stats.estimate_paired_ratio`): the drift of
a shared machine during the run falls on both samples of a round and cancels. Otherwise
(rounds not known, or too few shared) the two samples are compared unpaired (the rank-sum
interval, :func:`~advisor.scoring.stats.estimate_ratio`), and the term says which.
``effect`` is the relative difference in the better direction: for times and sizes (lower
is better) ``1 - ratio`` (``0.12``: 12 % faster), for rates ``ratio - 1``.

**When there is a term.** Only when the interval excludes no difference *and* ``|effect|``
is at least the practical threshold (default 5 %): then the value is
``weight * clamp(2 * effect)`` (+1 at 50 % faster, -1 at 50 % slower or worse), and the term
carries ``effect``, ``ci`` and ``n`` (samples of the two versions). Identical versions
therefore never move a pin, and one noisy number cannot: a single sample gives no interval.

**Direction.** Decided by the unit: ``s``, ``ms``, ``us``/``µs``, ``ns`` and memory sizes
(``B``, ``kB``, ``MB``, ``GB``, ``KiB``, ``MiB``, ``GiB``, ``bytes``) are lower-is-better;
rates (``ops/s``, anything ending in ``/s``) are higher-is-better. Other units are skipped.

**Workload.** A :class:`Workload` (``advisor advise --workload NAME``) keeps only the probes
it names; every term's reason starts with it, and the annotator names it once per stack.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.environment.platforms import parse_platform
from advisor.errors import InputError
from advisor.knowledge.rules import target_arch, target_os
from advisor.knowledge.schema import PerformanceObservation, observation_key
from advisor.scoring.base import Justification, ScoreTerm, clamp
from advisor.scoring.stats import estimate_paired_ratio, estimate_ratio
from advisor.scoring.units._common import of_kind, parse_version, same_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.schema import EnvironmentFingerprint
    from advisor.scoring.base import CandidateInfo, ScoringContext
    from advisor.scoring.stats import RatioEstimate

__all__ = [
    "CONFIDENCE",
    "DEFAULT_THRESHOLD",
    "OTHER_CPU_WEIGHT",
    "SAME_CPU_WEIGHT",
    "PerformanceAnnotator",
    "PerformanceScorer",
    "Workload",
    "fingerprint_match",
    "lower_is_better",
]

UNIT = "performance"
SAME_CPU_WEIGHT = 1.0
OTHER_CPU_WEIGHT = 0.5
DEFAULT_THRESHOLD = 0.05
CONFIDENCE = 0.95
_SIZES = frozenset("b bytes kb mb gb kib mib gib".split())
_TIMES = frozenset("s sec ms us µs μs ns".split())
_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "x86": "i686"}
_OS_FAMILIES = ("linux", "macos", "windows")


def lower_is_better(unit: str) -> bool | None:
    """``True`` for times and sizes, ``False`` for rates (``…/s``), ``None`` when unknown."""
    text = unit.strip().lower()
    if text in _TIMES or text in _SIZES:
        return True
    if text.endswith("/s") and len(text) > 2:
        return False
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    """What the user's code mostly does: a name (``sort``) and the probes that measure it
    (``numpy.sort-1m``, ``numpy.argsort-1m``; ``import:*`` probes by prefix ``import:``)."""

    name: str
    probes: frozenset[str]

    def covers(self, probe: str) -> bool:
        return probe in self.probes or any(
            p.endswith("*") and probe.startswith(p[:-1]) for p in self.probes
        )


def _python_minor(text: str) -> tuple[int, int] | None:
    parts = text.strip().split(".")
    try:
        return (int(parts[0]), int("".join(c for c in parts[1] if c.isdigit())))
    except (IndexError, ValueError):
        return None


def _same_cpu(fp: EnvironmentFingerprint, env: RuntimeEnvironment) -> bool:
    """Same CPU model, and the same vendor when both sides know it (x86-64 levels and
    feature sets say nothing about speed: two vendors' CPUs share them)."""
    cpu = env.cpu
    if cpu is None or not cpu.model or fp.cpu_model != cpu.model:
        return False
    return fp.cpu_vendor is None or cpu.vendor is None or fp.cpu_vendor == cpu.vendor


def fingerprint_match(fp: EnvironmentFingerprint, env: RuntimeEnvironment) -> float | None:
    """The weight of a measurement taken on ``fp`` for the target ``env``:
    :data:`SAME_CPU_WEIGHT` (same implementation, Python minor, OS, architecture, CPU vendor
    and model), :data:`OTHER_CPU_WEIGHT` (all but the CPU), or ``None`` (not comparable)."""
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
    return SAME_CPU_WEIGHT if _same_cpu(fp, env) else OTHER_CPU_WEIGHT


# -- pooling samples into settings ---------------------------------------------------------

#: (implementation, Python minor, platform, CPU vendor, CPU model, BLAS, threads)
_Setting = tuple[str, str, str, str, str, str, str]
#: a setting and one interleaved run in it (its ``session``), or "" for all runs pooled
_Group = tuple[_Setting, str]
_ProbeKey = tuple[str, str, str]  # probe, metric, unit


def _setting(fp: EnvironmentFingerprint) -> _Setting:
    minor = _python_minor(fp.python)
    python = f"{minor[0]}.{minor[1]}" if minor else fp.python
    threads = "" if fp.threads is None else str(fp.threads)
    return (
        fp.implementation,
        python,
        fp.platform,
        fp.cpu_vendor or "",
        fp.cpu_model or "",
        fp.blas or "",
        threads,
    )


#: a sample's round: (the interleaved run's session, the timed round in it)
_Round = tuple[str, int]


@dataclass(slots=True)
class _Pool:
    """The pooled samples of one version in one setting, the round of each (``None``: not
    known), and the observations behind them."""

    samples: list[float]
    rounds: list[_Round | None]
    keys: list[str]
    fingerprint: EnvironmentFingerprint
    date: str

    def paired_with(self, other: _Pool) -> list[tuple[float, float]]:
        """``(mine, other's)`` samples taken in the same round, in round order (a round
        seen twice on one side, which a sound run never gives, is not paired)."""
        mine = _by_round(self)
        theirs = _by_round(other)
        return [(mine[r], theirs[r]) for r in sorted(mine.keys() & theirs.keys())]


def _by_round(pool: _Pool) -> dict[_Round, float]:
    found: dict[_Round, float] = {}
    repeated: set[_Round] = set()
    for sample, round_ in zip(pool.samples, pool.rounds, strict=True):
        if round_ is None:
            continue
        if round_ in found:
            repeated.add(round_)
        found[round_] = sample
    return {r: v for r, v in found.items() if r not in repeated}


def _rounds_of(obs: PerformanceObservation) -> list[_Round | None]:
    """The round of each sample: known when the observation names its run and gives one
    round per sample."""
    session = obs.conditions.get("session", "")
    if session and len(obs.rounds) == len(obs.samples):
        return [(session, r) for r in obs.rounds]
    return [None] * len(obs.samples)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Measured:
    pools: dict[_ProbeKey, dict[_Group, dict[Version, _Pool]]]
    weights: dict[_Setting, float]


def _collect(observations: Iterable[PerformanceObservation], env: RuntimeEnvironment) -> _Measured:
    """Samples by probe, group and version: each observation's samples go to its setting's
    pooled group and, when it names its interleaved run, to that run's group too."""
    pools: dict[_ProbeKey, dict[_Group, dict[Version, _Pool]]] = {}
    weights: dict[_Setting, float] = {}
    for obs in sorted(observations, key=observation_key):
        version = parse_version(obs.version)
        if version is None or not obs.samples or lower_is_better(obs.unit) is None:
            continue
        weight = fingerprint_match(obs.environment, env)
        if weight is None:
            continue
        setting = _setting(obs.environment)
        weights[setting] = weight
        session = obs.conditions.get("session", "")
        groups = pools.setdefault((obs.probe, obs.metric, obs.unit), {})
        for group in {(setting, ""), (setting, session)}:
            pool = groups.setdefault(group, {}).get(version)
            if pool is None:
                pool = groups[group][version] = _Pool(
                    samples=[],
                    rounds=[],
                    keys=[],
                    fingerprint=obs.environment,
                    date=obs.provenance.date,
                )
            pool.samples.extend(obs.samples)
            pool.rounds.extend(_rounds_of(obs))
            pool.keys.append(observation_key(obs))
            pool.date = max(pool.date, obs.provenance.date)
    return _Measured(pools=pools, weights=weights)


# -- the comparison ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Comparison:
    against: Version
    estimate: RatioEstimate
    effect: float
    ci: tuple[float, float]


def _effect(estimate: RatioEstimate, *, lower: bool) -> tuple[float, tuple[float, float]]:
    """The relative difference in the better direction, and its interval."""
    if lower:
        return 1.0 - estimate.ratio, (1.0 - estimate.high, 1.0 - estimate.low)
    return estimate.ratio - 1.0, (estimate.low - 1.0, estimate.high - 1.0)


def _compare(
    version: Version, by_version: Mapping[Version, _Pool], *, lower: bool
) -> _Comparison | None:
    """The candidate against the best other version (by median) it can be tested against."""
    mine = by_version[version].samples
    newest_first = sorted((v for v in by_version if v != version), reverse=True)
    sign = 1.0 if lower else -1.0
    ranked = sorted(newest_first, key=lambda v: sign * statistics.median(by_version[v].samples))
    for other in ranked:
        pairs = by_version[version].paired_with(by_version[other])
        estimate = estimate_paired_ratio(pairs, confidence=CONFIDENCE) if pairs else None
        if estimate is None:
            estimate = estimate_ratio(mine, by_version[other].samples, confidence=CONFIDENCE)
        if estimate is not None:
            effect, ci = _effect(estimate, lower=lower)
            return _Comparison(against=other, estimate=estimate, effect=effect, ci=ci)
    return None


def _words(unit: str) -> tuple[str, str]:
    text = unit.strip().lower()
    if text in _TIMES:
        return "faster", "slower"
    if text in _SIZES:
        return "smaller", "larger"
    return "higher", "lower"


def _percent(value: float) -> str:
    return f"{abs(value) * 100:.0f}%"


def _setting_text(pool: _Pool, weight: float) -> str:
    fp = pool.fingerprint
    cpu = fp.cpu_model or "an unknown CPU"
    parts = [
        "this CPU model" if weight == SAME_CPU_WEIGHT else f"measured on {cpu}, half weight",
    ]
    if fp.threads is not None:
        parts.append(f"{fp.threads} thread{'s' if fp.threads != 1 else ''}")
    if fp.blas:
        parts.append(fp.blas)
    parts.append(f"{fp.implementation}{fp.python} {fp.platform}")
    parts.append(pool.date[:10])
    return ", ".join(parts)


def _reason(
    candidate: CandidateInfo,
    probe: _ProbeKey,
    cmp: _Comparison,
    pool: _Pool,
    weight: float,
    *,
    pooled: bool,
) -> str:
    better, worse = _words(probe[2])
    word = better if cmp.effect > 0 else worse
    low, high = sorted(abs(x) for x in cmp.ci)
    est = cmp.estimate
    metric = "" if probe[1] in ("median_time", "import_time") else f" ({probe[1]})"
    runs = f"{est.n} rounds paired" if est.paired else f"{est.n} vs {est.m} runs"
    return (
        f"{candidate.name} {candidate.version} is {_percent(cmp.effect)} {word} on "
        f"{probe[0]}{metric} than {cmp.against} "
        f"({CONFIDENCE * 100:.0f}% CI {low * 100:.0f}-{high * 100:.0f}%, "
        f"{runs}{', pooled from separate sweeps' if pooled else ''}, "
        f"{_setting_text(pool, weight)})"
    )


class PerformanceScorer:
    """Measured probes: a term per probe where the candidate differs, significantly and by at
    least ``threshold``, from the best other version measured in the same setting."""

    name = UNIT

    def __init__(
        self, *, threshold: float = DEFAULT_THRESHOLD, workload: Workload | None = None
    ) -> None:
        if not 0.0 <= threshold < 1.0:
            raise ValueError(f"threshold {threshold} is not in [0, 1)")
        self.threshold = threshold
        self.workload = workload

    def score(self, candidate: CandidateInfo, ctx: ScoringContext) -> Sequence[ScoreTerm]:
        observations = [
            obs
            for obs in of_kind(ctx, candidate.name, PerformanceObservation)
            if obs.package is not None and same_name(obs.package, candidate.name)
        ]
        if not observations:
            return ()
        measured = _collect(observations, ctx.env)
        terms: list[ScoreTerm] = []
        for probe, settings in sorted(measured.pools.items()):
            if self.workload is not None and not self.workload.covers(probe[0]):
                continue
            term = self._term(candidate, probe, settings, measured.weights)
            if term is not None:
                terms.append(term)
        return tuple(terms)

    def _term(
        self,
        candidate: CandidateInfo,
        probe: _ProbeKey,
        groups: Mapping[_Group, Mapping[Version, _Pool]],
        weights: Mapping[_Setting, float],
    ) -> ScoreTerm | None:
        usable = [g for g, by in groups.items() if candidate.version in by and len(by) > 1]
        if not usable:
            return None
        # the heaviest setting; in it, one interleaved run over all runs pooled (its versions
        # shared the machine's drift), then the most samples
        group = min(
            usable,
            key=lambda g: (
                -weights[g[0]],
                g[1] == "",
                -len(groups[g][candidate.version].samples),
                -sum(len(p.samples) for p in groups[g].values()),
                g,
            ),
        )
        lower = lower_is_better(probe[2]) is True
        by_version = groups[group]
        cmp = _compare(candidate.version, by_version, lower=lower)
        if cmp is None or not cmp.estimate.excludes_no_difference:
            return None
        if abs(cmp.effect) < self.threshold:
            return None
        weight = weights[group[0]]
        pool = by_version[candidate.version]
        pooled = group[1] == "" and (len(pool.keys) > 1 or len(by_version[cmp.against].keys) > 1)
        return ScoreTerm(
            unit=UNIT,
            value=weight * clamp(2.0 * cmp.effect),
            reason=("" if self.workload is None else f"workload {self.workload.name!r}: ")
            + _reason(candidate, probe, cmp, pool, weight, pooled=pooled),
            evidence=pool.keys[0],
            effect=cmp.effect,
            ci=cmp.ci,
            n=(cmp.estimate.n, cmp.estimate.m),
        )


class PerformanceAnnotator:
    """Says once per stack which workload the performance unit optimised, and how many of
    the pinned packages' performance observations carry no samples (so made no term)."""

    name = UNIT

    def __init__(self, *, workload: Workload | None = None) -> None:
        self.workload = workload

    def annotate(
        self, pins: Mapping[NormalizedName, Version], ctx: ScoringContext
    ) -> Sequence[Justification]:
        notes: list[Justification] = []
        if self.workload is not None:
            probes = ", ".join(sorted(self.workload.probes)) or "none"
            notes.append(
                Justification(
                    level="info",
                    message=(
                        f"performance optimised for the workload {self.workload.name!r} "
                        f"(probes: {probes}); other probes were not weighed"
                    ),
                    unit=UNIT,
                )
            )
        unsampled: dict[str, int] = {}
        for name in sorted(pins):
            for obs in of_kind(ctx, name, PerformanceObservation):
                if (
                    obs.package is not None
                    and not obs.samples
                    and obs.metric
                    not in (
                        "failed",
                        "timeout",
                    )
                ):
                    unsampled[name] = unsampled.get(name, 0) + 1
        if unsampled:
            total = sum(unsampled.values())
            names = ", ".join(unsampled)
            notes.append(
                Justification(
                    level="info",
                    message=(
                        f"{total} performance observation{'s' if total != 1 else ''} of "
                        f"{names} carry no samples (recorded before samples were kept): "
                        "a difference cannot be tested with them, so they make no term"
                    ),
                    unit=UNIT,
                )
            )
        return tuple(notes)
