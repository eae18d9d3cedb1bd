"""The statistics behind performance terms: the rank-sum distribution against brute force,
the interval ranks of the published tables, Hodges-Lehmann estimates of known factors, and
the error rates on noise like a shared machine's (many seeds, deterministic)."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.scoring import stats
from advisor.scoring.stats import estimate_ratio, interval_rank, rank_sum_counts


def _brute_counts(n: int, m: int) -> list[int]:
    """The Mann-Whitney distribution by listing every ordering of the two samples."""
    counts = [0] * (n * m + 1)
    for first in itertools.combinations(range(n + m), n):
        second = [p for p in range(n + m) if p not in first]
        counts[sum(1 for a in first for b in second if a < b)] += 1
    return counts


@pytest.mark.parametrize(("n", "m"), [(0, 3), (1, 1), (2, 5), (3, 3), (4, 6), (6, 4), (5, 5)])
def test_rank_sum_counts_equal_brute_force(n: int, m: int) -> None:
    assert list(rank_sum_counts(n, m)) == _brute_counts(n, m)
    assert sum(rank_sum_counts(n, m)) == math.comb(n + m, n)


@pytest.mark.parametrize(
    ("n", "m", "rank"),
    # two-sided 5 % critical values of U (+1) from the published Mann-Whitney tables
    [(3, 3, None), (4, 4, 1), (5, 5, 3), (8, 8, 14), (10, 10, 24), (15, 15, 65), (20, 20, 128)],
)
def test_interval_ranks_match_the_tables(n: int, m: int, rank: int | None) -> None:
    assert interval_rank(n, m, confidence=0.95) == rank


@pytest.mark.parametrize(("n", "m"), [(40, 100), (70, 70), (12, 30)])
def test_normal_approximation_is_close_to_the_exact_rank(n: int, m: int) -> None:
    exact = interval_rank(n, m, confidence=0.95)
    approx = interval_rank(n, m, confidence=0.95, exact_limit=0)
    assert exact is not None and approx is not None and abs(approx - exact) <= 1
    assert n * m * min(n, m) <= stats.EXACT_LIMIT  # the default computes these exactly
    assert interval_rank(0, 5, confidence=0.95) is None
    assert interval_rank(5, 5, confidence=1.0) is None


def test_a_known_factor_is_estimated_exactly() -> None:
    x = [0.9, 0.95, 0.98, 1.0, 1.01, 1.02, 1.05, 1.1, 1.2, 0.85]
    est = estimate_ratio(x, [2 * v for v in x])
    assert est is not None
    # the differences log(x_i / x_j) are symmetric around 0: the estimate is exactly 1/2
    assert est.ratio == pytest.approx(0.5)
    assert est.low < 0.5 < est.high < 1.0 and est.excludes_no_difference
    assert (est.n, est.m, est.confidence) == (10, 10, 0.95)
    back = estimate_ratio([2 * v for v in x], x)
    assert back is not None and back.ratio == pytest.approx(1 / est.ratio)
    assert back.low == pytest.approx(1 / est.high) and back.high == pytest.approx(1 / est.low)


def test_no_interval_from_too_few_or_unusable_samples() -> None:
    assert estimate_ratio([1.0, 1.1, 1.2], [2.0, 2.1, 2.2]) is None  # 3 vs 3: p >= 0.05
    assert estimate_ratio([1.0], [2.0] * 50) is not None  # 1 vs 50 can: 1/51 < 0.025
    assert estimate_ratio([1.0, 0.0, 1.0, 1.0], [1.0] * 5) is None
    assert estimate_ratio([1.0] * 5, [1.0, math.nan, 1.0, 1.0, 1.0]) is None
    assert estimate_ratio([], [1.0] * 5) is None
    same = estimate_ratio([1.0] * 6, [1.0] * 6)
    assert same is not None and same.ratio == 1.0 and not same.excludes_no_difference


def shared_machine(rng: random.Random, n: int, *, sigma: float, outliers: float) -> list[float]:
    """Times of one probe on a busy 2-core machine: log-normal noise, a slow drift that an
    interleaved sweep gives both versions alike, and now and then a run 2-30x slower."""
    out = []
    for i in range(n):
        drift = 1.0 + 0.3 * i / n
        value = drift * math.exp(rng.gauss(0.0, sigma))
        if rng.random() < outliers:
            value *= rng.uniform(2.0, 30.0)
        out.append(value)
    return out


SEEDS = 300


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    sigma=st.floats(0.005, 1.0),
    outliers=st.floats(0.0, 0.2),
    n=st.integers(5, 25),
    factor=st.sampled_from([1.0, 2.0]),
)
def test_the_interval_covers_the_true_factor_at_its_level(
    sigma: float, outliers: float, n: int, factor: float
) -> None:
    """A 95 % interval misses the true factor in about 5 % of seeds (binomial slack: 300
    seeds give a standard error of 1.3 points), whatever the noise."""
    missed = 0
    for seed in range(SEEDS):
        rng = random.Random(seed)
        a = [factor * v for v in shared_machine(rng, n, sigma=sigma, outliers=outliers)]
        b = shared_machine(rng, n, sigma=sigma, outliers=outliers)
        est = estimate_ratio(a, b)
        assert est is not None
        missed += not est.low <= factor <= est.high
    assert missed / SEEDS < 0.08
