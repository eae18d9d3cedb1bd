"""The observe jobs: install a lock and record; bench; sweep; run one job; export, import;
compatibility pairs.

Composition only: the clock, the process environment, this machine
(:meth:`~advisor.observe.runs.Machine.detect`) and the store a URL names, handed to
:mod:`advisor.observe` (``runs``, ``plan``, ``install``, ``exchange``, ``compat``), which
decides.
"""

from __future__ import annotations

import os
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from advisor._version import TOOL
from advisor.api.bundled import default_benchmarks_dir
from advisor.api.knowledge import _today, resolve_store_url
from advisor.errors import InputError
from advisor.events import SILENT
from advisor.knowledge.schema import BuildObservation
from advisor.observe.compat import CompatOutcome
from advisor.observe.exchange import (
    SHARED_KINDS,
    ExportOutcome,
    ImportOutcome,
    store_observations,
)
from advisor.observe.plan import CompatOptions, SweepOptions
from advisor.observe.probes import chosen_probes
from advisor.observe.runs import BenchOutcome, Machine, PreparedJob

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from advisor.api.context import ResolveOptions
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import Observation
    from advisor.observe.compat import PipSource
    from advisor.observe.sweep import JobResult, JobSpec

__all__ = [
    "BenchOutcome",
    "BuildObservation",
    "CompatOptions",
    "CompatOutcome",
    "ExportOutcome",
    "ImportOutcome",
    "PreparedJob",
    "SweepOptions",
    "default_benchmarks_dir",
    "export_observations",
    "import_observations",
    "observe_bench",
    "observe_compatibility",
    "observe_install",
    "observe_sweep",
    "plan_sweep",
    "prepare_sweep_job",
    "run_sweep",
    "run_sweep_job",
]


def _keep(
    url: str | None,
    observations: Sequence[Observation],
    *,
    upload: str | None,
    environ: Mapping[str, str] | None,
    events: ProgressEvents = SILENT,
) -> None:
    """Store ``observations`` at ``url`` (none: nowhere), then send them to the team server
    ``upload`` when given (:func:`advisor.api.remote.upload_observations`)."""
    store_observations(url, observations)
    if upload and observations:
        from advisor.api.remote import upload_observations

        upload_observations(upload, observations, environ=environ, events=events)


def observe_install(
    lock: Path,
    *,
    store_url: str | None = None,
    python: str | None = None,
    timeout: float = 600.0,
    environ: Mapping[str, str] | None = None,
    workdir: Path | None = None,
    today: str | None = None,
    env: RuntimeEnvironment | None = None,
    events: ProgressEvents = SILENT,
    upload: str | None = None,
) -> list[BuildObservation]:
    """Install ``lock`` into a fresh venv of ``python`` (default: this interpreter; the
    venv in ``workdir``, default a temporary folder) and store (``None``: the default store)
    and return one build observation per package
    (:func:`advisor.observe.install.observe_install`); sent to the team server ``upload``
    too when given. Raises :class:`InputError` for a missing lock."""
    from advisor.knowledge.store import open_store
    from advisor.observe.install import observe_install as run

    if not lock.is_file():
        raise InputError(f"{lock}: no such lock file")
    machine = Machine.detect(dict(os.environ if environ is None else environ), env)
    url = resolve_store_url(store_url, machine.environ)
    with tempfile.TemporaryDirectory(prefix="advisor-observe-") as tmp:
        observations = run(
            lock,
            python=python or sys.executable,
            workdir=workdir or Path(tmp),
            timeout=timeout,
            environ=machine.environ,
            today=today or _today(),
            tool=TOOL,
            env=machine.host,
            recorder=machine.recorder,
            events=events,
        )
    with open_store(url) as store:  # opened even for none: the default store is made
        store.put(observations)
    _keep(None, observations, upload=upload, environ=environ, events=events)
    return observations


def observe_bench(
    target: Path,
    *,
    probes: Sequence[str] = (),
    repeat: int | None = None,
    threads: int | None = None,
    timeout: float = 600.0,
    python: str | None = None,
    workdir: Path | None = None,
    benchmarks: Path | None = None,
    store_url: str | None = None,
    default_store: bool = False,
    environ: Mapping[str, str],
    today: str | None = None,
    tool: str = TOOL,
    events: ProgressEvents = SILENT,
    upload: str | None = None,
) -> BenchOutcome:
    """Bench ``target``, a venv folder or a lock (:func:`advisor.observe.runs.bench_target`;
    a lock's venv in ``workdir``, default a temporary folder) with ``probes`` (under
    ``benchmarks``, default the curated ones; empty: all); record into ``store_url`` (else
    the default store with ``default_store``, else nowhere) and to the server ``upload``."""
    from advisor.observe.runs import bench_target

    machine = Machine.detect(environ)
    chosen = chosen_probes(benchmarks, probes)
    url = resolve_store_url(None, environ) if store_url is None and default_store else store_url
    with tempfile.TemporaryDirectory(prefix="advisor-bench-") as scratch:
        outcome = bench_target(
            target,
            probes=chosen,
            repeat=repeat,
            threads=threads,
            timeout=timeout,
            python=python,
            workdir=workdir or Path(scratch),
            machine=machine,
            today=today or _today(),
            tool=tool,
            events=events,
        )
    _keep(url, outcome.observations, upload=upload, environ=environ, events=events)
    return outcome


def _pip_source(opts: ResolveOptions) -> PipSource:
    """Where the pip of a sweep's venvs finds the files: the indexes of ``opts``."""
    from advisor.observe.compat import PipSource

    return PipSource(
        index_url=opts.index_url,
        extra_index_urls=opts.extra_index_urls,
        find_links=opts.find_links,
        no_index=opts.no_index,
    )


def plan_sweep(
    requirements: str | Sequence[str],
    *,
    sweep: SweepOptions,
    opts: ResolveOptions,
    workdir: Path,
    store_url: str | None,
    benchmarks: Path | None = None,
    environ: Mapping[str, str],
    cwd: Path,
    today: str,
    tool: str = TOOL,
) -> list[Path]:
    """Write one job spec per version (:func:`advisor.observe.runs.write_specs`): the
    ``sweep.count`` newest versions with a wheel for the target of ``opts`` of each of
    ``requirements`` (all about one package; one may be a plain string), found on the
    indexes of ``opts``. The spec names the benchmarks folder and the store by value."""
    from advisor.api.lock_facts import index_files
    from advisor.observe.runs import sweep_versions, write_specs

    template = sweep.template(
        python=opts.python,
        pip=_pip_source(opts),
        knowledge=store_url,
        benchmarks=str(benchmarks) if benchmarks is not None else None,
        today=today,
        tool=tool,
    )

    def versions(requirement: str) -> tuple[str, tuple[str, ...]]:
        with index_files(opts, environ, cwd) as (find, (target, *_)):
            return sweep_versions(
                requirement, find=find, target=target, count=sweep.count, allow_prereleases=opts.pre
            )

    wanted = [requirements] if isinstance(requirements, str) else list(requirements)
    return write_specs(wanted, versions=versions, template=template, workdir=workdir)


def _lock_job(
    requirements: Path, *, spec: JobSpec, output: Path, environ: Mapping[str, str]
) -> None:
    """The sweep job's lock step (:class:`advisor.observe.runs.LockStep`)."""
    from advisor.api.locking import LockOptions, ResolveOptions, lock

    opts = ResolveOptions(
        index_url=spec.index_url,
        extra_index_urls=spec.extra_index_urls,
        find_links=spec.find_links,
        no_index=spec.no_index,
        python=spec.python,
    )
    out = LockOptions(output=output, command="advisor observe run-job")
    lock([requirements], opts=opts, out=out, environ=environ, cwd=requirements.parent)


def prepare_sweep_job(spec_path: Path, *, environ: Mapping[str, str] | None = None) -> PreparedJob:
    """The install phase of one job (:func:`advisor.observe.runs.prepare_job`), on this
    machine; module-level, so that a process pool can run it."""
    from advisor.observe.runs import prepare_job

    machine = Machine.detect(dict(os.environ if environ is None else environ))
    return prepare_job(spec_path, lock=_lock_job, machine=machine)


def run_sweep_job(
    spec_path: Path, *, environ: Mapping[str, str] | None = None, upload: str | None = None
) -> JobResult:
    """One job alone (``advisor observe run-job``; :func:`advisor.observe.runs.run_job`):
    ``observations.jsonl`` and ``runtime.json`` go next to the spec, and into its store;
    also to the team server ``upload`` when given (what a sweep's Dask worker does)."""
    from advisor.observe.runs import run_job

    environ = dict(os.environ if environ is None else environ)
    prepare = partial(prepare_sweep_job, environ=environ)
    record = partial(_keep, upload=upload, environ=environ)
    return run_job(
        spec_path,
        prepare=prepare,
        machine=Machine.detect(environ),
        probes=lambda spec: chosen_probes(spec.benchmarks, spec.probes),
        record=record,
    )


def run_sweep(
    specs: Sequence[Path],
    *,
    jobs: int,
    output: Path | None,
    environ: Mapping[str, str],
    events: ProgressEvents = SILENT,
) -> list[JobResult]:
    """Install every job (``jobs`` at a time, each in a process getting ``environ``), then
    bench them together, interleaved (:func:`advisor.observe.runs.run_jobs`); append the
    jobs' JSONL, in spec order, to ``output`` when given. Raises :class:`InputError` when
    the specs disagree on how to measure."""
    from advisor.observe.runs import run_jobs
    from advisor.observe.sweep import concatenate

    results = run_jobs(
        specs,
        prepare=partial(prepare_sweep_job, environ=dict(environ)),
        jobs=jobs,
        machine=Machine.detect(environ),
        probes=lambda spec: chosen_probes(spec.benchmarks, spec.probes),
        record=store_observations,
        events=events,
    )
    if output is not None:
        concatenate(results, output)
    return results


def observe_sweep(
    requirements: Sequence[str],
    *,
    sweep: SweepOptions,
    opts: ResolveOptions,
    jobs: int,
    output: Path | None,
    workdir: Path | None,
    store_url: str | None,
    environ: Mapping[str, str],
    events: ProgressEvents = SILENT,
) -> list[JobResult]:
    """``advisor observe sweep``: :func:`plan_sweep` into ``workdir`` (default: a temporary
    folder) recording into ``store_url`` (``None``: the default store), then
    :func:`run_sweep`."""
    with tempfile.TemporaryDirectory(prefix="advisor-sweep-") as scratch:
        specs = plan_sweep(
            requirements,
            sweep=sweep,
            opts=opts,
            workdir=(workdir or Path(scratch)).resolve(),
            store_url=resolve_store_url(store_url, environ),
            environ=environ,
            cwd=Path.cwd(),
            today=_today(),
        )
        return run_sweep(specs, jobs=jobs, output=output, environ=environ, events=events)


def export_observations(
    store_url: str | None,
    *,
    path: Path | None,
    kinds: Collection[str] = SHARED_KINDS,
    environ: Mapping[str, str] | None = None,
) -> ExportOutcome:
    """Every stored observation of ``kinds`` as JSON lines, sorted by key, written to
    ``path`` when given (:func:`advisor.observe.exchange.write_export`). Raises
    :class:`InputError` for a kind other than build, performance and compatibility."""
    from advisor.knowledge.store import open_store
    from advisor.observe.exchange import write_export

    url = resolve_store_url(store_url, environ)
    return write_export(kinds, store=partial(open_store, url), path=path)


def import_observations(
    path: Path,
    *,
    store_url: str | None,
    environ: Mapping[str, str] | None = None,
    today: str | None = None,
) -> ImportOutcome:
    """Store the observations of a JSONL file (:func:`advisor.observe.exchange.import_jsonl`;
    re-importing the same facts is idempotent); bad lines are skipped and returned as
    problems. Raises :class:`InputError` when the file cannot be read."""
    from advisor.knowledge.store import open_store
    from advisor.observe.exchange import import_jsonl

    url = resolve_store_url(store_url, environ)
    return import_jsonl(path, today=today or _today(), store=partial(open_store, url))


def observe_compatibility(
    requirements: Sequence[str],
    *,
    others: Sequence[str],
    compat: CompatOptions,
    opts: ResolveOptions,
    workdir: Path,
    store_url: str | None,
    output: Path | None = None,
    environ: Mapping[str, str],
    cwd: Path,
    today: str | None = None,
    events: ProgressEvents = SILENT,
) -> CompatOutcome:
    """Pair the versions :func:`advisor.observe.plan.compat_pairs` picks (wheels for this
    machine) of ``requirements`` with those of ``others``, on the indexes of ``opts``;
    observe every pair in its own venv of this interpreter (:mod:`advisor.observe.compat`,
    ``compat.jobs`` at a time), store the observations, append them to ``output`` (JSONL)
    when given. Raises :class:`InputError` for requirements of several packages or a
    ``--python`` that is not this interpreter's."""
    from advisor.api.lock_facts import index_files
    from advisor.observe.compat import CompatSettings, run_pairs
    from advisor.observe.exchange import append_jsonl
    from advisor.observe.plan import compat_interpreter, compat_pairs

    python = compat_interpreter(opts.python)
    with index_files(opts, environ, cwd) as (find, (target, *_)):
        pairs = compat_pairs(
            requirements, others, options=compat, find=find, target=target,
            allow_prereleases=opts.pre,
        )  # fmt: skip
    machine = Machine.detect(environ)
    settings = CompatSettings(
        python=python, pip=_pip_source(opts), timeout=compat.timeout, today=today or _today(),
        tool=TOOL, recorder=machine.recorder,
    )  # fmt: skip
    results = run_pairs(pairs, settings=settings, workdir=workdir, env=machine.host,
                        environ=environ, jobs=compat.jobs, events=events)  # fmt: skip
    outcome = CompatOutcome.of(results)
    store_observations(resolve_store_url(store_url, environ), outcome.observations)
    if output is not None:
        append_jsonl(output, outcome.observations)
    return outcome
