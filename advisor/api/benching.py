"""Bench and sweep commands: measure a venv or a lock; sweep a package's newest versions.

Part of the composition root (``advisor observe bench``, ``sweep`` and ``run-job``): it reads
this machine's :class:`~advisor.environment.RuntimeEnvironment`, locks and installs through
:mod:`advisor.api.locking` and :mod:`advisor.observe.install`, measures with
:mod:`advisor.observe.bench`, and writes what it measured into the job folders and the
knowledge store a URL names. The sweep's protocol (install side by side, then bench every
version interleaved in one process) is described in :mod:`advisor.observe.sweep`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor._version import TOOL
from advisor.api.bundled import default_benchmarks_dir
from advisor.api.workloads import load_workload, workload_recommendation
from advisor.errors import InputError
from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.api.context import ResolveOptions
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import BuildObservation, Observation, PerformanceObservation
    from advisor.observe.bench import BenchRun
    from advisor.observe.sweep import JobResult, JobSpec

__all__ = [
    "BenchOutcome",
    "PreparedJob",
    "default_benchmarks_dir",
    "load_workload",
    "observe_bench",
    "plan_sweep",
    "prepare_sweep_job",
    "run_sweep",
    "run_sweep_job",
    "sweep_versions",
    "workload_recommendation",
]

_TOOLING = ("pip", "setuptools", "wheel")


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchOutcome:
    """What :func:`observe_bench` recorded: the build observations of the install (a lock
    was given), the performance observations, and the runtime report per probe."""

    python: str
    builds: tuple[BuildObservation, ...]
    performance: tuple[PerformanceObservation, ...]
    runtime: Mapping[str, Mapping[str, Any]]


def _venv_python(venv: Path) -> Path | None:
    for candidate in (venv / "bin" / "python", venv / "Scripts" / "python.exe"):
        if candidate.exists():
            return candidate
    return None


def _record(store_url: str | None, observations: Sequence[Observation]) -> None:
    if store_url is None or not observations:
        return
    from advisor.knowledge.store import open_store

    with open_store(store_url) as store:
        store.put(observations)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Installed:
    builds: tuple[BuildObservation, ...]
    python: str
    packages: dict[str, str]


def _install_target(
    target: Path,
    *,
    python: str | None,
    workdir: Path,
    timeout: float,
    environ: Mapping[str, str],
    today: str,
    tool: str,
    host: RuntimeEnvironment,
    recorder: str = "",
) -> _Installed:
    """A venv's interpreter and its distributions, or a lock installed into
    ``workdir/venv`` (with its build observations) and the packages that installed."""
    from advisor.observe.bench import installed_distributions
    from advisor.observe.install import observe_install as install_lock_observed

    if target.is_dir():
        venv_python = _venv_python(target)
        if venv_python is None:
            raise InputError(f"{target}: not a virtual environment (no bin/python)")
        interpreter = str(venv_python)
        packages = {
            name: dist.version
            for name, dist in installed_distributions(interpreter, environ=environ).items()
            if name not in _TOOLING
        }
        return _Installed(builds=(), python=interpreter, packages=packages)
    if not target.is_file():
        raise InputError(f"{target}: no such lock or venv")
    builds = tuple(
        install_lock_observed(
            target,
            python=python or sys.executable,
            workdir=workdir,
            timeout=timeout,
            environ=environ,
            today=today,
            tool=tool,
            env=host,
            recorder=recorder,
        )
    )
    venv_python = _venv_python(workdir / "venv")
    if venv_python is None:
        raise InputError(f"{target}: the install did not leave a venv in {workdir}")
    packages = {
        b.package: b.version for b in builds if b.outcome == "ok" and b.package and b.version
    }
    return _Installed(builds=builds, python=str(venv_python), packages=packages)


def observe_bench(
    target: Path,
    *,
    probes: Sequence[str] = (),
    repeat: int | None = None,
    threads: int | None = None,
    timeout: float = 600.0,
    python: str | None = None,
    workdir: Path,
    benchmarks: Path | None = None,
    store_url: str | None = None,
    environ: Mapping[str, str],
    today: str,
    tool: str = TOOL,
    events: ProgressEvents = SILENT,
    upload: str | None = None,
) -> BenchOutcome:
    """Bench ``target``: a venv folder (its interpreter and installed distributions are
    measured) or a lock (installed first into a fresh venv ``workdir/venv``, one build
    observation per package as ``observe install`` makes them; the packages that installed
    are measured). ``probes`` selects probes or families (empty: all under ``benchmarks``);
    ``threads`` pins the BLAS/OpenMP thread count. Records everything into ``store_url``
    when given, and sends it to the team server ``upload`` when given. Raises
    :class:`InputError` for a target that is neither."""
    from advisor.environment import RuntimeEnvironment
    from advisor.observe.bench import bench
    from advisor.observe.probes import load_probes, select_probes
    from advisor.observe.recorder import detect_recorder, with_recorder

    host = RuntimeEnvironment.detect()
    recorder = detect_recorder(environ)
    chosen = select_probes(load_probes(benchmarks or default_benchmarks_dir()), probes)
    installed = _install_target(
        target,
        python=python,
        workdir=workdir,
        timeout=timeout,
        environ=environ,
        today=today,
        tool=tool,
        host=host,
        recorder=recorder,
    )
    run = bench(
        installed.python,
        probes=chosen,
        repeat=repeat,
        threads=threads,
        timeout=timeout,
        packages=installed.packages,
        env=host,
        today=today,
        tool=tool,
        environ=environ,
        events=events,
    )
    performance = tuple(with_recorder(run.observations, recorder))
    _record(store_url, [*installed.builds, *performance])
    if upload:
        from advisor.api.remote import upload_observations

        observed: list[Observation] = [*installed.builds, *performance]
        upload_observations(upload, observed, environ=environ, events=events)
    return BenchOutcome(
        python=installed.python,
        builds=installed.builds,
        performance=performance,
        runtime=run.runtime,
    )


def sweep_versions(
    requirement: str,
    *,
    count: int,
    opts: ResolveOptions,
    environ: Mapping[str, str],
    cwd: Path,
) -> tuple[str, tuple[str, ...]]:
    """The canonical name in ``requirement`` (a bare name, or a name with a specifier that
    filters the versions) and its ``count`` newest versions with a wheel for the target of
    ``opts`` (newest first). Raises :class:`InputError` for a bad requirement or no match."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from advisor.api.context import build_targets, index_config, open_session
    from advisor.config import load_config
    from advisor.environment import RuntimeEnvironment
    from advisor.observe.sweep import newest_with_wheel
    from advisor.request import AdviceRequest

    try:
        req = Requirement(requirement)
    except InvalidRequirement as exc:
        raise InputError(f"{requirement!r}: not a requirement: {exc}") from exc
    name = canonicalize_name(req.name)
    config = load_config(cwd)
    (target, *_) = build_targets(opts, config, RuntimeEnvironment.detect())
    index, pip = index_config(opts, AdviceRequest(requirements=()), config, environ, cwd)
    session = open_session(opts, index, pip, environ)
    try:
        files = [f for f in session.finder.find(name) if f.parsed is not None]
    finally:
        session.close()
    allowed = [
        f
        for f in files
        if f.parsed is not None and req.specifier.contains(f.parsed.version, prereleases=True)
    ]
    versions = newest_with_wheel(name, allowed, env=target, count=count, allow_prereleases=opts.pre)
    if not versions:
        raise InputError(f"{requirement}: no version has a wheel for {target.fingerprint()}")
    return name, versions


def plan_sweep(
    requirements: str | Sequence[str],
    *,
    count: int,
    probes: Sequence[str],
    repeat: int,
    threads: int | None = 1,
    timeout: float,
    opts: ResolveOptions,
    workdir: Path,
    store_url: str | None,
    benchmarks: Path | None = None,
    environ: Mapping[str, str],
    cwd: Path,
    today: str,
    tool: str = TOOL,
) -> list[Path]:
    """Write one job spec per version (``<workdir>/<name>-<version>/job.json``, newest first)
    and return their paths: the ``count`` newest versions of each of ``requirements`` (all
    about one package: ``"numpy<2"`` and ``"numpy>=2"`` with ``count=1`` give the newest of
    each line; one requirement may be a plain string). The spec names the benchmarks folder
    and the store by value. Raises :class:`InputError` when the requirements name different
    packages, or none."""
    from packaging.version import Version

    from advisor.observe.sweep import JobSpec, write_spec

    wanted = [requirements] if isinstance(requirements, str) else list(requirements)
    if not wanted:
        raise InputError("a sweep needs at least one requirement")
    found = [sweep_versions(r, count=count, opts=opts, environ=environ, cwd=cwd) for r in wanted]
    names = sorted({name for name, _ in found})
    if len(names) != 1:
        raise InputError(f"a sweep measures one package's versions, not {', '.join(names)}")
    name = names[0]
    versions = sorted({Version(v) for _, vs in found for v in vs}, reverse=True)
    paths = []
    for version in versions:
        spec = JobSpec(
            requirement=f"{name}=={version}",
            probes=tuple(probes),
            repeat=repeat,
            threads=threads,
            timeout=timeout,
            python=opts.python,
            index_url=opts.index_url,
            extra_index_urls=opts.extra_index_urls,
            find_links=opts.find_links,
            no_index=opts.no_index,
            knowledge=store_url,
            benchmarks=str(benchmarks) if benchmarks is not None else None,
            today=today,
            tool=tool,
        )
        paths.append(write_spec(spec, workdir / f"{name}-{version}" / "job.json"))
    return paths


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedJob:
    """A sweep job after its install phase (picklable: it crosses the process pool): the
    build observations and the venv to bench, or the error that stopped it before."""

    spec: str
    requirement: str
    builds: tuple[BuildObservation, ...] = ()
    python: str | None = None
    packages: dict[str, str] = dc_field(default_factory=dict)
    error: str | None = None
    recorder: str = ""  # this machine's id, stamped on what the job observes


def prepare_sweep_job(spec_path: Path, *, environ: Mapping[str, str] | None = None) -> PreparedJob:
    """The install phase of one job: lock the spec's requirement for this machine and install
    it into a fresh venv next to the spec. A job that fails to lock or install returns the
    error; a package that fails to install is an observation."""
    import os

    from advisor.api.locking import LockOptions, ResolveOptions, lock
    from advisor.environment import RuntimeEnvironment
    from advisor.errors import AdvisorError
    from advisor.observe.sweep import read_spec

    spec = read_spec(spec_path)
    folder = spec_path.parent
    environ = dict(os.environ if environ is None else environ)
    from advisor.observe.recorder import detect_recorder

    recorder = detect_recorder(environ)
    try:
        requirements = folder / "requirements.in"
        requirements.write_text(spec.requirement + "\n", encoding="utf-8")
        opts = ResolveOptions(
            index_url=spec.index_url,
            extra_index_urls=spec.extra_index_urls,
            find_links=spec.find_links,
            no_index=spec.no_index,
            python=spec.python,
        )
        locked = folder / "pylock.toml"
        lock(
            [requirements],
            opts=opts,
            out=LockOptions(output=locked, command="advisor observe run-job"),
            environ=environ,
            cwd=folder,
        )
        installed = _install_target(
            locked,
            python=None,
            workdir=folder / "install",
            timeout=spec.timeout,
            environ=environ,
            today=spec.today,
            tool=spec.tool,
            host=RuntimeEnvironment.detect(),
            recorder=recorder,
        )
    except AdvisorError as exc:
        return PreparedJob(spec=str(spec_path), requirement=spec.requirement, error=exc.message)
    return PreparedJob(
        spec=str(spec_path),
        requirement=spec.requirement,
        builds=installed.builds,
        python=installed.python,
        packages=installed.packages,
        recorder=recorder,
    )


def _finish_job(prepared: PreparedJob, spec: JobSpec, run: BenchRun) -> JobResult:
    """Write the job's ``observations.jsonl`` and ``runtime.json``, record into its store."""
    from advisor.knowledge.schema import encode_observation
    from advisor.observe.recorder import with_recorder
    from advisor.observe.sweep import JobResult

    folder = Path(prepared.spec).parent
    performance = with_recorder(run.observations, prepared.recorder)
    recorded: list[Observation] = [*prepared.builds, *performance]
    _record(spec.knowledge, recorded)
    jsonl = folder / "observations.jsonl"
    lines = [encode_observation(o).decode() for o in recorded]
    jsonl.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    (folder / "runtime.json").write_text(
        json.dumps(run.runtime, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return JobResult(
        spec=prepared.spec,
        requirement=prepared.requirement,
        jsonl=str(jsonl),
        builds=len(prepared.builds),
        performance=len(performance),
    )


def _bench_prepared(
    prepared: Sequence[PreparedJob],
    spec: JobSpec,
    *,
    environ: Mapping[str, str],
    events: ProgressEvents,
) -> tuple[BenchRun, ...]:
    """Bench the venvs of ``prepared`` together, interleaved, with ``spec``'s protocol."""
    from advisor.environment import RuntimeEnvironment
    from advisor.observe.bench import Subject, bench_subjects
    from advisor.observe.probes import load_probes, select_probes

    folder = Path(spec.benchmarks) if spec.benchmarks else default_benchmarks_dir()
    return bench_subjects(
        [Subject(python=p.python or "", packages=p.packages) for p in prepared],
        probes=select_probes(load_probes(folder), spec.probes),
        repeat=spec.repeat,
        threads=spec.threads,
        timeout=spec.timeout,
        env=RuntimeEnvironment.detect(),
        today=spec.today,
        tool=spec.tool,
        environ=environ,
        events=events,
    )


def run_sweep_job(spec_path: Path, *, environ: Mapping[str, str] | None = None) -> JobResult:
    """One job alone (``advisor observe run-job``, what a cluster worker runs): install as
    :func:`prepare_sweep_job`, bench its one venv, and record ``observations.jsonl`` and
    ``runtime.json`` next to the spec (and into the spec's store)."""
    import os

    from advisor.observe.sweep import JobResult, read_spec

    environ = dict(os.environ if environ is None else environ)
    prepared = prepare_sweep_job(spec_path, environ=environ)
    if prepared.error is not None:
        return JobResult(spec=prepared.spec, requirement=prepared.requirement, error=prepared.error)
    spec = read_spec(spec_path)
    (run,) = _bench_prepared([prepared], spec, environ=environ, events=SILENT)
    return _finish_job(prepared, spec, run)


def _protocol(spec: JobSpec) -> tuple[object, ...]:
    return (spec.probes, spec.repeat, spec.threads, spec.timeout, spec.benchmarks, spec.today)


def run_sweep(
    specs: Sequence[Path],
    *,
    jobs: int,
    output: Path | None,
    environ: Mapping[str, str],
    events: ProgressEvents = SILENT,
) -> list[JobResult]:
    """Install every job (``jobs`` at a time in a local process pool, each job's processes
    get ``environ``), then bench all installed venvs together, interleaved, in this process;
    append the jobs' JSONL, in spec order, to ``output`` when given. Raises
    :class:`InputError` when the specs disagree on how to measure (probes, repeat, threads,
    timeout, benchmarks, date): interleaved versions share one protocol."""
    from functools import partial

    from advisor.observe.sweep import JobResult, concatenate, read_spec, run_pool

    loaded = [read_spec(p) for p in specs]
    if len({_protocol(s) for s in loaded}) > 1:
        raise InputError("the sweep's job specs measure differently: they cannot be interleaved")
    what = f"installing {len(specs)} version(s), {jobs} at a time"
    events.working(what)
    try:
        prepared = run_pool(specs, partial(prepare_sweep_job, environ=dict(environ)), jobs=jobs)
    finally:
        events.work_finished(what)
    ready = [p for p in prepared if p.error is None]
    runs = iter(_bench_prepared(ready, loaded[0], environ=environ, events=events) if ready else ())
    results = []
    for spec, job in zip(loaded, prepared, strict=True):
        if job.error is not None:
            results.append(JobResult(spec=job.spec, requirement=job.requirement, error=job.error))
        else:
            results.append(_finish_job(job, spec, next(runs)))
    if output is not None:
        concatenate(results, output)
    return results
