"""The observe jobs (install, bench, sweep, run-job, export, import, compatibility pairs):
the clock, the process environment, this machine, the store and the upload to a team server
handed to :mod:`advisor.observe` (``jobs``, ``plan``, ``runs``, ``exchange``), which decides.
"""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.api.context import here
from advisor.api.knowledge import resolve_store_url
from advisor.events import SILENT
from advisor.knowledge.schema import BuildObservation  # what observe install prints
from advisor.observe.exchange import SHARED_KINDS
from advisor.observe.jobs import BenchOptions, InstallOptions
from advisor.observe.plan import CompatOptions, SweepOptions, SweepRun
from advisor.observe.runs import Machine

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping, Sequence

    from advisor.api.context import ResolveOptions
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import Observation
    from advisor.observe.compat import CompatOutcome
    from advisor.observe.exchange import ExportOutcome, ImportOutcome
    from advisor.observe.runs import BenchOutcome, PreparedJob
    from advisor.observe.sweep import JobResult, JobSpec

__all__ = [
    "BenchOptions",
    "BuildObservation",
    "CompatOptions",
    "InstallOptions",
    "SweepOptions",
    "SweepRun",
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


def _sender(
    upload: str | None, environ: Mapping[str, str] | None, events: ProgressEvents
) -> Callable[[Sequence[Observation]], object] | None:
    """The upload to the team server ``upload`` (``RemoteJobs.upload``), if one is named."""
    from advisor.api.remote import remote_jobs

    return remote_jobs(upload, environ=environ, events=events).upload if upload else None


def observe_install(
    lock: Path,
    *,
    install: InstallOptions | None = None,
    store_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    today: str | None = None,
    env: RuntimeEnvironment | None = None,
    events: ProgressEvents = SILENT,
    upload: str | None = None,
) -> list[BuildObservation]:
    """``advisor observe install`` (:func:`advisor.observe.jobs.install_observed`) on this
    machine (``env``: its target), into ``store_url`` (``None``: the default store)."""
    from advisor.observe.jobs import install_observed

    at = here(environ)
    return install_observed(
        lock, options=install or InstallOptions(), machine=partial(Machine.detect, at.environ, env),
        store_url=resolve_store_url(store_url, at.environ), today=today or at.today,
        send=_sender(upload, environ, events), events=events,
    )  # fmt: skip


def observe_bench(
    target: Path,
    *,
    bench: BenchOptions | None = None,
    store_url: str | None = None,
    default_store: bool = False,
    environ: Mapping[str, str],
    today: str | None = None,
    events: ProgressEvents = SILENT,
    upload: str | None = None,
) -> BenchOutcome:
    """``advisor observe bench`` (:func:`advisor.observe.jobs.bench_observed`), recorded into
    ``store_url`` (else the default store with ``default_store``, else nowhere)."""
    from advisor.observe.jobs import bench_observed

    url = resolve_store_url(None, environ) if store_url is None and default_store else store_url
    return bench_observed(
        target, options=bench or BenchOptions(), machine=Machine.detect(environ), store_url=url,
        today=today or here().today, send=_sender(upload, environ, events), events=events,
    )  # fmt: skip


def plan_sweep(
    requirements: str | Sequence[str],
    *,
    sweep: SweepOptions,
    opts: ResolveOptions,
    workdir: Path,
    store_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    today: str | None = None,
) -> list[Path]:
    """A sweep's job specs (:func:`advisor.observe.plan.plan_specs`) written into ``workdir``,
    each naming the store ``store_url`` (``None``: none)."""
    from advisor.api.lock_facts import index_files
    from advisor.observe.plan import plan_specs

    at = here(environ, cwd)
    with index_files(opts, at.environ, at.cwd) as (find, (target, *_)):
        return plan_specs(requirements, sweep=sweep, sources=opts, find=find, target=target,
                          workdir=workdir, knowledge=store_url,
                          today=today or at.today)  # fmt: skip


def _lock_job(
    requirements: Path, *, spec: JobSpec, output: Path, environ: Mapping[str, str]
) -> None:
    """The sweep job's lock step (:class:`advisor.observe.runs.LockStep`)."""
    from advisor.api.locking import LockOptions, ResolveOptions, lock

    out = LockOptions(output=output, command="advisor observe run-job")
    opts = ResolveOptions(**spec.lock_sources())
    lock([requirements], opts=opts, out=out, environ=environ, cwd=requirements.parent)


def prepare_sweep_job(spec_path: Path, *, environ: Mapping[str, str] | None = None) -> PreparedJob:
    """One job's install phase (:func:`advisor.observe.runs.prepare_job`) on this machine;
    module-level, so that a process pool can run it."""
    from advisor.observe.runs import prepare_job

    return prepare_job(spec_path, lock=_lock_job, machine=Machine.detect(here(environ).environ))


def run_sweep_job(
    spec_path: Path, *, environ: Mapping[str, str] | None = None, upload: str | None = None
) -> JobResult:
    """``advisor observe run-job`` (:func:`advisor.observe.runs.run_job`), also sent to the
    team server ``upload`` (what a sweep's Dask worker does)."""
    from advisor.observe.exchange import keep_observations
    from advisor.observe.runs import run_job

    at = here(environ)
    return run_job(
        spec_path, prepare=partial(prepare_sweep_job, environ=at.environ),
        machine=Machine.detect(at.environ),
        record=partial(keep_observations, send=_sender(upload, at.environ, SILENT)),
    )  # fmt: skip


def run_sweep(
    specs: Sequence[Path],
    *,
    run: SweepRun,
    environ: Mapping[str, str],
    events: ProgressEvents = SILENT,
) -> list[JobResult]:
    """A sweep's job specs run here (:func:`advisor.observe.jobs.run_specs`), each install
    in a process getting ``environ``."""
    from advisor.observe.jobs import run_specs

    return run_specs(specs, prepare=partial(prepare_sweep_job, environ=dict(environ)), run=run,
                     machine=Machine.detect(environ), events=events)  # fmt: skip


def observe_sweep(
    requirements: Sequence[str],
    *,
    sweep: SweepOptions,
    opts: ResolveOptions,
    run: SweepRun | None = None,
    store_url: str | None = None,
    environ: Mapping[str, str],
    events: ProgressEvents = SILENT,
) -> list[JobResult]:
    """``advisor observe sweep``: :func:`plan_sweep` into ``run.workdir`` (default: a
    temporary folder) recording into ``store_url``, then :func:`run_sweep`."""
    run = run or SweepRun()
    with tempfile.TemporaryDirectory(prefix="advisor-sweep-") as scratch:
        specs = plan_sweep(requirements, sweep=sweep, opts=opts, environ=environ,
                           workdir=(run.workdir or Path(scratch)).resolve(),
                           store_url=resolve_store_url(store_url, environ))  # fmt: skip
        return run_sweep(specs, run=run, environ=environ, events=events)


def export_observations(
    store_url: str | None,
    *,
    path: Path | None,
    kinds: Collection[str] = SHARED_KINDS,
    environ: Mapping[str, str] | None = None,
) -> ExportOutcome:
    """:func:`advisor.observe.exchange.write_export` of the store's observations of ``kinds``."""
    from advisor.knowledge.store import open_store
    from advisor.observe.exchange import write_export

    store = partial(open_store, resolve_store_url(store_url, environ))
    return write_export(kinds, store=store, path=path)


def import_observations(
    path: Path,
    *,
    store_url: str | None,
    environ: Mapping[str, str] | None = None,
    today: str | None = None,
) -> ImportOutcome:
    """Store the observations of a JSONL file (:func:`advisor.observe.exchange.import_jsonl`)."""
    from advisor.knowledge.store import open_store
    from advisor.observe.exchange import import_jsonl

    store = partial(open_store, resolve_store_url(store_url, environ))
    return import_jsonl(path, today=today or here().today, store=store)


def observe_compatibility(
    requirements: Sequence[str],
    others: Sequence[str],
    *,
    compat: CompatOptions,
    opts: ResolveOptions,
    run: SweepRun | None = None,
    store_url: str | None = None,
    environ: Mapping[str, str],
    today: str | None = None,
    events: ProgressEvents = SILENT,
) -> CompatOutcome:
    """``advisor observe sweep --with``: the pairs :func:`advisor.observe.plan.compat_pairs`
    picks on the indexes of ``opts``, observed by :func:`advisor.observe.jobs.observe_pairs`."""
    from advisor.api.lock_facts import index_files
    from advisor.observe.jobs import observe_pairs
    from advisor.observe.plan import compat_interpreter, compat_pairs

    python, at = compat_interpreter(opts.python), here(environ)
    with index_files(opts, at.environ, at.cwd) as (find, (target, *_)):
        pairs = compat_pairs(requirements, others, options=compat, find=find, target=target,
                             allow_prereleases=opts.pre)  # fmt: skip
    return observe_pairs(
        pairs, python=python, compat=compat, run=run or SweepRun(), sources=opts,
        machine=Machine.detect(at.environ), today=today or at.today,
        store_url=resolve_store_url(store_url, at.environ), events=events,
    )  # fmt: skip
