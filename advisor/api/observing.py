"""Observe commands: install a lock and record the outcome; export and import observations.

Part of the composition root: it reads the clock (today's date), the process environment
and this machine's :class:`~advisor.environment.RuntimeEnvironment`, runs
:mod:`advisor.observe.install` in a temporary work folder, and writes what it observed into
the knowledge store a URL names (:func:`advisor.api.knowledge.store_url`). Export and import
move build and performance observations between a store and a JSONL file
(:mod:`advisor.observe.exchange`). Benches and sweeps: :mod:`advisor.api.benching`.
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
    from collections.abc import Collection, Mapping

    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import BuildObservation, Observation
    from advisor.knowledge.sources import Problem

__all__ = [
    "BenchOutcome",
    "ExportOutcome",
    "ImportOutcome",
    "default_benchmarks_dir",
    "encode_observation",
    "export_observations",
    "import_observations",
    "observe_bench",
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
    upload: str | None = None,
) -> list[BuildObservation]:
    """Install ``lock`` into a fresh venv of ``python`` (default: this interpreter), store
    one build observation per package in the knowledge store, and return them. The pip runs
    report to ``events``. The observations name this machine's recorder id
    (:func:`~advisor.observe.recorder.detect_recorder`: ``ADVISOR_RECORDER`` in ``environ``,
    else derived from the machine's id).

    ``workdir`` keeps the venv (default: a temporary folder, removed afterwards); ``env``
    defaults to ``RuntimeEnvironment.detect()``. Raises :class:`InputError` for a missing
    lock or an unusable interpreter, :class:`~advisor.errors.LockfileError` for a bad lock.
    ``upload``: a team server's URL the observations are sent to as well, once stored
    (:func:`advisor.api.remote.upload_observations`).
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
    if upload:
        from advisor.api.remote import upload_observations

        upload_observations(upload, observations, environ=environ, events=events)
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
