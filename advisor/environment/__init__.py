"""The target runtime environment: what a stack is resolved, scored and locked *for*.

Sits at the input edge of the data flow, next to the request: the CLI or config builds one
:class:`RuntimeEnvironment` per target (``detect()`` for this machine, ``for_target()`` for
another Python, implementation or platform tag), and every lower layer only asks it pure
questions: ``markers()`` to evaluate PEP 508 markers, ``tags()``/``tag_rank()`` to filter and
order wheels, ``lock_marker()`` and ``to_dict()`` for the lock. ``detect()`` is the only
function here that looks at the host (files under ``/proc`` and ``/etc``, ``nvidia-smi``,
``nvcc``, through :mod:`advisor.environment.probe`); everything else is computed from the
fields, for the target, not for the host. Platform tags and Python versions are parsed by
:mod:`advisor.environment.platforms`.

A target whose Python is only known as ``X.Y`` evaluates ``python_full_version`` (and, for
CPython, ``implementation_version``) as ``X.Y.0``.
"""

from __future__ import annotations

import hashlib
import json
import platform as _host
import re
import sys
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

from advisor.environment import platforms, probe
from advisor.environment.probe import (
    CpuInfo,
    GpuInfo,
    Uname,
    parse_cpuinfo,
    parse_nvidia_smi,
    parse_os_release,
    x86_64_level,
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

# The private names of the flat module this package replaced: still importable from here,
# and the names the code below uses.
_Platform = platforms.Platform
_WINDOWS = platforms.WINDOWS_MACHINES
_LINUX_ARCHS = platforms.LINUX_ARCHS
_MAC_ARCHS = platforms._MAC_ARCHS
_LEGACY_MANYLINUX = platforms._LEGACY_MANYLINUX
_LEGACY_BY_VERSION = platforms._LEGACY_BY_VERSION
_IMPLEMENTATIONS = platforms._IMPLEMENTATIONS
_PLATFORM_FORMS = platforms._PLATFORM_FORMS
_PYTHON_FORMS = platforms._PYTHON_FORMS
_PYTHON_RE = platforms._PYTHON_RE
_PYTHON_OPTION_RE = platforms._PYTHON_OPTION_RE
_PLATFORM_RE = platforms._PLATFORM_RE
_parse_python = platforms.parse_python
_parse_python_option = platforms.parse_python_option
_parse_implementation = platforms.parse_implementation
_parse_platform = platforms.parse_platform
_canonical_platform = platforms.canonical_platform
_manylinux_chain = platforms.manylinux_chain
_X86_LEVELS = probe._X86_LEVELS
_FLAG_NAMES = probe._FLAG_NAMES
_KEPT_FLAGS = probe._KEPT_FLAGS
_TIMEOUT = probe._TIMEOUT
_run = probe._run
_read = probe._read
_host_arch = probe._host_arch
_detect_libc = probe.detect_libc
_detect_platform = probe.detect_platform
_detect_cpu = probe.detect_cpu
_detect_cuda = probe.detect_cuda
_detect_os_release = probe.detect_os_release


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
        takes the host's libc level. The CPU is kept when OS and architecture are the
        host's; GPUs and CUDA only when the platform is the host's own too (its tag, or
        ``linux_<arch>``), that is when the target is this machine with another Python: a
        target naming another platform (``manylinux_2_28_x86_64`` on a newer glibc, a
        musllinux tag) is another machine or image, whose CUDA is unknown until ``cuda``
        states it. Raises :class:`~advisor.errors.InputError` for bad values.
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
        own_platform = same_machine and (target == host.platform or plat.kind == "linux")
        cuda_version = host.cuda_version if own_platform else None
        cuda_source = host.cuda_source if own_platform else None
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
            gpus=host.gpus if own_platform else (),
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


# -- serialisation helpers ---------------------------------------------------------------


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
