"""Observe commands: install a lock and record the outcome; export and import observations.

Part of the composition root: it reads the clock (today's date), the process environment
and this machine's :class:`~advisor.environment.RuntimeEnvironment`, runs
:mod:`advisor.observe.install` in a temporary work folder, and writes what it observed into
the knowledge store a URL names (:func:`advisor.api.knowledge.store_url`). Export and import
move build and performance observations between a store and a JSONL file
(:mod:`advisor.observe.exchange`).
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import BuildObservation, Observation
    from advisor.knowledge.sources import Problem

__all__ = [
    "ExportOutcome",
    "ImportOutcome",
    "export_observations",
    "import_observations",
    "observe_install",
]

DEFAULT_TIMEOUT = 600.0


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _tool() -> str:
    from advisor import __version__

    return f"stack-advisor {__version__}"


def observe_install(
    lock: Path,
    *,
    store_url: str | None = None,
    python: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    environ: Mapping[str, str] | None = None,
    workdir: Path | None = None,
    today: str | None = None,
    env: RuntimeEnvironment | None = None,
    events: ProgressEvents = SILENT,
) -> list[BuildObservation]:
    """Install ``lock`` into a fresh venv of ``python`` (default: this interpreter), store
    one build observation per package in the knowledge store, and return them. The pip runs
    report to ``events``. The observations name this machine's recorder id
    (:func:`~advisor.observe.recorder.detect_recorder`: ``ADVISOR_RECORDER`` in ``environ``,
    else derived from the machine's id).

    ``workdir`` keeps the venv (default: a temporary folder, removed afterwards); ``env``
    defaults to ``RuntimeEnvironment.detect()``. Raises :class:`InputError` for a missing
    lock or an unusable interpreter, :class:`~advisor.errors.LockfileError` for a bad lock.
    """
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.store import open_store
    from advisor.observe.install import observe_install as run
    from advisor.observe.recorder import detect_recorder

    if not lock.is_file():
        raise InputError(f"{lock}: no such lock file")
    environ = dict(os.environ if environ is None else environ)
    url = resolve_store_url(store_url, environ)
    host = env if env is not None else RuntimeEnvironment.detect()
    recorder = detect_recorder(environ)

    def observe(folder: Path) -> list[BuildObservation]:
        return run(
            lock,
            python=python or sys.executable,
            workdir=folder,
            timeout=timeout,
            environ=environ,
            today=today or _today(),
            tool=_tool(),
            env=host,
            recorder=recorder,
            events=events,
        )

    if workdir is not None:
        observations = observe(workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="advisor-observe-") as tmp:
            observations = observe(Path(tmp))
    with open_store(url) as store:
        store.put(observations)
    return observations


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportOutcome:
    """What :func:`export_observations` wrote: how many observations, to which file
    (``None``: to none; ``text`` is what the file holds or would hold)."""

    path: Path | None
    count: int
    text: str


def export_observations(
    store_url: str | None,
    *,
    path: Path | None,
    kinds: Collection[str] = ("build", "performance"),
    environ: Mapping[str, str] | None = None,
) -> ExportOutcome:
    """Write every stored observation of ``kinds`` (build and/or performance) to ``path``
    as JSON lines, sorted by key (``path=None``: only return the text). ``path`` is written
    as :func:`~advisor.lockfile.write_output` does (a link's target, a FIFO or device
    through). Raises :class:`InputError` for another kind, and
    :class:`~advisor.errors.UnwritableOutput` when ``path`` cannot be written."""
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.knowledge.store import open_store
    from advisor.observe.exchange import SHARED_KINDS, export_jsonl

    unknown = sorted(set(kinds) - set(SHARED_KINDS))
    if unknown:
        raise InputError(
            f"cannot export {', '.join(unknown)}: only {' and '.join(SHARED_KINDS)} observations"
        )
    url = resolve_store_url(store_url, os.environ if environ is None else environ)
    found: list[Observation] = []
    with open_store(url) as store:
        for kind in sorted(set(kinds)):
            found.extend(store.iter_kind(kind))
    text = export_jsonl(found)
    if path is not None:
        from advisor.lockfile.write import write_output

        write_output(path, text)
    return ExportOutcome(path=path, count=text.count("\n"), text=text)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportOutcome:
    """What :func:`import_observations` read and stored, and the lines it skipped."""

    path: Path
    read: int
    added: int
    replaced: int
    unchanged: int
    problems: tuple[Problem, ...] = ()


def import_observations(
    path: Path,
    *,
    store_url: str | None,
    environ: Mapping[str, str] | None = None,
    today: str | None = None,
) -> ImportOutcome:
    """Store the observations of a JSONL file (re-importing the same facts is idempotent);
    bad lines are skipped and returned as problems. Raises :class:`InputError` when the
    file cannot be read."""
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.knowledge.store import open_store
    from advisor.observe.exchange import read_jsonl

    observations, problems = read_jsonl(path, today=today or _today())
    url = resolve_store_url(store_url, os.environ if environ is None else environ)
    with open_store(url) as store:
        result = store.put(observations)
    return ImportOutcome(
        path=path,
        read=len(observations),
        added=result.added,
        replaced=result.replaced,
        unchanged=result.unchanged,
        problems=tuple(problems),
    )


# --------------------------------------------------------------------------- bench and sweep
# (``advisor observe bench`` / ``sweep`` / ``run-job``; see advisor.observe.bench and .sweep)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from advisor.api.context import ResolveOptions
    from advisor.knowledge.schema import PerformanceObservation
    from advisor.observe.sweep import JobResult

__all__ += [
    "BenchOutcome",
    "default_benchmarks_dir",
    "observe_bench",
    "plan_sweep",
    "run_sweep",
    "run_sweep_job",
    "sweep_versions",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchOutcome:
    """What :func:`observe_bench` recorded: the build observations of the install (a lock
    was given), the performance observations, and the runtime report per probe."""

    python: str
    builds: tuple[BuildObservation, ...]
    performance: tuple[PerformanceObservation, ...]
    runtime: Mapping[str, Mapping[str, Any]]


def default_benchmarks_dir() -> Path:
    """The curated ``knowledge/benchmarks`` folder (see ``bundled_knowledge_dir``)."""
    from advisor.api.advising import bundled_knowledge_dir

    folder = bundled_knowledge_dir()
    if folder is None:
        raise InputError("no curated knowledge folder: neither a checkout nor an installed copy")
    return folder / "benchmarks"


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


def observe_bench(
    target: Path,
    *,
    probes: Sequence[str] = (),
    repeat: int | None = None,
    timeout: float = 600.0,
    python: str | None = None,
    workdir: Path,
    benchmarks: Path | None = None,
    store_url: str | None = None,
    environ: Mapping[str, str],
    today: str,
    tool: str,
) -> BenchOutcome:
    """Bench ``target``: a venv folder (its interpreter and installed distributions are
    measured) or a lock (installed first into a fresh venv ``workdir/venv``, one build observation
    per package as ``observe install`` makes them; the packages that installed are
    measured). ``probes`` selects probes or families (empty: all under ``benchmarks``).
    Records everything into ``store_url`` when given.
    Raises :class:`InputError` for a target that is neither."""
    from advisor.environment import RuntimeEnvironment
    from advisor.observe.bench import bench, installed_distributions
    from advisor.observe.install import observe_install as install_lock_observed
    from advisor.observe.probes import load_probes, select_probes
    from advisor.observe.recorder import detect_recorder, with_recorder

    host = RuntimeEnvironment.detect()
    recorder = detect_recorder(environ)
    chosen = select_probes(load_probes(benchmarks or default_benchmarks_dir()), probes)
    builds: tuple[BuildObservation, ...] = ()
    if target.is_dir():
        venv_python = _venv_python(target)
        if venv_python is None:
            raise InputError(f"{target}: not a virtual environment (no bin/python)")
        interpreter = str(venv_python)
        packages = {
            name: dist.version
            for name, dist in installed_distributions(interpreter, environ=environ).items()
            if name not in ("pip", "setuptools", "wheel")
        }
    elif target.is_file():
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
        interpreter = str(venv_python)
        packages = {
            b.package: b.version for b in builds if b.outcome == "ok" and b.package and b.version
        }
    else:
        raise InputError(f"{target}: no such lock or venv")
    run = bench(
        interpreter,
        probes=chosen,
        repeat=repeat,
        timeout=timeout,
        packages=packages,
        env=host,
        today=today,
        tool=tool,
        environ=environ,
    )
    performance = tuple(with_recorder(run.observations, recorder))
    _record(store_url, [*builds, *performance])
    return BenchOutcome(
        python=interpreter, builds=builds, performance=performance, runtime=run.runtime
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
    requirement: str,
    *,
    count: int,
    probes: Sequence[str],
    repeat: int,
    timeout: float,
    opts: ResolveOptions,
    workdir: Path,
    store_url: str | None,
    benchmarks: Path | None = None,
    environ: Mapping[str, str],
    cwd: Path,
    today: str,
    tool: str,
) -> list[Path]:
    """Write one job spec per version (``<workdir>/<name>-<version>/job.json``, newest first)
    and return their paths. The spec names the benchmarks folder and the store by value."""
    from advisor.observe.sweep import JobSpec, write_spec

    name, versions = sweep_versions(requirement, count=count, opts=opts, environ=environ, cwd=cwd)
    paths = []
    for version in versions:
        spec = JobSpec(
            requirement=f"{name}=={version}",
            probes=tuple(probes),
            repeat=repeat,
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


def run_sweep_job(spec_path: Path, *, environ: Mapping[str, str] | None = None) -> JobResult:
    """One job (``advisor observe run-job``): lock the spec's requirement for this machine,
    install it into a fresh venv, bench it, and record ``observations.jsonl`` and
    ``runtime.json`` next to the spec (and into the spec's store). A job that fails to lock
    records nothing and returns the error; install and probe failures are observations."""
    import json

    from advisor.api.locking import LockOptions, ResolveOptions, lock
    from advisor.errors import AdvisorError
    from advisor.knowledge.schema import encode_observation
    from advisor.observe.sweep import JobResult, read_spec

    spec = read_spec(spec_path)
    folder = spec_path.parent
    environ = dict(os.environ if environ is None else environ)
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
        outcome = observe_bench(
            locked,
            probes=spec.probes,
            repeat=spec.repeat,
            timeout=spec.timeout,
            workdir=folder / "install",
            benchmarks=Path(spec.benchmarks) if spec.benchmarks else None,
            store_url=spec.knowledge,
            environ=environ,
            today=spec.today,
            tool=spec.tool,
        )
    except AdvisorError as exc:
        return JobResult(spec=str(spec_path), requirement=spec.requirement, error=exc.message)
    jsonl = folder / "observations.jsonl"
    recorded: list[Observation] = [*outcome.builds, *outcome.performance]
    lines = [encode_observation(o).decode() for o in recorded]
    jsonl.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    (folder / "runtime.json").write_text(
        json.dumps(outcome.runtime, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return JobResult(
        spec=str(spec_path),
        requirement=spec.requirement,
        jsonl=str(jsonl),
        builds=len(outcome.builds),
        performance=len(outcome.performance),
    )


def run_sweep(
    specs: Sequence[Path], *, jobs: int, output: Path | None, environ: Mapping[str, str]
) -> list[JobResult]:
    """Run the jobs ``jobs`` at a time in a local process pool (each job's processes get
    ``environ``); append their JSONL, in spec order, to ``output`` when given."""
    from functools import partial

    from advisor.observe.sweep import concatenate, run_pool

    results = run_pool(specs, partial(run_sweep_job, environ=dict(environ)), jobs=jobs)
    if output is not None:
        concatenate(results, output)
    return results
