"""Unit tests of :mod:`advisor.knowledge.rules`: every environment predicate field, the
target facts (os, arch, libc), candidate- and stack-level matching (names, specifiers with
pre-releases, co-installed packages, recommendation types), hits, errors, and hypothesis
properties (scores bounded, evaluation deterministic and independent of rule order).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from advisor.environment import CpuInfo, RuntimeEnvironment
from advisor.errors import InputError
from advisor.knowledge.rules import (
    RuleHit,
    candidate_matches,
    environment_matches,
    evaluate_stack,
    parse_specifier,
    stack_matches,
    target_arch,
    target_libc,
    target_os,
)
from advisor.knowledge.schema import (
    Action,
    CoInstalled,
    EnvironmentPredicate,
    Match,
    Prescription,
    Provenance,
)

PROV = Provenance(source="test", date="2024-01-01")


def _env(**kwargs: Any) -> RuntimeEnvironment:
    values: dict[str, Any] = {"python_version": "3.12", "platform": "manylinux_2_28_x86_64"}
    values.update(kwargs)
    return RuntimeEnvironment(**values)


def _rule(
    package: str = "numpy",
    specifier: str = "",
    *,
    rule_id: str = "r",
    co: tuple[tuple[str, str], ...] = (),
    kind: Any = "score",
    score: float | None = -0.5,
    level: Any = "warning",
    **pred: Any,
) -> Prescription:
    return Prescription(
        id=rule_id,
        summary="s",
        link="https://example.invalid/notes",
        quote="q",
        match=Match(
            package=package,
            specifier=specifier,
            co_installed=tuple(CoInstalled(package=n, specifier=s) for n, s in co),
            environment=EnvironmentPredicate(**pred),
        ),
        action=Action(kind=kind, message=f"message of {rule_id}", score=score, level=level),
        provenance=PROV,
    )


def _holds(env: RuntimeEnvironment, recommendation: str | None = "stable", **pred: Any) -> bool:
    return environment_matches(EnvironmentPredicate(**pred), env, recommendation=recommendation)


# -- environment predicate -----------------------------------------------------------------


def test_empty_predicate_holds_everywhere() -> None:
    assert _holds(_env())
    assert _holds(_env(platform="any"), recommendation=None)


@pytest.mark.parametrize(
    ("python", "spec", "expected"),
    [
        ("3.12", ">=3.12", True),
        ("3.12", "<3.12", False),
        ("3.11.4", ">=3.11.3,<3.12", True),
        ("3.12", ">=3.12.4", False),  # X.Y counts as X.Y.0
        ("3.13.0rc1", ">=3.13.0rc1", True),
    ],
)
def test_python_specifier(python: str, spec: str, expected: bool) -> None:
    assert _holds(_env(python_version=python), python=spec) is expected


def test_cuda_specifier_and_missing_cuda() -> None:
    assert _holds(_env(cuda_version="12.4"), cuda=">=12")
    assert not _holds(_env(cuda_version="11.8"), cuda=">=12")
    assert not _holds(_env(), cuda=">=0"), "no CUDA on the target: a CUDA rule cannot hold"
    assert not _holds(_env(cuda_version="not-a-version"), cuda=">=0")


def test_platform_fnmatch() -> None:
    env = _env(platform="manylinux_2_28_x86_64")
    assert _holds(env, platform="manylinux_*_x86_64")
    assert not _holds(env, platform="manylinux_*_aarch64")
    assert _holds(_env(platform="manylinux2014_x86_64"), platform="manylinux_2_17_*")


@pytest.mark.parametrize(
    ("platform", "os"),
    [
        ("manylinux_2_17_x86_64", "linux"),
        ("musllinux_1_2_aarch64", "linux"),
        ("linux_x86_64", "linux"),
        ("macosx_14_0_arm64", "macos"),
        ("win_amd64", "windows"),
        ("win32", "windows"),
        ("any", None),
    ],
)
def test_os_from_platform_tag(platform: str, os: str | None) -> None:
    env = _env(platform=platform)
    assert target_os(env) == os
    for name in ("linux", "macos", "windows"):
        assert _holds(env, os=name) is (name == os)


def test_os_aliases() -> None:
    assert _holds(_env(platform="macosx_11_0_arm64"), os="darwin")
    assert _holds(_env(platform="win_amd64"), os="Windows")


@pytest.mark.parametrize(
    ("platform", "arch"),
    [
        ("manylinux_2_17_x86_64", "x86_64"),
        ("manylinux_2_17_aarch64", "aarch64"),
        ("macosx_14_0_arm64", "aarch64"),
        ("win_amd64", "x86_64"),
        ("win_arm64", "aarch64"),
        ("win32", "i686"),
    ],
)
def test_arch_from_platform_tag(platform: str, arch: str) -> None:
    env = _env(platform=platform)
    assert target_arch(env) == arch
    assert _holds(env, arch=arch)


def test_arch_aliases_and_mismatch() -> None:
    assert _holds(_env(platform="macosx_14_0_arm64"), arch="arm64")
    assert _holds(_env(platform="manylinux_2_17_aarch64"), arch="arm64")
    assert _holds(_env(platform="win_amd64"), arch="amd64")
    assert not _holds(_env(platform="manylinux_2_17_x86_64"), arch="aarch64")


def test_arch_of_the_any_tag_comes_from_the_cpu() -> None:
    assert target_arch(_env(platform="any")) is None
    assert not _holds(_env(platform="any"), arch="x86_64")
    cpu = CpuInfo(model=None, arch="x86_64")
    assert _holds(_env(platform="any", cpu=cpu), arch="x86_64")


def test_libc() -> None:
    assert target_libc(_env(platform="manylinux_2_28_x86_64")) == "glibc"
    assert target_libc(_env(platform="musllinux_1_2_x86_64")) == "musl"
    assert target_libc(_env(platform="macosx_14_0_arm64")) is None
    linux = _env(platform="linux_x86_64", libc="musl", libc_version="1.2")
    assert target_libc(linux) == "musl"
    assert _holds(linux, libc="musl") and not _holds(linux, libc="glibc")
    assert _holds(_env(platform="manylinux_2_28_x86_64"), libc="glibc")
    assert not _holds(_env(platform="win_amd64"), libc="glibc")


def test_cpu_features_must_all_be_present() -> None:
    cpu = CpuInfo(model="m", arch="x86_64", features=("avx2", "fma", "sse4_2"))
    env = _env(cpu=cpu)
    assert _holds(env, cpu_features=("avx2",))
    assert _holds(env, cpu_features=("AVX2", "fma"))
    assert not _holds(env, cpu_features=("avx2", "avx512f"))
    assert not _holds(_env(), cpu_features=("avx2",)), "no CPU description: cannot hold"


def test_recommendation_types() -> None:
    env = _env()
    assert _holds(env, recommendation="performance", recommendation_types=("performance",))
    assert not _holds(env, recommendation="latest", recommendation_types=("performance",))
    assert not _holds(env, recommendation=None, recommendation_types=("performance",))
    assert _holds(env, recommendation=None), "an unrestricted rule holds without a type"


def test_every_field_must_hold() -> None:
    env = _env(platform="manylinux_2_28_x86_64", cuda_version="12.4")
    pred: dict[str, Any] = {"python": ">=3.12", "os": "linux", "arch": "x86_64", "cuda": ">=12"}
    assert _holds(env, **pred)
    assert not _holds(env, **{**pred, "os": "windows"})
    assert not _holds(env, **{**pred, "python": "<3.12"})


# -- candidate level -------------------------------------------------------------------------


def test_candidate_names_are_canonicalised() -> None:
    rule = _rule("Scikit_Learn", "<1.4.2")
    env = _env()
    assert candidate_matches(rule, "scikit-learn", "1.4.1", env=env, recommendation=None)
    assert candidate_matches(rule, "SCIKIT.learn", Version("1.4.0"), env=env, recommendation=None)
    assert not candidate_matches(rule, "scikit-image", "1.0", env=env, recommendation=None)
    assert not candidate_matches(rule, "scikit-learn", "1.4.2", env=env, recommendation=None)


def test_candidate_pre_releases_are_inside_ranges() -> None:
    env = _env()
    assert candidate_matches(
        _rule("numpy", ">=2"), "numpy", "2.1.0rc1", env=env, recommendation=None
    )
    assert candidate_matches(
        _rule("numpy", "<2.1"), "numpy", "2.0.0rc1", env=env, recommendation=None
    )
    # PEP 440: "<V" never admits a pre-release of V itself (2.0.0rc1 is not "<2.0").
    assert not candidate_matches(
        _rule("numpy", "<2.0"), "numpy", "2.0.0rc1", env=env, recommendation=None
    )
    assert candidate_matches(
        _rule("numpy", "==2.0.0b1"), "numpy", "2.0.0b1", env=env, recommendation=None
    )
    assert not candidate_matches(
        _rule("numpy", ">=2"), "numpy", "2.0.0rc1", env=env, recommendation=None
    )


def test_candidate_ignores_co_installed_but_not_the_environment() -> None:
    rule = _rule("pandas", "<2.2.2", co=(("numpy", ">=2"),), os="linux")
    assert candidate_matches(rule, "pandas", "2.1.0", env=_env(), recommendation=None)
    windows = _env(platform="win_amd64")
    assert not candidate_matches(rule, "pandas", "2.1.0", env=windows, recommendation=None)


def test_candidate_with_a_non_pep440_version() -> None:
    env = _env()
    assert not candidate_matches(
        _rule("x", ">=1"), "x", "not a version", env=env, recommendation=None
    )
    assert candidate_matches(_rule("x", ""), "x", "not a version", env=env, recommendation=None)


# -- stack level -----------------------------------------------------------------------------


def test_stack_needs_the_package_and_every_co_installed_within_range() -> None:
    rule = _rule(
        "tensorflow-probability", "<0.24", co=(("tensorflow", "==2.15.*"), ("keras", ">=3"))
    )
    env = _env()
    full = {"tensorflow-probability": "0.23.0", "tensorflow": "2.15.0", "keras": "3.0.1"}
    assert stack_matches(rule, full, env=env, recommendation=None)
    assert not stack_matches(rule, {**full, "keras": "2.15.0"}, env=env, recommendation=None)
    without_keras = {k: v for k, v in full.items() if k != "keras"}
    assert not stack_matches(rule, without_keras, env=env, recommendation=None)
    without_tfp = {k: v for k, v in full.items() if k != "tensorflow-probability"}
    assert not stack_matches(rule, without_tfp, env=env, recommendation=None)
    assert not stack_matches(
        rule, {**full, "tensorflow-probability": "0.24.0"}, env=env, recommendation=None
    )


def test_stack_pin_names_need_not_be_canonical() -> None:
    rule = _rule("tf-keras", co=(("tensorflow", ">=2.16"),))
    pins: dict[str, Version | str] = {"TF_Keras": Version("2.16.0"), "TensorFlow": "2.16.1"}
    assert stack_matches(rule, pins, env=_env(), recommendation=None)


def test_co_installed_with_empty_specifier_only_needs_presence() -> None:
    rule = _rule("dask", co=(("numpy", ""),))
    assert stack_matches(
        rule, {"dask": "2024.1", "numpy": "1.26.4"}, env=_env(), recommendation=None
    )
    assert not stack_matches(rule, {"dask": "2024.1"}, env=_env(), recommendation=None)


def test_co_installed_pre_release_counts() -> None:
    rule = _rule("h5py", "<3.11", co=(("numpy", ">=2.0.0.dev0"),))
    pins = {"h5py": "3.10.0", "numpy": "2.0.0rc1"}
    assert stack_matches(rule, pins, env=_env(), recommendation=None)


def test_stack_respects_the_environment_and_recommendation() -> None:
    rule = _rule("numpy", "<1.26", python=">=3.12", recommendation_types=("stable", "testing"))
    pins = {"numpy": "1.25.2"}
    assert stack_matches(rule, pins, env=_env(), recommendation="testing")
    assert not stack_matches(rule, pins, env=_env(), recommendation="latest")
    assert not stack_matches(rule, pins, env=_env(python_version="3.11"), recommendation="stable")


# -- evaluation ------------------------------------------------------------------------------


def test_evaluate_stack_returns_hits_ordered_by_rule_id() -> None:
    rules = [
        _rule("numpy", ">=2", rule_id="zeta", kind="justify", score=None, level="info"),
        _rule(
            "pandas",
            "<2.2.2",
            rule_id="alpha",
            co=(("numpy", ">=2"),),
            kind="reject-stack",
            score=None,
            level="error",
        ),
        _rule("scipy", rule_id="unrelated"),
    ]
    pins = {"numpy": "2.0.0", "pandas": "2.1.4"}
    hits = evaluate_stack(rules, pins, env=_env(), recommendation=None)
    assert [h.rule.id for h in hits] == ["alpha", "zeta"]
    assert hits[0] == RuleHit(
        rule=rules[1], kind="reject-stack", message="message of alpha", score=None, level="error"
    )
    assert hits[1].kind == "justify" and hits[1].level == "info"


@pytest.mark.parametrize(
    ("score", "bounded"),
    [(-0.25, -0.25), (5.0, 1.0), (-3.0, -1.0), (math.inf, 1.0), (math.nan, 0.0), (None, None)],
)
def test_evaluate_stack_bounds_scores(score: float | None, bounded: float | None) -> None:
    hits = evaluate_stack([_rule(score=score)], {"numpy": "1.0"}, env=_env(), recommendation=None)
    assert len(hits) == 1 and hits[0].score == bounded


def test_evaluate_stack_of_nothing() -> None:
    assert evaluate_stack([], {"numpy": "1.0"}, env=_env(), recommendation=None) == []
    assert evaluate_stack([_rule()], {}, env=_env(), recommendation=None) == []


# -- errors ----------------------------------------------------------------------------------


def test_invalid_specifiers_name_the_rule_and_the_field() -> None:
    with pytest.raises(InputError, match=r"'broken'.*specifier '=>2'"):
        candidate_matches(
            _rule("numpy", "=>2", rule_id="broken"), "numpy", "2.0", env=_env(), recommendation=None
        )
    with pytest.raises(InputError, match=r"co_installed\[0\]\.specifier"):
        stack_matches(
            _rule("a", co=(("b", "~=1"),), rule_id="c"),
            {"a": "1", "b": "1"},
            env=_env(),
            recommendation=None,
        )
    with pytest.raises(InputError, match=r"environment\.python"):
        environment_matches(
            EnvironmentPredicate(python="3.12+"), _env(), recommendation=None, rule_id="p"
        )


def test_parse_specifier_is_cached_and_strips() -> None:
    assert parse_specifier(" >=1,<2 ") is parse_specifier(">=1,<2")
    assert str(parse_specifier("")) == ""


# -- properties ------------------------------------------------------------------------------

PACKAGES = ["numpy", "pandas", "scipy", "torch", "tensorflow"]
SPECIFIERS = ["", ">=1", "<2", "==1.*", ">=1.5,<3", "!=2.0.0", "<2.0.0rc1"]
VERSIONS = ["0.9", "1.0", "1.5.2", "2.0.0rc1", "2.0.0", "2.3.1", "10.0"]

rule_strategy = st.builds(
    lambda i, pkg, spec, co, kind, score, rec: _rule(
        pkg,
        spec,
        rule_id=f"rule-{i}",
        co=tuple(co),
        kind=kind,
        score=score,
        recommendation_types=rec,
    ),
    st.integers(0, 10_000),
    st.sampled_from(PACKAGES),
    st.sampled_from(SPECIFIERS),
    st.lists(st.tuples(st.sampled_from(PACKAGES), st.sampled_from(SPECIFIERS)), max_size=2),
    st.sampled_from(["filter", "score", "reject-stack", "justify"]),
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    st.sampled_from([(), ("stable",), ("performance", "latest")]),
)
pins_strategy = st.dictionaries(st.sampled_from(PACKAGES), st.sampled_from(VERSIONS), max_size=5)
ENVS = [_env(), _env(platform="win_amd64", cuda_version="12.1"), _env(platform="any")]


@settings(max_examples=150, deadline=None)
@given(
    rules=st.lists(rule_strategy, max_size=12, unique_by=lambda r: r.id),
    pins=pins_strategy,
    env=st.sampled_from(ENVS),
    recommendation=st.sampled_from([None, "stable", "latest", "performance"]),
    data=st.data(),
)
def test_scores_are_bounded_and_evaluation_is_deterministic(
    rules: list[Prescription],
    pins: dict[str, str],
    env: RuntimeEnvironment,
    recommendation: str | None,
    data: st.DataObject,
) -> None:
    hits = evaluate_stack(rules, pins, env=env, recommendation=recommendation)
    for hit in hits:
        assert hit.score is None or -1.0 <= hit.score <= 1.0
        assert stack_matches(hit.rule, pins, env=env, recommendation=recommendation)
    assert evaluate_stack(rules, pins, env=env, recommendation=recommendation) == hits
    shuffled = data.draw(st.permutations(rules))
    assert evaluate_stack(shuffled, pins, env=env, recommendation=recommendation) == hits
    ids = [h.rule.id for h in hits]
    assert ids == sorted(ids)
    missed = [r for r in rules if r.id not in set(ids)]
    assert not any(stack_matches(r, pins, env=env, recommendation=recommendation) for r in missed)
