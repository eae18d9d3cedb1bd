"""Benchmarks of installed environments: import times and family probes, versions interleaved.

Sits after ``advisor observe install`` (venvs holding locks) and before the knowledge store:
:func:`bench_subjects` measures one or more interpreters (:class:`Subject`: a venv's Python,
usually one per version of the swept package) and returns, per subject, a :class:`BenchRun`
of :class:`~advisor.knowledge.schema.PerformanceObservation` values stamped with this
machine's fingerprint (:func:`advisor.observe.fingerprint.fingerprint`); :func:`bench` is the
same for one interpreter.

**Interleaved.** Every measurement takes its samples in rounds, one sample per subject per
round, in subject order (A B A B …), after untimed warm-up rounds, so that the drift of a
shared machine (another job starting, the clock speed changing) falls on every version
alike instead of on whichever ran last. ``threads`` pins the thread count of the BLAS and
OpenMP pools (every variable of :data:`THREAD_ENV_VARS`) in the measured processes, and is
recorded as the fingerprint's ``threads``.

**Import time.** For each top-level module of each measured distribution, ``python -X
importtime -c "import MODULE"`` in a fresh process per sample: one untimed round (writes
bytecode), then ``repeat`` rounds; a sample is the module's *cumulative* import time
(seconds); probe ``import:MODULE``, metric ``import_time``.

**Family probes** (:mod:`advisor.observe.probes`): one :class:`~advisor.observe.worker.
ProbeWorker` per subject checks that the probe's ``requires`` import (else the probe is
skipped for that subject, not recorded), runs ``setup`` once, then ``warmup`` untimed and
``repeat`` timed rounds of ``number`` executions each (a sample is the time per execution).
``repeat`` given here overrides the probe's own when set.

**The observation** keeps its ``samples`` (6 significant digits, in the order taken) and
the timed round of the interleaved run each was taken in (``rounds``, from 0: the
performance unit compares two versions' samples of one round in pairs); ``value`` is their
median, ``spread`` their range, ``repeats`` their count. Its fingerprint
adds the BLAS family the run loaded (``None`` for import times, or when none is loaded) and
the thread count (the pinned one, else the BLAS pool's as threadpoolctl reports it, else
``OMP_NUM_THREADS``).

**Attribution.** A probe's observation names the distribution of its ``family`` with the
installed version; when no installed distribution has that name (the standard library's
``json``), it carries the measured stack's :func:`stack_digest` instead.

**Failures are recorded, not dropped**: a probe or import that raises gives an observation
with ``value`` 0 and metric ``failed``; one that exceeds ``timeout`` (per sample) gives
``value`` 0 and metric ``timeout`` (no samples: the performance unit never uses them).

**Conditions.** Each observation carries ``conditions``: ``session`` (the interleaved run it
belongs to: a digest of the date and the measured stacks; the performance unit prefers to
compare versions measured in one session), CPU count, thread pools and BLAS libraries from
threadpoolctl when it imports, BLAS environment variables; and the full
report per probe is returned in :attr:`BenchRun.runtime`. Variables of
:data:`BLAS_ENV_VARS` that are not thread counts (``OPENBLAS_CORETYPE`` …) change what is
measured, so they are appended to the metric (``median_time[OPENBLAS_CORETYPE=Haswell]``)
and such runs are never compared with plain ones.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TYPE_CHECKING, Any

import msgspec
from packaging.utils import canonicalize_name

from advisor.events import SILENT
from advisor.knowledge.schema import PerformanceObservation, Provenance
from advisor.observe.installed import InstalledDistribution, installed_distributions
from advisor.observe.worker import probe_rounds

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import EnvironmentFingerprint
    from advisor.observe.probes import Probe

__all__ = [
    "BLAS_ENV_VARS",
    "THREAD_ENV_VARS",
    "BenchRun",
    "InstalledDistribution",
    "Subject",
    "bench",
    "bench_subjects",
    "installed_distributions",
    "parse_importtime",
    "run_bench",
    "stack_digest",
]

THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
BLAS_ENV_VARS = (
    *THREAD_ENV_VARS,
    "OPENBLAS_CORETYPE",
    "MKL_DEBUG_CPU_TYPE",
    "MKL_ENABLE_INSTRUCTIONS",
)
SOURCE = "observe"
DEFAULT_IMPORT_REPEAT = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """One interpreter to measure (a venv's Python) and the distributions whose imports
    are timed (canonical name → version; the installed version is what is recorded)."""

    python: str
    packages: Mapping[str, str] = dc_field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchRun:
    """What was measured in one interpreter: the observations, and per probe the runtime
    report (status, thread pools and BLAS, CPU count, BLAS env vars, error)."""

    observations: tuple[PerformanceObservation, ...]
    runtime: Mapping[str, Mapping[str, Any]] = dc_field(default_factory=dict)


def parse_importtime(stderr: str, module: str) -> float | None:
    """The cumulative import time (seconds) of ``module`` from ``-X importtime`` output, or
    ``None`` when the module's own line is absent."""
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or parts[2].strip() != module:
            continue
        try:
            return int(parts[1].strip()) / 1e6
        except ValueError:
            continue
    return None


def stack_digest(installed: Mapping[str, InstalledDistribution]) -> str:
    """``sha256:<hex>`` over the sorted ``name==version`` lines of ``installed``: the
    identity of the measured stack, for probes not about one distribution."""
    from advisor.knowledge.schema import stack_digest as digest

    return digest({d.name: d.version for d in installed.values()})


@dataclass(frozen=True, slots=True, kw_only=True)
class _Stamp:
    """What every observation of one subject shares."""

    fingerprint: EnvironmentFingerprint
    provenance: Provenance
    env_vars: Mapping[str, str]
    threads: int | None
    installed: Mapping[str, InstalledDistribution]
    stack_digest: str
    session: str


def _metric(base: str, env_vars: Mapping[str, str]) -> str:
    shaping = {k: v for k, v in env_vars.items() if k not in THREAD_ENV_VARS}
    if not shaping:
        return base
    return base + "[" + ",".join(f"{k}={v}" for k, v in sorted(shaping.items())) + "]"


def _threads(stamp: _Stamp, report: Mapping[str, Any]) -> int | None:
    if stamp.threads is not None:
        return stamp.threads
    for pool in report.get("threadpools") or ():
        if pool.get("user_api") == "blas" and isinstance(pool.get("num_threads"), int):
            return int(pool["num_threads"])
    text = stamp.env_vars.get("OMP_NUM_THREADS", "")
    return int(text) if text.isdigit() else None


def _observation(
    stamp: _Stamp,
    *,
    probe: str,
    metric: str,
    samples: Sequence[float],
    rounds: Sequence[int] = (),
    unit: str = "s",
    family: str,
    report: Mapping[str, Any],
) -> PerformanceObservation:
    dist = stamp.installed.get(canonicalize_name(family))
    kept = tuple(float(f"{s:.6g}") for s in samples)
    taken = tuple(rounds) if len(rounds) == len(kept) else ()
    if metric in ("failed", "timeout") or not kept:
        metric = metric if metric in ("failed", "timeout") else "failed"
        value, spread, repeats = 0.0, None, None
        kept, taken = (), ()
    else:
        # 12 significant digits: exact for 6-digit samples, without binary noise (0.30000…04)
        value = float(f"{statistics.median(kept):.12g}")
        spread = float(f"{max(kept) - min(kept):.12g}")
        repeats = len(kept)
        metric = _metric(metric, stamp.env_vars)
    blas = report.get("blas")
    fp = msgspec.structs.replace(
        stamp.fingerprint,
        blas=blas if isinstance(blas, str) else None,
        threads=_threads(stamp, report),
    )
    obs = PerformanceObservation(
        package=dist.name if dist else None,
        version=dist.version if dist else None,
        stack_digest=None if dist else stamp.stack_digest,
        probe=probe,
        metric=metric,
        value=value,
        unit=unit,
        spread=spread,
        repeats=repeats,
        samples=kept,
        rounds=taken,
        environment=fp,
        provenance=stamp.provenance,
    )
    conditions = _conditions(report, stamp.env_vars, session=stamp.session)
    return msgspec.structs.replace(obs, conditions=conditions)


def _conditions(
    report: Mapping[str, Any], env_vars: Mapping[str, str], *, session: str
) -> dict[str, str]:
    """The interleaved run the observation belongs to, the run's thread counts, BLAS
    libraries (threadpoolctl) and BLAS env vars, as text."""
    out: dict[str, str] = {"session": session}
    if report.get("cpu_count"):
        out["cpu_count"] = str(report["cpu_count"])
    for i, pool in enumerate(report.get("threadpools") or ()):
        name = pool.get("internal_api") or pool.get("user_api") or "pool"
        detail = " ".join(
            str(pool[k]) for k in ("version", "threading_layer", "architecture") if pool.get(k)
        )
        out[f"threadpool.{i}"] = f"{name} {detail} threads={pool.get('num_threads')}".strip()
    out.update({f"env.{k}": v for k, v in sorted(env_vars.items())})
    return out


# -- import times --------------------------------------------------------------------------


def _import_once(
    python: str, module: str, *, timeout: float, environ: Mapping[str, str] | None
) -> tuple[float | None, str]:
    """One ``-X importtime`` run: (seconds, "") or (None, "failed" | "timeout")."""
    try:
        done = subprocess.run(
            [python, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if environ is None else dict(environ),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, "timeout"
    seconds = parse_importtime(done.stderr, module) if done.returncode == 0 else None
    return seconds, "" if seconds is not None else "failed"


def _import_times(
    subjects: Sequence[Subject],
    stamps: Sequence[_Stamp],
    *,
    repeat: int,
    timeout: float,
    environ: Mapping[str, str] | None,
    events: ProgressEvents,
) -> list[list[PerformanceObservation]]:
    out: list[list[PerformanceObservation]] = [[] for _ in subjects]
    wanted: list[set[tuple[str, str]]] = []  # per subject: (distribution, module)
    for subject, stamp in zip(subjects, stamps, strict=True):
        pairs: set[tuple[str, str]] = set()
        for canonical in {canonicalize_name(n) for n in subject.packages}:
            dist = stamp.installed.get(canonical)
            pairs.update((canonical, m) for m in (dist.modules if dist else ()))
        wanted.append(pairs)
    for name, module in sorted(set().union(*wanted)):
        takers = [i for i, pairs in enumerate(wanted) if (name, module) in pairs]
        samples: dict[int, list[float]] = {i: [] for i in takers}
        rounds: dict[int, list[int]] = {i: [] for i in takers}
        failed: dict[int, str] = {}
        what = f"timing import {module}: {repeat} rounds over {len(takers)} interpreter(s)"
        events.working(what)
        try:
            for round_ in range(repeat + 1):  # round 0 writes bytecode: untimed
                for i in takers:
                    if i in failed:
                        continue
                    seconds, problem = _import_once(
                        subjects[i].python, module, timeout=timeout, environ=environ
                    )
                    if seconds is None:
                        failed[i] = problem
                    elif round_:
                        samples[i].append(seconds)
                        rounds[i].append(round_ - 1)
        finally:
            events.work_finished(what)
        for i in takers:
            out[i].append(
                _observation(
                    stamps[i],
                    probe=f"import:{module}",
                    metric=failed.get(i, "import_time"),
                    samples=() if i in failed else samples[i],
                    rounds=() if i in failed else rounds[i],
                    family=name,
                    report={},
                )
            )
    return out


# -- family probes ---------------------------------------------------------------------------


def bench_subjects(
    subjects: Sequence[Subject],
    *,
    probes: Sequence[Probe],
    repeat: int | None,
    timeout: float,
    env: RuntimeEnvironment,
    today: str,
    tool: str,
    environ: Mapping[str, str] | None = None,
    threads: int | None = None,
    imports: bool = True,
    events: ProgressEvents = SILENT,
) -> tuple[BenchRun, ...]:
    """Measure every subject, interleaved: import times of the top-level modules of each
    subject's ``packages`` (when ``imports``), then each of ``probes`` whose ``requires``
    import; one :class:`BenchRun` per subject, in order.

    ``repeat`` is the number of timed rounds (``None``: :data:`DEFAULT_IMPORT_REPEAT` for
    imports, each probe's own for probes); ``timeout`` bounds each sample (and each setup);
    ``environ`` is the measured processes' environment (``None``: inherited), with every
    :data:`THREAD_ENV_VARS` set to ``threads`` when given; BLAS variables in it are
    recorded. Observations come in a stable order: imports by package and module, then
    probes in the order given. Each long step reports to ``events``. Cost per subject:
    ``repeat + 1`` interpreter starts per module, one worker process per probe. Raises
    :class:`~advisor.errors.InputError` when an interpreter cannot run.
    """
    from advisor.observe.fingerprint import fingerprint

    if threads is not None:
        base = dict(os.environ if environ is None else environ)
        environ = {**base, **dict.fromkeys(THREAD_ENV_VARS, str(threads))}
    source_env = environ if environ is not None else {}
    env_vars = {k: source_env[k] for k in BLAS_ENV_VARS if k in source_env}
    machine = fingerprint(env)
    found = [installed_distributions(s.python, timeout=timeout, environ=environ) for s in subjects]
    digests = [stack_digest(installed) for installed in found]
    # one id for the interleaved run: its date and the stacks it measured side by side
    session = hashlib.sha256("\n".join([today, *sorted(digests)]).encode()).hexdigest()[:16]
    stamps = [
        _Stamp(
            fingerprint=machine,
            provenance=Provenance(source=SOURCE, date=today, tool=tool),
            env_vars=env_vars,
            threads=threads,
            installed=installed,
            stack_digest=digest,
            session=session,
        )
        for installed, digest in zip(found, digests, strict=True)
    ]
    out: list[list[PerformanceObservation]] = [[] for _ in subjects]
    if imports:
        out = _import_times(
            subjects,
            stamps,
            repeat=repeat or DEFAULT_IMPORT_REPEAT,
            timeout=timeout,
            environ=environ,
            events=events,
        )
    runtime: list[dict[str, Mapping[str, Any]]] = [{} for _ in subjects]
    for probe in probes:
        rounds = repeat or probe.repeat
        what = f"probe {probe.name}: {rounds} rounds over {len(subjects)} interpreter(s)"
        events.working(what)
        try:
            results = probe_rounds(
                probe,
                [s.python for s in subjects],
                repeat=rounds,
                timeout=timeout,
                environ=environ,
                env_vars=BLAS_ENV_VARS,
            )
        finally:
            events.work_finished(what)
        for i, (report, samples, taken) in enumerate(results):
            runtime[i][probe.name] = report
            status = report.get("status")
            if status == "skipped":
                continue
            out[i].append(
                _observation(
                    stamps[i],
                    probe=probe.name,
                    metric=probe.metric if status == "ok" else str(status),
                    samples=samples if status == "ok" else (),
                    rounds=taken if status == "ok" else (),
                    unit=probe.unit,
                    family=probe.family,
                    report=report,
                )
            )
    return tuple(
        BenchRun(observations=tuple(obs), runtime=rt) for obs, rt in zip(out, runtime, strict=True)
    )


def bench(
    python: str,
    *,
    probes: Sequence[Probe],
    repeat: int | None,
    timeout: float,
    packages: Mapping[str, str],
    env: RuntimeEnvironment,
    today: str,
    tool: str,
    environ: Mapping[str, str] | None = None,
    threads: int | None = None,
    imports: bool = True,
    events: ProgressEvents = SILENT,
) -> BenchRun:
    """:func:`bench_subjects` for the one interpreter ``python`` (its ``packages``' imports
    timed)."""
    (run,) = bench_subjects(
        [Subject(python=python, packages=packages)],
        probes=probes,
        repeat=repeat,
        timeout=timeout,
        env=env,
        today=today,
        tool=tool,
        environ=environ,
        threads=threads,
        imports=imports,
        events=events,
    )
    return run


def run_bench(
    python: str,
    *,
    probes: Sequence[Probe],
    repeat: int | None,
    timeout: float,
    packages: Mapping[str, str],
    env: RuntimeEnvironment,
    today: str,
    tool: str,
    environ: Mapping[str, str] | None = None,
) -> list[PerformanceObservation]:
    """The observations of :func:`bench` (same arguments), without the runtime reports."""
    run = bench(
        python,
        probes=probes,
        repeat=repeat,
        timeout=timeout,
        packages=packages,
        env=env,
        today=today,
        tool=tool,
        environ=environ,
    )
    return list(run.observations)
