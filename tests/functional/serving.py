"""A real ``advisor serve`` for the end-to-end tests: its own process, its output in files.

``ServerProcess`` starts ``advisor serve --port 0 ARGS`` (its first stderr line names the
address it bound) and waits until ``/v1/health`` answers; ``running`` stops it (SIGTERM, as a
service manager does) when the block ends; ``make_token`` makes a token with the CLI,
``upload_observations`` posts observations with one; ``uv_binary`` installs uv (a client of
the server's OSV endpoints) once per session, or skips.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.functional.helpers import REPO, CliResult, run_cli
from tests.support.uv import UvUnavailable, install_uv

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = [
    "ServerProcess",
    "make_token",
    "ok",
    "running",
    "skip_or_fail",
    "upload_observations",
    "uv_binary",
]


_LISTENING = re.compile(r"advisor serve: (http://\S+) over ")
_START_TIMEOUT = 60.0


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: this is a failure)")
    pytest.skip(reason)


class ServerProcess:
    """``advisor serve ARGS`` in a process of its own, its output in files."""

    def __init__(self, args: list[str], *, env: dict[str, str], folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.out_path = folder / "stdout"
        self.err_path = folder / "stderr"
        code = "import sys; sys.argv[0] = 'advisor'; from advisor.cli import main; main()"
        full = {**env, "PYTHONPATH": str(REPO)}
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, "serve", "--port", "0", *args],
                env=full,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        self.url = self._wait_for_address()

    def _wait_for_address(self) -> str:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            found = _LISTENING.search(self.err_path.read_text(errors="replace"))
            if found:
                url = found.group(1)
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/v1/health", timeout=5).status_code == 200:
                        return url
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"advisor serve did not start:\n{self.output()}")

    def output(self) -> str:
        return self.out_path.read_text(errors="replace") + self.err_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextlib.contextmanager
def running(args: list[str], *, env: dict[str, str], folder: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(args, env=env, folder=folder)
    try:
        yield server
    finally:
        server.stop()


def ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def make_token(store: str, name: str, scope: str, *, env: dict[str, str]) -> str:
    created = ok(
        run_cli(
            ["server", "token", "create", name, "--scope", scope, "--knowledge", store], env=env
        )
    )
    return created.stdout.strip()


def upload_observations(url: str, token: str, observations: list[object]) -> dict[str, object]:
    """POST ``observations`` to the server at ``url`` with ``token`` (scope ``admin`` or
    ``write``); the answer's JSON, once it is a 200."""
    resp = httpx.post(
        f"{url}/v1/observations",
        json={"observations": observations},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    answer: dict[str, object] = resp.json()
    return answer


_UV: dict[str, Path] = {}


def uv_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """uv, installed from the package index into a throwaway venv once per session (for a
    session-scoped ``uv`` fixture); skips with the reason when it cannot be (fails under
    ``CI=true``)."""
    if "uv" not in _UV:
        try:
            _UV["uv"] = install_uv(tmp_path_factory.mktemp("uv-venv"))
        except UvUnavailable as exc:
            skip_or_fail(str(exc))
            raise
    return _UV["uv"]
