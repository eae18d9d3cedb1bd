"""The observe jobs below the composition root: ``observe install``, ``bench``, a sweep's
runs and a compatibility sweep, each from its options to what it recorded.

Sits between :mod:`advisor.api.observing` and the steps here (:mod:`.install`,
:mod:`.runs`, :mod:`.compat`, :mod:`.exchange`): the API passes in this machine
(:class:`~advisor.observe.runs.Machine`), the date, the store URL it resolved and the upload
to a team server (``send``), and returns what these return. The options are small frozen
values (:class:`InstallOptions`, :class:`BenchOptions`), so the API's jobs take one value
each instead of a dozen keywords. Nothing here reads the process environment or the clock.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from advisor._version import TOOL
from advisor.errors import InputError
from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import BuildObservation, Observation
    from advisor.observe.compat import CompatOutcome, Pair
    from advisor.observe.plan import CompatOptions, SweepRun, SweepSources
    from advisor.observe.runs import BenchOutcome, Machine, PreparedJob
    from advisor.observe.sweep import JobResult

    #: The upload of a run's observations to a team server (called only with some).
    Send = Callable[[Sequence[Observation]], object]

__all__ = [
    "BenchOptions",
    "InstallOptions",
    "bench_observed",
    "install_observed",
    "observe_pairs",
    "run_specs",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallOptions:
    """How ``advisor observe install`` installs a lock: into a fresh venv of ``python``
    (``None``: the interpreter running advisor) made in ``workdir`` (``None``: a temporary
    folder), each step (the venv, pip, each import) within ``timeout`` seconds."""

    python: str | None = None
    timeout: float = 600.0
    workdir: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchOptions:
    """How ``advisor observe bench`` measures: the ``probes`` (probe or family names; empty:
    all) of the folder ``benchmarks`` (``None``: the curated one), ``repeat`` timed runs
    (``None``: each probe's own), the BLAS/OpenMP ``threads`` pinned (``None``: not pinned),
    each process within ``timeout`` seconds; a lock is installed with ``python`` (``None``:
    this interpreter) into ``workdir`` (``None``: a temporary folder). ``tool`` names what
    measured, in the observations' provenance."""

    probes: tuple[str, ...] = ()
    repeat: int | None = None
    threads: int | None = None
    timeout: float = 600.0
    python: str | None = None
    workdir: Path | None = None
    benchmarks: Path | None = None
    tool: str = TOOL


def install_observed(
    lock: Path,
    *,
    options: InstallOptions,
    machine: Callable[[], Machine],
    store_url: str,
    today: str,
    send: Send | None = None,
    events: ProgressEvents = SILENT,
) -> list[BuildObservation]:
    """Install ``lock`` as ``options`` say on this machine (``machine()``, detected once the
    lock is found) and return one build observation per package
    (:func:`advisor.observe.install.observe_install`), put into the store at ``store_url``
    (opened even for none: a default store is made) and sent with ``send`` when given.
    Raises :class:`InputError` for a missing lock, before anything else is done."""
    from advisor.knowledge.store import open_store
    from advisor.observe.exchange import keep_observations
    from advisor.observe.install import observe_install

    if not lock.is_file():
        raise InputError(f"{lock}: no such lock file")
    here = machine()
    with tempfile.TemporaryDirectory(prefix="advisor-observe-") as tmp:
        observations = observe_install(
            lock,
            python=options.python or sys.executable,
            workdir=options.workdir or Path(tmp),
            timeout=options.timeout,
            environ=here.environ,
            today=today,
            tool=TOOL,
            env=here.host,
            recorder=here.recorder,
            events=events,
        )
    with open_store(store_url) as store:
        store.put(observations)
    keep_observations(None, observations, send=send)
    return observations


def bench_observed(
    target: Path,
    *,
    options: BenchOptions,
    machine: Machine,
    store_url: str | None,
    today: str,
    send: Send | None = None,
    events: ProgressEvents = SILENT,
) -> BenchOutcome:
    """Bench ``target``, a venv folder or a lock (:func:`advisor.observe.runs.bench_target`)
    as ``options`` say; keep what it observed in the store at ``store_url`` (``None``:
    nowhere) and send it with ``send`` when given. Raises :class:`InputError` for a target
    that is neither, or a probe name that matches nothing."""
    from advisor.observe.exchange import keep_observations
    from advisor.observe.probes import chosen_probes
    from advisor.observe.runs import bench_target

    chosen = chosen_probes(options.benchmarks, options.probes)
    with tempfile.TemporaryDirectory(prefix="advisor-bench-") as scratch:
        outcome = bench_target(
            target,
            probes=chosen,
            repeat=options.repeat,
            threads=options.threads,
            timeout=options.timeout,
            python=options.python,
            workdir=options.workdir or Path(scratch),
            machine=machine,
            today=today,
            tool=options.tool,
            events=events,
        )
    keep_observations(store_url, outcome.observations, send=send)
    return outcome


def run_specs(
    specs: Sequence[Path],
    *,
    prepare: Callable[[Path], PreparedJob],
    run: SweepRun,
    machine: Machine,
    events: ProgressEvents = SILENT,
) -> list[JobResult]:
    """Run a sweep's job ``specs`` here (:func:`advisor.observe.runs.run_jobs`: installed
    with ``prepare``, ``run.jobs`` at a time, then benched together), each job's
    observations put into the store its spec names; the jobs' JSONL appended, in spec
    order, to ``run.output`` when given. Raises :class:`InputError` when the specs measure
    differently."""
    from advisor.observe.exchange import store_observations
    from advisor.observe.runs import run_jobs
    from advisor.observe.sweep import concatenate

    results = run_jobs(
        specs, prepare=prepare, jobs=run.jobs, machine=machine, record=store_observations,
        events=events,
    )  # fmt: skip
    if run.output is not None:
        concatenate(results, run.output)
    return results


def observe_pairs(
    pairs: Sequence[Pair],
    *,
    python: str,
    compat: CompatOptions,
    run: SweepRun,
    sources: SweepSources,
    machine: Machine,
    today: str,
    store_url: str,
    events: ProgressEvents = SILENT,
) -> CompatOutcome:
    """Observe every pair in its own venv of ``python`` made in ``run.workdir`` (``None``: a
    temporary folder; :func:`advisor.observe.compat.run_pairs`, ``run.jobs`` at a time,
    pip finding the wheels on ``sources``' indexes), put the observations into the store at
    ``store_url`` and append them to ``run.output`` (JSONL) when given."""
    from advisor.observe.compat import CompatOutcome, CompatSettings, run_pairs
    from advisor.observe.exchange import append_jsonl, store_observations
    from advisor.observe.plan import pip_source

    settings = CompatSettings(
        python=python, pip=pip_source(sources), timeout=compat.timeout, today=today, tool=TOOL,
        recorder=machine.recorder,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="advisor-compat-") as scratch:
        results = run_pairs(
            pairs, settings=settings, workdir=(run.workdir or Path(scratch)).resolve(),
            env=machine.host, environ=machine.environ, jobs=run.jobs, events=events,
        )  # fmt: skip
    outcome = CompatOutcome.of(results)
    store_observations(store_url, outcome.observations)
    if run.output is not None:
        append_jsonl(run.output, outcome.observations)
    return outcome
