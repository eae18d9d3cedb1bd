"""Source distributions for the metadata fetcher: PKG-INFO and PEP 517 metadata builds.

Sits under :mod:`advisor.index.metadata` (index → metadata → resolution): the fetcher hands
in the bytes of a downloaded, hash-checked sdist and gets back raw core-metadata bytes,
either the archive's own ``PKG-INFO`` (:func:`read_static_pkg_info`) or the ``METADATA`` a build
backend prepares (:func:`build_metadata`). Parsing and validation stay in the caller.

A build runs the project's own backend, which is arbitrary code: it happens in a child
process of ``python`` (which needs the ``build`` package), inside a fresh isolated
environment whose build requirements pip installs from the index configured in the child's
environment (``PIP_INDEX_URL`` and friends, passed in by the caller). The child leads its own
process group, and everything it writes (pip's temporary files included: ``TMPDIR`` points
inside) stays in one ``advisor-build-*`` folder. :class:`LiveBuilds` knows every running
build, so a time-out, an interrupt or :meth:`LiveBuilds.cancel` kills the whole group and
removes the folder. A failure is a :class:`~advisor.errors.BuildFailed` whose ``kind`` says
how it failed (what :mod:`advisor.index.builds` decides to remember).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import threading
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from packaging.metadata import parse_email
from packaging.version import InvalidVersion, Version

from advisor.errors import BuildFailed, BuildFailure, MetadataUnavailable

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

__all__ = ["LiveBuilds", "build_metadata", "read_static_pkg_info"]

_STATIC_PKG_INFO = Version("2.2")  # PEP 643: from here on, fields not Dynamic are static
_LOG_LINES = 20  # lines of build output quoted in an error
_KILL_GRACE = 5.0  # seconds to wait for output after killing a build
_PREFIX = "advisor-build-"  # the temporary folder of each build

# Runs in the child interpreter (which may not have ``advisor`` installed): stdlib + build.
# ``metadata_path`` calls prepare_metadata_for_build_wheel and, when the backend lacks that
# hook, builds the wheel and extracts its .dist-info. The exit code says which step failed
# (see _EXIT_KINDS); pip's own output is printed so the log tail can quote it.
_CHILD_SCRIPT = """\
import subprocess, sys
try:
    from build import BuildBackendException, BuildException, ProjectBuilder
    from build.env import DefaultIsolatedEnv
except ImportError as exc:
    print(f"advisor: the 'build' package is not available to {sys.executable}: {exc}")
    sys.exit(2)
source, output, env_dir = sys.argv[1:4]
try:
    isolated = DefaultIsolatedEnv(path=env_dir)
except TypeError:  # an older build: it picks a temporary directory itself
    isolated = DefaultIsolatedEnv()
with isolated as env:
    try:
        builder = ProjectBuilder.from_isolated_env(env, source)
        requires = builder.build_system_requires
    except BuildException as exc:
        print(f"advisor: invalid build configuration: {exc}", flush=True)
        sys.exit(5)
    for step in (0, 1):
        try:
            if step:
                requires = builder.get_requires_for_build("wheel")
            env.install(requires)
        except subprocess.CalledProcessError as exc:
            for stream in (exc.stdout, exc.stderr):
                if stream:
                    sys.stdout.write(stream.decode("utf-8", "replace"))
            print("advisor: installing the build requirements failed", flush=True)
            sys.exit(3)
        except BuildBackendException as exc:
            print(f"advisor: the build backend failed: {exc}", flush=True)
            sys.exit(4)
    try:
        path = builder.metadata_path(output)
    except BuildBackendException as exc:
        print(f"advisor: the build backend failed: {exc}", flush=True)
        sys.exit(4)
    print("advisor: metadata in", path, flush=True)
"""
_EXIT_KINDS = {
    3: BuildFailure.REQUIREMENTS_INSTALL,
    4: BuildFailure.BACKEND_FAILED,
    5: BuildFailure.INVALID_SDIST,
}
# pip's words when a build requirement does not exist (for this interpreter) on the index,
# and its words for a network that failed (then the failure is not a fact about the sdist)
_NOT_FOUND = ("No matching distribution found", "ResolutionImpossible", "conflicting dependencies")
_NETWORK = (
    "Retrying (Retry(",
    "Could not fetch URL",
    "NewConnectionError",
    "Max retries exceeded",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ProxyError",
    "SSLError",
)


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
                        raise BuildFailed(
                            f"unsafe path {name!r} in the archive",
                            filename=filename,
                            kind=BuildFailure.UNPACK_ERROR,
                        )
                zf.extractall(dest)
        elif not hasattr(tarfile, "data_filter"):  # Python < 3.11.4: no safe extraction
            raise BuildFailed(
                "unpacking an sdist safely needs Python 3.11.4 or later",
                filename=filename,
                kind=BuildFailure.FRONT_END,
            )
        else:
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
                tar.extractall(dest, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BuildFailed(
            f"cannot unpack the sdist ({exc})", filename=filename, kind=BuildFailure.UNPACK_ERROR
        ) from exc
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
    with contextlib.suppress(OSError):
        proc.kill()


def _remove(path: Path) -> None:
    """Remove a build folder; retried briefly, as a process killed a moment ago may still
    be closing files in it."""
    for _ in range(10):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.05)


def _cancelled(filename: str) -> BuildFailed:
    return BuildFailed(
        "metadata build cancelled (the command was interrupted)",
        filename=filename,
        kind=BuildFailure.CANCELLED,
    )


class LiveBuilds:
    """The builds running now: their process groups and folders, so all stop at once.

    Thread-safe. :meth:`cancel` is final: it kills every running build's process group,
    removes every build folder, and from then on a build refuses to start (raising
    :class:`BuildFailed` of kind ``cancelled``). Cost: a lock per start and finish.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._dirs: set[Path] = set()
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @contextlib.contextmanager
    def folder(self, *, filename: str, parent: Path | None = None) -> Iterator[Path]:
        """A fresh ``advisor-build-*`` folder in ``parent`` (default: the temporary
        directory), removed after."""
        try:
            path = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=parent))
        except OSError as exc:
            raise BuildFailed(
                f"cannot make a build folder: {exc}", filename=filename, kind=BuildFailure.FRONT_END
            ) from exc
        with self._lock:
            refused = self._cancelled
            if not refused:
                self._dirs.add(path)
        if refused:
            _remove(path)
            raise _cancelled(filename)
        try:
            yield path
        finally:
            with self._lock:
                self._dirs.discard(path)
            _remove(path)

    def spawn(
        self, cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str], filename: str
    ) -> subprocess.Popen[bytes]:
        """Start ``cmd`` as the leader of a new process group, registered until
        :meth:`finished`. Raises :class:`BuildFailed` when cancelled or when it cannot start."""
        with self._lock:
            if self._cancelled:
                raise _cancelled(filename)
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    cwd=cwd,
                    env=dict(env),
                    start_new_session=True,
                )
            except OSError as exc:
                raise BuildFailed(
                    f"cannot start the build front end {cmd[0]}: {exc}",
                    filename=filename,
                    kind=BuildFailure.FRONT_END,
                ) from exc
            self._procs[proc.pid] = proc
        return proc

    def finished(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.pop(proc.pid, None)

    def cancel(self) -> None:
        """Stop every running build now (kill its process group, remove its folder); refuse
        new ones. Returns once the leaders are reaped and the folders gone."""
        with self._lock:
            self._cancelled = True
            procs = list(self._procs.values())
            dirs = list(self._dirs)
        for proc in procs:
            _kill(proc)
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=_KILL_GRACE)
        for path in dirs:
            _remove(path)


def _child_env(env: Mapping[str, str] | None, work: Path) -> dict[str, str]:
    """The child's environment: temporary files of pip and the backend go inside ``work``,
    so removing the build folder removes them too, even after a kill."""
    out = dict(os.environ if env is None else env)
    tmp = work / "tmp"
    tmp.mkdir()
    for name in ("TMPDIR", "TEMP", "TMP"):
        out[name] = str(tmp)
    return out


def _failure(code: int, output: bytes, *, filename: str) -> BuildFailed:
    """The failure a non-zero exit of the child stands for."""
    kind = _EXIT_KINDS.get(code, BuildFailure.FRONT_END)
    text = output.decode("utf-8", "replace")
    if kind is BuildFailure.REQUIREMENTS_INSTALL:
        if any(w in text for w in _NOT_FOUND) and not any(w in text for w in _NETWORK):
            kind = BuildFailure.MISSING_BUILD_REQUIREMENT
    return BuildFailed(
        f"metadata build failed ({kind.value}, exit code {code}); last output:\n{_tail(output)}",
        filename=filename,
        kind=kind,
    )


def build_metadata(
    archive: bytes,
    *,
    filename: str,
    python: str,
    timeout: float,
    env: Mapping[str, str] | None = None,
    live: LiveBuilds | None = None,
    stop_reason: str | None = None,
    temp_dir: Path | None = None,
) -> bytes:
    """Run the sdist's PEP 517 backend to prepare its wheel metadata; return ``METADATA``.

    ``python`` runs the build front end (it needs the ``build`` package); ``env`` is the
    child's whole environment (``None`` inherits this process's) and is where the index
    settings for installing build requirements go. ``timeout`` bounds the whole run in
    seconds, environment creation included; ``stop_reason``, when given, says the timeout
    was cut short by something else (then a time-out is of kind ``time-limit``, named so).
    ``live`` registers the build so that :meth:`LiveBuilds.cancel` can stop it; its folder
    is made in ``temp_dir`` (default: the temporary directory).

    Cost: seconds to minutes (a venv, a pip install of the build requirements, the backend);
    call it only when no wheel fits. Thread-safe: each call works in its own temporary
    directory, removed on return, on error and on interrupt (the process group is killed
    first). Raises :class:`BuildFailed` naming ``filename`` and the failure's kind, with
    the last lines of the build log.
    """
    live = live if live is not None else LiveBuilds()
    with live.folder(filename=filename, parent=temp_dir) as work:
        source = _unpack(archive, filename=filename, dest=work / "src")
        if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
            raise BuildFailed(
                "the sdist has neither pyproject.toml nor setup.py",
                filename=filename,
                kind=BuildFailure.INVALID_SDIST,
            )
        out_dir = work / "out"
        cmd = [python, "-c", _CHILD_SCRIPT, str(source), str(out_dir), str(work / "env")]
        proc = live.spawn(cmd, cwd=work, env=_child_env(env, work), filename=filename)
        try:
            output = _communicate(proc, timeout, filename=filename, stop_reason=stop_reason)
        except BaseException:  # a time-out, or an interrupt in this thread: stop the group
            _kill(proc)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=_KILL_GRACE)
            raise
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
            live.finished(proc)
        if live.cancelled:
            raise _cancelled(filename)
        if proc.returncode != 0:
            raise _failure(proc.returncode, output, filename=filename)
        found = sorted(out_dir.glob("*.dist-info/METADATA"))
        if len(found) != 1:
            raise BuildFailed(
                f"the build backend produced {len(found)} .dist-info/METADATA files, expected 1",
                filename=filename,
                kind=BuildFailure.INVALID_SDIST,
            )
        return found[0].read_bytes()


def _communicate(
    proc: subprocess.Popen[bytes], timeout: float, *, filename: str, stop_reason: str | None
) -> bytes:
    """The child's output once it exits; on time-out, kill its group and raise.

    Not ``with proc``: on an interrupt, ``Popen.__exit__`` would wait for a child that is
    not killed yet; the caller kills the group first.
    """
    try:
        output, _ = proc.communicate(timeout=max(timeout, 0.0))
    except subprocess.TimeoutExpired:
        _kill(proc)
        try:
            output, _ = proc.communicate(timeout=_KILL_GRACE)
        except subprocess.TimeoutExpired:
            output = b""
        if stop_reason is not None:
            what, kind = f"stopped after {timeout:.1f} s: {stop_reason}", BuildFailure.TIME_LIMIT
        else:
            what, kind = f"timed out after {timeout:g} s", BuildFailure.TIMEOUT
        raise BuildFailed(
            f"metadata build {what}; last output:\n{_tail(output)}",
            filename=filename,
            kind=kind,
        ) from None
    return output
