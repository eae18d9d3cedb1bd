"""A container base image made on this machine, and buildah in an isolated store (test support).

No container registry is reachable from the test machines, so the image tests start from a
base image built here: ``make_base_tarball`` runs ``mmdebstrap`` (minbase Debian plus
``python3`` and ``python3-venv``) against the machine's own apt sources, so no mirror is written
anywhere; ``shared_base_tarball`` does that once per test run for every xdist worker (file
lock); ``import_base`` turns the tarball into an image in a buildah store; ``run_in_image``
runs a command in a throwaway container of it. ``storage_env`` / ``isolated_environ`` give the
environment under which buildah keeps everything (store, configuration, credentials lookup,
temporary files) under one folder with the ``vfs`` driver and ``chroot`` isolation.

Plain helpers, no pytest: the fixtures live in ``tests/container_conftest.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "DEFAULT_PACKAGES",
    "BaseImageError",
    "BuildahError",
    "LocalBaseImage",
    "apt_sources",
    "base_reference",
    "buildah",
    "clear_storage",
    "host_suite",
    "import_base",
    "inspect_base",
    "isolated_environ",
    "make_base_tarball",
    "run_in_image",
    "shared_base_tarball",
    "storage_env",
]

DEFAULT_PACKAGES = ("python3", "python3-venv")
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_LOG_TAIL = 40  # lines of a failing tool's output quoted in the error
_BUILDAH_TIMEOUT = 600
# Variables through which the caller's environment would reach buildah's configuration,
# store or credentials; isolated_environ drops them before adding its own.
_LEAKING_PREFIXES = ("CONTAINERS_", "BUILDAH_", "XDG_")
_LEAKING = frozenset(
    {"STORAGE_DRIVER", "STORAGE_OPTS", "REGISTRIES_CONFIG_PATH", "REGISTRY_AUTH_FILE"}
    | {"DOCKER_CONFIG", "TMPDIR", "HOME"}
)
# Trim the Debian image like the usual "slim" images: no manuals, translations or docs
# (copyright files kept). dpkg keeps these rules inside the image, for later apt installs.
_DPKG_EXCLUDES = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
)


class BaseImageError(Exception):
    """The base image tarball could not be made; ``log_tail`` is the end of mmdebstrap's log."""

    def __init__(self, message: str, *, log_tail: str = "") -> None:
        self.message = message
        self.log_tail = log_tail
        super().__init__(f"{message}\n{log_tail}" if log_tail else message)


class BuildahError(Exception):
    """A buildah command failed: its arguments, exit status and the end of its stderr."""

    def __init__(self, argv: Sequence[str], *, returncode: int, stderr: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"{' '.join(self.argv)} exited with {returncode}:\n{_tail(stderr)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalBaseImage:
    """A base image in a buildah store: its reference, what it runs, and the env to reach it.

    ``python`` is ``"3.11"``-style, ``platform_glibc`` ``"2.36"``-style (both read by running
    the image). ``env`` is the environment every buildah command on this store must get.
    """

    reference: str
    python: str
    platform_glibc: str
    env: Mapping[str, str] = field(repr=False, compare=False)


def _tail(text: str, lines: int = _LOG_TAIL) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


# --- the tarball ---------------------------------------------------------------------------


def host_suite(os_release: Path = Path("/etc/os-release")) -> str:
    """This machine's release codename (``VERSION_CODENAME`` in os-release), e.g. ``bookworm``.

    Raises :class:`BaseImageError` when the file or the field is missing.
    """
    try:
        text = os_release.read_text(encoding="utf-8")
    except OSError as exc:
        raise BaseImageError(f"cannot read {os_release}: {exc}") from exc
    match = re.search(r"^VERSION_CODENAME=[\"']?([A-Za-z0-9.-]+)", text, flags=re.MULTILINE)
    if match is None:
        raise BaseImageError(f"{os_release} has no VERSION_CODENAME")
    return match.group(1)


def apt_sources(apt_dir: Path = Path("/etc/apt")) -> tuple[Path, ...]:
    """The machine's apt source files that exist and are not empty, in a stable order.

    ``sources.list.d/*.sources`` (deb822) and ``sources.list``; mmdebstrap takes each path as
    a mirror argument, so the mirrors come from the machine and are never written anywhere.
    Raises :class:`BaseImageError` when there is none.
    """
    candidates = [*sorted((apt_dir / "sources.list.d").glob("*.sources")), apt_dir / "sources.list"]
    found = tuple(p for p in candidates if p.is_file() and p.stat().st_size > 0)
    if not found:
        raise BaseImageError(
            f"no apt sources under {apt_dir} (sources.list.d/*.sources, sources.list)"
        )
    return found


def _merged_usr_hook() -> list[str]:
    # Bookworm's init-system-helpers pulls in usrmerge, and with it perl (~50 MB); mmdebstrap's
    # own hook merges /usr itself and installs usr-is-merged instead, where the suite has it.
    mmdebstrap = shutil.which("mmdebstrap")
    if mmdebstrap is None:
        return []
    hook = Path(mmdebstrap).resolve().parents[1] / "share" / "mmdebstrap" / "hooks"
    hook = hook / "maybe-merged-usr"
    return [f"--hook-dir={hook}"] if hook.is_dir() else []


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End a process group: TERM first (mmdebstrap then removes its temporary root), then KILL."""
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def make_base_tarball(
    dest: Path,
    *,
    packages: Iterable[str] = DEFAULT_PACKAGES,
    suite: str | None = None,
    sources: Sequence[Path] | None = None,
    timeout: float = 600,
) -> Path:
    """Build a minbase root filesystem tarball with ``packages`` at ``dest`` with mmdebstrap.

    ``suite`` defaults to :func:`host_suite`, ``sources`` to :func:`apt_sources` (the
    machine's apt sources are the mirror arguments). The tarball appears atomically; the log
    is kept next to it (``dest`` + ``.log``). Needs root and the network to the apt mirror;
    takes ~30 s. Raises :class:`BaseImageError` (with the log's tail) on failure or timeout.
    """
    names = tuple(packages)
    suite = suite or host_suite()
    mirrors = list(sources) if sources is not None else list(apt_sources())
    if shutil.which("mmdebstrap") is None:
        raise BaseImageError("mmdebstrap is not installed")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f"{dest.name}.partial")
    log_path = dest.with_name(f"{dest.name}.log")
    argv = [
        "mmdebstrap",
        # As root, "unshare" still mounts /proc, /sys and /dev in a mount namespace of its
        # own ("root" mode mounts them on the host), so nothing outlives a killed build.
        "--mode=unshare",
        "--variant=minbase",
        f"--include={','.join(names)}",
        *_merged_usr_hook(),
        *(f"--dpkgopt={rule}" for rule in _DPKG_EXCLUDES),
        "--format=tar",
        suite,
        str(partial),
        *map(str, mirrors),
    ]
    scratch = dest.with_name(f"{dest.name}.tmp")  # mmdebstrap's temporary root, not /tmp
    scratch.mkdir(exist_ok=True)
    with log_path.open("wb") as log:
        # stdin closed: without a tty and with no mirror mmdebstrap would read sources from it.
        # Its own session, so a timeout can stop apt and dpkg below it as well.
        with subprocess.Popen(
            argv,
            env={**os.environ, "TMPDIR": str(scratch)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ) as process:
            try:
                returncode: int | None = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _stop(process)
                returncode = None
    shutil.rmtree(scratch, ignore_errors=True)
    log_tail = _tail(log_path.read_text(encoding="utf-8", errors="replace"))
    if returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        what = (
            f"timed out after {timeout:g} s" if returncode is None else f"exited with {returncode}"
        )
        raise BaseImageError(
            f"mmdebstrap ({suite}: {', '.join(names)}) {what}; log: {log_path}",
            log_tail=log_tail,
        )
    partial.replace(dest)
    return dest


def shared_base_tarball(
    folder: Path, *, packages: Iterable[str] = DEFAULT_PACKAGES, timeout: float = 600
) -> Path:
    """``folder/base.tar``, built by the first caller and reused by all others (file lock).

    Several processes (xdist workers) may call this at once: one builds, the others wait on
    ``folder/base.tar.lock``. A failure is remembered (``base.tar.failed``: the message and
    the log's path), so the waiting processes raise at once instead of building again. One
    set of ``packages`` per folder.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tarball = folder / "base.tar"
    failure = folder / "base.tar.failed"
    with FileLock(folder / "base.tar.lock", timeout=timeout + 120):
        if tarball.is_file():
            return tarball
        if failure.is_file():
            raise BaseImageError(failure.read_text(encoding="utf-8"))
        try:
            return make_base_tarball(tarball, packages=packages, timeout=timeout)
        except BaseImageError as exc:
            failure.write_text(exc.message, encoding="utf-8")
            raise


# --- buildah's isolated store ------------------------------------------------------------


def storage_env(root: Path) -> dict[str, str]:
    """Variables that keep buildah's store and configuration under ``root`` (files created).

    * ``CONTAINERS_STORAGE_CONF`` → ``root/storage.conf``: driver ``vfs``, graph root
      ``root/storage``, run root ``root/run``; ``STORAGE_DRIVER=vfs`` as well.
    * ``BUILDAH_ISOLATION=chroot``: no OCI runtime, no network namespace needed.
    * ``CONTAINERS_CONF`` → ``root/containers.conf`` (replaces the machine's files; it only
      moves the network configuration folder under ``root``).
    * ``HOME`` → ``root/home``, holding ``.config/containers/registries.conf`` (no
      unqualified-search registries), ``policy.json`` (accept local images) and an empty
      ``registries.d``. A per-user ``registries.conf`` is used *instead of* the machine's file
      and its ``registries.conf.d`` drop-ins, whereas ``CONTAINERS_REGISTRIES_CONF`` still
      reads the drop-ins (Debian ships short-name aliases there, so ``FROM python:3.11``
      would go to a remote registry): hence no ``CONTAINERS_REGISTRIES_CONF``.
    * ``XDG_*`` and ``TMPDIR`` under ``root`` (credentials lookup, temporary files).
    """
    root = root.resolve()
    home = root / "home"
    config = home / ".config" / "containers"
    for folder in (
        root / "storage",
        root / "run",
        root / "tmp",
        root / "networks",
        config / "registries.d",
    ):
        folder.mkdir(parents=True, exist_ok=True)
    runtime = root / "xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    storage_conf = root / "storage.conf"
    storage_conf.write_text(
        "[storage]\n"
        'driver = "vfs"\n'
        f"graphroot = {json.dumps(str(root / 'storage'))}\n"
        f"runroot = {json.dumps(str(root / 'run'))}\n",
        encoding="utf-8",
    )
    containers_conf = root / "containers.conf"
    containers_conf.write_text(
        f"[network]\nnetwork_config_dir = {json.dumps(str(root / 'networks'))}\n", encoding="utf-8"
    )
    (config / "registries.conf").write_text(
        "unqualified-search-registries = []\n", encoding="utf-8"
    )
    (config / "policy.json").write_text(
        json.dumps({"default": [{"type": "insecureAcceptAnything"}]}) + "\n", encoding="utf-8"
    )
    return {
        "CONTAINERS_STORAGE_CONF": str(storage_conf),
        "STORAGE_DRIVER": "vfs",
        "BUILDAH_ISOLATION": "chroot",
        "CONTAINERS_CONF": str(containers_conf),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(runtime),
        "TMPDIR": str(root / "tmp"),
    }


def isolated_environ(root: Path, *, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` (``os.environ``) minus what steers buildah, plus :func:`storage_env`."""
    kept = {
        name: value
        for name, value in base.items()
        if name not in _LEAKING and not name.startswith(_LEAKING_PREFIXES)
    }
    return kept | storage_env(root)


def buildah(*args: str, env: Mapping[str, str], timeout: float = _BUILDAH_TIMEOUT) -> str:
    """Run ``buildah ARGS`` under ``env``; its stdout, stripped. Raises :class:`BuildahError`."""
    argv = ["buildah", *args]
    result = subprocess.run(
        argv,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise BuildahError(argv, returncode=result.returncode, stderr=result.stderr)
    return result.stdout.strip()


def clear_storage(root: Path, *, env: Mapping[str, str]) -> None:
    """Unmount and remove every working container of the store, then delete ``root``."""
    try:
        if (root / "storage").is_dir():
            buildah("umount", "--all", env=env)
            buildah("rm", "--all", env=env)
    finally:
        shutil.rmtree(root)


# --- images ------------------------------------------------------------------------------


def base_reference(suite: str) -> str:
    """The base image's local name, e.g. ``localhost/advisor-test-base:bookworm``."""
    return f"localhost/advisor-test-base:{suite}"


def import_base(tarball: Path, *, reference: str, env: Mapping[str, str]) -> str:
    """Commit the root filesystem ``tarball`` as image ``reference``; the image id.

    ``buildah from scratch`` + ``buildah add`` (which unpacks a local archive at ``/``) +
    a config (``PATH``, ``LANG=C.UTF-8``, command ``python3``) + ``buildah commit``; the
    working container is removed whatever happens. ~3 s for the default tarball on vfs.
    """
    container = buildah("from", "--quiet", "scratch", env=env)
    try:
        buildah("add", "--quiet", container, str(tarball), "/", env=env)
        buildah(
            "config",
            f"--env=PATH={IMAGE_PATH}",
            "--env=LANG=C.UTF-8",
            "--cmd=python3",
            container,
            env=env,
        )
        return buildah("commit", "--quiet", container, reference, env=env)
    finally:
        buildah("rm", container, env=env)


def run_in_image(
    reference: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float = _BUILDAH_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a fresh container of the local image ``reference`` (never pulled).

    The result carries the command's exit status and text output (not checked: the caller
    decides); the container is removed afterwards. Raises :class:`BuildahError` when the
    container cannot be created.
    """
    container = buildah("from", "--quiet", "--pull=never", reference, env=env)
    try:
        return subprocess.run(
            ["buildah", "run", container, "--", *argv],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        buildah("rm", container, env=env)


_PROBE = (
    "import json, platform, sys; "
    "print(json.dumps({'python': '%d.%d' % sys.version_info[:2], 'libc': platform.libc_ver()}))"
)


def inspect_base(reference: str, *, env: Mapping[str, str]) -> LocalBaseImage:
    """Describe the local image ``reference`` by running its ``python3`` once.

    Raises :class:`BuildahError` when it does not run or is not a glibc system.
    """
    result = run_in_image(reference, ["python3", "-c", _PROBE], env=env)
    argv = ["buildah", "run", reference, "python3", "-c", _PROBE]
    if result.returncode != 0:
        raise BuildahError(argv, returncode=result.returncode, stderr=result.stderr)
    facts = json.loads(result.stdout)
    libc, version = facts["libc"]
    if libc != "glibc" or not version:
        raise BuildahError(argv, returncode=0, stderr=f"not a glibc image: {facts['libc']!r}")
    return LocalBaseImage(
        reference=reference, python=facts["python"], platform_glibc=version, env=dict(env)
    )
