"""Build real wheels and sdists for fixture indexes (test support, bottom of the test stack).

Everything is written with :mod:`zipfile`/:mod:`tarfile` and is byte-for-byte deterministic
for the same arguments (fixed timestamps, seeded padding), so hashes in golden files stay put.

* :func:`make_wheel` writes a valid wheel: ``<module>/__init__.py`` (with ``__version__``),
  optional extra files, optional incompressible padding (``<module>/_padding.bin``, stored
  uncompressed *before* the ``.dist-info`` entries, as in real wheels, so METADATA sits near the
  central directory), and ``.dist-info/{METADATA,WHEEL,RECORD}`` with sha256 hashes.
* :func:`make_sdist` writes a ``.tar.gz`` whose ``pyproject.toml`` names an in-tree PEP 517
  backend (``_backend.py``, ``backend-path = ["."]``, ``requires = []``), so pip builds it
  offline with build isolation and no setuptools. The backend reuses this module's own
  wheel-writing function, copied in as source text.
* :func:`make_backend_sdist` writes an sdist whose in-tree backend is whatever source the test
  gives (one that sleeps, fails, counts its runs...), with a PKG-INFO too old to be trusted,
  so reading its metadata needs a build.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import inspect
import io
import json
import random
import re
import tarfile
import zipfile
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

__all__ = [
    "METADATA_VERSION",
    "dist_info_name",
    "extras_to_requires",
    "make_backend_sdist",
    "make_sdist",
    "make_wheel",
    "module_name",
    "record_hash",
    "render_metadata",
    "sdist_filename",
    "sha256_file",
    "wheel_filename",
]

METADATA_VERSION = "2.3"
_SDIST_METADATA_VERSION = "2.2"
_MTIME = 1_577_836_800  # 2020-01-01T00:00:00Z: fixed so archives are reproducible


def _escape(name: str) -> str:
    """The wheel-spec escaped form of a project name (``Foo.Bar-baz`` → ``foo_bar_baz``)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def module_name(name: str) -> str:
    """The importable top-level module a fixture distribution of ``name`` ships."""
    return _escape(name)


def wheel_filename(name: str, version: str, tag: str = "py3-none-any") -> str:
    return f"{_escape(name)}-{Version(version)}-{tag}.whl"


def sdist_filename(name: str, version: str) -> str:
    return f"{_escape(name)}-{Version(version)}.tar.gz"


def dist_info_name(name: str, version: str) -> str:
    return f"{_escape(name)}-{Version(version)}.dist-info"


def extras_to_requires(
    extras: Mapping[str, Sequence[str]],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Turn ``{extra: [requirement, ...]}`` into ``(requires_dist, provides_extra)``.

    Each requirement gets ``extra == "<name>"`` and-ed onto its own marker, if any.
    """
    requires: list[str] = []
    for extra, reqs in extras.items():
        norm = canonicalize_name(extra)
        for text in reqs:
            req = Requirement(text)
            marker = f'extra == "{norm}"'
            if req.marker is not None:
                marker = f"({req.marker}) and {marker}"
                req.marker = None
            requires.append(f"{req}; {marker}")
    return tuple(requires), tuple(canonicalize_name(e) for e in extras)


def render_metadata(
    *,
    name: str,
    version: str,
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    provides_extra: Iterable[str] = (),
    metadata_version: str = METADATA_VERSION,
    dynamic: Iterable[str] = (),
) -> str:
    """Core metadata text (RFC 822 style) with the fields resolvers read."""
    lines = [
        f"Metadata-Version: {metadata_version}",
        f"Name: {name}",
        f"Version: {Version(version)}",
        f"Summary: Fixture distribution {name} {version}",
    ]
    lines += [f"Dynamic: {field}" for field in dynamic]
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {extra}" for extra in provides_extra]
    lines += [f"Requires-Dist: {req}" for req in requires_dist]
    return "\n".join(lines) + "\n"


# --- copied verbatim into the sdist backend: stdlib only, no module-level names ----------


def _wheel_text(tag: str) -> str:
    """The WHEEL file for a possibly compressed tag set (``cp311-cp311-a.b`` → two Tag lines)."""
    pythons, abis, platforms = tag.split("-")
    lines = ["Wheel-Version: 1.0", "Generator: fixture-dists", "Root-Is-Purelib: true"]
    for py in pythons.split("."):
        for abi in abis.split("."):
            for plat in platforms.split("."):
                lines.append(f"Tag: {py}-{abi}-{plat}")
    return "\n".join(lines) + "\n"


def _write_wheel_archive(
    path: Path,
    entries: list[tuple[str, bytes]],
    *,
    dist_info: str,
    metadata: str,
    tag: str,
    stored: tuple[str, ...] = (),
) -> None:
    """Write ``entries`` plus ``dist_info``/{METADATA,WHEEL,RECORD} as a wheel at ``path``."""
    all_entries = [
        *entries,
        (f"{dist_info}/METADATA", metadata.encode()),
        (f"{dist_info}/WHEEL", _wheel_text(tag).encode()),
    ]
    record = []
    with zipfile.ZipFile(path, "w") as archive:
        for arcname, data in all_entries:
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arcname},sha256={digest},{len(data)}")
            info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED if arcname in stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
        record.append(f"{dist_info}/RECORD,,")
        info = zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, "\n".join(record) + "\n")


# --- end of copied part ------------------------------------------------------------------


def _module_source(name: str, version: str) -> bytes:
    return f'"""Fixture module for {name}."""\n\n__version__ = "{Version(version)}"\n'.encode()


def make_wheel(
    dest_dir: Path,
    *,
    name: str,
    version: str,
    tag: str = "py3-none-any",
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    provides_extra: Iterable[str] = (),
    files: Mapping[str, bytes] | None = None,
    extra_size: int = 0,
) -> Path:
    """Write a wheel into ``dest_dir`` (created if needed) and return its path.

    ``files`` maps archive paths to contents, added after (and overriding) the default
    ``<module>/__init__.py``. ``extra_size`` bytes of seeded random padding make a wheel of
    a known size for range-read tests.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    module = module_name(name)
    contents: dict[str, bytes] = {f"{module}/__init__.py": _module_source(name, version)}
    contents.update(files or {})
    stored: tuple[str, ...] = ()
    if extra_size:
        pad = f"{module}/_padding.bin"
        contents[pad] = random.Random(f"{name}-{version}-{tag}").randbytes(extra_size)
        stored = (pad,)
    metadata = render_metadata(
        name=name,
        version=version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        provides_extra=provides_extra,
    )
    path = dest_dir / wheel_filename(name, version, tag)
    _write_wheel_archive(
        path,
        sorted(contents.items()),
        dist_info=dist_info_name(name, version),
        metadata=metadata,
        tag=tag,
        stored=stored,
    )
    return path


_BACKEND_HOOKS = """

_ROOT = Path(__file__).resolve().parent
_SPEC = json.loads((_ROOT / "_spec.json").read_text(encoding="utf-8"))


def _tree():
    out = []
    for top in _SPEC["packages"]:
        for p in sorted((_ROOT / top).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                out.append((p.relative_to(_ROOT).as_posix(), p.read_bytes()))
    return out


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    target = Path(metadata_directory) / _SPEC["dist_info"]
    target.mkdir(parents=True, exist_ok=True)
    (target / "METADATA").write_text(_SPEC["metadata"], encoding="utf-8")
    (target / "WHEEL").write_text(_wheel_text(_SPEC["tag"]), encoding="utf-8")
    return _SPEC["dist_info"]


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = _SPEC["wheel"]
    Path(wheel_directory).mkdir(parents=True, exist_ok=True)
    _write_wheel_archive(
        Path(wheel_directory) / name,
        _tree(),
        dist_info=_SPEC["dist_info"],
        metadata=_SPEC["metadata"],
        tag=_SPEC["tag"],
    )
    return name


def build_sdist(sdist_directory, config_settings=None):
    name = _SPEC["sdist"]
    base = name[: -len(".tar.gz")]
    Path(sdist_directory).mkdir(parents=True, exist_ok=True)
    with tarfile.open(Path(sdist_directory) / name, "w:gz") as tar:
        for p in sorted(_ROOT.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                tar.add(p, arcname=f"{base}/{p.relative_to(_ROOT).as_posix()}")
    return name
"""

_PYPROJECT = """\
[build-system]
requires = []
build-backend = "_backend"
backend-path = ["."]
"""


# Appended to a slow fixture's backend: its metadata hook sleeps first (a long build).
_SLOW_HOOK = """

import time as _time

_prepare_metadata = prepare_metadata_for_build_wheel


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _time.sleep(_SPEC["build_seconds"])
    return _prepare_metadata(metadata_directory, config_settings)
"""


def _backend_source() -> str:
    head = (
        '"""In-tree PEP 517 backend of a fixture sdist (no build dependencies)."""\n\n'
        "from __future__ import annotations\n\n"
        "import base64\nimport hashlib\nimport json\nimport tarfile\nimport zipfile\n"
        "from pathlib import Path\n\n\n"
    )
    core = inspect.getsource(_wheel_text) + "\n\n" + inspect.getsource(_write_wheel_archive)
    return head + core + _BACKEND_HOOKS


def make_sdist(
    dest_dir: Path,
    *,
    name: str,
    version: str,
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    provides_extra: Iterable[str] = (),
    dynamic: bool = False,
    build_seconds: float = 0.0,
) -> Path:
    """Write a buildable ``.tar.gz`` sdist into ``dest_dir`` and return its path.

    PKG-INFO is Metadata-Version 2.2. With ``dynamic=True`` it says ``Dynamic: Requires-Dist``
    and omits the Requires-Dist lines (they are known only after a build: a consumer that
    trusts PKG-INFO would get them wrong); the built wheel always has them. ``build_seconds``
    makes the backend's metadata hook sleep that long (the archive is otherwise unchanged).
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    requires = tuple(requires_dist)
    extras = tuple(provides_extra)
    filename = sdist_filename(name, version)
    base = filename[: -len(".tar.gz")]
    module = module_name(name)
    pkg_info = render_metadata(
        name=name,
        version=version,
        requires_dist=() if dynamic else requires,
        requires_python=requires_python,
        provides_extra=extras,
        metadata_version=_SDIST_METADATA_VERSION,
        dynamic=("Requires-Dist",) if dynamic else (),
    )
    spec: dict[str, object] = {
        "dist_info": dist_info_name(name, version),
        "metadata": render_metadata(
            name=name,
            version=version,
            requires_dist=requires,
            requires_python=requires_python,
            provides_extra=extras,
        ),
        "packages": [module],
        "sdist": filename,
        "tag": "py3-none-any",
        "wheel": wheel_filename(name, version),
    }
    backend = _backend_source()
    if build_seconds:
        spec["build_seconds"] = build_seconds
        backend += _SLOW_HOOK
    members = {
        "PKG-INFO": pkg_info.encode(),
        "_backend.py": backend.encode(),
        "_spec.json": (json.dumps(spec, indent=2, sort_keys=True) + "\n").encode(),
        f"{module}/__init__.py": _module_source(name, version),
        "pyproject.toml": _PYPROJECT.encode(),
    }
    path = dest_dir / filename
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=_MTIME) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for arcname, data in sorted(members.items()):
            info = tarfile.TarInfo(f"{base}/{arcname}")
            info.size, info.mtime, info.mode = len(data), _MTIME, 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


_BACKEND_PYPROJECT = """\
[build-system]
requires = {requires}
build-backend = "backend"
backend-path = ["."]
"""


def make_backend_sdist(
    dest_dir: Path, *, name: str, version: str, backend: str, requires: Sequence[str] = ()
) -> Path:
    """Write ``<name>-<version>.tar.gz`` whose build backend (``backend.py``) is ``backend``
    and whose build requirements are ``requires`` (none by default: it builds offline).

    PKG-INFO is Metadata-Version 2.1 (before PEP 643), so no consumer may trust it: getting
    the metadata means running the backend's ``prepare_metadata_for_build_wheel``.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    filename = sdist_filename(name, version)
    base = filename[: -len(".tar.gz")]
    members = {
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        "pyproject.toml": _BACKEND_PYPROJECT.format(requires=json.dumps(list(requires))).encode(),
        "backend.py": backend.encode(),
    }
    path = dest_dir / filename
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=_MTIME) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for arcname, data in sorted(members.items()):
            info = tarfile.TarInfo(f"{base}/{arcname}")
            info.size, info.mtime, info.mode = len(data), _MTIME, 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file (streamed)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_hash(data: bytes) -> str:
    """The RECORD form of a sha256: ``sha256=<urlsafe base64, unpadded>``."""
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
