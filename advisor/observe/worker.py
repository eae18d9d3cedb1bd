"""A measuring process inside the measured interpreter, driven one request at a time.

Sits under :mod:`advisor.observe.bench`: for each probe, the bench starts one
:class:`ProbeWorker` per measured interpreter (a venv's Python, which need not have
``advisor`` installed, so the worker script uses the standard library only), sets the probe
up in each, and then asks them for samples in turn (:func:`probe_rounds`), so that versions
are measured interleaved (A B A B …) and a machine's drift falls on all of them alike.

**Protocol.** One JSON object per line each way, over the worker's stdin and a private copy
of its stdout (the probe's own prints go to stderr, which is kept in a temporary file for
the error message). Requests: ``{"op": "setup", "requires", "setup", "statement",
"number"}`` → ``{"status": "ok" | "skipped" | "failed", "missing"?, "error"?}``;
``{"op": "sample"}`` → ``{"status": "ok", "sample": seconds per execution}`` (timed with
:mod:`timeit`) or ``{"status": "failed", "error"}``; ``{"op": "report"}`` → the run's
conditions: ``cpu_count``, ``env`` (the BLAS variables set), ``threadpools`` (from
threadpoolctl when it imports), ``blas`` (the BLAS family loaded: threadpoolctl's, else the
shared libraries mapped into the process on Linux). A reply that does not come within the
request's timeout kills the worker (:meth:`ProbeWorker.request` returns ``None``).
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import tempfile
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.observe.probes import Probe

__all__ = ["WORKER_SCRIPT", "ProbeWorker", "probe_rounds"]

WORKER_SCRIPT = r"""
import importlib.util, json, os, sys, timeit
proto = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)  # the probe's prints go to stderr; the protocol keeps its own stdout
ENV_VARS = json.loads(sys.argv[1])
FAMILIES = ("openblas", "mkl", "blis", "flexiblas", "accelerate", "atlas")

def reply(obj):
    proto.write(json.dumps(obj, sort_keys=True) + "\n")
    proto.flush()

def error(exc):
    return f"{type(exc).__name__}: {exc}"[:500]

def mapped_blas():
    try:
        with open("/proc/self/maps") as fh:
            names = {os.path.basename(line.split()[-1]).lower()
                     for line in fh if "/" in line}
    except OSError:
        return None
    for family in FAMILIES:
        if any(family in name for name in names):
            return family
    return None

def report():
    out = {"cpu_count": os.cpu_count(),
           "env": {k: os.environ[k] for k in ENV_VARS if k in os.environ}}
    try:
        from threadpoolctl import threadpool_info
        out["threadpools"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version",
                                   "threading_layer", "architecture")}
            for p in threadpool_info()]
    except Exception:
        pass
    blas = [p for p in out.get("threadpools", ()) if p.get("user_api") == "blas"]
    out["blas"] = blas[0].get("internal_api") if blas else mapped_blas()
    return out

timer, number = None, 1
for line in sys.stdin:
    req = json.loads(line)
    op = req.get("op")
    if op == "setup":
        missing = [m for m in req["requires"] if importlib.util.find_spec(m) is None]
        if missing:
            reply({"status": "skipped", "missing": missing})
            continue
        try:
            ns = {"__name__": "__probe__"}
            exec(compile(req["setup"], "<setup>", "exec"), ns)
            timer, number = timeit.Timer(req["statement"], globals=ns), req["number"]
            reply({"status": "ok"})
        except BaseException as exc:
            reply({"status": "failed", "error": error(exc)})
    elif op == "sample":
        try:
            reply({"status": "ok", "sample": timer.timeit(number) / number})
        except BaseException as exc:
            reply({"status": "failed", "error": error(exc)})
    elif op == "report":
        reply(report())
"""


class ProbeWorker:
    """One worker process of ``python``. Use as a context manager (the process is ended on
    exit). Not thread-safe: one request at a time."""

    def __init__(
        self,
        python: str,
        *,
        environ: Mapping[str, str] | None,
        env_vars: Sequence[str],
    ) -> None:
        self._closed = False
        self._stderr = tempfile.TemporaryFile()  # closed in close()
        self._proc = subprocess.Popen(
            [python, "-c", WORKER_SCRIPT, json.dumps(list(env_vars))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=None if environ is None else dict(environ),
        )
        self._replies: queue.Queue[str | None] = queue.Queue()
        # a reader thread, so that a reply can be waited for with a timeout on any OS
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._replies.put(line)
        self._replies.put(None)

    def request(self, message: Mapping[str, Any], *, timeout: float) -> dict[str, Any] | None:
        """Send ``message``; its reply, or ``None`` when none came within ``timeout``
        seconds (the worker is then killed). A worker that died answers
        ``{"status": "failed", "error": <its last stderr line>}``."""
        if self._proc.poll() is not None:
            return {"status": "failed", "error": self._last_error()}
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(message) + "\n")
            self._proc.stdin.flush()
        except OSError:
            return {"status": "failed", "error": self._last_error()}
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            self._proc.kill()  # a stuck statement does not read its stdin: no polite way
            self.close()
            return None
        if line is None:
            self._proc.wait()
            return {"status": "failed", "error": self._last_error()}
        try:
            reply = json.loads(line)
        except ValueError:
            return {"status": "failed", "error": f"unreadable reply: {line[:200]}"}
        return reply if isinstance(reply, dict) else {"status": "failed", "error": "no object"}

    def _last_error(self) -> str:
        self._stderr.seek(0)
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return (lines[-1] if lines else f"exited with {self._proc.returncode}")[:500]

    def close(self) -> None:
        """End the process (closing its stdin first; killing it when it does not stop).
        Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._proc.poll() is None:
            with contextlib.suppress(OSError):
                if self._proc.stdin is not None:
                    self._proc.stdin.close()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._reader.join(timeout=5)  # the pipe is at its end once the process is gone
        for pipe in (self._proc.stdin, self._proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()
        self._stderr.close()

    def __enter__(self) -> ProbeWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def probe_rounds(
    probe: Probe,
    pythons: Sequence[str],
    *,
    repeat: int,
    timeout: float,
    environ: Mapping[str, str] | None,
    env_vars: Sequence[str],
) -> list[tuple[dict[str, Any], list[float], list[int]]]:
    """Set ``probe`` up in one worker per interpreter of ``pythons`` and sample them in turn:
    ``probe.warmup`` untimed rounds, then ``repeat`` timed ones, one sample of each worker
    per round, in order. Per interpreter: its report (``status``: ``ok``, ``skipped``,
    ``failed`` or ``timeout``, with ``error``/``missing``, and the run's conditions, which
    name ``env_vars`` when set), its samples and the timed round (from 0) each was taken in,
    so that the samples of two interpreters can be compared round by round. ``timeout``
    bounds each request."""
    with contextlib.ExitStack() as stack:
        workers = [
            stack.enter_context(ProbeWorker(python, environ=environ, env_vars=env_vars))
            for python in pythons
        ]
        setup = {
            "op": "setup",
            "requires": list(probe.requires),
            "setup": probe.setup,
            "statement": probe.statement,
            "number": probe.number,
        }
        states = [w.request(setup, timeout=timeout) or {"status": "timeout"} for w in workers]
        samples: list[list[float]] = [[] for _ in pythons]
        rounds: list[list[int]] = [[] for _ in pythons]
        for round_ in range(probe.warmup + repeat):
            for i, worker in enumerate(workers):
                if states[i].get("status") != "ok":
                    continue
                reply = worker.request({"op": "sample"}, timeout=timeout)
                if reply is None:
                    states[i] = {"status": "timeout"}
                elif reply.get("status") != "ok" or not isinstance(reply.get("sample"), float):
                    states[i] = {"status": "failed", "error": str(reply.get("error", ""))}
                elif round_ >= probe.warmup:
                    samples[i].append(reply["sample"])
                    rounds[i].append(round_ - probe.warmup)
        results = []
        for i, worker in enumerate(workers):
            report = dict(states[i])
            if report.get("status") in ("ok", "failed"):
                report.update(worker.request({"op": "report"}, timeout=timeout) or {})
            results.append((report, samples[i], rounds[i]))
        return results
