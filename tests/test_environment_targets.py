"""Tests of :mod:`advisor.environment.targets` (the targets a command line and the configured
environments describe; a target as a lock records it) and of
:mod:`advisor.advice.targets`' small decisions (the pins a re-lock keeps, the time-limit
warning)."""

from __future__ import annotations

import dataclasses

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from advisor.advice.targets import kept_pins, time_limit_warning
from advisor.config import EnvironmentSpec
from advisor.environment import RuntimeEnvironment
from advisor.environment.targets import TargetSpec, build_targets, described_target, lock_table
from advisor.errors import InputError

HOST = RuntimeEnvironment(
    python_version="3.12.1",
    platform="linux_x86_64",
    libc="glibc",
    libc_version="2.31",
)
NAMED = {
    "gpu": EnvironmentSpec(name="gpu", python="3.11", cuda="12.1"),
    "old": EnvironmentSpec(name="old", python="3.9", platform="manylinux_2_17_x86_64"),
}


def test_no_names_give_one_target_from_the_fields() -> None:
    (target,) = build_targets(TargetSpec(python="3.11"), named=NAMED, where=None, host=HOST)
    assert target.python_version.startswith("3.11")
    assert target.name == "cp311-linux_x86_64"  # named after what it is


def test_named_environments_take_the_command_lines_fields_first() -> None:
    gpu, old = build_targets(
        TargetSpec(envs=("gpu", "old"), platform="manylinux_2_28_x86_64"),
        named=NAMED,
        where="pyproject.toml",
        host=HOST,
    )
    assert (gpu.name, old.name) == ("gpu", "old")
    assert gpu.cuda_version == "12.1"
    assert old.python_version.startswith("3.9")
    assert {gpu.platform, old.platform} == {"manylinux_2_28_x86_64"}


def test_a_named_environment_on_another_platform_has_the_cuda_it_declares() -> None:
    gpu_host = dataclasses.replace(HOST, cuda_version="12.4", cuda_source="driver")
    named = {
        "cuda": EnvironmentSpec(name="cuda", platform="manylinux_2_28_x86_64", cuda="12.1"),
        "image": EnvironmentSpec(name="image", platform="manylinux_2_28_x86_64"),
        "here": EnvironmentSpec(name="here", python="3.11"),
    }
    cuda, image, here = build_targets(
        TargetSpec(envs=("cuda", "image", "here")), named=named, where=None, host=gpu_host
    )
    assert (cuda.cuda_version, cuda.cuda_source) == ("12.1", "user")
    assert (image.cuda_version, image.cuda_source) == (None, None)  # not the host's 12.4
    assert (here.cuda_version, here.cuda_source) == ("12.4", "driver")  # this machine


def test_an_unknown_name_says_where_and_what_is_known() -> None:
    with pytest.raises(
        InputError, match=r"unknown environment 'cpu' \(in advisor.toml: gpu, old\)"
    ):
        build_targets(TargetSpec(envs=("cpu",)), named=NAMED, where="advisor.toml", host=HOST)
    with pytest.raises(InputError, match="none are configured"):
        build_targets(TargetSpec(envs=("cpu",)), named={}, where=None, host=HOST)


def test_the_lock_table_keeps_what_shapes_a_resolution() -> None:
    asked = RuntimeEnvironment.for_target(host=HOST, python="3.11", cuda="12.1")
    table = lock_table(asked)
    assert table["python_version"].startswith("3.11")
    assert table["cuda_version"] == "12.1"  # asked for: it shapes the lock
    assert "cpu" not in table
    assert table == {k: v for k, v in asked.to_dict().items() if k in table}
    assert "cuda_version" not in lock_table(HOST)


def test_a_relock_keeps_the_previous_pins_except_those_let_move() -> None:
    previous = {canonicalize_name("a"): Version("1"), canonicalize_name("b"): Version("2")}
    assert kept_pins(previous) == previous
    assert kept_pins(previous, upgrade=True) == {}
    assert kept_pins(previous, upgrade_packages=["B"]) == {"a": Version("1")}


def test_the_time_limit_warning_names_the_stopped_builds() -> None:
    assert time_limit_warning((), 30.0) is None
    said = time_limit_warning(("x 1.0", "y 2.0"), 2.5)
    assert said is not None
    assert said.startswith(
        "--time-limit 2.5 s stopped or refused the metadata build of x 1.0, y 2.0"
    )


def test_env_detect_describes_the_host_or_the_target_named() -> None:
    """``advisor env detect``'s target: the host itself when nothing is named, else the host
    with what is named changed."""
    host = RuntimeEnvironment.detect()
    assert described_target(host) is host
    mac = described_target(host, python="3.12", platform="macosx_14_0_arm64")
    assert (mac.python_version, mac.platform) == ("3.12", "macosx_14_0_arm64")
    assert mac.markers()["sys_platform"] == "darwin"
    assert described_target(host, implementation="pp").implementation == "pp"
    with pytest.raises(InputError):
        described_target(host, python="three")
