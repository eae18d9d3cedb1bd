"""The target runtime environment: what a stack is resolved, scored and locked *for*.

Sits at the input edge of the data flow, next to the request: the CLI or config builds one
:class:`RuntimeEnvironment` per target (``detect()`` for this machine, ``for_target()`` for
another Python, implementation or platform tag), and every lower layer only asks it pure
questions: ``markers()`` to evaluate PEP 508 markers, ``tags()``/``tag_rank()`` to filter and
order wheels, ``lock_marker()`` and ``to_dict()`` for the lock. ``detect()`` is the only
function here that looks at the host (files under ``/proc`` and ``/etc``, ``nvidia-smi``,
``nvcc``); everything else is computed from the fields, for the target, not for the host.

A target whose Python is only known as ``X.Y`` evaluates ``python_full_version`` (and, for
CPython, ``implementation_version``) as ``X.Y.0``.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import platform as _host
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import tomli_w
from packaging.tags import (
    compatible_tags,
    cpython_tags,
    generic_tags,
    interpreter_abi,
    interpreter_name,
    mac_platforms,
)

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from packaging.tags import Tag

__all__ = [
    "CpuInfo",
    "GpuInfo",
    "RuntimeEnvironment",
    "Uname",
    "parse_cpuinfo",
    "parse_nvidia_smi",
    "parse_os_release",
    "render_toml",
    "x86_64_level",
]

_PLATFORM_FORMS = (
    "manylinux_2_28_x86_64, manylinux2014_aarch64, musllinux_1_2_x86_64, linux_x86_64, "
    "macosx_14_0_arm64, macosx_10_9_x86_64, win_amd64, win32, win_arm64, any"
)
_PYTHON_FORMS = "3.12, 3.12.4, 3.13t (free-threaded)"
_LINUX_ARCHS = tuple("x86_64 i686 aarch64 armv7l ppc64 ppc64le s390x riscv64 loongarch64".split())
_MAC_ARCHS = ("arm64", "x86_64")
_WINDOWS = {"win_amd64": "AMD64", "win32": "x86", "win_arm64": "ARM64"}
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
    sorted; ``level`` is the x86-64 micro-architecture level (``x86-64-v3``) or ``None``."""

    model: str | None
    arch: str
    features: tuple[str, ...] = ()
    cores: int | None = None
    level: str | None = None


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


@dataclass(frozen=True, slots=True)
class _Platform:
    kind: str  # manylinux | musllinux | linux | macos | windows | any
    arch: str
    major: int = 0
    minor: int = 0

    @property
    def family(self) -> str:
        return "linux" if self.kind in ("manylinux", "musllinux", "linux") else self.kind


class _Memo:
    __slots__ = ("ranks", "tags")

    def __init__(self) -> None:
        self.tags: tuple[Tag, ...] | None = None
        self.ranks: dict[Tag, int] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeEnvironment:
    """A target to resolve for. Construction validates and normalises ``python_version``,
    ``implementation`` and ``platform`` (raises :class:`~advisor.errors.InputError`).

    ``platform`` is one platform tag naming the target; ``linux_<arch>`` means "the glibc
    or musl level in ``libc``/``libc_version``" (the host's, via ``for_target``), and legacy
    ``manylinux2014_*``-style tags become ``manylinux_2_17_*``. ``abi`` is the interpreter's
    own ABI tag when not the default (``cp313t``, ``cp311d``, ``pypy310_pp73``), and
    ``implementation_version`` PyPy's own version (taken as ``7.3.0``, the ``pp73`` ABI,
    when unknown). ``cuda_source`` says where ``cuda_version``
    came from: ``"driver"`` (nvidia-smi), ``"nvcc"``, ``"toolkit"`` (version.json), ``"user"``.
    """

    name: str = "host"
    python_version: str
    implementation: str = "cp"
    platform: str
    abi: str | None = None
    implementation_version: str | None = None
    cpu: CpuInfo | None = None
    gpus: tuple[GpuInfo, ...] = ()
    cuda_version: str | None = None
    cuda_source: str | None = None
    libc: str | None = None
    libc_version: str | None = None
    os_release: str | None = None
    uname: Uname | None = None
    _memo: _Memo = field(default_factory=_Memo, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _parse_python(self.python_version)
        object.__setattr__(self, "implementation", _parse_implementation(self.implementation))
        object.__setattr__(self, "platform", _canonical_platform(_parse_platform(self.platform)))

    # -- derived views ------------------------------------------------------------------

    @property
    def _xy(self) -> tuple[int, int]:
        return _parse_python(self.python_version)

    @property
    def _plat(self) -> _Platform:
        return _parse_platform(self.platform)

    def _full_version(self) -> str:
        full = self.python_version.count(".") >= 2
        return self.python_version if full else f"{self.python_version}.0"

    def _abi(self) -> str:
        x, y = self._xy
        if self.abi:
            return self.abi
        return f"cp{x}{y}" if self.implementation == "cp" else f"pypy{x}{y}_pp73"

    def _implementation_version(self) -> str:
        if self.implementation_version:
            return self.implementation_version
        return self._full_version() if self.implementation == "cp" else "7.3.0"

    def _libc_level(self) -> tuple[str, int, int] | None:
        plat = self._plat
        if plat.kind in ("manylinux", "musllinux"):
            return ("glibc" if plat.kind == "manylinux" else "musl", plat.major, plat.minor)
        if plat.kind == "linux" and self.libc and self.libc_version:
            m = re.match(r"(\d+)\.(\d+)", self.libc_version)
            if m:
                return (self.libc, int(m[1]), int(m[2]))
        return None

    def markers(self) -> dict[str, str]:
        """The complete PEP 508 marker environment of the target (no ``extra``).

        OS and machine come from the platform tag (``""`` for ``any``); ``platform_release``
        and ``platform_version`` are ``""`` unless known from the detected host.
        """
        plat = self._plat
        os_name, sys_platform, system, machine = {
            "macos": ("posix", "darwin", "Darwin", plat.arch),
            "windows": ("nt", "win32", "Windows", _WINDOWS.get(self.platform, "")),
            "any": ("", "", "", ""),
        }.get(plat.family, ("posix", "linux", "Linux", plat.arch))
        pypy = self.implementation == "pp"
        return {
            "implementation_name": "pypy" if pypy else "cpython",
            "implementation_version": self._implementation_version(),
            "os_name": os_name,
            "platform_machine": self.uname.machine if self.uname else machine,
            "platform_release": self.uname.release if self.uname else "",
            "platform_system": system,
            "platform_version": self.uname.version if self.uname else "",
            "python_full_version": self._full_version(),
            "platform_python_implementation": "PyPy" if pypy else "CPython",
            "python_version": "{}.{}".format(*self._xy),
            "sys_platform": sys_platform,
        }

    def _platform_tags(self) -> list[str]:
        plat = self._plat
        if plat.kind == "macos":
            return list(mac_platforms((plat.major, plat.minor), plat.arch))
        if plat.kind == "windows":
            return [self.platform]
        if plat.kind == "any":
            return []
        found = [f"linux_{plat.arch}"]
        level = self._libc_level()
        if level and level[0] == "glibc" and level[1] == 2:
            found += _manylinux_chain(level[2], plat.arch)
        elif level and level[0] == "musl":
            found += [f"musllinux_{level[1]}_{y}_{plat.arch}" for y in range(level[2], -1, -1)]
        return found

    def tags(self) -> tuple[Tag, ...]:
        """Supported wheel tags on the target, most preferred first (computed once).

        The order is the one ``packaging.tags.sys_tags()`` produces when run on the target.
        """
        if self._memo.tags is None:
            x, y = self._xy
            plats = self._platform_tags()
            if self.implementation == "cp":
                abis = [self._abi()]
                if abis[0].endswith("d"):  # debug builds also load non-debug extensions
                    abis.append(abis[0][:-1])
                found = list(cpython_tags(python_version=(x, y), abis=abis, platforms=plats))
                interpreter = f"cp{x}{y}"
            else:
                found = list(
                    generic_tags(interpreter=f"pp{x}{y}", abis=[self._abi()], platforms=plats)
                )
                interpreter = f"pp{x}"
            found += compatible_tags(
                python_version=(x, y), interpreter=interpreter, platforms=plats
            )
            self._memo.tags = tuple(found)
        return self._memo.tags

    def tag_rank(self, tag: Tag) -> int | None:
        """Index of ``tag`` in :meth:`tags` (0 is best), ``None`` if unsupported. O(1)."""
        if self._memo.ranks is None:
            ranks: dict[Tag, int] = {}
            for i, t in enumerate(self.tags()):
                ranks.setdefault(t, i)
            self._memo.ranks = ranks
        return self._memo.ranks.get(tag)

    def best_rank(self, tags: Iterable[Tag]) -> int | None:
        """Best (lowest) rank among a wheel's tags, ``None`` if the wheel does not install."""
        ranks = [r for r in map(self.tag_rank, tags) if r is not None]
        return min(ranks) if ranks else None

    def lock_marker(self) -> str:
        """A PEP 508 marker describing the target, for pylock ``environments``."""
        m = self.markers()
        keys: tuple[str, ...] = ("implementation_name", "python_version")
        if self._plat.kind != "any":
            keys = ("sys_platform", "platform_machine", *keys)
        return " and ".join(f'{k} == "{m[k]}"' for k in keys)

    def fingerprint(self) -> str:
        """16 hex digits naming what resolution depends on: Python, implementation, ABI,
        platform and libc level; not CPU, GPU, names or the host's kernel."""
        key = [
            self.python_version,
            self.implementation,
            self._abi(),
            self._implementation_version(),
            self.platform,
            self._libc_level(),
        ]
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]

    # -- serialisation ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain TOML/JSON-ready data; ``None`` and empty values are left out."""
        data: dict[str, Any] = _plain(self)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuntimeEnvironment:
        """Inverse of :meth:`to_dict`; ``python`` is accepted for ``python_version``.

        Raises :class:`~advisor.errors.InputError` naming the bad key.
        """
        if isinstance(data, Mapping) and "python" in data:
            if "python_version" in data:
                raise InputError("runtime environment: 'python' or 'python_version', not both")
            data = {("python_version" if k == "python" else k): v for k, v in data.items()}
        values = _table(cls, data, "runtime environment")
        if "cpu" in values:
            values["cpu"] = CpuInfo(**_table(CpuInfo, values["cpu"], "cpu"))
        if "uname" in values:
            values["uname"] = Uname(**_table(Uname, values["uname"], "uname"))
        gpus = enumerate(values.get("gpus", ()))
        values["gpus"] = tuple(GpuInfo(**_table(GpuInfo, g, f"gpus[{i}]")) for i, g in gpus)
        return cls(**values)

    # -- constructors -------------------------------------------------------------------

    @classmethod
    def for_target(
        cls,
        *,
        host: RuntimeEnvironment,
        python: str | None = None,
        platform: str | None = None,
        implementation: str | None = None,
        name: str | None = None,
        cuda: str | None = None,
    ) -> RuntimeEnvironment:
        """The target described by CLI/config options, filled in from ``host``.

        ``python`` is ``X.Y``, ``X.Y.Z`` or ``X.Yt`` (free-threaded); when ``X.Y`` is the
        host's, the host's exact version and ABI are kept. ``platform`` ``linux_<arch>``
        takes the host's libc level. CPU, GPUs and CUDA are kept when OS and architecture
        are the host's. Raises :class:`~advisor.errors.InputError` for bad values.
        """
        impl = _parse_implementation(implementation or host.implementation)
        same_impl = impl == host.implementation
        py, abi, impl_version = host.python_version, host.abi, host.implementation_version
        if python is not None or not same_impl:
            version, threaded = _parse_python_option(python or "{}.{}".format(*host._xy))
            host_threaded = bool(re.fullmatch(r"cp\d+td?", host._abi()))
            host_xy = "{}.{}".format(*host._xy)
            keep = same_impl and version == host_xy and threaded == host_threaded
            if not keep:
                if threaded and impl != "cp":
                    raise InputError(f"free-threaded Python {python!r} is CPython only")
                x, y = _parse_python(version)
                py, abi, impl_version = version, (f"cp{x}{y}t" if threaded else None), None
        plat = _parse_platform(platform) if platform is not None else host._plat
        target = _canonical_platform(plat)
        hplat = host._plat
        same_machine = plat.family == hplat.family and plat.arch == hplat.arch
        libc, libc_version = None, None
        if target == host.platform or plat.kind == "linux":
            libc, libc_version = host.libc, host.libc_version
        elif plat.kind in ("manylinux", "musllinux"):
            libc = "glibc" if plat.kind == "manylinux" else "musl"
            libc_version = f"{plat.major}.{plat.minor}"
        cuda_version = host.cuda_version if same_machine else None
        cuda_source = host.cuda_source if same_machine else None
        if cuda is not None:
            if not re.fullmatch(r"\d+(\.\d+){0,2}", cuda):
                raise InputError(f"unknown CUDA version {cuda!r}; expected forms: 12, 12.4, 12.4.1")
            cuda_version, cuda_source = cuda, "user"
        changed = (py, impl, target, cuda_version) != (
            host.python_version,
            host.implementation,
            host.platform,
            host.cuda_version,
        )
        x, y = _parse_python(py)
        return cls(
            name=name or (f"{impl}{x}{y}-{target}" if changed else host.name),
            python_version=py,
            implementation=impl,
            platform=target,
            abi=abi,
            implementation_version=impl_version,
            cpu=host.cpu if same_machine else None,
            gpus=host.gpus if same_machine else (),
            cuda_version=cuda_version,
            cuda_source=cuda_source,
            libc=libc,
            libc_version=libc_version,
            os_release=host.os_release if target == host.platform else None,
            uname=host.uname if same_machine else None,
        )

    @classmethod
    def detect(cls) -> RuntimeEnvironment:
        """This machine, as far as it can be told cheaply; absent facts are ``None``.

        Reads ``/proc/cpuinfo`` and ``/etc/os-release``; runs ``nvidia-smi`` and ``nvcc``
        (5 s timeout each) only when they are on ``PATH``. Never raises for missing facts.
        """
        impl = interpreter_name()
        impl_abi = interpreter_abi()
        default_abi = "cp{}{}".format(*sys.version_info[:2])
        libc, libc_version = _detect_libc()
        cpu = _detect_cpu()
        gpus, cuda_version, cuda_source = _detect_cuda()
        return cls(
            name="host",
            python_version=_host.python_version(),
            implementation=impl if impl in ("cp", "pp") else "cp",
            platform=_detect_platform(libc, libc_version),
            abi=None if impl == "cp" and impl_abi == default_abi else impl_abi,
            implementation_version=(
                None if impl == "cp" else ".".join(map(str, sys.implementation.version[:3]))
            ),
            cpu=cpu,
            gpus=gpus,
            cuda_version=cuda_version,
            cuda_source=cuda_source,
            libc=libc,
            libc_version=libc_version,
            os_release=_detect_os_release(),
            uname=Uname(release=_host.release(), version=_host.version(), machine=_host.machine()),
        )


def render_toml(env: RuntimeEnvironment) -> str:
    """``env.to_dict()`` as TOML, headed by comments with its fingerprint and lock marker."""
    head = f"# fingerprint: {env.fingerprint()}\n# marker: {env.lock_marker()}\n"
    return head + tomli_w.dumps(env.to_dict())


# -- validation -------------------------------------------------------------------------


def _parse_python(text: str) -> tuple[int, int]:
    m = _PYTHON_RE.fullmatch(text) if isinstance(text, str) else None
    if not m:
        raise InputError(f"unknown Python version {text!r}; expected forms: {_PYTHON_FORMS}")
    return int(m["x"]), int(m["y"])


def _parse_python_option(text: str) -> tuple[str, bool]:
    m = _PYTHON_OPTION_RE.fullmatch(text.strip())
    if not m:
        raise InputError(f"unknown Python version {text!r}; expected forms: {_PYTHON_FORMS}")
    _parse_python(m["version"])
    return m["version"], bool(m["t"])


def _parse_implementation(text: str) -> str:
    impl = _IMPLEMENTATIONS.get(text.lower()) if isinstance(text, str) else None
    if impl is None:
        raise InputError(
            f"unknown Python implementation {text!r}; expected cp (CPython) or pp (PyPy)"
        )
    return impl


def _parse_platform(tag: str) -> _Platform:
    if not isinstance(tag, str):
        raise InputError(f"unknown platform tag {tag!r}; expected forms: {_PLATFORM_FORMS}")
    if tag == "any":
        return _Platform("any", "")
    if tag in _WINDOWS:
        return _Platform("windows", tag)
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
    archs = _MAC_ARCHS if kind == "macos" else _LINUX_ARCHS
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
    return _Platform(kind, arch, x, y)


def _canonical_platform(plat: _Platform) -> str:
    if plat.kind in ("any", "windows"):
        return plat.arch or "any"
    if plat.kind == "linux":
        return f"linux_{plat.arch}"
    prefix = "macosx" if plat.kind == "macos" else plat.kind
    return f"{prefix}_{plat.major}_{plat.minor}_{plat.arch}"


def _manylinux_chain(minor: int, arch: str) -> list[str]:
    """``manylinux_2_Y`` from glibc 2.``minor`` down to the oldest one for ``arch``, each
    legacy alias right after its ``manylinux_2_*`` twin (as on a real glibc host)."""
    found = []
    for y in range(minor, 4 if arch in ("x86_64", "i686") else 16, -1):
        found.append(f"manylinux_2_{y}_{arch}")
        if (2, y) in _LEGACY_BY_VERSION:
            found.append(f"{_LEGACY_BY_VERSION[2, y]}_{arch}")
    return found


def _plain(value: Any) -> Any:
    """Dataclass values as dicts (fields in declaration order), tuples as lists; ``None``,
    empty and private fields are left out."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if not hasattr(value, "__dataclass_fields__"):
        return value
    items = ((f.name, getattr(value, f.name)) for f in fields(value) if f.init)
    return {k: _plain(v) for k, v in items if v is not None and v != ()}


# What a TOML/JSON value must be, per field annotation (``from __future__`` makes them text).
_TOML_TYPES: dict[str, type] = {
    "str": str,
    "str | None": str,
    "int | None": int,
    "tuple[str, ...]": list,
    "CpuInfo | None": dict,
    "tuple[GpuInfo, ...]": list,
    "Uname | None": dict,
}


def _table(kind: type, data: object, where: str) -> dict[str, Any]:
    """Check ``data`` against the init fields of dataclass ``kind``: names, types, required
    keys. Lists become tuples. Raises :class:`InputError` naming ``where`` and the key."""
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: expected a table, got {data!r}")
    known = {f.name: f for f in fields(kind) if f.init}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InputError(f"{where}: unknown keys {unknown}; expected some of {sorted(known)}")
    values: dict[str, Any] = {}
    for f in known.values():
        if f.name in data or f.default is not MISSING or f.default_factory is not MISSING:
            continue
        if not str(f.type).endswith("| None"):
            raise InputError(f"{where}: missing key {f.name!r}")
        values[f.name] = None  # to_dict() leaves out None
    for key, value in data.items():
        expected = _TOML_TYPES[str(known[key].type)]
        ok = isinstance(value, expected) and not isinstance(value, bool)
        if ok and str(known[key].type) == "tuple[str, ...]":
            ok = all(isinstance(v, str) for v in value)
        if not ok:
            raise InputError(f"{where}: {key}: expected {expected.__name__}, got {value!r}")
        values[key] = tuple(value) if isinstance(value, list) else value
    return values


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
    return CpuInfo(model=model, arch=arch, features=features, cores=cores, level=level)


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


def _detect_libc() -> tuple[str | None, str | None]:
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


def _detect_platform(libc: str | None, libc_version: str | None) -> str:
    if sys.platform == "darwin":
        release, _, machine = _host.mac_ver()
        parts = [int(p) for p in release.split(".")[:2] if p.isdigit()] + [0, 0]
        arch = "x86_64" if machine == "x86_64" else "arm64"
        return f"macosx_{parts[0]}_{parts[1] if parts[0] == 10 else 0}_{arch}"
    if sys.platform == "win32":
        plat = sysconfig.get_platform().replace("-", "_")
        return plat if plat in _WINDOWS else "any"
    arch = _host_arch()
    if not sys.platform.startswith("linux") or arch not in _LINUX_ARCHS:
        return "any"
    m = re.match(r"(\d+)\.(\d+)", libc_version or "")
    if m and libc in ("glibc", "musl"):
        candidate = f"{'many' if libc == 'glibc' else 'musl'}linux_{m[1]}_{m[2]}_{arch}"
        try:
            return _canonical_platform(_parse_platform(candidate))
        except InputError:
            pass
    return f"linux_{arch}"


def _detect_cpu() -> CpuInfo | None:
    arch = _host.machine().lower()
    arch = {"amd64": "x86_64", "x64": "x86_64"}.get(arch, arch)
    if not arch:
        return None
    text = _read("/proc/cpuinfo")
    if text is None:
        return CpuInfo(model=_host.processor() or None, arch=arch, cores=os.cpu_count())
    return parse_cpuinfo(text, arch=arch, cores=os.cpu_count())


def _detect_cuda() -> tuple[tuple[GpuInfo, ...], str | None, str | None]:
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


def _detect_os_release() -> str | None:
    if sys.platform == "darwin":
        return f"macOS {_host.mac_ver()[0]}".strip()
    if sys.platform == "win32":
        return f"Windows {_host.release()}".strip()
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        text = _read(path)
        if text is not None:
            return parse_os_release(text).get("PRETTY_NAME") or None
    return None
