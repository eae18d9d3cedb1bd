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


# -- paired: rounds of an interleaved run ------------------------------------------------------


def _brute_signed_rank(n: int) -> list[int]:
    """The signed-rank distribution by listing every sign pattern."""
    counts = [0] * (n * (n + 1) // 2 + 1)
    for signs in itertools.product((0, 1), repeat=n):
        ranks = zip(range(1, n + 1), signs, strict=True)
        counts[sum(rank for rank, positive in ranks if positive)] += 1
    return counts


@pytest.mark.parametrize("n", [0, 1, 2, 5, 8, 11])
def test_signed_rank_counts_equal_brute_force(n: int) -> None:
    assert list(stats.signed_rank_counts(n)) == _brute_signed_rank(n)
    assert sum(stats.signed_rank_counts(n)) == 2**n


@pytest.mark.parametrize(
    ("n", "rank"),
    # two-sided 5 % critical values of the signed-rank statistic (+1), published tables
    [(5, None), (6, 1), (7, 3), (8, 4), (10, 9), (15, 26), (20, 53), (25, 90)],
)
def test_signed_rank_interval_ranks_match_the_tables(n: int, rank: int | None) -> None:
    assert stats.signed_rank_interval_rank(n, confidence=0.95) == rank
    approx = stats.signed_rank_interval_rank(n, confidence=0.95, exact_limit=0)
    assert rank is None or (approx is not None and abs(approx - rank) <= 1)


def test_a_paired_factor_is_estimated_exactly_and_symmetrically() -> None:
    rng = random.Random(5)
    drift = [1.0 + 0.5 * i for i in range(12)]  # the machine slows down threefold
    pairs = [(0.5 * d * math.exp(rng.gauss(0, 0.01)), d) for d in drift]
    est = stats.estimate_paired_ratio(pairs)
    assert est is not None and est.paired and (est.n, est.m) == (12, 12)
    assert est.ratio == pytest.approx(0.5, rel=0.01)
    assert est.low < est.ratio < est.high < 1.0 and est.excludes_no_difference
    back = stats.estimate_paired_ratio([(b, a) for a, b in pairs])
    assert back is not None and back.ratio == pytest.approx(1 / est.ratio)
    assert back.low == pytest.approx(1 / est.high) and back.high == pytest.approx(1 / est.low)
    assert stats.estimate_paired_ratio(pairs[:5]) is None  # 5 pairs cannot reach 95 %
    assert stats.estimate_paired_ratio([(1.0, 0.0), *pairs]) is None
    assert stats.estimate_paired_ratio([]) is None


def drifting_rounds(
    rng: random.Random, n: int, *, factor: float, drift: float, sigma: float
) -> tuple[list[float], list[float]]:
    """Two versions measured interleaved (A B A B …) on a shared machine whose load swings
    strongly from round to round and drifts over the run (both samples of a round share
    it), with small noise of their own; ``a`` is ``factor`` times ``b``."""
    a, b = [], []
    for i in range(n):
        machine = (1.0 + drift * i / n) * math.exp(rng.gauss(0.0, 0.5))
        a.append(factor * machine * math.exp(rng.gauss(0.0, sigma)))
        b.append(machine * math.exp(rng.gauss(0.0, sigma)))
    return a, b


def test_pairing_finds_a_real_ten_percent_difference_that_drift_hides_unpaired() -> None:
    found_paired = found_unpaired = 0
    for seed in range(SEEDS):
        a, b = drifting_rounds(random.Random(seed), 15, factor=0.9, drift=2.0, sigma=0.02)
        paired = stats.estimate_paired_ratio(list(zip(a, b, strict=True)))
        unpaired = estimate_ratio(a, b)
        assert paired is not None and unpaired is not None
        found_paired += paired.high < 1.0
        found_unpaired += unpaired.high < 1.0
    assert found_paired / SEEDS >= 0.95  # the pairs see through the drift
    assert found_unpaired / SEEDS < 0.2  # the pooled samples drown in it


@pytest.mark.parametrize(("drift", "sigma"), [(0.0, 0.01), (2.0, 0.02), (5.0, 0.1)])
def test_identical_versions_paired_under_drift_rarely_differ(drift: float, sigma: float) -> None:
    """The paired interval excludes no difference for identical versions in about 5 % of
    seeds however strong the shared drift (300 seeds: binomial slack to 8 %)."""
    moved = 0
    for seed in range(SEEDS):
        a, b = drifting_rounds(random.Random(seed), 15, factor=1.0, drift=drift, sigma=sigma)
        est = stats.estimate_paired_ratio(list(zip(a, b, strict=True)))
        assert est is not None
        moved += est.excludes_no_difference
    assert moved / SEEDS < 0.08
