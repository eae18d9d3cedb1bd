"""Install a ``pylock.toml`` into a target interpreter with pip, hash-checked.

The consumer end of the data flow (lockfile → an environment): read and validate the lock,
probe the *target* interpreter for its marker environment and wheel tags, let
:meth:`packaging.pylock.Pylock.select` choose one file per package, then hand pip a
temporary requirements file of ``name @ url --hash=…`` lines with ``--no-deps
--require-hashes``. pip runs from this process's interpreter with ``--python TARGET``, so
the target needs neither pip nor packaging. The pip run is announced to the progress events
the caller passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from packaging import tags as packaging_tags
from packaging.pylock import (
    PackageArchive,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    PylockSelectError,
)
from packaging.utils import canonicalize_name

from advisor.errors import InputError, LockfileError
from advisor.events import SILENT
from advisor.lockfile.pylock import load_pylock, lock_url

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

    from packaging.markers import Environment
    from packaging.pylock import Package
    from packaging.tags import Tag

    from advisor.events import ProgressEvents

__all__ = [
    "InstallResult",
    "InstalledFile",
    "TargetInterpreter",
    "install_lock",
    "probe_interpreter",
]

# Runs inside the target interpreter: standard library only, old-Python-friendly syntax.
_PROBE = """
import json, os, platform, sys, sysconfig
v = sys.implementation.version
iver = "%d.%d.%d" % (v.major, v.minor, v.micro)
if v.releaselevel != "final":
    iver += v.releaselevel[0] + str(v.serial)
def var(name):
    value = sysconfig.get_config_var(name)
    return value if isinstance(value, (str, int)) else None
try:
    glibc = os.confstr("CS_GNU_LIBC_VERSION")
except (AttributeError, ValueError, OSError):
    glibc = None
print(json.dumps({
    "markers": {
        "implementation_name": sys.implementation.name,
        "implementation_version": iver,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
    "version": list(sys.version_info[:2]),
    "nodot": var("py_version_nodot"),
    "ext_suffix": var("EXT_SUFFIX"),
    "py_debug": var("Py_DEBUG"),
    "gil_disabled": var("Py_GIL_DISABLED"),
    "pymalloc": var("WITH_PYMALLOC"),
    "has_refcount": hasattr(sys, "gettotalrefcount"),
    "platform": sysconfig.get_platform(),
    "is_64bit": sys.maxsize > 2 ** 32,
    "glibc": glibc,
    "mac_ver": platform.mac_ver()[0],
    "executable": sys.executable,
}))
"""

_SHORT_NAMES = {"cpython": "cp", "pypy": "pp", "ironpython": "ip", "jython": "jy"}
_PIP_HASHES = ("sha256", "sha384", "sha512")
_PIP_TAIL_LINES = 15


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetInterpreter:
    """What a lock selection needs of an interpreter: markers and tags (best first).

    ``python`` is the interpreter's own ``sys.executable`` (absolute, venv-aware).
    """

    python: str
    markers: Mapping[str, str]
    tags: tuple[Tag, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class InstalledFile:
    """One file the lock selected and pip installed."""

    name: str
    version: str | None
    filename: str
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallResult:
    """The outcome of :func:`install_lock`; ``output`` is pip's combined output."""

    python: str
    installed: tuple[InstalledFile, ...]
    output: str = ""


def probe_interpreter(
    python: str, *, environ: Mapping[str, str], timeout: float = 60.0
) -> TargetInterpreter:
    """Run ``python`` once to learn its PEP 508 marker environment and wheel tags.

    Only the standard library runs in the target; tags are computed here with
    :mod:`packaging.tags`. Raises :class:`InputError` when ``python`` cannot be run.
    """
    try:
        proc = subprocess.run(
            [python, "-I", "-c", _PROBE],
            env=dict(environ),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"{python}: cannot run the target interpreter: {exc}") from exc
    try:
        info: dict[str, Any] = json.loads(proc.stdout) if proc.returncode == 0 else {}
        markers = {str(k): str(v) for k, v in info["markers"].items()}
    except (ValueError, KeyError, AttributeError) as exc:
        detail = _tail(proc.stderr or proc.stdout) or f"exit code {proc.returncode}"
        raise InputError(f"{python}: not a usable Python interpreter: {detail}") from exc
    executable = str(info.get("executable") or python)
    return TargetInterpreter(python=executable, markers=markers, tags=tuple(_tags(info)))


def _tags(info: Mapping[str, Any]) -> Iterator[Tag]:
    major, minor = (int(x) for x in info["version"])
    version = (major, minor)
    nodot = str(info.get("nodot") or f"{major}{minor}")
    platforms = _platforms(info)
    implementation = info["markers"]["implementation_name"]
    short = _SHORT_NAMES.get(implementation, implementation)
    if short == "cp":
        yield from packaging_tags.cpython_tags(version, _cpython_abis(info), platforms)
        yield from packaging_tags.compatible_tags(version, f"cp{nodot}", platforms)
        return
    abi = _generic_abi(str(info.get("ext_suffix") or ""))
    yield from packaging_tags.generic_tags(f"{short}{nodot}", [abi] if abi else [], platforms)
    yield from packaging_tags.compatible_tags(version, "pp3" if short == "pp" else None, platforms)


def _cpython_abis(info: Mapping[str, Any]) -> list[str]:
    major, minor = (int(x) for x in info["version"])
    nodot = f"{major}{minor}"
    debug = info.get("py_debug")
    d = "d" if debug or (debug is None and info.get("has_refcount")) else ""
    t = "t" if (major, minor) >= (3, 13) and info.get("gil_disabled") else ""
    m = "m" if (major, minor) < (3, 8) and info.get("pymalloc") in (1, None) else ""
    abis = [f"cp{nodot}{t}{d}{m}"]
    if d and (major, minor) >= (3, 8):
        abis.append(f"cp{nodot}{t}")
    return abis


def _generic_abi(ext_suffix: str) -> str | None:
    """The ABI tag in ``EXT_SUFFIX`` (``.pypy310-pp73-x86_64-linux-gnu.so`` → ``pypy310_pp73``)."""
    parts = ext_suffix.split(".")
    if len(parts) < 3 or not parts[1]:
        return None
    soabi = parts[1]
    keep = 3 if soabi.startswith("graalpy") else 2
    return _normalize("-".join(soabi.split("-")[:keep]))


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_").lower()


def _platforms(info: Mapping[str, Any]) -> list[str]:
    """Platform tags of the target, best first.

    The target runs on this machine, so when its build matches ours (same platform,
    word size and C library) this machine's platform tags are the target's too.
    """
    plat = str(info["platform"])
    ours_64bit = sys.maxsize > 2**32
    if plat == sysconfig.get_platform() and info["is_64bit"] == ours_64bit:
        if info.get("glibc") == _our_glibc():
            return list(packaging_tags.platform_tags())
    system = info["markers"]["platform_system"]
    if system == "Darwin" and info.get("mac_ver"):
        mac = [int(x) for x in str(info["mac_ver"]).split(".")[:2]] + [0]
        arch = info["markers"]["platform_machine"]
        return list(packaging_tags.mac_platforms((mac[0], mac[1]), arch))
    if system == "Linux":
        return list(_linux_platforms(plat, is_64bit=bool(info["is_64bit"]), glibc=info["glibc"]))
    return [_normalize(plat)]


def _our_glibc() -> str | None:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None


def _linux_platforms(plat: str, *, is_64bit: bool, glibc: str | None) -> Iterator[str]:
    """``linux_*`` then PEP 600 ``manylinux_2_N`` (and legacy aliases) for a glibc target."""
    arch = _normalize(plat).removeprefix("linux_")
    if not is_64bit:
        arch = {"x86_64": "i686", "aarch64": "armv8l"}.get(arch, arch)
    archs = ["armv8l", "armv7l"] if arch == "armv8l" else [arch]
    yield from (f"linux_{a}" for a in archs)
    if not glibc or not glibc.startswith("glibc "):
        return
    try:
        major, minor = (int(x) for x in glibc.split()[1].split(".")[:2])
    except ValueError:
        return
    aliases = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    for a in archs:
        floor = 5 if a in {"x86_64", "i686"} else 17
        for m in range(minor, floor - 1, -1):
            yield f"manylinux_{major}_{m}_{a}"
            legacy = aliases.get(m)
            if legacy and (m == 17 or a in {"x86_64", "i686"}):
                yield f"{legacy}_{a}"


def install_lock(
    lock: Path,
    *,
    python: str,
    environ: Mapping[str, str],
    extras: Iterable[str] = (),
    groups: Iterable[str] = (),
    pip_args: Sequence[str] = (),
    pip_python: str | None = None,
    timeout: float | None = None,
    skip: Collection[str] = (),
    events: ProgressEvents = SILENT,
) -> InstallResult:
    """Install what ``lock`` selects for the interpreter ``python``, but the projects named
    in ``skip`` (canonical names).

    ``environ`` is the whole environment of the subprocesses (the caller decides what
    pip sees). pip runs as ``PIP_PYTHON -m pip --python PYTHON install --no-deps
    --require-hashes [pip_args] -r FILE`` with ``PIP_PYTHON`` defaulting to this
    interpreter. ``groups`` empty means the lock's default groups. ``events`` hears when pip
    starts and ends.

    Raises :class:`LockfileError` for an unreadable or invalid lock, a selection
    error (no environment, requires-python or wheel matches) or a pip failure (with
    pip's last lines), and :class:`InputError` when ``python`` cannot be run.
    """
    pylock = load_pylock(lock)
    target = probe_interpreter(python, environ=environ)
    groups = tuple(groups)
    try:
        selected = list(
            pylock.select(
                environment=cast("Environment", dict(target.markers)),
                tags=target.tags,
                extras=tuple(extras),
                dependency_groups=groups or None,
            )
        )
    except PylockSelectError as exc:
        raise LockfileError(f"{lock}: {exc}") from exc
    chosen = [
        _installed_file(pkg, dist, base=lock.parent)
        for pkg, dist in selected
        if canonicalize_name(pkg.name) not in skip
    ]
    if not chosen:
        return InstallResult(python=target.python, installed=())
    files = tuple(file for file, _ in chosen)
    lines = [_requirement_line(file, hashes=hashes) for file, hashes in chosen]
    with tempfile.TemporaryDirectory(prefix="advisor-install-") as tmp:
        req_file = Path(tmp) / "requirements.txt"
        req_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        command = [
            pip_python or sys.executable,
            "-m",
            "pip",
            "--python",
            target.python,
            "install",
            "--no-deps",
            "--require-hashes",
            "--disable-pip-version-check",
            "--no-input",
            *pip_args,
            "-r",
            str(req_file),
        ]
        what = f"{len(files)} package{'s' if len(files) != 1 else ''} into {target.python}"
        events.installing(what)
        try:
            proc = subprocess.run(
                command,
                env=dict(environ),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise LockfileError(f"{lock}: cannot run pip: {exc}") from exc
        finally:
            events.install_finished(what)
    if proc.returncode != 0:
        raise LockfileError(
            f"{lock}: pip failed to install into {python} (exit code {proc.returncode}):\n"
            + _tail(proc.stdout)
        )
    return InstallResult(python=target.python, installed=files, output=proc.stdout)


def _installed_file(
    pkg: Package,
    dist: PackageWheel | PackageSdist | PackageArchive | PackageVcs | PackageDirectory,
    *,
    base: Path,
) -> tuple[InstalledFile, Mapping[str, str]]:
    if isinstance(dist, PackageVcs | PackageDirectory):
        kind = "a VCS checkout" if isinstance(dist, PackageVcs) else "a directory"
        raise LockfileError(
            f"{pkg.name}: the lock installs it from {kind}, which cannot be hash-checked"
        )
    if dist.url:
        url = dist.url
    elif dist.path:
        url = (base / dist.path).resolve().as_uri()
    else:  # pragma: no cover - a validated lock always has one of them
        raise LockfileError(f"{pkg.name}: no url or path for {dist!r}")
    filename = url.rsplit("/", 1)[-1] if isinstance(dist, PackageArchive) else dist.filename
    installed = InstalledFile(
        name=pkg.name,
        version=str(pkg.version) if pkg.version else None,
        filename=filename,
        url=url,
    )
    return installed, dist.hashes


def _requirement_line(file: InstalledFile, *, hashes: Mapping[str, str]) -> str:
    options = [f"--hash={a}:{d}" for a, d in sorted(hashes.items()) if a in _PIP_HASHES]
    if not options:
        raise LockfileError(
            f"{file.name}: no sha256/sha384/sha512 hash for {lock_url(file.url)} in the lock"
        )
    return " ".join([f"{file.name} @ {file.url}", *options])


def _tail(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-_PIP_TAIL_LINES:])
