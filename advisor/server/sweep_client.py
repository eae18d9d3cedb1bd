"""The client of ``/v1/sweeps``: send a sweep to the team server, follow it until it is done.

Sits beside :mod:`.client` (whose :class:`~.client.AdvisorClient` does each request) and under
the client's jobs (:meth:`.remote.RemoteJobs.sweep`, given the clock and the sleep by the
composition root). What ``advisor observe sweep --dispatch`` does: :func:`submit_sweep`
posts the :class:`~.sweep_calls.SweepCall`, :func:`follow_sweep` polls ``GET
/v1/sweeps/{id}``, handing each answer to a callback (a :class:`SweepProgress`, in the words
of :func:`progress_line`), until every job is finished or failed (or ``wait`` seconds
passed: then a :class:`SweepNotDone` that names the sweep, so it can be read later).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from advisor.errors import AdvisorError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from advisor.events import ProgressEvents
    from advisor.server.client import AdvisorClient
    from advisor.server.sweep_calls import SweepCall

__all__ = ["SweepNotDone", "SweepProgress", "follow_sweep", "progress_line", "submit_sweep"]


class SweepNotDone(AdvisorError):
    """The sweep ``sweep_id`` on ``server`` was not done within ``waited`` seconds (it goes
    on: ``GET /v1/sweeps/{id}`` tells it later)."""

    exit_code = 3

    def __init__(self, *, server: str, sweep_id: str, waited: float) -> None:
        super().__init__(
            f"sweep {sweep_id} is not done after {waited:g} s; it goes on on the cluster:"
            f" GET {server}/v1/sweeps/{sweep_id}"
        )
        self.server = server
        self.sweep_id = sweep_id
        self.waited = waited


def submit_sweep(client: AdvisorClient, call: SweepCall) -> dict[str, Any]:
    """Post ``call``; the server's answer (``id``, ``url``, ``owner``, ``jobs``). Raises the
    refusal's error (:func:`~.client.refusal`)."""
    return client.post("/v1/sweeps", msgspec.to_builtins(call))


def progress_line(found: Mapping[str, Any]) -> str:
    """A sweep's answer in a few words: ``sweep 3f0c1a2b: 1 running, 2/4 done``."""
    states = [str(j.get("state")) for j in found.get("jobs", [])]
    done = sum(1 for s in states if s in ("finished", "failed"))
    sweep = str(found.get("id", ""))[:8]
    return f"sweep {sweep}: {states.count('running')} running, {done}/{len(states)} done"


class SweepProgress:
    """A followed sweep as one progress step on ``events``, renamed when its line changes
    (:meth:`poll` is :func:`follow_sweep`'s ``on_poll``); :meth:`close` ends it."""

    def __init__(self, events: ProgressEvents) -> None:
        self._events = events
        self._shown: str | None = None  # the step now on screen

    def poll(self, found: Mapping[str, Any]) -> None:
        now = progress_line(found)
        if now == self._shown:
            return
        self.close()
        self._events.working(now)
        self._shown = now

    def close(self) -> None:
        if self._shown is not None:
            self._events.work_finished(self._shown)
            self._shown = None


def follow_sweep(
    client: AdvisorClient,
    sweep_id: str,
    *,
    wait: float,
    interval: float = 2.0,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    on_poll: Callable[[Mapping[str, Any]], None],
) -> dict[str, Any]:
    """``GET /v1/sweeps/{sweep_id}`` every ``interval`` seconds until it is done, each answer
    given to ``on_poll`` (for progress); the last answer. Raises :class:`SweepNotDone`
    after ``wait`` seconds. Cost: one request per ``interval``."""
    deadline = clock() + wait
    while True:
        found = client.get(f"/v1/sweeps/{sweep_id}")
        on_poll(found)
        if found.get("done"):
            return found
        if clock() >= deadline:
            raise SweepNotDone(server=client.url, sweep_id=sweep_id, waited=wait)
        sleep(interval)
