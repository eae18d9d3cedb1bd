"""``advisor serve`` over a PostgreSQL that crashes and comes back, under a steady write load.

The test has a PostgreSQL of its own (the session's is shared by other tests), durable as a
team's would be: a commit is acknowledged only once its WAL is written. A client uploads one
observation after another while the database is stopped as if it crashed (``pg_ctl stop -m
immediate``) and started again. What must hold, the server process never being restarted:
while the database is down, requests get 503 with the code ``store-unavailable`` and a
``Retry-After`` (never a 500, never a hang beyond the pool's time-out); after it is back,
writes succeed again by themselves; and every write the server acknowledged (200) is in the
store afterwards.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.functional.helpers import clean_environ
from tests.functional.serving import make_token, running, skip_or_fail
from tests.pg import PostgresServer, PostgresUnavailable, find_pg_bin

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

_WAIT = 90.0  # seconds any one phase may take on a loaded machine


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    bindir = find_pg_bin()
    if bindir is None:
        skip_or_fail("PostgreSQL server binaries (initdb, pg_ctl) not found")
    assert bindir is not None
    server = PostgresServer(bindir, durable=True)
    try:
        server.start()
    except PostgresUnavailable as exc:
        server.stop()
        skip_or_fail(f"could not start a PostgreSQL server: {exc}")
    try:
        yield server
    finally:
        server.stop()


class _Writer:
    """Uploads ``build`` observations of ``faultpkg`` 1.0.0, 1.0.1, … one at a time, and
    remembers what each answer was."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.acknowledged: list[str] = []
        self.refusals: list[httpx.Response] = []
        self.transport_errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(timeout=60) as client:
            n = 0
            while not self._stop.is_set():
                version = f"1.0.{n}"
                n += 1
                body = {
                    "observations": [
                        {
                            "type": "build",
                            "package": "faultpkg",
                            "version": version,
                            "outcome": "ok",
                        }
                    ]
                }
                try:
                    resp = client.post(f"{self.url}/v1/observations", json=body, headers=headers)
                except httpx.HTTPError:
                    self.transport_errors += 1
                    continue
                if resp.status_code == 200:
                    self.acknowledged.append(version)
                else:
                    self.refusals.append(resp)
                time.sleep(0.01)

    def wait_for(self, what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + _WAIT
        while not condition():
            assert self._thread.is_alive(), "the writer stopped"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)


@pytest.mark.slow
def test_a_database_crash_gives_503s_then_recovers_and_loses_no_acknowledged_write(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    env = clean_environ(tmp_path / "home", COLUMNS="200")
    store = own_postgres.create_database("faults")
    token = make_token(store, "ci", "write", env=env)
    with running(["--knowledge", store], env=env, folder=tmp_path / "server") as server:
        with _Writer(server.url, token) as writer:
            writer.wait_for("writes before the crash", lambda: len(writer.acknowledged) >= 20)
            own_postgres.halt(mode="immediate")
            writer.wait_for("a refusal while the database is down", lambda: bool(writer.refusals))
            before_restart = len(writer.acknowledged)
            own_postgres.resume()
            writer.wait_for(
                "writes after the restart",
                lambda: len(writer.acknowledged) >= before_restart + 20,
            )
        assert server.process.poll() is None, "the server died with its database"
        for refusal in writer.refusals:
            assert refusal.status_code == 503, refusal.text
            assert refusal.json()["code"] == "store-unavailable"
            assert refusal.headers["Retry-After"].isdigit()
        assert writer.transport_errors == 0, "the server dropped connections"
        known = httpx.get(
            f"{server.url}/v1/packages/faultpkg",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert known.status_code == 200, known.text
        stored = {fact["observation"]["version"] for fact in known.json()["kinds"]["build"]}
    missing = sorted(set(writer.acknowledged) - stored)
    assert not missing, f"acknowledged but lost: {missing}"
    log = server.output()
    assert "Traceback" not in log, log
    assert token not in log
