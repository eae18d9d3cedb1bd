"""Sweep jobs on Dask distributed: the one module that imports ``distributed``.

Sits under the sweep routes (:mod:`.routes.sweeps`), which hand it the jobs the composition
root planned (:class:`~.sweep_calls.PlannedJob`). :class:`SweepDispatcher` connects to the
scheduler named in the settings (lazily, on the first sweep, so a server starts while its
scheduler does not answer; a scheduler that cannot be reached is a :class:`DaskUnavailable`
naming its address) and submits one task per job: :func:`run_job_task`, which a worker runs
by writing the spec's JSON to a folder of its own (no shared filesystem) and running
``advisor observe run-job SPEC --upload --server URL`` in a subprocess, the requester's token
in that subprocess's environment (never on a command line, in a task key, a log line or a
result). The worker's own ``run-job`` then uploads what it observed, and the server stamps
it ``upload:<token name>`` as it does every upload.

Nothing about a sweep is kept in the server's process: its summary (requirements, owner,
date) is published on the scheduler as a named dataset (``advisor-sweep-<id>``), and each
task logs events on the sweep's topic, ``running`` when it starts and its outcome when it
ends; so any replica connected to the same scheduler answers ``GET /v1/sweeps/{id}``. The
tasks are fire-and-forget: no result is held on a worker, so a worker that leaves never
makes Dask run a finished job again. A task whose worker dies before it ends is retried by
Dask on another worker; one that kills its workers ends without an outcome event and is
told ``running`` (the scheduler's log has why).

A sweep is forgotten ``lifetime`` seconds (``--sweep-lifetime``, a day by default) after its
last news (its creation, or the last event of one of its jobs) once it is done; one not done
is kept through one job's time bound more (a job still running, or waiting for a worker,
tells nothing until it ends). Forgetting unpublishes its summary, so ``GET`` answers 404;
each submission forgets every sweep past its time, so the scheduler holds the sweeps of
about one lifetime, not every sweep since it started. Dask has no public call to drop an
event topic: a forgotten sweep's events (two small dicts per job) stay in the scheduler's
event log, bounded per topic by Dask, until it restarts.
The scheduler and the workers must import this module (to unpickle the task): run them from
an image with ``stack-advisor[dask]`` installed, the same one for both.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import distributed

from advisor.server.client import TOKEN_ENV  # where the worker's run-job finds its token
from advisor.server.settings import DEFAULT_SWEEP_LIFETIME
from advisor.urls import redact_text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from advisor.server.sweep_calls import PlannedJob

__all__ = [
    "DaskUnavailable",
    "JobState",
    "SweepDispatcher",
    "SweepStatus",
    "UploadTarget",
    "is_stale",
    "is_sweep_id",
    "run_job_task",
]

_DATASET = "advisor-sweep-{}"
_TOPIC = "advisor-sweep-{}"
_SWEEP_ID = re.compile(r"^[0-9a-f]{32}$")
_ERROR_LINES = 20  # of run-job's stderr kept in a failed job's error
_ADVISOR = "import sys; sys.argv[0] = 'advisor'; from advisor.cli import main; main()"


class DaskUnavailable(Exception):
    """The scheduler at ``address`` cannot be used now (``reason`` says why)."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"the Dask scheduler at {address} cannot be reached: {reason}")
        self.address = address
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadTarget:
    """Where a worker sends a job's observations: the server's URL and the requester's
    token secret (left out of ``repr``)."""

    server: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobState:
    """One job as ``GET /v1/sweeps/{id}`` tells it: ``state`` is ``pending`` (waiting for a
    worker), ``running``, ``finished`` (``observations`` uploaded, by ``worker`` on
    ``host``) or ``failed`` (``error`` says why)."""

    requirement: str
    state: str
    error: str | None = None
    observations: int | None = None
    worker: str | None = None
    host: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "state": self.state,
            "error": self.error,
            "observations": self.observations,
            "worker": self.worker,
            "host": self.host,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepStatus:
    """A sweep's jobs, in spec order (newest version first), who asked for it and when."""

    id: str
    owner: str
    created: str
    jobs: tuple[JobState, ...]

    @property
    def done(self) -> bool:
        return all(j.state in ("finished", "failed") for j in self.jobs)

    def to_dict(self) -> dict[str, Any]:
        landed = [j.observations for j in self.jobs if j.observations is not None]
        return {
            "id": self.id,
            "owner": self.owner,
            "created": self.created,
            "done": self.done,
            "observations": sum(landed) if self.done else None,
            "jobs": [j.to_dict() for j in self.jobs],
        }


def is_sweep_id(text: str) -> bool:
    """Whether ``text`` has the shape of an id :meth:`SweepDispatcher.submit` gives."""
    return _SWEEP_ID.match(text) is not None


def _scrubbed(text: str, secret: str) -> str:
    return redact_text(text.replace(secret, "***") if secret else text)


def run_job_task(
    spec: str, *, upload: UploadTarget, topic: str, index: int, timeout: float
) -> dict[str, Any]:
    """What a Dask worker runs for one job: ``spec`` (a job spec's JSON) written to a fresh
    folder, then ``advisor observe run-job`` over it with ``--upload`` to ``upload.server``
    (at most ``timeout`` seconds). Logs ``running`` on ``topic`` when it starts and the
    outcome when it ends (``{"job": index, "state": "finished" | "failed", "observations":
    N, "error": None | text, "worker": address, "host": name}``, N counting what the job
    uploaded), which is also what it returns."""
    worker = distributed.get_worker()
    worker.log_event(topic, {"job": index, "state": "running"})
    answer: dict[str, Any] = {
        "job": index,
        "observations": None,
        "error": None,
        "worker": worker.address,
        "host": socket.gethostname(),
    }
    try:
        answer.update(_run_job(spec, upload=upload, timeout=timeout))
    except Exception as exc:  # told in the sweep's status, not lost in a worker's log
        answer["error"] = _scrubbed(f"{type(exc).__name__}: {exc}", upload.secret)
    answer["state"] = "failed" if answer["error"] else "finished"
    worker.log_event(topic, answer)
    return answer


def _run_job(spec: str, *, upload: UploadTarget, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="advisor-sweep-job-") as tmp:
        path = Path(tmp) / "job.json"
        path.write_text(spec, encoding="utf-8")
        command = [sys.executable, "-c", _ADVISOR, "observe", "run-job", str(path)]
        command += ["--upload", "--server", upload.server]
        env = {**os.environ, TOKEN_ENV: upload.secret}
        try:
            done = subprocess.run(
                command,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"advisor observe run-job took longer than {timeout:g} s"}
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-_ERROR_LINES:])
            return {"error": _scrubbed(tail or f"exit code {done.returncode}", upload.secret)}
        jsonl = path.parent / "observations.jsonl"
        lines = jsonl.read_text(encoding="utf-8").splitlines() if jsonl.is_file() else []
        return {"observations": sum(1 for line in lines if line.strip())}


def is_stale(
    summary: Mapping[str, Any],
    told: Sequence[tuple[float, Any]],
    *,
    now: float,
    lifetime: float,
) -> bool:
    """Whether a sweep is past its time: ``summary`` as published, ``told`` its events
    (``(time, event)``), ``now`` on the scheduler's clock (seconds since the epoch). Its
    last news is its creation or its newest event; a done sweep (every job finished or
    failed) lives ``lifetime`` seconds after it, one not done as long again as one job's
    time bound (``job-timeout``; summaries from before it was recorded have none)."""
    created = datetime.fromisoformat(str(summary["created"]).replace("Z", "+00:00"))
    last = max([created.timestamp(), *(float(t) for t, _ in told)])
    ended = {
        e["job"]
        for _, e in told
        if isinstance(e, dict) and e.get("state") in ("finished", "failed")
    }
    done = len(ended) >= len(summary["requirements"])
    grace = 0.0 if done else float(summary.get("job-timeout", 0.0))
    return now - last > lifetime + grace


class SweepDispatcher:
    """Sweeps submitted to, and read back from, the Dask scheduler at ``address``. One per
    server process; its methods block (call them from a worker thread) and are safe to call
    from several threads at once. ``connect_timeout``: seconds to wait for the scheduler;
    ``lifetime``: how long a sweep is kept after its last news (:func:`is_stale`);
    ``clock``: the time now, in seconds since the epoch (the events' clock)."""

    def __init__(
        self,
        address: str,
        *,
        connect_timeout: float = 10.0,
        lifetime: float = DEFAULT_SWEEP_LIFETIME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.address = address
        self.lifetime = lifetime
        self._connect_timeout = connect_timeout
        self._clock = clock
        self._client: distributed.Client | None = None
        self._lock = threading.Lock()

    def _connected(self) -> distributed.Client:
        with self._lock:
            if self._client is not None and self._client.status == "running":
                return self._client
            if self._client is not None:
                self._client.close()  # type: ignore[no-untyped-call]
                self._client = None
            try:
                self._client = distributed.Client(  # type: ignore[no-untyped-call]
                    self.address, timeout=self._connect_timeout, set_as_default=False
                )
            except (OSError, TimeoutError, ValueError) as exc:
                raise DaskUnavailable(self.address, str(exc) or type(exc).__name__) from exc
            return self._client

    def submit(
        self,
        jobs: Sequence[PlannedJob],
        *,
        upload: UploadTarget,
        owner: str,
        created: str,
        job_timeout: float,
    ) -> str:
        """Submit one :func:`run_job_task` per job and return the sweep's id. ``owner``
        (the token's name) and ``created`` (ISO 8601, UTC) are what the status tells;
        ``job_timeout`` bounds each job's ``run-job``. The sweeps past their time are
        forgotten first. Raises :class:`DaskUnavailable`."""
        client = self._connected()
        sweep_id = uuid.uuid4().hex
        summary = {
            "requirements": [job.requirement for job in jobs],
            "owner": owner,
            "created": created,
            "job-timeout": job_timeout,
        }
        try:
            self._forget_stale(client)
            # the summary lives on the scheduler, so any replica connected to it answers
            # for the sweep; published before the tasks, so no job outruns it
            client.publish_dataset(summary, name=_DATASET.format(sweep_id))
            futures = [
                client.submit(
                    run_job_task,
                    job.spec,
                    upload=upload,
                    topic=_TOPIC.format(sweep_id),
                    index=i,
                    timeout=job_timeout,
                    key=f"advisor-sweep-{sweep_id}-{i}",  # never the secret: keys are shown
                    pure=False,
                    retries=0,
                )
                for i, job in enumerate(jobs)
            ]
            # the outcomes travel as events: a finished job's result is not kept, so a
            # worker that leaves (a node scaled down) never makes Dask measure it again
            distributed.fire_and_forget(futures)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise DaskUnavailable(self.address, str(exc) or type(exc).__name__) from exc
        return sweep_id

    def status(self, sweep_id: str) -> SweepStatus | None:
        """The sweep's jobs now; ``None`` for an id the scheduler does not know. Raises
        :class:`DaskUnavailable`."""
        client = self._connected()
        try:
            found = self._read(client, sweep_id)
            if found is None:
                return None
            summary, events = found
            if is_stale(summary, events, now=self._clock(), lifetime=self.lifetime):
                self._forget(client, sweep_id)
                return None
            told: dict[int, dict[str, Any]] = {}
            for _, event in events:
                if isinstance(event, dict) and isinstance(event.get("job"), int):
                    told[event["job"]] = event  # in order: the last word on a job wins
            jobs = tuple(
                _state(requirement, told.get(i))
                for i, requirement in enumerate(summary["requirements"])
            )
        except (OSError, TimeoutError) as exc:
            raise DaskUnavailable(self.address, str(exc) or type(exc).__name__) from exc
        return SweepStatus(
            id=sweep_id, owner=summary["owner"], created=summary["created"], jobs=jobs
        )

    @staticmethod
    def _read(
        client: distributed.Client, sweep_id: str
    ) -> tuple[dict[str, Any], tuple[tuple[float, Any], ...]] | None:
        """A sweep's summary and events; ``None`` when the scheduler has no such sweep."""
        try:
            summary = client.get_dataset(_DATASET.format(sweep_id))
        except KeyError:
            return None
        return summary, tuple(client.get_events(_TOPIC.format(sweep_id)))

    @staticmethod
    def _forget(client: distributed.Client, sweep_id: str) -> None:
        try:
            client.unpublish_dataset(_DATASET.format(sweep_id))
        except KeyError:
            pass  # another replica forgot it first

    def _forget_stale(self, client: distributed.Client) -> None:
        """Forget every sweep past its time. Cost: two reads per sweep the scheduler
        holds (about a lifetime's worth)."""
        prefix = _DATASET.format("")
        for name in client.list_datasets():  # type: ignore[no-untyped-call]
            sweep_id = str(name).removeprefix(prefix)
            if not str(name).startswith(prefix) or not is_sweep_id(sweep_id):
                continue
            found = self._read(client, sweep_id)
            if found is not None and is_stale(*found, now=self._clock(), lifetime=self.lifetime):
                self._forget(client, sweep_id)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()  # type: ignore[no-untyped-call]
                self._client = None


def _state(requirement: str, event: dict[str, Any] | None) -> JobState:
    if event is None:
        return JobState(requirement=requirement, state="pending")
    return JobState(
        requirement=requirement,
        state=str(event.get("state", "pending")),
        error=event.get("error"),
        observations=event.get("observations"),
        worker=event.get("worker"),
        host=event.get("host"),
    )
