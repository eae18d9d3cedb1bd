"""The curated rules in ``knowledge/prescriptions/*.yaml``: every rule loads into a
:class:`~advisor.knowledge.schema.Prescription`, carries evidence (an https link that is not
a package index project page, a non-empty quote), has a bounded action, and is triggered by
its fixture stack while a near-miss stack (usually the fixed release) is not.

The files are read here with ``yaml.safe_load`` + ``msgspec.convert`` (a test provenance
added), independently of the folder loader, so a broken loader cannot hide a broken rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest
import yaml
from packaging.utils import canonicalize_name

from advisor.environment import CpuInfo, RuntimeEnvironment
from advisor.knowledge.rules import (
    candidate_matches,
    evaluate_stack,
    parse_specifier,
    stack_matches,
)
from advisor.knowledge.schema import (
    Action,
    CoInstalled,
    EnvironmentPredicate,
    Match,
    Prescription,
    Provenance,
)

PRESCRIPTIONS = Path(__file__).resolve().parents[1] / "knowledge" / "prescriptions"
RULE_KEYS = frozenset(Prescription.__struct_fields__) - {"provenance"}
# Nested mappings and their structs: msgspec ignores unknown keys, so typos are caught here.
NESTED: dict[str, tuple[type[msgspec.Struct], ...]] = {
    "match": (Match,),
    "action": (Action,),
    "match.environment": (EnvironmentPredicate,),
    "match.co_installed[]": (CoInstalled,),
}


def _unknown_keys(record: dict[str, Any]) -> list[str]:
    found = [key for key in record if key not in RULE_KEYS]
    for path, (struct,) in NESTED.items():
        parts = path.split(".")
        values: list[Any] = [record]
        for part in parts:
            many = part.endswith("[]")
            key = part.removesuffix("[]")
            values = [v.get(key) for v in values if isinstance(v, dict)]
            if many:
                values = [item for v in values if isinstance(v, list) for item in v]
        for value in values:
            if isinstance(value, dict):
                known = struct.__struct_fields__
                found += [f"{path}.{key}" for key in value if key not in known]
    return found


def _load() -> dict[str, Prescription]:
    rules: dict[str, Prescription] = {}
    for path in sorted(PRESCRIPTIONS.glob("*.yaml")):
        records = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(records, list), f"{path.name}: expected a list of rules"
        for record in records:
            assert isinstance(record, dict), f"{path.name}: a rule is not a mapping"
            unknown = _unknown_keys(record)
            assert not unknown, f"{path.name}: {record.get('id')}: unknown keys {unknown}"
            source = f"knowledge/prescriptions/{path.name}"
            provenance = Provenance(source=source, date="2024-01-01", tool="test")
            rule = msgspec.convert({**record, "provenance": provenance}, Prescription)
            assert rule.id not in rules, f"duplicate rule id {rule.id!r}"
            rules[rule.id] = rule
    return rules


RULES = _load()


def _env(**kwargs: Any) -> RuntimeEnvironment:
    values: dict[str, Any] = {"python_version": "3.11", "platform": "manylinux_2_28_x86_64"}
    values.update(kwargs)
    return RuntimeEnvironment(**values)


LINUX = _env()
WINDOWS_CUDA = _env(platform="win_amd64", cuda_version="12.2")
AVX2 = CpuInfo(model="test", arch="x86_64", features=("avx2", "sse4_2"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """``pins`` on ``env`` triggers the rule; ``miss_pins`` on ``miss_env`` (defaulting to
    the triggering ones) is the closest stack that must not."""

    pins: dict[str, str]
    miss_pins: dict[str, str] | None = None
    env: RuntimeEnvironment = LINUX
    miss_env: RuntimeEnvironment | None = None
    recommendation: str | None = "stable"


NP2 = "2.0.0"

CASES: dict[str, Case] = {
    # numpy.yaml
    "numpy2-abi-scikit-learn": Case(
        pins={"scikit-learn": "1.4.1.post1", "numpy": NP2},
        miss_pins={"scikit-learn": "1.4.2", "numpy": NP2},
    ),
    "numpy2-abi-scipy": Case(
        pins={"scipy": "1.12.0", "numpy": NP2}, miss_pins={"scipy": "1.13.0", "numpy": NP2}
    ),
    "numpy2-abi-pandas": Case(
        pins={"pandas": "2.2.1", "numpy": NP2}, miss_pins={"pandas": "2.2.2", "numpy": NP2}
    ),
    "numpy2-abi-h5py": Case(
        pins={"h5py": "3.10.0", "numpy": "2.0.0rc1"},
        miss_pins={"h5py": "3.11.0", "numpy": "2.0.0rc1"},
    ),
    "numpy2-abi-pyarrow": Case(
        pins={"pyarrow": "15.0.2", "numpy": NP2}, miss_pins={"pyarrow": "16.0.0", "numpy": NP2}
    ),
    "numpy2-abi-numexpr": Case(
        pins={"numexpr": "2.9.0", "numpy": NP2}, miss_pins={"numexpr": "2.10.0", "numpy": NP2}
    ),
    "numpy2-abi-matplotlib": Case(
        pins={"matplotlib": "3.8.3", "numpy": NP2},
        miss_pins={"matplotlib": "3.8.4", "numpy": NP2},
    ),
    "numpy2-abi-opencv-python": Case(
        pins={"opencv-python": "4.10.0.82", "numpy": NP2},
        miss_pins={"opencv-python": "4.10.0.84", "numpy": NP2},
    ),
    "numpy-python312-needs-1-26": Case(
        pins={"numpy": "1.25.2"}, env=_env(python_version="3.12"), miss_pins={"numpy": "1.26.0"}
    ),
    "numpy-1-19-4-windows-fmod": Case(
        pins={"numpy": "1.19.4"}, env=_env(platform="win_amd64"), miss_env=LINUX
    ),
    # tensorflow.yaml
    "tensorflow-numpy2-needs-2-18": Case(
        pins={"tensorflow": "2.17.0", "numpy": NP2},
        miss_pins={"tensorflow": "2.18.0", "numpy": NP2},
    ),
    "tensorflow-protobuf4-before-2-9-1": Case(
        pins={"tensorflow": "2.7.1", "protobuf": "4.21.0"},
        miss_pins={"tensorflow": "2.7.1", "protobuf": "3.20.3"},
    ),
    "tensorflow-h5py3-hdf5-models": Case(
        pins={"tensorflow": "2.1.0", "h5py": "3.0.0"},
        miss_pins={"tensorflow": "2.1.0", "h5py": "2.10.0"},
    ),
    "tensorflow-keras3-legacy-keras-env": Case(
        pins={"tensorflow": "2.16.1", "tf-keras": "2.16.0"},
        miss_pins={"tensorflow": "2.15.0", "tf-keras": "2.15.0"},
    ),
    "tensorflow-gnn-needs-legacy-keras": Case(
        pins={"tensorflow-gnn": "1.0.3", "tensorflow": "2.16.1"},
        miss_pins={"tensorflow-gnn": "1.0.3", "tensorflow": "2.15.1"},
    ),
    "tensorflow-recommenders-needs-legacy-keras": Case(
        pins={"tensorflow-recommenders": "0.7.3", "tensorflow": "2.16.1"},
        miss_pins={"tensorflow-recommenders": "0.7.3", "tensorflow": "2.15.1"},
    ),
    "tensorflow-probability-keras3-tf-2-16": Case(
        pins={"tensorflow-probability": "0.23.0", "tensorflow": "2.16.1"},
        miss_pins={"tensorflow-probability": "0.24.0", "tensorflow": "2.16.1"},
    ),
    "tensorflow-probability-keras3-tf-2-15": Case(
        pins={"tensorflow-probability": "0.23.0", "tensorflow": "2.15.0", "keras": "3.0.1"},
        miss_pins={"tensorflow-probability": "0.23.0", "tensorflow": "2.15.0", "keras": "2.15.0"},
    ),
    "tensorflow-probability-tf-2-14-needs-0-22": Case(
        pins={"tensorflow-probability": "0.21.0", "tensorflow": "2.14.0"},
        miss_pins={"tensorflow-probability": "0.22.0", "tensorflow": "2.14.0"},
    ),
    "tensorflow-no-gpu-on-native-windows": Case(
        pins={"tensorflow": "2.15.0"},
        env=WINDOWS_CUDA,
        miss_env=_env(platform="win_amd64"),  # the same Windows target without CUDA
    ),
    # pytorch.yaml
    "torch-numpy2-needs-2-3": Case(
        pins={"torch": "2.2.2", "numpy": NP2}, miss_pins={"torch": "2.3.0", "numpy": NP2}
    ),
    "torchrun-omp-threads-per-worker": Case(pins={"torch": "2.4.0"}, miss_pins={"torch": "1.9.0"}),
    # pandas.yaml
    "pandas-2-2-0-pyarrow-deprecation-warning": Case(
        pins={"pandas": "2.2.0"}, miss_pins={"pandas": "2.2.1"}
    ),
    "pandas-2-2-pyarrow-minimum": Case(
        pins={"pandas": "2.2.2", "pyarrow": "9.0.0"},
        miss_pins={"pandas": "2.2.2", "pyarrow": "10.0.1"},
    ),
    # scientific.yaml
    "numba-numpy2-needs-0-60": Case(
        pins={"numba": "0.59.1", "numpy": NP2}, miss_pins={"numba": "0.60.0", "numpy": NP2}
    ),
    "numba-numpy2-1-needs-0-61": Case(
        pins={"numba": "0.60.0", "numpy": "2.1.0"}, miss_pins={"numba": "0.61.0", "numpy": "2.1.0"}
    ),
    "numba-numpy2-2-needs-0-61-2": Case(
        pins={"numba": "0.61.0", "numpy": "2.2.0"}, miss_pins={"numba": "0.61.2", "numpy": "2.2.0"}
    ),
    "numba-numpy2-3-needs-0-62": Case(
        pins={"numba": "0.61.2", "numpy": "2.3.0"}, miss_pins={"numba": "0.62.0", "numpy": "2.3.0"}
    ),
    "numba-python3-13-needs-0-61": Case(
        pins={"numba": "0.60.0"},
        env=_env(python_version="3.13"),
        miss_env=_env(python_version="3.12"),
    ),
    "dask-single-threaded-blas": Case(
        pins={"dask": "2024.1.0", "numpy": "1.26.4"}, miss_pins={"dask": "2024.1.0"}
    ),
    "scikit-learn-thread-oversubscription": Case(
        pins={"scikit-learn": "1.5.0", "numpy": "1.26.4"}, miss_pins={"numpy": "1.26.4"}
    ),
    "numexpr-max-threads-cap": Case(pins={"numexpr": "2.10.1"}, miss_pins={"numexpr": "2.10.0"}),
}


def test_there_are_at_least_25_rules() -> None:
    assert len(RULES) >= 25


def test_every_rule_has_a_fixture_and_every_fixture_a_rule() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_is_triggered_by_its_fixture(rule_id: str) -> None:
    rule, case = RULES[rule_id], CASES[rule_id]
    assert stack_matches(rule, case.pins, env=case.env, recommendation=case.recommendation)
    hits = evaluate_stack(RULES.values(), case.pins, env=case.env, recommendation="stable")
    assert rule_id in [h.rule.id for h in hits]
    # The rule's own package, as a candidate, is within its range on that target.
    name = canonicalize_name(rule.match.package)
    version = {canonicalize_name(k): v for k, v in case.pins.items()}[name]
    assert candidate_matches(rule, name, version, env=case.env, recommendation="stable")


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_spares_the_near_miss(rule_id: str) -> None:
    rule, case = RULES[rule_id], CASES[rule_id]
    pins = case.miss_pins if case.miss_pins is not None else case.pins
    env = case.miss_env if case.miss_env is not None else case.env
    assert (pins, env) != (case.pins, case.env), "a near miss must differ from the fixture"
    assert not stack_matches(rule, pins, env=env, recommendation=case.recommendation)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_evidence_and_action(rule_id: str) -> None:
    rule = RULES[rule_id]
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.id), "ids are lower-case-with-dashes"
    assert rule.summary.strip()
    url = urlsplit(rule.link)
    assert url.scheme == "https" and url.netloc, rule.link
    # Never a package index's project page: evidence is release notes, issues, docs, code.
    assert not re.search(r"/project/[^/]+", url.path), rule.link
    assert rule.quote.strip() and len(rule.quote) <= 300
    assert rule.action.message.strip()
    if rule.action.kind == "score":
        assert rule.action.score is not None
    if rule.action.score is not None:
        assert -1.0 <= rule.action.score <= 1.0
    if rule.action.kind in ("filter", "reject-stack"):
        assert rule.action.level == "error"
    for var, value in rule.env_advice.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", var) and isinstance(value, str)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_specifiers_parse_and_name_other_packages(rule_id: str) -> None:
    rule = RULES[rule_id]
    parse_specifier(rule.match.specifier, rule_id=rule.id)
    names = [canonicalize_name(rule.match.package)]
    for co in rule.match.co_installed:
        parse_specifier(co.specifier, rule_id=rule.id, field="co_installed")
        names.append(canonicalize_name(co.package))
    assert len(names) == len(set(names)), "a co-installed entry repeats a package"
    env = rule.match.environment
    for text in (env.python, env.cuda):
        if text is not None:
            parse_specifier(text, rule_id=rule.id, field="environment")


def test_provenance_is_left_to_the_loader() -> None:
    for path in sorted(PRESCRIPTIONS.glob("*.yaml")):
        for record in yaml.safe_load(path.read_text(encoding="utf-8")):
            assert "provenance" not in record, f"{path.name}: {record['id']}"


def test_rules_without_cpu_predicates_ignore_the_cpu() -> None:
    # No shipped rule depends on CPU features, so describing the CPU changes nothing.
    case = CASES["numpy2-abi-pandas"]
    env = _env(cpu=AVX2)
    before = evaluate_stack(RULES.values(), case.pins, env=case.env, recommendation="stable")
    after = evaluate_stack(RULES.values(), case.pins, env=env, recommendation="stable")
    assert [h.rule.id for h in before] == [h.rule.id for h in after]
