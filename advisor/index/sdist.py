"""Source distributions for the metadata fetcher: PKG-INFO and PEP 517 metadata builds.

Sits under :mod:`advisor.index.metadata` (index → metadata → resolution): the fetcher hands
in the bytes of a downloaded, hash-checked sdist and gets back raw core-metadata bytes,
either the archive's own ``PKG-INFO`` (:func:`read_static_pkg_info`) or the ``METADATA`` a build
backend prepares (:func:`build_metadata`). Parsing and validation stay in the caller.

A build runs the project's own backend, which is arbitrary code: it happens in a child
process of ``python`` (which needs the ``build`` package), inside a fresh isolated
environment whose build requirements pip installs from the index configured in the child's
environment (``PIP_INDEX_URL`` and friends, passed in by the caller). The child, and every
process it starts, is killed when the time limit passes.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from packaging.metadata import parse_email
from packaging.version import InvalidVersion, Version

from advisor.errors import MetadataUnavailable

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["build_metadata", "read_static_pkg_info"]

_STATIC_PKG_INFO = Version("2.2")  # PEP 643: from here on, fields not Dynamic are static
_LOG_LINES = 20  # lines of build output quoted in an error
_KILL_GRACE = 5.0  # seconds to wait for output after killing a timed-out build

# Runs in the child interpreter (which may not have ``advisor`` installed): stdlib + build.
# ``metadata_path`` calls prepare_metadata_for_build_wheel and, when the backend lacks that
# hook, builds the wheel and extracts its .dist-info.
_CHILD_SCRIPT = """\
import sys
try:
    from build import ProjectBuilder
    from build.env import DefaultIsolatedEnv
except ImportError as exc:
    sys.exit(f"advisor: the 'build' package is not available to {sys.executable}: {exc}")
source, output, env_dir = sys.argv[1:4]
try:
    isolated = DefaultIsolatedEnv(path=env_dir)
except TypeError:  # an older build: it picks a temporary directory itself
    isolated = DefaultIsolatedEnv()
with isolated as env:
    builder = ProjectBuilder.from_isolated_env(env, source)
    env.install(builder.build_system_requires)
    env.install(builder.get_requires_for_build("wheel"))
    print("advisor: metadata in", builder.metadata_path(output), flush=True)
"""


def _is_sdist_zip(filename: str) -> bool:
    return filename.lower().endswith(".zip")


def _top_level_member(name: str, leaf: str) -> bool:
    """``name`` is ``<top>/<leaf>`` (an sdist's own file, not one of a bundled project)."""
    parts = PurePosixPath(name.removeprefix("./")).parts
    return len(parts) == 2 and parts[1] == leaf


def read_static_pkg_info(archive: bytes, *, filename: str) -> bytes | None:
    """The sdist's ``<top>/PKG-INFO`` when it can stand in for a build, else ``None``.

    It can when PEP 643 makes its dependencies trustworthy: Metadata-Version 2.2 or later
    and neither Requires-Dist nor Requires-Python marked Dynamic. Cost: decompresses the
    archive up to that member (in memory). Raises :class:`MetadataUnavailable` when
    ``archive`` is not a readable tar.gz/zip.
    """
    data = _read_pkg_info(archive, filename=filename)
    if data is None:
        return None
    raw, _ = parse_email(data)
    try:
        if Version(raw.get("metadata_version", "")) < _STATIC_PKG_INFO:
            return None
    except InvalidVersion:
        return None
    dynamic = {field.strip().lower() for field in raw.get("dynamic", [])}
    return None if dynamic & {"requires-dist", "requires-python"} else data


def _read_pkg_info(archive: bytes, *, filename: str) -> bytes | None:
    try:
        if _is_sdist_zip(filename):
            with zipfile.ZipFile(io.BytesIO(archive)) as zf:
                for name in zf.namelist():
                    if _top_level_member(name, "PKG-INFO"):
                        return zf.read(name)
            return None
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            for member in tar:
                if member.isfile() and _top_level_member(member.name, "PKG-INFO"):
                    fh = tar.extractfile(member)
                    if fh is None:
                        return None
                    with fh:
                        return fh.read()
        return None
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise MetadataUnavailable(
            f"not a readable sdist archive ({exc})", filename=filename
        ) from exc


def _unpack(archive: bytes, *, filename: str, dest: Path) -> Path:
    """Extract safely into ``dest``; return the project root (the single top directory)."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if _is_sdist_zip(filename):
            with zipfile.ZipFile(io.BytesIO(archive)) as zf:
                for name in zf.namelist():
                    parts = PurePosixPath(name).parts
                    if name.startswith("/") or ".." in parts:
                        raise MetadataUnavailable(
                            f"unsafe path {name!r} in the archive", filename=filename
                        )
                zf.extractall(dest)
        elif not hasattr(tarfile, "data_filter"):  # Python < 3.11.4: no safe extraction
            raise MetadataUnavailable(
                "unpacking an sdist safely needs Python 3.11.4 or later", filename=filename
            )
        else:
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
                tar.extractall(dest, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise MetadataUnavailable(f"cannot unpack the sdist ({exc})", filename=filename) from exc
    entries = list(dest.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return dest


def _tail(output: bytes) -> str:
    lines = output.decode("utf-8", "replace").rstrip().splitlines()
    return "\n".join(lines[-_LOG_LINES:]) if lines else "(no output)"


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child and everything it started (it leads its own process group)."""
    if hasattr(os, "killpg"):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            return
        except OSError:
            pass
    proc.kill()


def build_metadata(
    archive: bytes,
    *,
    filename: str,
    python: str,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> bytes:
    """Run the sdist's PEP 517 backend to prepare its wheel metadata; return ``METADATA``.

    ``python`` runs the build front end (it needs the ``build`` package); ``env`` is the
    child's whole environment (``None`` inherits this process's) and is where the index
    settings for installing build requirements go. ``timeout`` bounds the whole run in
    seconds, environment creation included.

    Cost: seconds to minutes (a venv, a pip install of the build requirements, the backend);
    call it only when no wheel fits. Thread-safe: each call works in its own temporary
    directory. Raises :class:`MetadataUnavailable` naming ``filename`` with the last lines
    of the build log on failure or time-out.
    """
    with tempfile.TemporaryDirectory(prefix="advisor-build-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        source = _unpack(archive, filename=filename, dest=work / "src")
        if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
            raise MetadataUnavailable(
                "the sdist has neither pyproject.toml nor setup.py", filename=filename
            )
        out_dir = work / "out"
        cmd = [python, "-c", _CHILD_SCRIPT, str(source), str(out_dir), str(work / "env")]
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=work,
                env=None if env is None else dict(env),
                start_new_session=True,
            )
        except OSError as exc:
            raise MetadataUnavailable(
                f"cannot start the build front end {python}: {exc}", filename=filename
            ) from exc
        with proc:
            try:
                output, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill(proc)
                try:
                    output, _ = proc.communicate(timeout=_KILL_GRACE)
                except subprocess.TimeoutExpired:
                    output = b""
                raise MetadataUnavailable(
                    f"metadata build timed out after {timeout:g} s; last output:\n{_tail(output)}",
                    filename=filename,
                ) from None
        if proc.returncode != 0:
            raise MetadataUnavailable(
                f"metadata build failed (exit code {proc.returncode}); last output:\n"
                f"{_tail(output)}",
                filename=filename,
            )
        found = sorted(out_dir.glob("*.dist-info/METADATA"))
        if len(found) != 1:
            raise MetadataUnavailable(
                f"the build backend produced {len(found)} .dist-info/METADATA files, expected 1",
                filename=filename,
            )
        return found[0].read_bytes()
