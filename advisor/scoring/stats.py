"""Statistics for measured performance: is one version really faster than another?

Pure, standard library only, deterministic (no random numbers). Used by the performance unit
(:mod:`advisor.scoring.units.performance`) to turn two versions' samples of one probe into
an effect size with a confidence interval, and by nothing else.

**Method.** Times (and rates) are compared on the log scale, where a constant factor between
two versions is a shift. The Hodges-Lehmann estimate of that shift is the median of all
``n * m`` pairwise differences ``log x_i - log y_j``; its distribution-free confidence
interval is the pair of order statistics of those differences that the Mann-Whitney rank-sum
distribution gives (Hollander & Wolfe, *Nonparametric Statistical Methods*, ch. 4). Back on
the original scale the estimate is a ratio ``x / y`` of typical values with an interval
around it. The interval's coverage does not depend on the shape of the noise (outliers, a
long tail from a shared machine), only on the samples being independent draws of two
distributions that differ by a factor; ties (a timer's resolution) make it slightly
conservative.

**Paired.** When the two versions were measured in the same rounds of an interleaved run
(A B A B …: each round took one sample of each), a round's two samples share that moment's
drift, so their ratio cancels it. :func:`estimate_paired_ratio` then works on the per-round
log-ratios ``d_i = log x_i - log y_i``: the Hodges-Lehmann estimate is the median of the
Walsh averages ``(d_i + d_j) / 2`` (``i <= j``), and its interval is the pair of order
statistics of those averages that the Wilcoxon signed-rank distribution gives (Hollander &
Wolfe, ch. 3). It assumes the ``d_i`` are independent and symmetric around the true shift,
not that the rounds are alike: a machine that slows down during the run moves both samples
of a round and leaves their ratio. Unpaired samples (rounds not known) use the rank-sum
method above.

**Cost.** The differences are sorted: ``O(n m log(n m))``. The exact null distribution is
computed once per ``(n, m)`` (memoised), ``O(min(n, m) * n * m)``; past
:data:`EXACT_LIMIT` the normal approximation with continuity correction is used instead.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "EXACT_LIMIT",
    "RatioEstimate",
    "estimate_paired_ratio",
    "estimate_ratio",
    "interval_rank",
    "rank_sum_counts",
    "signed_rank_counts",
    "signed_rank_interval_rank",
]

#: Above this many steps (``min(n, m) * n * m``) the rank-sum distribution is approximated.
EXACT_LIMIT = 400_000


@dataclass(frozen=True, slots=True, kw_only=True)
class RatioEstimate:
    """How ``x`` compares with ``y``: ``ratio`` is the estimated factor ``x / y`` between
    typical values (``0.8``: x is 20 % lower), ``low``/``high`` its confidence interval at
    ``confidence``, ``n``/``m`` the sample counts of ``x`` and ``y``. ``paired``: estimated
    from ``n`` rounds that measured both (``n == m``), not from two independent samples."""

    ratio: float
    low: float
    high: float
    n: int
    m: int
    confidence: float
    paired: bool = False

    @property
    def excludes_no_difference(self) -> bool:
        """The interval lies wholly above or wholly below a ratio of 1."""
        return self.low > 1.0 or self.high < 1.0


@lru_cache(maxsize=256)
def rank_sum_counts(n: int, m: int) -> tuple[int, ...]:
    """How many of the ``C(n + m, n)`` equally likely orderings of two samples of sizes ``n``
    and ``m`` give each value ``u = 0 … n m`` of the Mann-Whitney statistic (pairs where the
    first sample's value is the smaller). These are the coefficients of the Gaussian
    binomial coefficient ``[n + m choose n]_q``, built factor by factor in exact integers."""
    if n < 0 or m < 0:
        raise ValueError("sample sizes must be >= 0")
    small, large = min(n, m), max(n, m)
    coeffs = [1] + [0] * (small * large + small)  # room for the product before each division
    degree = 0
    for i in range(1, small + 1):
        # multiply by (1 - q^(large + i)), then divide by (1 - q^i): exact at every step,
        # since the partial product is [large + i choose i]_q, a polynomial of degree i*large
        shift = large + i
        degree += shift
        for u in range(degree, shift - 1, -1):
            coeffs[u] -= coeffs[u - shift]
        for u in range(i, degree + 1):  # the terms above degree - i come out as 0
            coeffs[u] += coeffs[u - i]
        degree -= i
    return tuple(coeffs[: small * large + 1])


def interval_rank(
    n: int, m: int, *, confidence: float, exact_limit: int = EXACT_LIMIT
) -> int | None:
    """The rank ``k`` (1-based) such that the ``k``-th smallest and ``k``-th largest of the
    ``n m`` pairwise differences bound a two-sided interval of at least ``confidence``; the
    largest such ``k``. ``None`` when even the extreme differences cannot (too few samples:
    3 against 3 at 95 %). Past ``exact_limit`` steps the normal approximation is used."""
    if n < 1 or m < 1 or not 0.0 < confidence < 1.0:
        return None
    tail = (1.0 - confidence) / 2.0
    if min(n, m) * n * m <= exact_limit:
        counts = rank_sum_counts(n, m)
        total = math.comb(n + m, n)
        allowed = tail * total
        cumulative = 0
        k = 0
        for count in counts:  # P(U <= k) <= tail, for the largest k; the rank is k + 1
            if cumulative + count > allowed:
                break
            cumulative += count
            k += 1
        return k if k >= 1 else None
    mean = n * m / 2.0
    sd = math.sqrt(n * m * (n + m + 1) / 12.0)
    z = statistics.NormalDist().inv_cdf(1.0 - tail)
    k = math.floor(mean - 0.5 - z * sd) + 1
    return k if k >= 1 else None


def estimate_ratio(
    x: Sequence[float], y: Sequence[float], *, confidence: float = 0.95
) -> RatioEstimate | None:
    """The Hodges-Lehmann estimate of the factor ``x / y`` with its distribution-free
    interval at ``confidence``. ``None`` when the samples cannot give one: a sample that is
    not a positive finite number, or too few samples for the level (see
    :func:`interval_rank`)."""
    if not all(_positive(v) for v in x) or not all(_positive(v) for v in y):
        return None
    n, m = len(x), len(y)
    k = interval_rank(n, m, confidence=confidence)
    if k is None:
        return None
    log_y = [math.log(v) for v in y]
    diffs = sorted(math.log(a) - b for a in x for b in log_y)
    return RatioEstimate(
        ratio=math.exp(statistics.median(diffs)),
        low=math.exp(diffs[k - 1]),
        high=math.exp(diffs[len(diffs) - k]),
        n=n,
        m=m,
        confidence=confidence,
    )


def _positive(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


# -- paired: the Wilcoxon signed-rank interval ------------------------------------------------


@lru_cache(maxsize=256)
def signed_rank_counts(n: int) -> tuple[int, ...]:
    """How many of the ``2 ** n`` equally likely sign patterns of ``n`` ranked differences
    give each value ``t = 0 … n (n + 1) / 2`` of the signed-rank statistic (the sum of the
    positive ones' ranks): the coefficients of ``(1 + q)(1 + q^2) … (1 + q^n)``."""
    if n < 0:
        raise ValueError("the number of pairs must be >= 0")
    coeffs = [1] + [0] * (n * (n + 1) // 2)
    top = 0
    for i in range(1, n + 1):
        top += i
        for t in range(top, i - 1, -1):  # multiply by (1 + q^i), in place
            coeffs[t] += coeffs[t - i]
    return tuple(coeffs)


def signed_rank_interval_rank(
    n: int, *, confidence: float, exact_limit: int = EXACT_LIMIT
) -> int | None:
    """The rank ``k`` (1-based) such that the ``k``-th smallest and ``k``-th largest of the
    ``n (n + 1) / 2`` Walsh averages bound a two-sided interval of at least ``confidence``;
    the largest such ``k``. ``None`` when even the extremes cannot (5 pairs at 95 %). Past
    ``exact_limit`` steps (``n * n (n + 1) / 2``) the normal approximation is used."""
    if n < 1 or not 0.0 < confidence < 1.0:
        return None
    tail = (1.0 - confidence) / 2.0
    if n * n * (n + 1) // 2 <= exact_limit:
        allowed = tail * 2**n
        cumulative = 0
        k = 0
        for count in signed_rank_counts(n):  # P(T <= k) <= tail, for the largest k
            if cumulative + count > allowed:
                break
            cumulative += count
            k += 1
        return k if k >= 1 else None
    mean = n * (n + 1) / 4.0
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24.0)
    z = statistics.NormalDist().inv_cdf(1.0 - tail)
    k = math.floor(mean - 0.5 - z * sd) + 1
    return k if k >= 1 else None


def estimate_paired_ratio(
    pairs: Sequence[tuple[float, float]], *, confidence: float = 0.95
) -> RatioEstimate | None:
    """The Hodges-Lehmann estimate of the factor ``x / y`` from ``(x, y)`` samples taken in
    the same round, with its distribution-free (Wilcoxon signed-rank) interval at
    ``confidence``. ``None`` when the pairs cannot give one: a sample that is not a positive
    finite number, or too few pairs for the level (see
    :func:`signed_rank_interval_rank`). Cost: ``O(n^2 log n)`` for ``n`` pairs."""
    if not all(_positive(a) and _positive(b) for a, b in pairs):
        return None
    n = len(pairs)
    k = signed_rank_interval_rank(n, confidence=confidence)
    if k is None:
        return None
    logs = [math.log(a) - math.log(b) for a, b in pairs]
    walsh = sorted((logs[i] + logs[j]) / 2.0 for i in range(n) for j in range(i, n))
    return RatioEstimate(
        ratio=math.exp(statistics.median(walsh)),
        low=math.exp(walsh[k - 1]),
        high=math.exp(walsh[len(walsh) - k]),
        n=n,
        m=n,
        confidence=confidence,
        paired=True,
    )
