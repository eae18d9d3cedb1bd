"""Bootstrap confidence intervals for the benchmarks' figures (standard library only).

Sits under ``compare.py``, ``advise_bench.py`` and ``server_load.py``: they time runs, this
module says how sure a median, or a ratio of two medians, is. The interval is the percentile
bootstrap: the samples are resampled with replacement (each group on its own, as the runs
of two tools are independent), the statistic is computed on every resample, and the interval
is the middle ``level`` of those values. A fixed seed makes the figures reproducible, so the
same timings always print the same interval.

With a handful of runs (5 is common here) the interval is wide and coarse: the bootstrap
can only recombine what was measured. It says how much the figure would move on a rerun of
the same runs, not how the machine's load drifts between sessions.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "RESAMPLES",
    "Interval",
    "median_interval",
    "optional_ratio_interval",
    "ratio_interval",
]

#: resamples per interval: the percentiles of 2,000 values move by well under the printed
#: two decimals between seeds. Cost grows with the samples too: 2,000 medians of 3,000
#: latencies take seconds (server_load.py, which has thousands, takes fewer)
RESAMPLES = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class Interval:
    """A point ``estimate`` (from the samples themselves) and its ``level`` bootstrap
    interval ``low``-``high``."""

    estimate: float
    low: float
    high: float
    level: float = 0.95

    @property
    def width(self) -> float:
        return self.high - self.low

    def render(self, label: str = "ratio", *, digits: int = 2, unit: str = "") -> str:
        """``ratio 0.42 (95 % CI 0.38-0.47)``; a ``unit`` follows the estimate and the
        interval (``p50 4.2 ms (95 % CI 4.1-4.4 ms)``)."""
        low, high, estimate = (f"{v:.{digits}f}" for v in (self.low, self.high, self.estimate))
        return f"{label} {estimate}{unit} ({self.level * 100:g} % CI {low}-{high}{unit})"

    def to_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "level": self.level}


def median_interval(
    samples: Sequence[float],
    *,
    level: float = 0.95,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Interval:
    """The median of ``samples`` and its percentile bootstrap interval.

    Raises ``ValueError`` for no samples, a ``level`` outside (0, 1) or fewer than one
    resample. Cost: ``resamples`` medians of ``len(samples)`` values.
    """
    values = _checked(samples, "samples", level=level, resamples=resamples)
    rng = random.Random(seed)
    n = len(values)
    draws = [statistics.median(rng.choices(values, k=n)) for _ in range(resamples)]
    return _interval(statistics.median(values), draws, level)


def ratio_interval(
    numerator: Sequence[float],
    denominator: Sequence[float],
    *,
    level: float = 0.95,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Interval:
    """``median(numerator) / median(denominator)`` and its percentile bootstrap interval,
    each group resampled on its own.

    Raises ``ValueError`` for an empty group, a denominator that is not all positive (times
    are), a ``level`` outside (0, 1) or fewer than one resample. Cost: ``resamples`` times
    two medians.
    """
    top = _checked(numerator, "numerator", level=level, resamples=resamples)
    bottom = _checked(denominator, "denominator", level=level, resamples=resamples)
    if min(bottom) <= 0:
        raise ValueError("the denominator's samples must all be positive")
    rng = random.Random(seed)

    def draw(values: list[float]) -> float:
        return statistics.median(rng.choices(values, k=len(values)))

    draws = [draw(top) / draw(bottom) for _ in range(resamples)]
    return _interval(statistics.median(top) / statistics.median(bottom), draws, level)


def optional_ratio_interval(
    numerator: Sequence[float],
    denominator: Sequence[float],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Interval | None:
    """:func:`ratio_interval` at 95 %, or ``None`` when either group is empty or the
    denominator is not all positive (a tool that failed, a run that timed nothing)."""
    if not numerator or not denominator or min(denominator) <= 0:
        return None
    return ratio_interval(numerator, denominator, resamples=resamples, seed=seed)


def _checked(samples: Sequence[float], name: str, *, level: float, resamples: int) -> list[float]:
    values = [float(v) for v in samples]
    if not values:
        raise ValueError(f"{name}: no samples")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name}: samples must be finite numbers")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (got {level})")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1 (got {resamples})")
    return values


def _interval(estimate: float, draws: list[float], level: float) -> Interval:
    draws.sort()
    tail = (1 - level) / 2
    return Interval(
        estimate=estimate,
        low=_percentile(draws, tail),
        high=_percentile(draws, 1 - tail),
        level=level,
    )


def _percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted values, interpolated linearly between neighbours."""
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    fraction = position - below
    return ordered[below] + (ordered[above] - ordered[below]) * fraction
