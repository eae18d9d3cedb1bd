"""Performance across versions: each probe's versions compared with the best one, with intervals.

Sits in the scoring layer beside the performance unit, which it follows: the same
observations count (a package's measurements with samples, in a unit whose direction is
known), versions are compared only within one *setting* (implementation, Python minor,
platform, CPU vendor and model, BLAS and threads: samples from other machines are never
mixed), samples of a version in a setting are pooled, and the comparison is
:func:`~advisor.scoring.stats.estimate_ratio` at the unit's confidence. Read by the server's
dashboard, which plots each :class:`ProbeSeries`; pure, deterministic.

**Reference.** In each series the version with the best median (lowest for times and
sizes, highest for rates; ties: the newest) is the reference, and every other version's
point is the factor ``version / reference`` between typical values with its interval (the
reference's own point is 1 with no interval). A version whose samples cannot give an
interval (too few) keeps its median and has no factor.

**Cost.** One pass over the observations, then one :func:`estimate_ratio` per version:
``O(n m log(n m))`` in the sample counts.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from advisor.scoring.stats import estimate_ratio
from advisor.scoring.units._common import parse_version
from advisor.scoring.units.performance import CONFIDENCE, lower_is_better

if TYPE_CHECKING:
    from collections.abc import Iterable

    from packaging.version import Version

    from advisor.knowledge.schema import EnvironmentFingerprint, PerformanceObservation

__all__ = ["ProbeSeries", "SeriesPoint", "probe_series", "setting_label"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesPoint:
    """One version in a series: its ``median`` over ``n`` pooled samples and, unless it is
    the reference or has too few samples, ``ratio`` (``version / reference``) with its
    interval ``low``/``high`` at the series' confidence."""

    version: str
    median: float
    n: int
    ratio: float | None = None
    low: float | None = None
    high: float | None = None

    @property
    def differs(self) -> bool:
        """The interval excludes no difference from the reference."""
        return self.low is not None and self.high is not None and (self.low > 1 or self.high < 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeSeries:
    """One probe (``probe``, ``metric``, ``unit``) in one ``setting`` (a label, see
    :func:`setting_label`), its points by ascending version."""

    probe: str
    metric: str
    unit: str
    setting: str
    lower_is_better: bool
    reference: str
    confidence: float
    points: tuple[SeriesPoint, ...]


def setting_label(fp: EnvironmentFingerprint) -> str:
    """Where samples can be compared, in words: ``cp3.12 linux_x86_64 AMD EPYC 7B13 openblas
    4 threads`` (the parts that are known)."""
    parts = fp.python.split(".")
    python = ".".join(parts[:2])
    threads = None if fp.threads is None else f"{fp.threads} threads"
    words = (f"{fp.implementation}{python}", fp.platform, fp.cpu_vendor, fp.cpu_model, fp.blas)
    return " ".join(w for w in (*words, threads) if w)


def _best(medians: dict[Version, float], *, lower: bool) -> Version:
    sign = 1.0 if lower else -1.0
    newest_first = sorted(medians, reverse=True)
    return min(newest_first, key=lambda v: sign * medians[v])  # min is stable: newest on ties


def probe_series(observations: Iterable[PerformanceObservation]) -> tuple[ProbeSeries, ...]:
    """Every probe's series over ``observations`` (one package's, usually), ordered by probe,
    metric, unit and setting. Observations without samples, version or a known direction
    are left out; a series needs two versions."""
    pools: dict[tuple[str, str, str, str], dict[Version, list[float]]] = {}
    for obs in observations:
        version = parse_version(obs.version)
        if version is None or not obs.samples or lower_is_better(obs.unit) is None:
            continue
        key = (obs.probe, obs.metric, obs.unit, setting_label(obs.environment))
        pools.setdefault(key, {}).setdefault(version, []).extend(obs.samples)
    found: list[ProbeSeries] = []
    for (probe, metric, unit, setting), by_version in sorted(pools.items()):
        if len(by_version) < 2:
            continue
        lower = bool(lower_is_better(unit))
        medians = {v: statistics.median(s) for v, s in by_version.items()}
        reference = _best(medians, lower=lower)
        points = []
        for version in sorted(by_version):
            samples = by_version[version]
            point = SeriesPoint(version=str(version), median=medians[version], n=len(samples))
            if version == reference:
                point = replace(point, ratio=1.0)
            else:
                estimate = estimate_ratio(samples, by_version[reference], confidence=CONFIDENCE)
                if estimate is not None:
                    point = replace(
                        point, ratio=estimate.ratio, low=estimate.low, high=estimate.high
                    )
            points.append(point)
        found.append(
            ProbeSeries(
                probe=probe,
                metric=metric,
                unit=unit,
                setting=setting,
                lower_is_better=lower,
                reference=str(reference),
                confidence=CONFIDENCE,
                points=tuple(points),
            )
        )
    return tuple(found)
