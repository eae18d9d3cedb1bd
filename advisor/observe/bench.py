"""Benchmarks of an installed environment: import times and family probes.

Sits after ``advisor observe install`` (a venv holding a lock) and before the knowledge
store: :func:`bench` runs, in the venv's own interpreter, one fresh process per measurement
and returns :class:`~advisor.knowledge.schema.PerformanceObservation` values stamped with this
machine's fingerprint (:func:`advisor.observe.fingerprint.fingerprint`).

**Import time.** For each top-level module of each measured distribution, ``python -X
importtime -c "import MODULE"`` runs once untimed (writes bytecode) and then ``repeat`` times;
the value is the median of the module's *cumulative* import time (seconds), ``spread`` the
range (max - min) of the samples; probe ``import:MODULE``, metric ``import_time``.

**Family probes** (:mod:`advisor.observe.probes`): a small script run by the venv's Python
checks that the probe's ``requires`` import (else the probe is skipped, not recorded), runs
``setup`` once, ``warmup`` untimed samples, then ``repeat`` samples of ``number`` executions
timed with ``time.perf_counter`` (via :mod:`timeit`); value is the median per-execution time,
``spread`` the range. ``repeat`` given to :func:`bench` overrides the probe's own when set.

**Attribution.** A probe's observation names the distribution of its ``family`` with the
installed version; when no installed distribution has that name (the standard library's
``json``), it carries the measured stack's :func:`stack_digest` instead.

**Failures are recorded, not dropped**: a probe or import that raises gives an observation
with ``value`` 0 and metric ``failed``; one that exceeds ``timeout`` gives ``value`` 0 and
metric ``timeout`` (JSON cannot hold NaN; the performance scorer ignores these metrics as
they have no peer values of the same metric).

**Threads and BLAS.** The script reports ``threadpoolctl.threadpool_info()`` when
threadpoolctl imports, ``os.cpu_count()`` and the BLAS-related environment variables
(:data:`BLAS_ENV_VARS`). :class:`PerformanceObservation` has no free-form field, so the full
report is returned in :attr:`BenchRun.runtime` (the sweep writes it next to each job's result);
only the *conditions that change what is measured* go into the observation: when any of
those variables is set, the metric becomes ``median_time[NAME=value,...]`` so capped runs
are never compared with uncapped ones.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TYPE_CHECKING, Any

import msgspec
from packaging.utils import canonicalize_name

from advisor.knowledge.schema import PerformanceObservation, Provenance
from advisor.observe.installed import InstalledDistribution, installed_distributions

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.schema import EnvironmentFingerprint
    from advisor.observe.probes import Probe

__all__ = [
    "BLAS_ENV_VARS",
    "BenchRun",
    "InstalledDistribution",
    "bench",
    "installed_distributions",
    "parse_importtime",
    "run_bench",
    "stack_digest",
]

BLAS_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "MKL_DEBUG_CPU_TYPE",
    "MKL_ENABLE_INSTRUCTIONS",
)
SOURCE = "observe"

_PROBE_SCRIPT = r"""
import importlib.util, json, os, sys, timeit
spec = json.loads(sys.stdin.read())
missing = [m for m in spec["requires"] if importlib.util.find_spec(m) is None]
if missing:
    print(json.dumps({"status": "skipped", "missing": missing}))
    raise SystemExit(0)
report = {"cpu_count": os.cpu_count(),
          "env": {k: os.environ[k] for k in spec["env_vars"] if k in os.environ}}
try:
    ns = {"__name__": "__probe__"}
    exec(compile(spec["setup"], "<setup>", "exec"), ns)
    timer = timeit.Timer(spec["statement"], globals=ns)
    for _ in range(spec["warmup"]):
        timer.timeit(spec["number"])
    report["samples"] = [timer.timeit(spec["number"]) / spec["number"]
                         for _ in range(spec["repeat"])]
    report["status"] = "ok"
except BaseException as exc:
    report["status"] = "failed"
    report["error"] = f"{type(exc).__name__}: {exc}"[:500]
try:
    from threadpoolctl import threadpool_info
    report["threadpools"] = [
        {k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version",
                               "threading_layer", "architecture")}
        for p in threadpool_info()]
except Exception:
    pass
print(json.dumps(report, sort_keys=True))
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchRun:
    """What :func:`bench` measured: the observations, and per probe the runtime report
    (status, thread pools and BLAS from threadpoolctl, CPU count, BLAS env vars, error)."""

    observations: tuple[PerformanceObservation, ...]
    runtime: Mapping[str, Mapping[str, Any]] = dc_field(default_factory=dict)


def _run(
    argv: list[str], *, timeout: float, environ: Mapping[str, str] | None, stdin: str = ""
) -> subprocess.CompletedProcess[str] | None:
    """Run ``argv``; ``None`` when it timed out."""
    try:
        return subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if environ is None else dict(environ),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None


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


def _conditions_metric(base: str, env_vars: Mapping[str, str]) -> str:
    if not env_vars:
        return base
    return base + "[" + ",".join(f"{k}={v}" for k, v in sorted(env_vars.items())) + "]"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Stamp:
    fingerprint: EnvironmentFingerprint
    provenance: Provenance
    env_vars: Mapping[str, str]
    stack_digest: str


def stack_digest(installed: Mapping[str, InstalledDistribution]) -> str:
    """``sha256:<hex>`` over the sorted ``name==version`` lines of ``installed``: the
    identity of the measured stack, for probes not about one distribution."""
    from advisor.knowledge.schema import stack_digest as digest

    return digest({d.name: d.version for d in installed.values()})


def _observation(
    stamp: _Stamp,
    *,
    probe: str,
    metric: str,
    samples: Sequence[float],
    unit: str = "s",
    package: str | None,
    version: str | None,
) -> PerformanceObservation:
    if metric in ("failed", "timeout"):
        value, spread, repeats = 0.0, None, None
    else:
        value = statistics.median(samples)
        spread = max(samples) - min(samples)
        repeats = len(samples)
        metric = _conditions_metric(metric, stamp.env_vars)
    return PerformanceObservation(
        package=package,
        version=version,
        stack_digest=None if package else stamp.stack_digest,
        probe=probe,
        metric=metric,
        value=round(value, 9),
        unit=unit,
        spread=None if spread is None else round(spread, 9),
        repeats=repeats,
        environment=stamp.fingerprint,
        provenance=stamp.provenance,
    )


def _import_times(
    python: str,
    dist: InstalledDistribution,
    module: str,
    *,
    repeat: int,
    timeout: float,
    environ: Mapping[str, str] | None,
    stamp: _Stamp,
) -> PerformanceObservation:
    argv = [python, "-X", "importtime", "-c", f"import {module}"]
    samples: list[float] = []
    for i in range(repeat + 1):  # the first run writes bytecode: untimed
        done = _run(argv, timeout=timeout, environ=environ)
        metric = "timeout" if done is None else "failed"
        seconds = None if done is None else parse_importtime(done.stderr, module)
        if done is None or done.returncode != 0 or seconds is None:
            return _observation(
                stamp,
                probe=f"import:{module}",
                metric=metric,
                samples=(),
                package=dist.name,
                version=dist.version,
            )
        if i:
            samples.append(seconds)
    return _observation(
        stamp,
        probe=f"import:{module}",
        metric="import_time",
        samples=samples,
        package=dist.name,
        version=dist.version,
    )


def _family_probe(
    python: str,
    probe: Probe,
    *,
    repeat: int | None,
    timeout: float,
    environ: Mapping[str, str] | None,
    stamp: _Stamp,
    installed: Mapping[str, InstalledDistribution],
) -> tuple[PerformanceObservation | None, dict[str, Any]]:
    spec = {
        "requires": list(probe.requires),
        "setup": probe.setup,
        "statement": probe.statement,
        "number": probe.number,
        "repeat": repeat or probe.repeat,
        "warmup": probe.warmup,
        "env_vars": list(BLAS_ENV_VARS),
    }
    done = _run(
        [python, "-c", _PROBE_SCRIPT], timeout=timeout, environ=environ, stdin=json.dumps(spec)
    )
    dist = installed.get(canonicalize_name(probe.family))
    package = dist.name if dist else None
    version = dist.version if dist else None
    if done is None:
        report: dict[str, Any] = {"status": "timeout"}
    else:
        try:
            report = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
            report = {"status": "failed", "error": tail[0][:500]}
    status = report.get("status")
    if status == "skipped":
        return None, report
    metric = probe.metric if status == "ok" else ("timeout" if status == "timeout" else "failed")
    samples = report.get("samples", ()) if status == "ok" else ()
    obs = _observation(
        stamp,
        probe=probe.name,
        metric=metric,
        samples=samples,
        unit=probe.unit,
        package=package,
        version=version,
    )
    conditions = _conditions(report, stamp.env_vars)
    if conditions:
        obs = msgspec.structs.replace(obs, conditions=conditions)
    return obs, report


def _conditions(report: Mapping[str, Any], env_vars: Mapping[str, str]) -> dict[str, str]:
    """The run's thread counts, BLAS libraries (threadpoolctl) and BLAS env vars, as text."""
    out: dict[str, str] = {}
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
    imports: bool = True,
) -> BenchRun:
    """Measure ``python`` (a venv's interpreter): import times of the top-level modules of
    ``packages`` (canonical name → version; the installed version is what is recorded) and
    each of ``probes`` whose ``requires`` import there.

    ``repeat`` overrides each probe's repeat count (and is the import-time repeat count;
    ``None``: 5 for imports, the probe's own for probes). ``timeout`` bounds each process.
    ``environ`` is the subprocesses' environment (``None``: inherited); BLAS-related
    variables in it are recorded. Observations come in a stable order: imports by package
    and module, then probes in the order given. Cost: ``(repeat + 1)`` interpreter starts per
    module plus one process per probe. Raises :class:`InputError` when ``python`` cannot run.
    """
    from advisor.observe.fingerprint import fingerprint

    source_env = environ if environ is not None else {}
    env_vars = {k: source_env[k] for k in BLAS_ENV_VARS if k in source_env}
    installed = installed_distributions(python, timeout=timeout, environ=environ)
    stamp = _Stamp(
        fingerprint=fingerprint(env),
        provenance=Provenance(source=SOURCE, date=today, tool=tool),
        env_vars=env_vars,
        stack_digest=stack_digest(installed),
    )
    out: list[PerformanceObservation] = []
    if imports:
        for name in sorted({canonicalize_name(n) for n in packages}):
            dist = installed.get(name)
            if dist is None:
                continue
            for module in dist.modules:
                out.append(
                    _import_times(
                        python,
                        dist,
                        module,
                        repeat=repeat or 5,
                        timeout=timeout,
                        environ=environ,
                        stamp=stamp,
                    )
                )
    runtime: dict[str, Mapping[str, Any]] = {}
    for probe in probes:
        obs, report = _family_probe(
            python,
            probe,
            repeat=repeat,
            timeout=timeout,
            environ=environ,
            stamp=stamp,
            installed=installed,
        )
        runtime[probe.name] = report
        if obs is not None:
            out.append(obs)
    return BenchRun(observations=tuple(out), runtime=runtime)


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
