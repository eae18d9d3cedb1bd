"""Platform tags, Python versions and implementations of a target: parsing and tag lists.

Sits under :class:`advisor.environment.RuntimeEnvironment` (input edge of the data flow):
its constructor validates and normalises ``python_version``, ``implementation`` and
``platform`` with these functions, and its ``tags()`` asks :func:`manylinux_chain` for the
glibc levels a target accepts. Pure: text in, values (or
:class:`~advisor.errors.InputError`) out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from advisor.errors import InputError

__all__ = [
    "LINUX_ARCHS",
    "WINDOWS_MACHINES",
    "Platform",
    "canonical_platform",
    "manylinux_chain",
    "parse_implementation",
    "parse_platform",
    "parse_python",
    "parse_python_option",
]

_PLATFORM_FORMS = (
    "manylinux_2_28_x86_64, manylinux2014_aarch64, musllinux_1_2_x86_64, linux_x86_64, "
    "macosx_14_0_arm64, macosx_10_9_x86_64, win_amd64, win32, win_arm64, any"
)
_PYTHON_FORMS = "3.12, 3.12.4, 3.13t (free-threaded)"
LINUX_ARCHS = tuple("x86_64 i686 aarch64 armv7l ppc64 ppc64le s390x riscv64 loongarch64".split())
_MAC_ARCHS = ("arm64", "x86_64")
# Windows platform tags and the ``platform_machine`` each one reports.
WINDOWS_MACHINES = {"win_amd64": "AMD64", "win32": "x86", "win_arm64": "ARM64"}
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_LEGACY_BY_VERSION = {v: k for k, v in _LEGACY_MANYLINUX.items()}
_IMPLEMENTATIONS = {"cp": "cp", "cpython": "cp", "pp": "pp", "pypy": "pp"}
_PYTHON_RE = re.compile(r"(?P<x>3)\.(?P<y>\d{1,2})(?:\.\d{1,3}(?:(?:a|b|rc)\d{1,2})?\+?)?")
_PYTHON_OPTION_RE = re.compile(r"(?P<version>3\.\d{1,2}(?:\.\d{1,3})?)(?P<t>t?)")
_PLATFORM_RE = re.compile(
    r"(?P<family>manylinux|musllinux|macosx)_(?P<x>\d{1,2})_(?P<y>\d{1,2})_(?P<arch>\w+?)"
    r"|(?P<legacy>manylinux1|manylinux2010|manylinux2014)_(?P<larch>\w+)"
    r"|linux_(?P<linux>\w+)"
)


@dataclass(frozen=True, slots=True)
class Platform:
    """One parsed platform tag; ``major``/``minor`` are the glibc, musl or macOS level."""

    kind: str  # manylinux | musllinux | linux | macos | windows | any
    arch: str
    major: int = 0
    minor: int = 0

    @property
    def family(self) -> str:
        return "linux" if self.kind in ("manylinux", "musllinux", "linux") else self.kind


def parse_python(text: str) -> tuple[int, int]:
    """``(X, Y)`` of a Python version (``3.12``, ``3.12.4``, ``3.13.0rc1``); raises
    :class:`~advisor.errors.InputError` listing the accepted forms."""
    m = _PYTHON_RE.fullmatch(text) if isinstance(text, str) else None
    if not m:
        raise InputError(f"unknown Python version {text!r}; expected forms: {_PYTHON_FORMS}")
    return int(m["x"]), int(m["y"])


def parse_python_option(text: str) -> tuple[str, bool]:
    """``(version, free_threaded)`` of a ``--python`` option (``3.12``, ``3.12.4``, ``3.13t``)."""
    m = _PYTHON_OPTION_RE.fullmatch(text.strip())
    if not m:
        raise InputError(f"unknown Python version {text!r}; expected forms: {_PYTHON_FORMS}")
    parse_python(m["version"])
    return m["version"], bool(m["t"])


def parse_implementation(text: str) -> str:
    """``cp`` or ``pp`` for an implementation name (``cpython``, ``PyPy`` …)."""
    impl = _IMPLEMENTATIONS.get(text.lower()) if isinstance(text, str) else None
    if impl is None:
        raise InputError(
            f"unknown Python implementation {text!r}; expected cp (CPython) or pp (PyPy)"
        )
    return impl


def parse_platform(tag: str) -> Platform:
    """A :class:`Platform` from one platform tag, checked against the architectures and the
    oldest level of its family; legacy ``manylinux2014``-style names are translated."""
    if not isinstance(tag, str):
        raise InputError(f"unknown platform tag {tag!r}; expected forms: {_PLATFORM_FORMS}")
    if tag == "any":
        return Platform("any", "")
    if tag in WINDOWS_MACHINES:
        return Platform("windows", tag)
    m = _PLATFORM_RE.fullmatch(tag)
    if not m:
        raise InputError(f"unknown platform tag {tag!r}; expected forms: {_PLATFORM_FORMS}")
    if m["legacy"]:
        arch, (x, y), kind = m["larch"], _LEGACY_MANYLINUX[m["legacy"]], "manylinux"
    elif m["linux"]:
        arch, (x, y), kind = m["linux"], (0, 0), "linux"
    else:
        arch, x, y = m["arch"], int(m["x"]), int(m["y"])
        kind = "macos" if m["family"] == "macosx" else m["family"]
    archs = _MAC_ARCHS if kind == "macos" else LINUX_ARCHS
    if arch not in archs:
        raise InputError(
            f"unknown architecture {arch!r} in platform tag {tag!r}; "
            f"expected one of {', '.join(archs)}"
        )
    floor = {
        "manylinux": (2, 5) if arch in ("x86_64", "i686") else (2, 17),
        "musllinux": (1, 0),
        "macos": (11, 0) if arch == "arm64" else (10, 4),
    }.get(kind, (0, 0))
    if (kind == "manylinux" and x != 2) or (kind == "musllinux" and x != 1):
        raise InputError(f"platform tag {tag!r}: there is no {kind} {x}.x")
    if (x, y) < floor:
        raise InputError(
            f"platform tag {tag!r} is older than the first "
            f"{kind} {arch} release ({floor[0]}.{floor[1]})"
        )
    if kind == "macos" and x >= 11:
        y = 0  # since macOS 11 only the major version names a platform
    return Platform(kind, arch, x, y)


def canonical_platform(plat: Platform) -> str:
    """The one platform tag naming ``plat`` (``manylinux_2_17_x86_64``, not ``manylinux2014``)."""
    if plat.kind in ("any", "windows"):
        return plat.arch or "any"
    if plat.kind == "linux":
        return f"linux_{plat.arch}"
    prefix = "macosx" if plat.kind == "macos" else plat.kind
    return f"{prefix}_{plat.major}_{plat.minor}_{plat.arch}"


def manylinux_chain(minor: int, arch: str) -> list[str]:
    """``manylinux_2_Y`` from glibc 2.``minor`` down to the oldest one for ``arch``, each
    legacy alias right after its ``manylinux_2_*`` twin (as on a real glibc host)."""
    found = []
    for y in range(minor, 4 if arch in ("x86_64", "i686") else 16, -1):
        found.append(f"manylinux_2_{y}_{arch}")
        if (2, y) in _LEGACY_BY_VERSION:
            found.append(f"{_LEGACY_BY_VERSION[2, y]}_{arch}")
    return found
