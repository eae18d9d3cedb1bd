"""Bench and sweep runs: the steps of ``advisor observe bench``, ``sweep`` and ``run-job``.

Sits above :mod:`.install`, :mod:`.bench` and :mod:`.sweep` and below the composition root
(:mod:`advisor.api.observing`), which passes in this machine (:class:`Machine`: its target,
recorder id and the environment of the measured processes), the lock step a sweep job needs
(:class:`LockStep`, since locking is the API's job) and where observations go (``record``).
Nothing here reads the process environment or opens a store.

A bench installs its target when it is a lock (build observations), then measures the
installed packages. A sweep picks a package's newest versions (:func:`sweep_versions`),
writes one job spec each (:func:`write_specs`), installs every job (:func:`prepare_job`,
possibly in a process pool), benches all installed venvs together, interleaved
(:func:`bench_prepared`), and writes each job's results (:func:`finish_job`): all of it
:func:`run_jobs` (one job alone: :func:`run_job`). The protocol is described in
:mod:`advisor.observe.sweep`; ``record(store_url, observations)`` is where a job's
observations go (the store its spec names).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from advisor.errors import AdvisorError, InputError
from advisor.events import SILENT
from advisor.observe.probes import job_probes

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import BuildObservation, Observation, PerformanceObservation
    from advisor.models import DistFile
    from advisor.observe.bench import BenchRun
    from advisor.observe.probes import Probe
    from advisor.observe.sweep import JobResult, JobSpec

__all__ = [
    "BenchOutcome",
    "InstalledTarget",
    "LockStep",
    "Machine",
    "PreparedJob",
    "bench_prepared",
    "bench_target",
    "failed_job",
    "finish_job",
    "install_target",
    "prepare_job",
    "run_job",
    "run_jobs",
    "same_protocol",
    "sweep_versions",
    "write_specs",
]

_TOOLING = ("pip", "setuptools", "wheel")


class LockStep(Protocol):
    """Lock a sweep job's ``requirements`` file into ``output`` (a ``pylock.toml``) with the
    index options and target Python of ``spec``, for this machine. Raises an
    :class:`~advisor.errors.AdvisorError` when it cannot. Cost: one resolution."""

    def __call__(
        self, requirements: Path, *, spec: JobSpec, output: Path, environ: Mapping[str, str]
    ) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Machine:
    """This machine as a run sees it: its target (``RuntimeEnvironment.detect()``), the
    recorder id stamped on what it observes, and the measured processes' environment."""

    host: RuntimeEnvironment
    recorder: str = ""
    environ: Mapping[str, str]

    @classmethod
    def detect(cls, environ: Mapping[str, str], host: RuntimeEnvironment | None = None) -> Machine:
        """This machine: ``host`` (default: detected) with the recorder id ``environ`` names
        (:func:`~advisor.observe.recorder.detect_recorder`). Cost: a host detection."""
        from advisor.environment import RuntimeEnvironment
        from advisor.observe.recorder import detect_recorder

        return cls(
            host=host or RuntimeEnvironment.detect(),
            recorder=detect_recorder(environ),
            environ=environ,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchOutcome:
    """What a bench recorded: the build observations of the install (a lock was given),
    the performance observations, and the runtime report per probe."""

    python: str
    builds: tuple[BuildObservation, ...]
    performance: tuple[PerformanceObservation, ...]
    runtime: Mapping[str, Mapping[str, Any]]

    @property
    def observations(self) -> tuple[Observation, ...]:
        """Builds then measurements: what is recorded, in that order."""
        return (*self.builds, *self.performance)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"observations": [...builds, ...performance], "runtime": {...}}``."""
        from advisor.knowledge.schema import encode_observation

        return {
            "observations": [json.loads(encode_observation(o)) for o in self.observations],
            "runtime": self.runtime,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class InstalledTarget:
    """A bench target ready to measure: its interpreter, the packages whose imports are
    timed (name → version) and the build observations of its install (none for a venv)."""

    builds: tuple[BuildObservation, ...]
    python: str
    packages: dict[str, str]


def _venv_python(venv: Path) -> Path | None:
    for candidate in (venv / "bin" / "python", venv / "Scripts" / "python.exe"):
        if candidate.exists():
            return candidate
    return None


def install_target(
    target: Path,
    *,
    python: str | None,
    workdir: Path,
    timeout: float,
    machine: Machine,
    today: str,
    tool: str,
) -> InstalledTarget:
    """A venv's interpreter and its distributions (pip's own tooling left out), or a lock
    installed into ``workdir/venv`` (with its build observations) and the packages that
    installed. Raises :class:`InputError` for a target that is neither."""
    from advisor.observe.install import observe_install
    from advisor.observe.installed import installed_distributions

    if target.is_dir():
        venv_python = _venv_python(target)
        if venv_python is None:
            raise InputError(f"{target}: not a virtual environment (no bin/python)")
        interpreter = str(venv_python)
        found = installed_distributions(interpreter, environ=machine.environ)
        packages = {name: d.version for name, d in found.items() if name not in _TOOLING}
        return InstalledTarget(builds=(), python=interpreter, packages=packages)
    if not target.is_file():
        raise InputError(f"{target}: no such lock or venv")
    builds = tuple(
        observe_install(
            target,
            python=python or sys.executable,
            workdir=workdir,
            timeout=timeout,
            environ=machine.environ,
            today=today,
            tool=tool,
            env=machine.host,
            recorder=machine.recorder,
        )
    )
    venv_python = _venv_python(workdir / "venv")
    if venv_python is None:
        raise InputError(f"{target}: the install did not leave a venv in {workdir}")
    packages = {
        b.package: b.version for b in builds if b.outcome == "ok" and b.package and b.version
    }
    return InstalledTarget(builds=builds, python=str(venv_python), packages=packages)


def bench_target(
    target: Path,
    *,
    probes: Sequence[Probe],
    repeat: int | None,
    threads: int | None,
    timeout: float,
    python: str | None,
    workdir: Path,
    machine: Machine,
    today: str,
    tool: str,
    events: ProgressEvents = SILENT,
) -> BenchOutcome:
    """Bench ``target``: a venv folder (its interpreter and installed distributions are
    measured) or a lock (installed first into a fresh venv ``workdir/venv``, one build
    observation per package; the packages that installed are measured). ``threads`` pins
    the BLAS/OpenMP thread count. The measurements carry ``machine``'s recorder."""
    from advisor.observe.bench import bench
    from advisor.observe.recorder import with_recorder

    installed = install_target(
        target,
        python=python,
        workdir=workdir,
        timeout=timeout,
        machine=machine,
        today=today,
        tool=tool,
    )
    run = bench(
        installed.python,
        probes=probes,
        repeat=repeat,
        threads=threads,
        timeout=timeout,
        packages=installed.packages,
        env=machine.host,
        today=today,
        tool=tool,
        environ=machine.environ,
        events=events,
    )
    return BenchOutcome(
        python=installed.python,
        builds=installed.builds,
        performance=tuple(with_recorder(run.observations, machine.recorder)),
        runtime=run.runtime,
    )


# --------------------------------------------------------------------------- sweeps


def sweep_versions(
    requirement: str,
    *,
    find: Callable[[str], Iterable[DistFile]],
    target: RuntimeEnvironment,
    count: int,
    allow_prereleases: bool = False,
) -> tuple[str, tuple[str, ...]]:
    """The canonical name in ``requirement`` (a bare name, or a name with a specifier that
    filters the versions) and its ``count`` newest versions with a wheel for ``target``
    (newest first), of the files ``find(name)`` lists. Raises :class:`InputError` for a bad
    requirement or no match."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from advisor.observe.sweep import newest_with_wheel

    try:
        req = Requirement(requirement)
    except InvalidRequirement as exc:
        raise InputError(f"{requirement!r}: not a requirement: {exc}") from exc
    name = canonicalize_name(req.name)
    allowed = [
        f
        for f in find(name)
        if f.parsed is not None and req.specifier.contains(f.parsed.version, prereleases=True)
    ]
    versions = newest_with_wheel(
        name, allowed, env=target, count=count, allow_prereleases=allow_prereleases
    )
    if not versions:
        raise InputError(f"{requirement}: no version has a wheel for {target.fingerprint()}")
    return name, versions


def write_specs(
    requirements: Sequence[str],
    *,
    versions: Callable[[str], tuple[str, tuple[str, ...]]],
    template: JobSpec,
    workdir: Path,
) -> list[Path]:
    """Write one job spec per version (``<workdir>/<name>-<version>/job.json``, newest
    first): ``template`` with the requirement ``name==version``, for the versions
    ``versions(requirement)`` picks for each of ``requirements`` (all about one package).
    Raises :class:`InputError` when they name different packages, or none."""
    from packaging.version import Version

    from advisor.observe.sweep import write_spec

    if not requirements:
        raise InputError("a sweep needs at least one requirement")
    found = [versions(r) for r in requirements]
    names = sorted({name for name, _ in found})
    if len(names) != 1:
        raise InputError(f"a sweep measures one package's versions, not {', '.join(names)}")
    name = names[0]
    chosen = sorted({Version(v) for _, vs in found for v in vs}, reverse=True)
    return [
        write_spec(
            dataclasses.replace(template, requirement=f"{name}=={version}"),
            workdir / f"{name}-{version}" / "job.json",
        )
        for version in chosen
    ]


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


def prepare_job(spec_path: Path, *, lock: LockStep, machine: Machine) -> PreparedJob:
    """The install phase of one job: lock the spec's requirement for this machine (through
    ``lock``) and install it into a fresh venv next to the spec. A job that fails to lock
    or install returns the error; a package that fails to install is an observation."""
    from advisor.observe.sweep import read_spec

    spec = read_spec(spec_path)
    folder = spec_path.parent
    try:
        requirements = folder / "requirements.in"
        requirements.write_text(spec.requirement + "\n", encoding="utf-8")
        locked = folder / "pylock.toml"
        lock(requirements, spec=spec, output=locked, environ=machine.environ)
        installed = install_target(
            locked,
            python=None,
            workdir=folder / "install",
            timeout=spec.timeout,
            machine=machine,
            today=spec.today,
            tool=spec.tool,
        )
    except AdvisorError as exc:
        return PreparedJob(spec=str(spec_path), requirement=spec.requirement, error=exc.message)
    return PreparedJob(
        spec=str(spec_path),
        requirement=spec.requirement,
        builds=installed.builds,
        python=installed.python,
        packages=installed.packages,
        recorder=machine.recorder,
    )


def same_protocol(specs: Sequence[JobSpec]) -> None:
    """Raises :class:`InputError` when ``specs`` disagree on how to measure (probes,
    repeat, threads, timeout, benchmarks, date): interleaved versions share one protocol."""
    protocols = {(s.probes, s.repeat, s.threads, s.timeout, s.benchmarks, s.today) for s in specs}
    if len(protocols) > 1:
        raise InputError("the sweep's job specs measure differently: they cannot be interleaved")


def bench_prepared(
    prepared: Sequence[PreparedJob],
    spec: JobSpec,
    *,
    probes: Sequence[Probe],
    machine: Machine,
    events: ProgressEvents = SILENT,
) -> tuple[BenchRun, ...]:
    """Bench the venvs of ``prepared`` together, interleaved, with ``spec``'s protocol and
    ``probes`` (already selected from the spec's benchmarks folder); one run per job."""
    from advisor.observe.bench import Subject, bench_subjects

    return bench_subjects(
        [Subject(python=p.python or "", packages=p.packages) for p in prepared],
        probes=probes,
        repeat=spec.repeat,
        threads=spec.threads,
        timeout=spec.timeout,
        env=machine.host,
        today=spec.today,
        tool=spec.tool,
        environ=machine.environ,
        events=events,
    )


def finish_job(
    prepared: PreparedJob,
    spec: JobSpec,
    run: BenchRun,
    *,
    record: Callable[[str | None, Sequence[Observation]], None],
) -> JobResult:
    """Record the job's observations (``record(spec.knowledge, ...)``) and write its
    ``observations.jsonl`` and ``runtime.json`` next to the spec."""
    from advisor.knowledge.schema import encode_observation
    from advisor.observe.recorder import with_recorder
    from advisor.observe.sweep import JobResult

    folder = Path(prepared.spec).parent
    performance = with_recorder(run.observations, prepared.recorder)
    recorded: list[Observation] = [*prepared.builds, *performance]
    record(spec.knowledge, recorded)
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


def failed_job(prepared: PreparedJob) -> JobResult:
    """The result of a job stopped before its bench (``prepared.error`` is set)."""
    from advisor.observe.sweep import JobResult

    return JobResult(spec=prepared.spec, requirement=prepared.requirement, error=prepared.error)


def run_job(
    spec_path: Path,
    *,
    prepare: Callable[[Path], PreparedJob],
    machine: Machine,
    probes: Callable[[JobSpec], Sequence[Probe]] = job_probes,
    record: Callable[[str | None, Sequence[Observation]], None],
) -> JobResult:
    """One job alone (``advisor observe run-job``, what a cluster worker runs): install
    with ``prepare``, bench its one venv with ``probes(spec)`` (default: the spec's own),
    and record."""
    from advisor.observe.sweep import read_spec

    prepared = prepare(spec_path)
    if prepared.error is not None:
        return failed_job(prepared)
    spec = read_spec(spec_path)
    (run,) = bench_prepared([prepared], spec, probes=probes(spec), machine=machine)
    return finish_job(prepared, spec, run, record=record)


def run_jobs(
    specs: Sequence[Path],
    *,
    prepare: Callable[[Path], PreparedJob],
    jobs: int,
    machine: Machine,
    probes: Callable[[JobSpec], Sequence[Probe]] = job_probes,
    record: Callable[[str | None, Sequence[Observation]], None],
    events: ProgressEvents = SILENT,
) -> list[JobResult]:
    """Install every job with ``prepare`` (a picklable, module-level callable: ``jobs`` at a
    time in a local process pool), then bench all installed venvs together, interleaved,
    in this process, with ``probes(spec)`` (default: the specs' own); results in spec
    order. Raises :class:`InputError` when the specs disagree on how to measure
    (:func:`same_protocol`)."""
    from advisor.observe.sweep import read_spec, run_pool

    loaded = [read_spec(p) for p in specs]
    same_protocol(loaded)
    what = f"installing {len(specs)} version(s), {jobs} at a time"
    events.working(what)
    try:
        prepared = run_pool(specs, prepare, jobs=jobs)
    finally:
        events.work_finished(what)
    ready = [p for p in prepared if p.error is None]
    runs = iter(
        bench_prepared(ready, loaded[0], probes=probes(loaded[0]), machine=machine, events=events)
        if ready
        else ()
    )
    return [
        failed_job(job)
        if job.error is not None
        else finish_job(job, spec, next(runs), record=record)
        for spec, job in zip(loaded, prepared, strict=True)
    ]
