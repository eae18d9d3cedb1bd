"""A real container registry on 127.0.0.1 for the push tests (test support).

:func:`start_registry` runs Debian's ``docker-registry`` (the distribution project's
registry) with a configuration file of its own in a temporary folder: filesystem storage
there, plain HTTP on ``127.0.0.1`` and a free port, no authentication. It waits until
``GET /v2/`` answers. Plain HTTP on purpose: the tools verify TLS by default, so a push
without ``--no-tls-verify`` (or an ``insecure`` registries.conf entry) must fail, which
the tests check.

Plain helpers, no pytest: the fixture lives in ``tests/container_conftest.py``.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["REGISTRY_BINARY", "LocalRegistry", "RegistryError", "start_registry"]

REGISTRY_BINARY = "docker-registry"


class RegistryError(Exception):
    """The registry did not start; the message carries the end of its log."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalRegistry:
    """A running registry: ``host`` is ``127.0.0.1:PORT`` (a push destination's prefix)."""

    host: str
    folder: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(folder: Path, port: int) -> str:
    return (
        "version: 0.1\n"
        "log:\n"
        "  level: warn\n"
        "  accesslog:\n"
        "    disabled: true\n"
        "storage:\n"
        "  filesystem:\n"
        f"    rootdirectory: {folder / 'data'}\n"
        "  delete:\n"
        "    enabled: true\n"
        "http:\n"
        f"  addr: 127.0.0.1:{port}\n"
    )


@contextlib.contextmanager
def start_registry(folder: Path, *, timeout: float = 30.0) -> Iterator[LocalRegistry]:
    """Run a registry storing under ``folder`` until the context ends (then stop it).

    Raises :class:`RegistryError` when the binary is missing or it does not answer within
    ``timeout`` seconds (a port taken between choosing and binding: try again)."""
    binary = shutil.which(REGISTRY_BINARY)
    if binary is None:
        raise RegistryError(f"{REGISTRY_BINARY} is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    config = folder / "config.yml"
    config.write_text(_config(folder, port), encoding="utf-8")
    log_path = folder / "registry.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{port}/v2/"
        while True:
            if process.poll() is not None:
                raise RegistryError(
                    f"{REGISTRY_BINARY} exited with {process.returncode}:\n"
                    + log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RegistryError(f"{REGISTRY_BINARY} did not answer on {url}")
            time.sleep(0.1)
        yield LocalRegistry(host=f"127.0.0.1:{port}", folder=folder)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
