"""Observe commands: install a lock and record the outcome; export and import observations.

Part of the composition root: it reads the clock (today's date), the process environment
and this machine's :class:`~advisor.environment.RuntimeEnvironment`, runs
:mod:`advisor.observe.install` in a temporary work folder, and writes what it observed into
the knowledge store a URL names (:func:`advisor.api.knowledge.store_url`). Export and import
move build and performance observations between a store and a JSONL file
(:mod:`advisor.observe.exchange`). Benches and sweeps: :mod:`advisor.api.benching`;
compatibility sweeps (pairs of releases): :func:`observe_compatibility`, over
:mod:`advisor.observe.compat`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from advisor._version import TOOL

# benches and sweeps live in advisor.api.benching; re-exported for callers of this module
from advisor.api.benching import (
    BenchOutcome,
    default_benchmarks_dir,
    observe_bench,
    plan_sweep,
    run_sweep,
    run_sweep_job,
    sweep_versions,
)
from advisor.errors import InputError
from advisor.events import SILENT
from advisor.knowledge.schema import encode_observation

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from advisor.api.context import ResolveOptions
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import BuildObservation, CompatibilityObservation, Observation
    from advisor.knowledge.sources import Problem
    from advisor.observe.compat import PairResult

__all__ = [
    "BenchOutcome",
    "CompatOutcome",
    "ExportOutcome",
    "ImportOutcome",
    "default_benchmarks_dir",
    "encode_observation",
    "export_observations",
    "import_observations",
    "observe_bench",
    "observe_compatibility",
    "observe_install",
    "plan_sweep",
    "run_sweep",
    "run_sweep_job",
    "sweep_versions",
]

DEFAULT_TIMEOUT = 600.0


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


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
            tool=TOOL,
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
    kinds: Collection[str] = ("build", "performance", "compatibility"),
    environ: Mapping[str, str] | None = None,
) -> ExportOutcome:
    """Write every stored observation of ``kinds`` (build, performance, compatibility) to ``path``
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
            f"cannot export {', '.join(unknown)}: only {', '.join(SHARED_KINDS)} observations"
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


@dataclass(frozen=True, slots=True, kw_only=True)
class CompatOutcome:
    """What :func:`observe_compatibility` did: one result per pair, and the observations."""

    results: tuple[PairResult, ...]
    observations: tuple[CompatibilityObservation, ...]


def observe_compatibility(
    requirements: Sequence[str],
    *,
    others: Sequence[str],
    count: int,
    other_count: int,
    opts: ResolveOptions,
    workdir: Path,
    store_url: str | None,
    output: Path | None = None,
    jobs: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
    environ: Mapping[str, str],
    cwd: Path,
    today: str | None = None,
    events: ProgressEvents = SILENT,
) -> CompatOutcome:
    """Pair the ``count`` newest versions (wheels for this machine) of each of
    ``requirements`` (one package; several lines, ``"numpy<2" "numpy>=2"``) with the
    ``other_count`` newest of each of ``others``, observe every pair in its own venv of
    this interpreter (:mod:`advisor.observe.compat`), store the observations, append them
    to ``output`` (JSONL) when given. Raises :class:`InputError` for requirements of
    several packages or a ``--python`` that is not this interpreter's."""
    from packaging.version import Version

    from advisor.api.benching import sweep_versions
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.store import open_store
    from advisor.observe.compat import CompatSettings, PipSource, plan_pairs, run_pairs
    from advisor.observe.recorder import detect_recorder

    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if opts.python is not None and opts.python != here:
        raise InputError(f"--python {opts.python}: a compatibility sweep runs Python {here}")

    def newest(reqs: Sequence[str], n: int) -> dict[str, list[str]]:
        found: dict[str, set[str]] = {}
        for req in reqs:
            name, versions = sweep_versions(req, count=n, opts=opts, environ=environ, cwd=cwd)
            found.setdefault(name, set()).update(versions)
        return {k: sorted(v, key=Version, reverse=True) for k, v in found.items()}

    swept = newest(requirements, count)
    if len(swept) != 1:
        raise InputError(f"a sweep pairs one package's versions, not {', '.join(sorted(swept))}")
    ((name, versions),) = swept.items()
    pairs = plan_pairs(name, versions, newest(others, other_count))
    settings = CompatSettings(
        python=sys.executable,
        pip=PipSource(index_url=opts.index_url, extra_index_urls=opts.extra_index_urls,
                      find_links=opts.find_links, no_index=opts.no_index),
        timeout=timeout, today=today or _today(), tool=TOOL, recorder=detect_recorder(environ),
    )  # fmt: skip
    results = run_pairs(pairs, settings=settings, workdir=workdir, env=RuntimeEnvironment.detect(),
                        environ=environ, jobs=jobs, events=events)  # fmt: skip
    observed = tuple(r.observation for r in results if r.observation is not None)
    if observed:
        with open_store(resolve_store_url(store_url, environ)) as store:
            store.put(observed)
    if output is not None and observed:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("a", encoding="utf-8") as fh:
            fh.writelines(encode_observation(o).decode() + "\n" for o in observed)
    return CompatOutcome(results=tuple(results), observations=observed)
