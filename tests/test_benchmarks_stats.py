"""``benchmarks/bench_stats.py``: the bootstrap intervals the benchmarks print.

The benchmarks are scripts beside the package (not importable as ``advisor``), so the module
is loaded from its file. Checked on data made here with fixed seeds: the interval holds the
point estimate, narrows with more samples, is the same for the same seed, is exact for
constant samples, and is rendered as the benchmarks print it.
"""

from __future__ import annotations

import importlib.util
import random
import statistics
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from types import ModuleType

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_stats.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_stats", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_stats", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


stats = _load()


def _times(n: int, *, centre: float, seed: int) -> list[float]:
    """``n`` run times scattered around ``centre`` seconds, skewed as wall times are."""
    rng = random.Random(seed)
    return [centre * rng.lognormvariate(0, 0.15) for _ in range(n)]


@pytest.mark.parametrize("seed", range(5))
def test_the_interval_holds_the_point_estimate(seed: int) -> None:
    fast, slow = _times(7, centre=0.42, seed=seed), _times(7, centre=1.0, seed=seed + 100)
    ratio = stats.ratio_interval(fast, slow, seed=seed)
    assert ratio.estimate == statistics.median(fast) / statistics.median(slow)
    assert ratio.low <= ratio.estimate <= ratio.high
    assert ratio.low < ratio.high  # the runs scatter, so the interval has a width
    median = stats.median_interval(fast, seed=seed)
    assert median.estimate == statistics.median(fast)
    assert min(fast) <= median.low <= median.estimate <= median.high <= max(fast)


def test_more_samples_give_a_narrower_interval() -> None:
    few = stats.ratio_interval(_times(5, centre=0.5, seed=1), _times(5, centre=1.0, seed=2), seed=0)
    many = stats.ratio_interval(
        _times(200, centre=0.5, seed=1), _times(200, centre=1.0, seed=2), seed=0
    )
    assert many.width < few.width / 2
    assert many.low < 0.5 < many.high  # the true ratio of the two centres


def test_the_seed_decides_the_interval() -> None:
    a, b = _times(9, centre=2.0, seed=3), _times(9, centre=1.0, seed=4)
    assert stats.ratio_interval(a, b, seed=7) == stats.ratio_interval(a, b, seed=7)
    others = {stats.ratio_interval(a, b, seed=s, resamples=200) for s in range(5)}
    assert len(others) > 1  # the seed is used: another one resamples otherwise


def test_constant_samples_have_an_exact_interval() -> None:
    exact = stats.ratio_interval([2.0, 2.0, 2.0], [4.0, 4.0], resamples=50)
    assert (exact.estimate, exact.low, exact.high) == (0.5, 0.5, 0.5)
    one = stats.median_interval([3.0])
    assert (one.estimate, one.low, one.high) == (3.0, 3.0, 3.0)


def test_a_wider_level_gives_a_wider_interval() -> None:
    a, b = _times(15, centre=1.5, seed=5), _times(15, centre=1.0, seed=6)
    narrow = stats.ratio_interval(a, b, level=0.5)
    wide = stats.ratio_interval(a, b, level=0.99)
    assert wide.low <= narrow.low and narrow.high <= wide.high
    assert wide.width > narrow.width


def test_rendering() -> None:
    interval = stats.Interval(estimate=0.4213, low=0.3801, high=0.4699)
    assert interval.render() == "ratio 0.42 (95 % CI 0.38-0.47)"
    assert interval.render("p50", digits=1, unit=" ms") == "p50 0.4 ms (95 % CI 0.4-0.5 ms)"
    ninety = stats.Interval(estimate=1, low=1, high=2, level=0.9)
    assert ninety.render() == "ratio 1.00 (90 % CI 1.00-2.00)"
    assert interval.to_dict() == {"estimate": 0.4213, "low": 0.3801, "high": 0.4699, "level": 0.95}


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="numerator: no samples"):
        stats.ratio_interval([], [1.0])
    with pytest.raises(ValueError, match="must all be positive"):
        stats.ratio_interval([1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        stats.median_interval([1.0, float("nan")])
    with pytest.raises(ValueError, match="level"):
        stats.median_interval([1.0], level=1.0)
    with pytest.raises(ValueError, match="resamples"):
        stats.median_interval([1.0], resamples=0)
    assert stats.optional_ratio_interval([], [1.0]) is None
    assert stats.optional_ratio_interval([1.0], [0.0]) is None
    assert stats.optional_ratio_interval([1.0], [2.0]) == stats.ratio_interval([1.0], [2.0])


def test_the_three_benchmarks_give_their_ratios_with_intervals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(_PATH.parent))  # the scripts import their neighbours
    compare = importlib.import_module("compare")
    advise_bench = importlib.import_module("advise_bench")
    server_load = importlib.import_module("server_load")
    pip_cold, pip_warm = _times(5, centre=2.0, seed=10), _times(5, centre=1.0, seed=11)
    adv_cold, adv_warm = _times(5, centre=1.0, seed=12), _times(5, centre=0.3, seed=13)
    measured = [
        compare.Measurement(set_name="s", tool="pip", cold=tuple(pip_cold), warm=tuple(pip_warm)),
        compare.Measurement(
            set_name="s", tool="advisor", cold=tuple(adv_cold), warm=tuple(adv_warm)
        ),
        compare.Measurement(set_name="s", tool="uv", error="not installed"),
    ]
    ratios = dict(compare.ratio_intervals(measured))
    assert sorted(ratios) == ["s adv/pip cold", "s adv/pip warm"]  # uv failed: no ratio
    assert ratios["s adv/pip warm"] == stats.ratio_interval(adv_warm, pip_warm)

    figures = advise_bench.Figures(
        set_name="s", lock_times=tuple(pip_warm), advise_times=tuple(adv_cold)
    )
    assert figures.ratio_interval == stats.ratio_interval(adv_cold, pip_warm)
    assert figures.ratio_interval.estimate == pytest.approx(figures.ratio)

    def load(store: str, latencies: list[float]) -> object:
        return server_load.Figures(
            store=store,
            scenario="query",
            clients=1,
            requests=len(latencies),
            failed=0,
            seconds=1.0,
            per_second=1.0,
            p50_ms=1.0,
            p99_ms=1.0,
            latencies=tuple(latencies),
        )

    sqlite, pg = _times(40, centre=0.004, seed=14), _times(40, centre=0.006, seed=15)
    (line,) = server_load.store_ratios([load("sqlite", sqlite), load("postgresql", pg)])
    expected = stats.ratio_interval(pg, sqlite, resamples=1000).render()
    assert line == f"query: postgresql/sqlite p50 {expected}"
