"""Host facts: parsers for what the host says about itself, and the probes that ask it.

Sits under :class:`advisor.environment.RuntimeEnvironment` (input edge of the data flow).
The ``parse_*`` functions and :func:`x86_64_level` are pure (text in, values out) and hold
the value types they produce (:class:`CpuInfo`, :class:`GpuInfo`, :class:`Uname`). The
``detect_*`` functions are the impure part, used by ``RuntimeEnvironment.detect()`` only:
they read files under ``/proc``, ``/etc`` and ``/usr/local/cuda`` and run ``nvidia-smi``,
``nvcc`` or the musl loader (5 s timeout each) when present. They never raise for a
missing fact: it is ``None``.
"""

from __future__ import annotations

import glob
import json
import os
import platform as _host
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.environment.platforms import (
    LINUX_ARCHS,
    WINDOWS_MACHINES,
    canonical_platform,
    parse_platform,
)
from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "CpuInfo",
    "GpuInfo",
    "Uname",
    "detect_cpu",
    "detect_cuda",
    "detect_libc",
    "detect_os_release",
    "detect_platform",
    "parse_cpuinfo",
    "parse_nvidia_smi",
    "parse_os_release",
    "x86_64_level",
]

# x86-64 micro-architecture levels (psABI), with /proc/cpuinfo's names for the flags.
_X86_LEVELS = (
    ("x86-64-v4", ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl")),
    ("x86-64-v3", ("avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave")),
    ("x86-64-v2", ("cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3")),
    ("x86-64-v1", ("cmov", "cx8", "fxsr", "mmx", "sse", "sse2")),
)
_FLAG_NAMES = {"pni": "sse3", "abm": "lzcnt"}
_KEPT_FLAGS = frozenset(
    "sse sse2 sse3 ssse3 sse4_1 sse4_2 popcnt cx16 lahf_lm movbe lzcnt bmi1 bmi2 fma f16c "
    "xsave avx avx2 avx_vnni avx512f avx512bw avx512cd avx512dq avx512vl avx512_vnni "
    "avx512_bf16 avx512_fp16 avx512vbmi amx_tile amx_bf16 amx_int8 aes sha_ni "
    "fp asimd neon vfpv4 asimddp asimdhp fphp sha1 sha2 crc32 atomics sve sve2 bf16 i8mm".split()
)
_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuInfo:
    """The CPU of a host: ``features`` are normalised flags (``sse3``, ``avx2``, ``asimd`` …),
    sorted; ``level`` is the x86-64 micro-architecture level (``x86-64-v3``) or ``None``;
    ``vendor`` the CPU's own vendor word (``GenuineIntel``, ``AuthenticAMD``; on ARM the
    implementer code, ``0x41``) or ``None``."""

    model: str | None
    arch: str
    features: tuple[str, ...] = ()
    cores: int | None = None
    level: str | None = None
    vendor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GpuInfo:
    """One GPU as its driver reports it (``vendor`` is lower case: ``"nvidia"``)."""

    vendor: str
    model: str
    memory_mb: int | None = None
    driver: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Uname:
    """What ``platform`` said about the detected host's kernel; kept while the target runs on
    the same OS and architecture, so that its markers are the host's, exactly."""

    release: str
    version: str
    machine: str


# -- parsers for host facts (pure, text in) -----------------------------------------------


def x86_64_level(flags: Iterable[str]) -> str | None:
    """The highest x86-64 level (``x86-64-v1``…``v4``) whose flags are all in ``flags``
    (``/proc/cpuinfo`` or normalised names); ``None`` when not even v1's are there."""
    have = set(flags)
    have |= {raw for raw, name in _FLAG_NAMES.items() if name in have}
    level = None
    for name, needed in reversed(_X86_LEVELS):
        if not all(f in have for f in needed):
            break
        level = name
    return level


def parse_cpuinfo(text: str, *, arch: str, cores: int | None = None) -> CpuInfo:
    """A :class:`CpuInfo` from ``/proc/cpuinfo`` text (first processor block)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    model = next(
        (fields[k] for k in ("model name", "Hardware", "Processor", "cpu model") if fields.get(k)),
        None,
    )
    raw = (fields.get("flags") or fields.get("Features") or "").split()
    features = tuple(sorted({_FLAG_NAMES.get(f, f) for f in raw} & _KEPT_FLAGS))
    level = x86_64_level(raw) if arch == "x86_64" and raw else None
    vendor = fields.get("vendor_id") or fields.get("CPU implementer") or None
    return CpuInfo(
        model=model, arch=arch, features=features, cores=cores, level=level, vendor=vendor
    )


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` lines of an ``os-release`` file, quotes removed."""
    found = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            found[key] = value.replace('\\"', '"')
    return found


def parse_nvidia_smi(text: str) -> tuple[GpuInfo, ...]:
    """GPUs from ``nvidia-smi --query-gpu=name,memory.total,driver_version
    --format=csv,noheader`` output (``"NVIDIA A100, 40960 MiB, 535.104.05"`` lines)."""
    gpus = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3 or not parts[0]:
            continue
        mem = re.match(r"(\d+)\s*MiB", parts[1])
        gpus.append(
            GpuInfo(
                vendor="nvidia",
                model=parts[0],
                memory_mb=int(mem[1]) if mem else None,
                driver=parts[2] or None,
            )
        )
    return tuple(gpus)


# -- host probing (impure; used by detect() only) ---------------------------------------


def _run(argv: list[str], *, any_status: bool = False) -> str | None:
    tool = shutil.which(argv[0])
    if tool is None:
        return None
    try:
        done = subprocess.run(
            [tool, *argv[1:]], capture_output=True, text=True, timeout=_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return None
    return done.stdout + done.stderr if done.returncode == 0 or any_status else None


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _host_arch() -> str:
    arch = sysconfig.get_platform().split("-")[-1].replace(".", "_").replace("-", "_")
    is_32bit = struct.calcsize("P") == 4
    if is_32bit and arch == "x86_64":
        return "i686"
    if is_32bit and arch == "aarch64":
        return "armv7l"
    return arch


def detect_libc() -> tuple[str | None, str | None]:
    """``(libc, version)`` of this host: ``("glibc", "2.31")``, ``("musl", "1.2")`` or Nones."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, OSError, ValueError):
        text = ""
    if text.startswith("glibc "):
        return "glibc", text.split()[1]
    if sys.platform != "linux":
        return None, None
    name, version = _host.libc_ver()
    if name == "glibc" and version:
        return "glibc", version
    loaders = sorted(glob.glob("/lib/ld-musl-*.so.1"))
    if loaders:
        out = _run([loaders[0]], any_status=True) or ""
        m = re.search(r"Version (\d+\.\d+)", out)
        return "musl", m[1] if m else None
    return None, None


def detect_platform(libc: str | None, libc_version: str | None) -> str:
    """This host's platform tag, given its libc (``any`` when it has none we know)."""
    if sys.platform == "darwin":
        release, _, machine = _host.mac_ver()
        parts = [int(p) for p in release.split(".")[:2] if p.isdigit()] + [0, 0]
        arch = "x86_64" if machine == "x86_64" else "arm64"
        return f"macosx_{parts[0]}_{parts[1] if parts[0] == 10 else 0}_{arch}"
    if sys.platform == "win32":
        plat = sysconfig.get_platform().replace("-", "_")
        return plat if plat in WINDOWS_MACHINES else "any"
    arch = _host_arch()
    if not sys.platform.startswith("linux") or arch not in LINUX_ARCHS:
        return "any"
    m = re.match(r"(\d+)\.(\d+)", libc_version or "")
    if m and libc in ("glibc", "musl"):
        candidate = f"{'many' if libc == 'glibc' else 'musl'}linux_{m[1]}_{m[2]}_{arch}"
        try:
            return canonical_platform(parse_platform(candidate))
        except InputError:
            pass
    return f"linux_{arch}"


def detect_cpu() -> CpuInfo | None:
    """This host's CPU (from ``/proc/cpuinfo`` when there is one)."""
    arch = _host.machine().lower()
    arch = {"amd64": "x86_64", "x64": "x86_64"}.get(arch, arch)
    if not arch:
        return None
    text = _read("/proc/cpuinfo")
    if text is None:
        return CpuInfo(model=_host.processor() or None, arch=arch, cores=os.cpu_count())
    return parse_cpuinfo(text, arch=arch, cores=os.cpu_count())


def detect_cuda() -> tuple[tuple[GpuInfo, ...], str | None, str | None]:
    """``(gpus, cuda_version, cuda_source)``: the driver's CUDA, else nvcc's, else the
    toolkit's ``version.json``; the source is ``"driver"``, ``"nvcc"`` or ``"toolkit"``."""
    gpus: tuple[GpuInfo, ...] = ()
    if shutil.which("nvidia-smi"):
        query = "--query-gpu=name,memory.total,driver_version"
        gpus = parse_nvidia_smi(_run(["nvidia-smi", query, "--format=csv,noheader"]) or "")
        m = re.search(r"CUDA Version:\s*(\d+\.\d+)", _run(["nvidia-smi"]) or "")
        if m:
            return gpus, m[1], "driver"
    if shutil.which("nvcc"):
        m = re.search(r"release (\d+\.\d+)", _run(["nvcc", "--version"]) or "")
        if m:
            return gpus, m[1], "nvcc"
    try:
        data = json.loads(_read("/usr/local/cuda/version.json") or "null")
        version = data["cuda"]["version"] if isinstance(data, dict) else None
    except (KeyError, TypeError, ValueError):
        version = None
    if isinstance(version, str) and re.match(r"\d+\.\d+", version):
        return gpus, ".".join(version.split(".")[:2]), "toolkit"
    return gpus, None, None


def detect_os_release() -> str | None:
    """A human name for this host's OS (``PRETTY_NAME`` of ``os-release`` on Linux)."""
    if sys.platform == "darwin":
        return f"macOS {_host.mac_ver()[0]}".strip()
    if sys.platform == "win32":
        return f"Windows {_host.release()}".strip()
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        text = _read(path)
        if text is not None:
            return parse_os_release(text).get("PRETTY_NAME") or None
    return None
