"""The performance unit: terms only for significant differences above the threshold, with
their effect, interval and sample counts; environments matched on CPU vendor and model;
settings (BLAS, threads) never mixed; workloads; and, over many seeds, identical versions
that never move a pin while a real 2x difference does."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from advisor.environment import CpuInfo, RuntimeEnvironment
from advisor.errors import InputError
from advisor.knowledge.schema import (
    EnvironmentFingerprint,
    PerformanceObservation,
    Provenance,
    observation_key,
)
from advisor.scoring.base import CandidateInfo, ScoringContext
from advisor.scoring.knowledge_view import StaticKnowledge
from advisor.scoring.stats import estimate_ratio
from advisor.scoring.types import recommendation, with_workload
from advisor.scoring.units.performance import (
    PerformanceAnnotator,
    PerformanceScorer,
    Workload,
    fingerprint_match,
    lower_is_better,
)
from tests.test_scoring_stats import drifting_rounds, shared_machine

NOW = datetime(2026, 12, 7, tzinfo=UTC)
AMD = {"cpu_vendor": "AuthenticAMD", "cpu_model": "AMD EPYC 7B13"}
INTEL = {"cpu_vendor": "GenuineIntel", "cpu_model": "Intel Xeon Platinum 8375C"}
ENV = RuntimeEnvironment(
    python_version="3.12.4",
    platform="manylinux_2_28_x86_64",
    cpu=CpuInfo(
        model="AMD EPYC 7B13",
        vendor="AuthenticAMD",
        arch="x86_64",
        features=("avx2", "fma"),
        level="x86-64-v3",
    ),
)


def _fp(**kw: Any) -> EnvironmentFingerprint:
    values: dict[str, Any] = {
        "python": "3.12",
        "platform": "manylinux_2_28_x86_64",
        "arch": "x86_64",
        **AMD,
        "cpu_level": "x86-64-v3",
        "cores": 2,
        "blas": "openblas",
        "threads": 1,
    }
    values.update(kw)
    return EnvironmentFingerprint(**values)


def _noisy(center: float, *, n: int = 15, sigma: float = 0.02, seed: int = 0) -> tuple[float, ...]:
    rng = random.Random(seed)
    return tuple(round(center * math.exp(rng.gauss(0.0, sigma)), 9) for _ in range(n))


def _perf(
    version: str,
    samples: tuple[float, ...] = (),
    *,
    value: float | None = None,
    probe: str = "numpy.sort-1m",
    unit: str = "s",
    metric: str = "median_time",
    package: str = "numpy",
    **fp: Any,
) -> PerformanceObservation:
    return PerformanceObservation(
        package=package,
        version=version,
        probe=probe,
        metric=metric,
        value=value if value is not None else sorted(samples)[len(samples) // 2],
        unit=unit,
        repeats=len(samples) or None,
        samples=samples,
        environment=_fp(**fp),
        provenance=Provenance(source="observe", date="2026-12-07", tool="stack-advisor test"),
    )


def _ctx(observations: list[PerformanceObservation], env: RuntimeEnvironment = ENV) -> Any:
    return ScoringContext(
        env=env, recommendation="performance", now=NOW, knowledge=StaticKnowledge(observations)
    )


def _cand(version: str, name: str = "numpy") -> CandidateInfo:
    return CandidateInfo(name=canonicalize_name(name), version=Version(version))


def test_units_decide_the_direction() -> None:
    assert lower_is_better("ms") is True and lower_is_better("MiB") is True
    assert lower_is_better("ops/s") is False and lower_is_better("MB/s") is False
    assert lower_is_better("widgets") is None


def test_environments_match_on_cpu_vendor_and_model_not_on_the_x86_level() -> None:
    assert fingerprint_match(_fp(), ENV) == 1.0
    # the same x86-64 level on another vendor's CPU is another machine: reduced weight
    assert fingerprint_match(_fp(**INTEL), ENV) == 0.5
    assert fingerprint_match(_fp(cpu_vendor="GenuineIntel"), ENV) == 0.5
    assert fingerprint_match(_fp(cpu_vendor=None), ENV) == 1.0  # older records: model only
    assert fingerprint_match(_fp(cpu_model=None), ENV) == 0.5
    assert fingerprint_match(_fp(python="3.12.4"), ENV) == 1.0
    assert fingerprint_match(_fp(python="3.11"), ENV) is None
    assert fingerprint_match(_fp(arch="aarch64", platform="manylinux_2_28_aarch64"), ENV) is None
    assert fingerprint_match(_fp(arch=None, platform="macosx_14_0_x86_64"), ENV) is None
    assert fingerprint_match(_fp(implementation="pp"), ENV) is None
    assert fingerprint_match(_fp(platform="not a tag!"), ENV) is None
    unknown_cpu = RuntimeEnvironment(python_version="3.12", platform="manylinux_2_28_x86_64")
    assert fingerprint_match(_fp(), unknown_cpu) == 0.5


def test_a_significant_difference_is_a_term_with_effect_interval_and_counts() -> None:
    fast = _perf("2.2.0", _noisy(0.10, seed=1))
    slow = _perf("1.26.4", _noisy(0.13, seed=2))
    ctx = _ctx([slow, fast])
    (term,) = PerformanceScorer().score(_cand("2.2.0"), ctx)
    assert term.effect is not None and term.ci is not None
    assert term.effect == pytest.approx(1 - 0.10 / 0.13, abs=0.03)
    assert 0 < term.ci[0] <= term.effect <= term.ci[1]
    assert term.n == (15, 15)
    assert term.value == pytest.approx(2 * term.effect)
    assert term.reason.startswith("numpy 2.2.0 is 23% faster on numpy.sort-1m than 1.26.4 (95% CI")
    assert "15 vs 15 runs, this CPU model, 1 thread, openblas" in term.reason
    assert term.evidence == observation_key(fast)
    (worse,) = PerformanceScorer().score(_cand("1.26.4"), ctx)
    assert worse.effect is not None and worse.ci is not None
    assert worse.effect == pytest.approx(1 - 0.13 / 0.10, abs=0.04) and worse.ci[1] < 0
    assert worse.value == pytest.approx(2 * worse.effect)
    assert " is 30% slower on numpy.sort-1m than 2.2.0 " in worse.reason
    assert PerformanceScorer().score(_cand("2.0.0"), ctx) == ()  # never measured: neutral


def test_no_term_without_significance_or_below_the_threshold() -> None:
    # 2 % apart with little noise: significant, but below the 5 % practical threshold
    close = [_perf("2.2.0", _noisy(0.100, sigma=0.002)), _perf("2.1.0", _noisy(0.102, seed=3))]
    est = estimate_ratio(close[0].samples, close[1].samples)
    assert est is not None and est.excludes_no_difference
    assert PerformanceScorer().score(_cand("2.2.0"), _ctx(close)) == ()
    assert len(PerformanceScorer(threshold=0.01).score(_cand("2.2.0"), _ctx(close))) == 1
    # 30 % apart in medians, but noise like a busy shared machine: the interval holds 1
    noisy = [
        _perf("2.2.0", _noisy(0.10, n=6, sigma=1.0, seed=4)),
        _perf("2.1.0", _noisy(0.13, n=6, sigma=1.0, seed=5)),
    ]
    est = estimate_ratio(noisy[0].samples, noisy[1].samples)
    assert est is not None and not est.excludes_no_difference
    assert PerformanceScorer().score(_cand("2.2.0"), _ctx(noisy)) == ()
    # one observation of three runs each: no 95 % interval exists at all
    few = [_perf("2.2.0", (0.1, 0.1, 0.1)), _perf("2.1.0", (0.5, 0.5, 0.5))]
    assert PerformanceScorer().score(_cand("2.2.0"), _ctx(few)) == ()


def test_observations_without_samples_make_no_term_and_the_report_says_so() -> None:
    old = [_perf("2.2.0", value=0.01), _perf("2.1.0", value=0.5)]
    assert PerformanceScorer().score(_cand("2.2.0"), _ctx(old)) == ()
    pins = {canonicalize_name("numpy"): Version("2.2.0")}
    (note,) = PerformanceAnnotator().annotate(pins, _ctx(old))
    assert note.level == "info" and note.package is None
    assert note.message.startswith("2 performance observations of numpy carry no samples")


def test_another_cpu_counts_half_and_says_so() -> None:
    observations = [_perf("2.2.0", _noisy(0.10), **INTEL), _perf("2.1.0", _noisy(0.20), **INTEL)]
    (term,) = PerformanceScorer().score(_cand("2.2.0"), _ctx(observations))
    assert term.effect is not None and term.value == pytest.approx(0.5 * min(1.0, 2 * term.effect))
    assert "measured on Intel Xeon Platinum 8375C, half weight" in term.reason
    # the target's own CPU wins over more samples from another one
    mine = [_perf("2.2.0", _noisy(0.10, seed=7)), _perf("2.1.0", _noisy(0.12, seed=8))]
    (own,) = PerformanceScorer().score(_cand("2.2.0"), _ctx(observations + mine))
    assert "this CPU model" in own.reason and own.n == (15, 15)


def test_settings_are_never_mixed_and_one_setting_pools_its_samples() -> None:
    apart = [_perf("2.2.0", _noisy(0.10), threads=1), _perf("2.1.0", _noisy(0.20), threads=2)]
    assert PerformanceScorer().score(_cand("2.2.0"), _ctx(apart)) == ()
    blas = [_perf("2.2.0", _noisy(0.10), blas="mkl"), _perf("2.1.0", _noisy(0.20))]
    assert PerformanceScorer().score(_cand("2.2.0"), _ctx(blas)) == ()
    pooled = [
        _perf("2.2.0", _noisy(0.10, n=5, seed=1)),
        _perf("2.2.0", _noisy(0.10, n=5, seed=2)),
        _perf("2.1.0", _noisy(0.20, n=5, seed=3)),
    ]
    (term,) = PerformanceScorer().score(_cand("2.2.0"), _ctx(pooled))
    assert term.n == (10, 5)


def test_one_interleaved_run_is_compared_before_pooled_runs() -> None:
    def run(version: str, center: float, session: str, seed: int) -> PerformanceObservation:
        obs = _perf(version, _noisy(center, n=10, seed=seed))
        return msgspec.structs.replace(obs, conditions={"session": session})

    # sweep "a" measured both versions side by side; sweep "b" only 2.2.0, on a slower day
    observations = [run("2.2.0", 0.10, "a", 1), run("2.1.0", 0.20, "a", 2)]
    observations.append(run("2.2.0", 0.18, "b", 3))
    (term,) = PerformanceScorer().score(_cand("2.2.0"), _ctx(observations))
    assert term.n == (10, 10) and "pooled" not in term.reason
    assert term.effect == pytest.approx(0.5, abs=0.03)
    # without a run that holds both, the runs are pooled, and the term says so
    apart = [run("2.2.0", 0.10, "a", 1), run("2.2.0", 0.11, "b", 3), run("2.1.0", 0.20, "c", 2)]
    (pooled,) = PerformanceScorer().score(_cand("2.2.0"), _ctx(apart))
    assert pooled.n == (20, 10) and "20 vs 10 runs, pooled from separate sweeps" in pooled.reason


def test_the_best_other_version_is_the_reference_and_rates_are_higher_is_better() -> None:
    observations = [
        _perf("3.0", _noisy(1000.0, seed=1), unit="ops/s", metric="throughput"),
        _perf("2.0", _noisy(800.0, seed=2), unit="ops/s", metric="throughput"),
        _perf("1.0", _noisy(500.0, seed=3), unit="ops/s", metric="throughput"),
        _perf("1.0", _noisy(5.0, seed=3), unit="points", metric="score"),  # unknown unit
    ]
    ctx = _ctx(observations)
    (best,) = PerformanceScorer().score(_cand("3.0"), ctx)
    assert " is 25% higher on numpy.sort-1m (throughput) than 2.0 " in best.reason
    (worst,) = PerformanceScorer().score(_cand("1.0"), ctx)
    assert worst.effect == pytest.approx(-0.5, abs=0.03)
    assert worst.value == pytest.approx(2 * worst.effect)
    assert " than 3.0 " in worst.reason


def test_a_workload_keeps_its_probes_and_is_named() -> None:
    observations = [
        _perf("2.2.0", _noisy(0.10, seed=1)),
        _perf("2.1.0", _noisy(0.20, seed=2)),
        _perf("2.2.0", _noisy(0.30, seed=3), probe="numpy.matmul-256"),
        _perf("2.1.0", _noisy(0.10, seed=4), probe="numpy.matmul-256"),
        _perf("2.2.0", _noisy(0.05, seed=5), probe="import:numpy", metric="import_time"),
        _perf("2.1.0", _noisy(0.08, seed=6), probe="import:numpy", metric="import_time"),
    ]
    ctx = _ctx(observations)
    assert len(PerformanceScorer().score(_cand("2.2.0"), ctx)) == 3
    sort = Workload(name="sort", probes=frozenset({"numpy.sort-1m", "numpy.argsort-1m"}))
    (term,) = PerformanceScorer(workload=sort).score(_cand("2.2.0"), ctx)
    assert term.reason.startswith("workload 'sort': numpy 2.2.0 is 50% faster on numpy.sort-1m")
    imports = Workload(name="import", probes=frozenset({"import:*"}))
    (term,) = PerformanceScorer(workload=imports).score(_cand("2.2.0"), ctx)
    assert "import:numpy" in term.reason
    kind = with_workload(recommendation("performance"), sort)
    pins = {canonicalize_name("numpy"): Version("2.2.0")}
    notes = [a.annotate(pins, ctx) for a in kind.annotators if isinstance(a, PerformanceAnnotator)]
    assert notes[0][0].message.startswith(
        "performance optimised for the workload 'sort' (probes: numpy.argsort-1m, numpy.sort-1m)"
    )
    with pytest.raises(InputError, match="only applies to the performance recommendation"):
        with_workload(recommendation("stable"), sort)


# -- error rates over many seeds ----------------------------------------------------------------

SEEDS = 300


def _pin_moves(old: tuple[float, ...], new: tuple[float, ...]) -> bool:
    """Whether the unit would make the advice pick the older version over the newer one
    (``latest``'s choice; ties break toward newer versions)."""
    ctx = _ctx([_perf("1.0", old), _perf("2.0", new)])
    scorer = PerformanceScorer()
    total = {v: sum(t.value for t in scorer.score(_cand(v), ctx)) for v in ("1.0", "2.0")}
    return total["1.0"] > total["2.0"]


@pytest.mark.parametrize(("sigma", "outliers"), [(0.01, 0.0), (0.05, 0.05), (0.3, 0.1), (1.0, 0.2)])
def test_identical_versions_move_a_pin_in_under_5_percent_of_seeds(
    sigma: float, outliers: float
) -> None:
    moved = 0
    for seed in range(SEEDS):
        rng = random.Random(seed)
        old = tuple(shared_machine(rng, 15, sigma=sigma, outliers=outliers))
        new = tuple(shared_machine(rng, 15, sigma=sigma, outliers=outliers))
        moved += _pin_moves(old, new)
    assert moved / SEEDS < 0.05


@pytest.mark.parametrize(("sigma", "outliers"), [(0.01, 0.0), (0.05, 0.05), (0.2, 0.1)])
def test_a_real_twofold_difference_moves_the_pin(sigma: float, outliers: float) -> None:
    moved = 0
    for seed in range(SEEDS):
        rng = random.Random(seed)
        old = tuple(shared_machine(rng, 15, sigma=sigma, outliers=outliers))
        new = tuple(2 * v for v in shared_machine(rng, 15, sigma=sigma, outliers=outliers))
        moved += _pin_moves(old, new)
    assert moved / SEEDS >= 0.95


# -- paired by rounds ---------------------------------------------------------------------------


def _interleaved(version: str, samples: list[float], *, session: str = "s1") -> Any:
    obs = _perf(version, tuple(round(v, 9) for v in samples))
    return msgspec.structs.replace(
        obs, rounds=tuple(range(len(samples))), conditions={"session": session}
    )


def test_versions_measured_in_the_same_rounds_are_compared_in_pairs() -> None:
    a, b = drifting_rounds(random.Random(3), 15, factor=0.9, drift=2.0, sigma=0.02)
    ctx = _ctx([_interleaved("2.0", a), _interleaved("1.0", b)])
    (term,) = PerformanceScorer().score(_cand("2.0"), ctx)
    assert term.effect == pytest.approx(0.1, abs=0.03) and term.n == (15, 15)
    assert "15 rounds paired, this CPU model" in term.reason
    # the same samples without their rounds: unpaired, the drift hides the difference
    plain = _ctx([_perf("2.0", tuple(a)), _perf("1.0", tuple(b))])
    assert PerformanceScorer().score(_cand("2.0"), plain) == ()
    # rounds of different runs never pair: each is its own session
    apart = _ctx([_interleaved("2.0", a, session="x"), _interleaved("1.0", b, session="y")])
    assert PerformanceScorer().score(_cand("2.0"), apart) == ()
    # rounds that do not match the samples are not known
    broken = msgspec.structs.replace(_interleaved("2.0", a), rounds=(0, 1))
    assert PerformanceScorer().score(_cand("2.0"), _ctx([broken, _interleaved("1.0", b)])) == ()


def _paired_pin_moves(old: list[float], new: list[float]) -> bool:
    ctx = _ctx([_interleaved("1.0", old), _interleaved("2.0", new)])
    scorer = PerformanceScorer()
    total = {v: sum(t.value for t in scorer.score(_cand(v), ctx)) for v in ("1.0", "2.0")}
    return total["1.0"] > total["2.0"]


@pytest.mark.parametrize(("drift", "sigma"), [(0.0, 0.01), (2.0, 0.05), (5.0, 0.2)])
def test_identical_versions_in_drifting_rounds_move_a_pin_in_under_5_percent_of_seeds(
    drift: float, sigma: float
) -> None:
    moved = 0
    for seed in range(SEEDS):
        new, old = drifting_rounds(random.Random(seed), 15, factor=1.0, drift=drift, sigma=sigma)
        moved += _paired_pin_moves(old, new)
    assert moved / SEEDS < 0.05


def test_a_real_ten_percent_difference_under_strong_drift_moves_the_pin_only_paired() -> None:
    paired = unpaired = 0
    for seed in range(SEEDS):
        # the newer version is 10 % slower; the machine's load swings and drifts threefold
        new, old = drifting_rounds(random.Random(seed), 15, factor=1.1, drift=2.0, sigma=0.02)
        paired += _paired_pin_moves(old, new)
        unpaired += _pin_moves(tuple(old), tuple(new))
    assert paired / SEEDS >= 0.95
    assert unpaired / SEEDS < 0.2
