"""Sweeps: one package's newest versions, each locked and installed, then benched together.

The Dependency-Monkey idea done simply. ``advisor observe sweep REQUIREMENT`` (composition in
:mod:`advisor.observe.runs`) picks the N newest versions that have a wheel for the target
(:func:`newest_with_wheel`) and writes one :class:`JobSpec` per version as JSON
(``<workdir>/<name>-<version>/job.json``). Then, in two phases:

1. **install**, in a local process pool (:func:`run_pool`): each job locks ``name==version``
   (the rest resolved around it) and installs the lock into a fresh venv (build
   observations); jobs are independent, so they may run side by side;
2. **bench**, in one process, never side by side: every installed venv is measured
   *interleaved* (one sample of each version per round, A B A B …, after a warm-up; see
   :mod:`advisor.observe.bench`), with the BLAS/OpenMP thread count pinned (``threads``,
   default 1) and recorded, so that a shared machine's drift falls on all versions alike.

Each job's folder then gets ``observations.jsonl`` and ``runtime.json`` (and the knowledge
store named by the spec, if any, gets the observations); the sweep concatenates the jobs'
JSONL (in spec order) into one file.

**Running the same specs on a cluster.** A spec holds everything a job needs (requirement,
probes, repeat, threads, timeout, index options, target Python, store URL, date, tool) and
nothing about the machine that wrote it, and a job is one command: ``advisor observe run-job
SPEC.json``, which installs and benches its one version alone (not interleaved: versions on
different nodes are different machines anyway, and the performance unit only compares
samples taken on one CPU model with one BLAS and thread count). With Dask, the team server
runs them: ``advisor serve --dask-scheduler ADDRESS`` answers ``POST /v1/sweeps`` by writing
the specs (no store in them) and submitting one task per spec, whose worker writes the spec's
JSON to a folder of its own and runs ``advisor observe run-job SPEC.json --upload`` there, so
the observations reach the server under the requester's token
(:mod:`advisor.server.dispatch`; tested on a real ``distributed.LocalCluster``). With
Kubernetes alone: a ConfigMap (or volume) per spec and an indexed Job (``completionMode:
Indexed``, ``completions: N``) whose container runs ``advisor observe run-job
/specs/$JOB_COMPLETION_INDEX.json`` with ``knowledge`` set to a shared PostgreSQL store URL
(or ``--upload``); each pod measures its own node, so the fingerprint recorded is that
node's. That indexed Job is not tested here.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from packaging.utils import canonicalize_name

from advisor.errors import InputError
from advisor.models import DistKind

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from advisor.environment import RuntimeEnvironment
    from advisor.models import DistFile

T = TypeVar("T")

__all__ = [
    "JobResult",
    "JobSpec",
    "LockSources",
    "concatenate",
    "newest_with_wheel",
    "read_spec",
    "run_pool",
    "write_spec",
]


class LockSources(TypedDict):
    """What a job's lock step resolves with, named as the fields of the lock job's options
    (``advisor.api.ResolveOptions``), so the composition root passes them on as they are:
    ``ResolveOptions(**spec.lock_sources())`` (mypy checks every key against the fields)."""

    index_url: str | None
    extra_index_urls: tuple[str, ...]
    find_links: tuple[str, ...]
    no_index: bool
    python: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpec:
    """One sweep job, as written to ``job.json``. ``index_url`` etc. are the resolving
    options (``None``/empty: the machine's pip configuration); ``knowledge`` the store URL
    to record into (``None``: only the job folder); ``benchmarks`` the probe folder;
    ``repeat`` the timed rounds of each measurement and ``threads`` the BLAS/OpenMP thread
    count pinned while measuring (``None``: not pinned)."""

    requirement: str
    probes: tuple[str, ...] = ()
    repeat: int = 15
    threads: int | None = 1
    timeout: float = 600.0
    python: str | None = None
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    knowledge: str | None = None
    benchmarks: str | None = None
    today: str
    tool: str

    def lock_sources(self) -> LockSources:
        """The indexes and the target Python the job's requirement is locked with."""
        return LockSources(
            index_url=self.index_url,
            extra_index_urls=self.extra_index_urls,
            find_links=self.find_links,
            no_index=self.no_index,
            python=self.python,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str) -> JobSpec:
        fields = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - fields)
        if unknown:
            raise InputError(f"{where}: unknown job spec key(s) {', '.join(unknown)}")
        try:
            values: dict[str, Any] = {
                k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
            }
            return cls(**values)
        except TypeError as exc:
            raise InputError(f"{where}: invalid job spec: {exc}") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class JobResult:
    """What one job did: its folder, the JSONL it wrote, counts, and the error if it failed
    before recording (a failed install or probe is recorded, not an error)."""

    spec: str
    requirement: str
    jsonl: str | None = None
    builds: int = 0
    performance: int = 0
    error: str | None = None


def write_spec(spec: JobSpec, path: Path) -> Path:
    """Write ``spec`` as sorted, indented JSON (byte-stable) and return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_spec(path: Path) -> JobSpec:
    """The spec in ``path``; :class:`InputError` when unreadable or malformed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read job spec: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: a job spec is a JSON object")
    return JobSpec.from_dict(data, where=str(path))


def newest_with_wheel(
    name: str,
    files: Iterable[DistFile],
    *,
    env: RuntimeEnvironment,
    count: int,
    allow_prereleases: bool = False,
) -> tuple[str, ...]:
    """The ``count`` newest versions of ``name`` (newest first) that have a non-yanked wheel
    ``env`` can install (tags and ``Requires-Python``)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    wanted = canonicalize_name(name)
    python = Version(env.markers()["python_full_version"])
    found: set[Version] = set()
    for f in files:
        parsed = f.parsed
        if parsed is None or parsed.name != wanted or f.yanked is not None:
            continue
        if parsed.kind is not DistKind.WHEEL or env.best_rank(parsed.tags) is None:
            continue
        if parsed.version.is_prerelease and not allow_prereleases:
            continue
        if f.requires_python:
            try:
                if python not in SpecifierSet(f.requires_python):
                    continue
            except InvalidSpecifier:
                continue
        found.add(parsed.version)
    return tuple(str(v) for v in sorted(found, reverse=True)[:count])


def run_pool(specs: Sequence[Path], worker: Callable[[Path], T], *, jobs: int) -> list[T]:
    """Run ``worker`` (a picklable, module-level function) on each spec, ``jobs`` at a time
    in separate processes (in this process when ``jobs`` is 1); results in spec order."""
    if jobs <= 1 or len(specs) <= 1:
        return [worker(p) for p in specs]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(worker, specs))


def concatenate(results: Iterable[JobResult], output: Path) -> int:
    """Append every result's JSONL lines (in order, each line once) to ``output``; returns
    the number of lines written."""
    seen: set[str] = set()
    lines: list[str] = []
    for result in results:
        if result.jsonl is None:
            continue
        for line in Path(result.jsonl).read_text(encoding="utf-8").splitlines():
            if line.strip() and line not in seen:
                seen.add(line)
                lines.append(line)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("a", encoding="utf-8") as fh:
        fh.writelines(line + "\n" for line in lines)
    return len(lines)
