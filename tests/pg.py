"""A real, throwaway PostgreSQL server for the tests (no mocks; nothing leaves 127.0.0.1).

``find_pg_bin()`` looks for ``initdb`` and ``pg_ctl`` on ``PATH``, then in Debian's
``/usr/lib/postgresql/<version>/bin`` (highest version first). ``PostgresServer(bindir)``
runs ``initdb`` in a fresh temporary folder (as the ``postgres`` user when we are root, since
the server refuses to run as root), starts it with ``pg_ctl`` on a free 127.0.0.1 port with
durability switched off (tests do not need it, and it makes them fast), creates databases on
request, and ``stop()`` shuts it down and deletes the folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresServer", "PostgresUnavailable", "find_pg_bin"]

_TOOLS = ("initdb", "pg_ctl", "createdb")
_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_TIMEOUT = 120


class PostgresUnavailable(Exception):
    """The server could not be set up here (the reason says why)."""


def find_pg_bin(path: str | None = None) -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``createdb``, or ``None``."""
    found = shutil.which("pg_ctl", path=path)
    if found is not None:
        folder = Path(found).resolve().parent
        if all((folder / tool).exists() for tool in _TOOLS):
            return folder

    def version(folder: Path) -> tuple[int, ...]:
        digits = folder.parent.name.split(".")
        return tuple(int(d) for d in digits if d.isdigit())

    for folder in sorted(_DEBIAN_ROOT.glob("*/bin"), key=version, reverse=True):
        if all((folder / tool).exists() for tool in _TOOLS):
            return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One server in its own temporary folder; ``start()``, ``create_database()``, ``stop()``."""

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        # durable: every commit is on disk (WAL written) before it is acknowledged, so a
        # crash of the server (``restart(mode="immediate")``) loses no acknowledged write
        self.durable = durable
        self.root: Path | None = None
        self.port = 0
        self._prefix: list[str] = []
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        self._env.update(LC_ALL="C", LANG="C")

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def _run(self, *args: str, user: bool = True) -> subprocess.CompletedProcess[str]:
        command = [*(self._prefix if user else []), *args]
        return subprocess.run(
            command,
            env=self._env,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def start(self) -> PostgresServer:
        """initdb and start; raises :class:`PostgresUnavailable` with the server's words."""
        self.root = Path(tempfile.mkdtemp(prefix="advisor-pg-"))
        try:
            if os.geteuid() == 0:
                try:
                    account = pwd.getpwnam("postgres")
                except KeyError as exc:
                    raise PostgresUnavailable("running as root, and no 'postgres' user") from exc
                if shutil.which("runuser") is None:
                    raise PostgresUnavailable("running as root, and no 'runuser' command")
                os.chown(self.root, account.pw_uid, account.pw_gid)
                self._prefix = ["runuser", "-u", "postgres", "--"]
            os.chmod(self.root, 0o700)
            done = self._run(
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            )
            if done.returncode != 0:
                raise PostgresUnavailable(f"initdb failed: {done.stderr.strip()[-2000:]}")
            self._start_on_free_port()
        except BaseException:
            self._remove()
            raise
        return self

    def _start_on_free_port(self) -> None:
        assert self.root is not None
        log = ""
        for _ in range(3):  # another process may take the port between our probe and bind
            self.port = _free_port()
            done = self._pg_ctl_start()
            if done.returncode == 0:
                return
            with contextlib.suppress(OSError):
                log = (self.root / "log").read_text(errors="replace")[-2000:]
        raise PostgresUnavailable(f"pg_ctl start failed: {log or done.stderr.strip()}")

    def _pg_ctl_start(self) -> subprocess.CompletedProcess[str]:
        assert self.root is not None
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c max_connections=40"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        return self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def halt(self, *, mode: str = "immediate") -> None:
        """Stop the server, keeping its data (``immediate``: as if it crashed)."""
        pg_ctl = str(self.bindir / "pg_ctl")
        done = self._run(pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")
        if done.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl stop failed: {done.stderr.strip()}")

    def resume(self) -> None:
        """Start the halted server again, on the same port and data."""
        done = self._pg_ctl_start()
        if done.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl start failed: {done.stderr.strip()}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create ``name`` and return its URL."""
        done = self._run(
            str(self.bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            name,
            user=False,
        )
        if done.returncode != 0:
            raise PostgresUnavailable(f"createdb {name} failed: {done.stderr.strip()}")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown, then immediate) and delete its folder."""
        if self.root is None:
            return
        if (self.data / "postmaster.pid").exists():
            pg_ctl = str(self.bindir / "pg_ctl")
            done = self._run(pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")
            if done.returncode != 0:
                self._run(pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self._remove()

    def _remove(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
