"""Tests for advisor.environment: target tags and markers, serialisation, host detection."""

from __future__ import annotations

import json
import os
import platform
import sys
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.markers import Marker, default_environment
from packaging.tags import Tag, mac_platforms, sys_tags
from packaging.utils import parse_wheel_filename

from advisor.environment import (
    CpuInfo,
    GpuInfo,
    RuntimeEnvironment,
    Uname,
    parse_cpuinfo,
    parse_nvidia_smi,
    parse_os_release,
    render_toml,
    x86_64_level,
)
from advisor.errors import InputError
from advisor.report.environment import render_environment

HOST_XY = "{}.{}".format(*sys.version_info[:2])


@pytest.fixture(scope="module")
def host() -> RuntimeEnvironment:
    return RuntimeEnvironment.detect()


def _linux_host(**changes: object) -> RuntimeEnvironment:
    """A fixed glibc 2.31 x86_64 host with CPU, GPU and kernel facts, for for_target tests."""
    values: dict[str, object] = {
        "name": "box",
        "python_version": "3.12.4",
        "platform": "manylinux_2_31_x86_64",
        "libc": "glibc",
        "libc_version": "2.31",
        "os_release": "Ubuntu 20.04.6 LTS",
        "cpu": CpuInfo(model="Some CPU", arch="x86_64", features=("avx2",), cores=8),
        "gpus": (GpuInfo(vendor="nvidia", model="NVIDIA A10", memory_mb=23028, driver="550"),),
        "cuda_version": "12.4",
        "cuda_source": "driver",
        "uname": Uname(release="5.15.0", version="#1 SMP", machine="x86_64"),
    }
    values.update(changes)
    return RuntimeEnvironment(**values)  # type: ignore[arg-type]


def _platforms(env: RuntimeEnvironment) -> list[str]:
    """The target's platform tags in order of first appearance."""
    seen: dict[str, None] = {}
    for tag in env.tags():
        seen.setdefault(tag.platform, None)
    return list(seen)


# -- the host -------------------------------------------------------------------------------


def test_host_tags_equal_sys_tags(host: RuntimeEnvironment) -> None:
    expected = tuple(sys_tags())
    assert host.tags() == expected
    assert RuntimeEnvironment.for_target(host=host, python=HOST_XY).tags() == expected
    assert RuntimeEnvironment.for_target(host=host).tags() == expected


def test_host_markers_equal_default_environment(host: RuntimeEnvironment) -> None:
    assert host.markers() == default_environment()
    assert RuntimeEnvironment.for_target(host=host).markers() == default_environment()
    assert RuntimeEnvironment.for_target(host=host, python=HOST_XY).markers() == (
        default_environment()
    )


def test_detect_describes_this_machine(host: RuntimeEnvironment) -> None:
    assert host.name == "host"
    assert host.python_version == platform.python_version()
    assert host.implementation == ("pp" if sys.implementation.name == "pypy" else "cp")
    if host.cpu is not None:
        assert host.cpu.cores == os.cpu_count()
        assert list(host.cpu.features) == sorted(host.cpu.features)
    if sys.platform == "linux" and host.libc == "glibc":
        assert host.platform.startswith("manylinux_")
        assert host.libc_version is not None
        assert host.platform.split("_")[1:3] == host.libc_version.split(".")[:2]
    assert all(g.vendor == "nvidia" for g in host.gpus)
    assert (host.cuda_version is None) == (host.cuda_source is None)


def test_for_target_without_overrides_is_the_host(host: RuntimeEnvironment) -> None:
    assert RuntimeEnvironment.for_target(host=host) == host


# -- tags for other targets ------------------------------------------------------------------


def test_manylinux_aarch64_target() -> None:
    env = RuntimeEnvironment.for_target(
        host=_linux_host(), python="3.12", platform="manylinux_2_28_aarch64"
    )
    plats = _platforms(env)
    assert plats[0] == "linux_aarch64"
    assert plats[1] == "manylinux_2_28_aarch64"
    assert plats.index("manylinux2014_aarch64") == plats.index("manylinux_2_17_aarch64") + 1
    # aarch64 wheels start at glibc 2.17: nothing older, no manylinux1/2010 aliases
    assert plats[-2:] == ["manylinux2014_aarch64", "any"]
    assert "manylinux_2_29_aarch64" not in plats
    assert not any("x86_64" in p for p in plats)
    assert env.tags()[0] == Tag("cp312", "cp312", "linux_aarch64")
    assert Tag("cp312", "abi3", "manylinux2014_aarch64") in env.tags()
    assert Tag("py3", "none", "any") in env.tags()
    assert env.markers()["platform_machine"] == "aarch64"
    assert env.markers()["sys_platform"] == "linux"
    assert env.libc == "glibc"
    assert env.libc_version == "2.28"


def test_manylinux_x86_64_chain_has_legacy_aliases_in_place() -> None:
    env = RuntimeEnvironment(python_version="3.11", platform="manylinux_2_28_x86_64")
    plats = _platforms(env)
    for alias, twin in [
        ("manylinux2014_x86_64", "manylinux_2_17_x86_64"),
        ("manylinux2010_x86_64", "manylinux_2_12_x86_64"),
        ("manylinux1_x86_64", "manylinux_2_5_x86_64"),
    ]:
        assert plats.index(alias) == plats.index(twin) + 1
    assert plats[-2:] == ["manylinux1_x86_64", "any"]
    manylinux = [p for p in plats if p.startswith("manylinux_")]
    assert manylinux == [f"manylinux_2_{y}_x86_64" for y in range(28, 4, -1)]


def test_legacy_manylinux_platform_is_normalised() -> None:
    env = RuntimeEnvironment(python_version="3.11", platform="manylinux2014_x86_64")
    assert env.platform == "manylinux_2_17_x86_64"
    assert "manylinux_2_18_x86_64" not in _platforms(env)


def test_macos_arm64_target() -> None:
    env = RuntimeEnvironment.for_target(
        host=_linux_host(), python="3.12", platform="macosx_14_0_arm64"
    )
    tags = env.tags()
    assert tags[0] == Tag("cp312", "cp312", "macosx_14_0_arm64")
    assert Tag("cp312", "abi3", "macosx_11_0_arm64") in tags
    assert Tag("cp312", "cp312", "macosx_14_0_universal2") in tags
    assert Tag("cp312", "cp312", "macosx_10_9_universal2") in tags
    assert Tag("cp312", "cp312", "macosx_10_9_x86_64") not in tags
    assert not any("linux" in t.platform for t in tags)
    assert _platforms(env)[:-1] == list(mac_platforms((14, 0), "arm64"))
    markers = env.markers()
    assert markers["sys_platform"] == "darwin"
    assert markers["platform_system"] == "Darwin"
    assert markers["os_name"] == "posix"
    assert markers["platform_machine"] == "arm64"
    assert markers["platform_release"] == ""
    # another OS: nothing of the Linux host is carried over
    assert env.cpu is None
    assert env.gpus == ()
    assert env.cuda_version is None
    assert env.libc is None
    assert env.uname is None


def test_macos_x86_64_target_and_minor_normalisation() -> None:
    env = RuntimeEnvironment(python_version="3.12", platform="macosx_14_5_x86_64")
    assert env.platform == "macosx_14_0_x86_64"
    plats = _platforms(env)
    assert "macosx_10_4_intel" in plats
    assert "macosx_13_0_universal2" in plats
    old = RuntimeEnvironment(python_version="3.9", platform="macosx_10_9_x86_64")
    assert old.platform == "macosx_10_9_x86_64"
    assert "macosx_10_10_x86_64" not in _platforms(old)


@pytest.mark.parametrize(
    ("plat", "machine"), [("win_amd64", "AMD64"), ("win32", "x86"), ("win_arm64", "ARM64")]
)
def test_windows_target(plat: str, machine: str) -> None:
    env = RuntimeEnvironment.for_target(host=_linux_host(), python="3.13", platform=plat)
    markers = env.markers()
    assert markers["os_name"] == "nt"
    assert markers["sys_platform"] == "win32"
    assert markers["platform_system"] == "Windows"
    assert markers["platform_machine"] == machine
    assert markers["python_version"] == "3.13"
    assert markers["python_full_version"] == "3.13.0"
    assert markers["implementation_version"] == "3.13.0"
    assert markers["implementation_name"] == "cpython"
    assert markers["platform_python_implementation"] == "CPython"
    assert env.tags()[0] == Tag("cp313", "cp313", plat)
    assert _platforms(env) == [plat, "any"]
    assert env.lock_marker() == (
        f'sys_platform == "win32" and platform_machine == "{machine}" and '
        'implementation_name == "cpython" and python_version == "3.13"'
    )


def test_musllinux_ordering() -> None:
    env = RuntimeEnvironment.for_target(
        host=_linux_host(), python="3.12", platform="musllinux_1_2_x86_64"
    )
    assert _platforms(env) == [
        "linux_x86_64",
        "musllinux_1_2_x86_64",
        "musllinux_1_1_x86_64",
        "musllinux_1_0_x86_64",
        "any",
    ]
    assert env.libc == "musl"
    assert env.libc_version == "1.2"
    assert env.tag_rank(Tag("cp312", "cp312", "musllinux_1_1_x86_64")) == 2
    assert env.tag_rank(Tag("cp312", "cp312", "manylinux_2_17_x86_64")) is None
    # same OS and architecture: the machine's CPU still describes the target; but a platform
    # this host is not (musl on a glibc machine) is another machine or image, whose GPUs and
    # CUDA are unknown (this test asserted the host's CUDA until the rule changed: a target
    # showed a CUDA nobody had stated)
    assert env.cpu == _linux_host().cpu
    assert (env.gpus, env.cuda_version, env.cuda_source) == ((), None, None)


def test_the_hosts_gpus_and_cuda_stay_only_on_its_own_platform() -> None:
    host = _linux_host()
    # this machine with another Python, by default or named by its own tag or linux_<arch>
    for own_tag in (None, "manylinux_2_31_x86_64", "linux_x86_64"):
        own = RuntimeEnvironment.for_target(host=host, python="3.10", platform=own_tag)
        assert (own.gpus, own.cuda_version, own.cuda_source) == (host.gpus, "12.4", "driver")
    # another platform, though this machine could install its wheels: no CUDA unless stated
    portable = RuntimeEnvironment.for_target(
        host=host, python="3.12", platform="manylinux_2_28_x86_64"
    )
    assert portable.cpu == host.cpu
    assert (portable.gpus, portable.cuda_version, portable.cuda_source) == ((), None, None)
    stated = RuntimeEnvironment.for_target(
        host=host, python="3.12", platform="manylinux_2_28_x86_64", cuda="12.1"
    )
    assert (stated.cuda_version, stated.cuda_source) == ("12.1", "user")
    assert "cuda_version" not in tomllib.loads(render_toml(portable))  # env detect's output


def test_linux_platform_takes_the_host_libc_level() -> None:
    glibc = RuntimeEnvironment.for_target(host=_linux_host(), platform="linux_aarch64")
    plats = _platforms(glibc)
    assert plats[:2] == ["linux_aarch64", "manylinux_2_31_aarch64"]
    assert "manylinux_2_32_aarch64" not in plats
    musl_host = _linux_host(platform="musllinux_1_1_x86_64", libc="musl", libc_version="1.1")
    musl = RuntimeEnvironment.for_target(host=musl_host, platform="linux_x86_64")
    assert _platforms(musl) == [
        "linux_x86_64",
        "musllinux_1_1_x86_64",
        "musllinux_1_0_x86_64",
        "any",
    ]
    bare = RuntimeEnvironment(python_version="3.12", platform="linux_x86_64")
    assert _platforms(bare) == ["linux_x86_64", "any"]


def test_pypy_target() -> None:
    env = RuntimeEnvironment.for_target(host=_linux_host(), python="3.10", implementation="pp")
    tags = env.tags()
    assert tags[0] == Tag("pp310", "pypy310_pp73", "linux_x86_64")
    assert Tag("pp3", "none", "any") in tags
    assert Tag("py310", "none", "any") in tags
    assert not any(t.interpreter.startswith("cp") for t in tags)
    markers = env.markers()
    assert markers["implementation_name"] == "pypy"
    assert markers["platform_python_implementation"] == "PyPy"
    assert markers["python_full_version"] == "3.10.0"
    assert env.name == "pp310-manylinux_2_31_x86_64"


def test_free_threaded_target() -> None:
    env = RuntimeEnvironment.for_target(host=_linux_host(), python="3.13t")
    assert env.python_version == "3.13"
    assert env.abi == "cp313t"
    assert env.tags()[0] == Tag("cp313", "cp313t", "linux_x86_64")
    assert not any(t.abi == "abi3" for t in env.tags())
    assert (
        env.fingerprint()
        != RuntimeEnvironment.for_target(host=_linux_host(), python="3.13").fingerprint()
    )


def test_any_platform_has_only_pure_python_tags() -> None:
    env = RuntimeEnvironment(python_version="3.12", platform="any")
    assert {t.platform for t in env.tags()} == {"any"}
    assert env.tags()[0] == Tag("cp312", "none", "any")
    assert env.markers()["sys_platform"] == ""
    assert env.lock_marker() == 'implementation_name == "cpython" and python_version == "3.12"'


def test_python_versions_for_targets() -> None:
    base = _linux_host()
    same = RuntimeEnvironment.for_target(host=base, python="3.12")
    assert same.python_version == "3.12.4"  # the host's own 3.12: its exact version is kept
    assert same.name == "box"
    exact = RuntimeEnvironment.for_target(host=base, python="3.12.1")
    assert exact.markers()["python_full_version"] == "3.12.1"
    other = RuntimeEnvironment.for_target(host=base, python="3.10", name="old")
    assert other.name == "old"
    assert other.markers()["python_full_version"] == "3.10.0"
    assert other.tags()[0] == Tag("cp310", "cp310", "linux_x86_64")
    cuda = RuntimeEnvironment.for_target(host=base, cuda="12.1")
    assert (cuda.cuda_version, cuda.cuda_source) == ("12.1", "user")


def test_tag_rank_and_best_rank() -> None:
    env = RuntimeEnvironment(python_version="3.12", platform="manylinux_2_28_x86_64")
    tags = env.tags()
    assert env.tag_rank(tags[0]) == 0
    assert env.tag_rank(tags[-1]) == len(tags) - 1
    assert env.tag_rank(Tag("cp312", "cp312", "win_amd64")) is None
    _, _, _, wheel_tags = parse_wheel_filename(
        "numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )
    rank = env.best_rank(wheel_tags)
    assert rank is not None
    assert rank == env.tag_rank(Tag("cp312", "cp312", "manylinux_2_17_x86_64"))
    assert env.best_rank([Tag("cp312", "cp312", "manylinux2014_x86_64")]) == rank + 1
    pure = env.best_rank([Tag("py3", "none", "any")])
    assert pure is not None and pure > rank
    assert env.best_rank([Tag("cp311", "cp311", "manylinux_2_17_x86_64")]) is None
    assert env.best_rank([]) is None


def test_lock_marker_describes_the_target(host: RuntimeEnvironment) -> None:
    marker = Marker(host.lock_marker())
    assert marker.evaluate(host.markers())
    mac = RuntimeEnvironment(python_version="3.12", platform="macosx_14_0_arm64")
    assert not marker.evaluate(mac.markers())
    assert Marker(mac.lock_marker()).evaluate(mac.markers())


def test_fingerprint_covers_resolution_fields_only() -> None:
    base = _linux_host()
    again = _linux_host(cpu=None, gpus=(), name="other", os_release=None, uname=None)
    assert base.fingerprint() == again.fingerprint()
    assert len(base.fingerprint()) == 16
    assert base.fingerprint() != _linux_host(python_version="3.12.5").fingerprint()
    assert base.fingerprint() != _linux_host(platform="manylinux_2_28_x86_64").fingerprint()
    assert base.fingerprint() != _linux_host(implementation="pp").fingerprint()


# -- serialisation ---------------------------------------------------------------------------


def test_round_trip_to_dict(host: RuntimeEnvironment) -> None:
    for env in (
        host,
        _linux_host(),
        RuntimeEnvironment.for_target(host=_linux_host(), python="3.13t"),
        RuntimeEnvironment(python_version="3.10", implementation="pp", platform="win_amd64"),
        _linux_host(cpu=CpuInfo(model=None, arch="aarch64"), platform="manylinux_2_17_aarch64"),
    ):
        data = env.to_dict()
        back = RuntimeEnvironment.from_dict(data)
        assert back == env
        assert back.fingerprint() == env.fingerprint()
        assert back.tags() == env.tags()


def test_to_dict_leaves_out_absent_values() -> None:
    env = RuntimeEnvironment(python_version="3.12", platform="win_amd64")
    assert env.to_dict() == {
        "name": "host",
        "python_version": "3.12",
        "implementation": "cp",
        "platform": "win_amd64",
    }
    short = RuntimeEnvironment.from_dict({"python": "3.12", "platform": "win_amd64"})
    assert short == env


def test_render_toml(host: RuntimeEnvironment) -> None:
    env = _linux_host()
    text = render_toml(env)
    assert text.startswith(f"# fingerprint: {env.fingerprint()}\n")
    data = tomllib.loads(text)
    assert data == env.to_dict()
    assert data["gpus"][0]["model"] == "NVIDIA A10"
    assert RuntimeEnvironment.from_dict(data) == env
    assert render_toml(env) == text  # deterministic
    assert RuntimeEnvironment.from_dict(tomllib.loads(render_toml(host))) == host


def test_render_environment_as_toml_or_json() -> None:
    """``advisor env detect``'s text (the report layer): the TOML above, or JSON with the
    target's markers, both ending with one newline."""
    env = _linux_host()
    assert render_environment(env) == render_toml(env)
    text = render_environment(env, as_json=True)
    assert text.endswith("}\n")
    data = json.loads(text)
    assert data.pop("markers") == env.markers()
    assert data == env.to_dict()
    assert RuntimeEnvironment.from_dict(data) == env


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform_tag", "fragment"),
    [
        ("macos_14", "unknown platform tag 'macos_14'; expected forms: manylinux_2_28_x86_64"),
        ("manylinux_2_28_arm64", "unknown architecture 'arm64'"),
        ("macosx_14_0_aarch64", "unknown architecture 'aarch64'"),
        ("manylinux_2_12_aarch64", "older than the first manylinux aarch64 release (2.17)"),
        ("macosx_10_15_arm64", "older than the first macos arm64 release (11.0)"),
        ("win_amd32", "unknown platform tag 'win_amd32'"),
        ("manylinux_3_0_x86_64", "there is no manylinux 3.x"),
        ("musllinux_2_0_x86_64", "there is no musllinux 2.x"),
        ("manylinux_2_999_x86_64", "unknown platform tag 'manylinux_2_999_x86_64'"),
        ("", "unknown platform tag ''"),
    ],
)
def test_bad_platform(platform_tag: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        RuntimeEnvironment.for_target(host=_linux_host(), platform=platform_tag)
    assert fragment in str(info.value)


@pytest.mark.parametrize("python", ["3", "py312", "2.7", "3.12.x", "three", "3.12tt"])
def test_bad_python(python: str) -> None:
    with pytest.raises(InputError, match=r"unknown Python version .*expected forms: 3\.12"):
        RuntimeEnvironment.for_target(host=_linux_host(), python=python)


def test_bad_implementation_and_cuda() -> None:
    with pytest.raises(InputError, match="expected cp \\(CPython\\) or pp \\(PyPy\\)"):
        RuntimeEnvironment.for_target(host=_linux_host(), implementation="jython")
    with pytest.raises(InputError, match="CPython only"):
        RuntimeEnvironment.for_target(host=_linux_host(), python="3.13t", implementation="pp")
    with pytest.raises(InputError, match="unknown CUDA version 'twelve'"):
        RuntimeEnvironment.for_target(host=_linux_host(), cuda="twelve")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], "runtime environment: expected a table"),
        ({"platform": "win32"}, "missing key 'python_version'"),
        ({"python": "3.12", "python_version": "3.12", "platform": "win32"}, "not both"),
        ({"python": 3.12, "platform": "win32"}, "python_version: expected str, got 3.12"),
        ({"python": "3.12", "platform": "win32", "colour": "red"}, "unknown keys ['colour']"),
        ({"python": "3.12", "platform": "win32", "cpu": "fast"}, "cpu: expected dict"),
        ({"python": "3.12", "platform": "win32", "cpu": {"model": "x"}}, "cpu: missing key 'arch'"),
        (
            {
                "python": "3.12",
                "platform": "win32",
                "cpu": {"arch": "x86_64", "features": [1], "model": "x"},
            },
            "cpu: features: expected list",
        ),
        ({"python": "3.12", "platform": "win32", "gpus": [{"vendor": "nvidia"}]}, "gpus[0]"),
        ({"python": "3.12", "platform": "win32", "gpus": ["A10"]}, "gpus[0]: expected a table"),
        ({"python": "3.12", "platform": "macos"}, "unknown platform tag 'macos'"),
    ],
)
def test_bad_dict(data: object, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        RuntimeEnvironment.from_dict(data)  # type: ignore[arg-type]
    assert fragment in str(info.value)


@given(st.text(alphabet="abcdilmnoqsuwx_0123456789", max_size=30))
def test_any_platform_string_is_accepted_or_refused_cleanly(text: str) -> None:
    try:
        env = RuntimeEnvironment(python_version="3.12", platform=text)
    except InputError:
        return
    assert env.tags()
    assert env.markers()["python_version"] == "3.12"


# -- parsers of host facts -------------------------------------------------------------------

X86_CPUINFO = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Example(R) CPU @ 3.00GHz
flags\t\t: fpu cx8 cmov mmx fxsr sse sse2 syscall lm pni ssse3 fma cx16 sse4_1 sse4_2 \
movbe popcnt aes xsave avx f16c lahf_lm abm bmi1 avx2 bmi2 rdrand

processor\t: 1
model name\t: Example(R) CPU @ 3.00GHz
flags\t\t: fpu
"""

ARM_CPUINFO = """\
processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics asimddp sve
CPU implementer\t: 0x41
"""


def test_parse_cpuinfo_x86() -> None:
    cpu = parse_cpuinfo(X86_CPUINFO, arch="x86_64", cores=4)
    assert cpu.model == "Example(R) CPU @ 3.00GHz"
    assert cpu.vendor == "GenuineIntel"  # performance knowledge matches on vendor and model
    assert cpu.level == "x86-64-v3"
    assert cpu.cores == 4
    assert "sse3" in cpu.features and "lzcnt" in cpu.features
    assert "pni" not in cpu.features and "fpu" not in cpu.features
    assert list(cpu.features) == sorted(cpu.features)


def test_parse_cpuinfo_arm() -> None:
    cpu = parse_cpuinfo(ARM_CPUINFO, arch="aarch64")
    assert cpu.model is None
    assert cpu.vendor == "0x41"
    assert cpu.level is None
    assert cpu.features == (
        "aes",
        "asimd",
        "asimddp",
        "atomics",
        "crc32",
        "fp",
        "sha1",
        "sha2",
        "sve",
    )
    assert parse_cpuinfo("", arch="x86_64").level is None


def test_x86_64_level() -> None:
    v1 = {"cmov", "cx8", "fxsr", "mmx", "sse", "sse2"}
    v2 = v1 | {"cx16", "lahf_lm", "popcnt", "sse3", "sse4_1", "sse4_2", "ssse3"}
    v3 = v2 | {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave"}
    v4 = v3 | {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}
    assert x86_64_level(set()) is None
    assert x86_64_level(v1) == "x86-64-v1"
    assert x86_64_level(v2) == "x86-64-v2"
    assert x86_64_level(v3) == "x86-64-v3"
    assert x86_64_level(v4) == "x86-64-v4"
    assert x86_64_level(v4 - {"popcnt"}) == "x86-64-v1"  # a level needs every lower one


def test_parse_nvidia_smi() -> None:
    text = "NVIDIA A100-SXM4-40GB, 40960 MiB, 535.104.05\nTesla T4, [N/A], 470.1\n\n"
    assert parse_nvidia_smi(text) == (
        GpuInfo(
            vendor="nvidia", model="NVIDIA A100-SXM4-40GB", memory_mb=40960, driver="535.104.05"
        ),
        GpuInfo(vendor="nvidia", model="Tesla T4", memory_mb=None, driver="470.1"),
    )
    assert parse_nvidia_smi("No devices were found\n") == ()


def test_parse_os_release() -> None:
    text = 'NAME="Debian GNU/Linux"\n# comment\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
    text += "ID=debian\nBAD LINE\n"
    assert parse_os_release(text) == {
        "NAME": "Debian GNU/Linux",
        "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)",
        "ID": "debian",
    }
