"""What a sweep asks for: its options, where it finds the files, and the versions it picks.

Sits between the composition root (:mod:`advisor.api.observing`, which opens the index
session and passes its ``find`` and target in) and the sweep steps below:
:mod:`advisor.observe.runs` (a performance sweep: one job spec per version) and
:mod:`advisor.observe.compat` (a compatibility sweep: pairs of releases). The options are
small frozen values, so the API's sweep jobs take one value each instead of a dozen
keywords; the choices (which versions, which job specs, which pairs, which interpreter) are
made here. What a sweep reads of the caller's resolving options is :class:`SweepSources`, a
Protocol the API's ``ResolveOptions`` meets as it is (this layer never imports it).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from advisor._version import TOOL
from advisor.errors import InputError
from advisor.observe.compat import Pair, PipSource, plan_pairs
from advisor.observe.sweep import JobSpec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from pathlib import Path

    from advisor.environment import RuntimeEnvironment
    from advisor.models import DistFile

__all__ = [
    "CompatOptions",
    "SweepOptions",
    "SweepRun",
    "SweepSources",
    "compat_interpreter",
    "compat_pairs",
    "newest_versions",
    "pip_source",
    "plan_specs",
]


class SweepSources(Protocol):
    """What a sweep reads of the resolving options it is given: where the files are (the
    indexes, the flat locations, ``--no-index``), the target Python (``X.Y``; ``None``: this
    one) and whether pre-releases count. ``advisor.api.ResolveOptions`` meets it."""

    @property
    def index_url(self) -> str | None: ...
    @property
    def extra_index_urls(self) -> Sequence[str]: ...
    @property
    def find_links(self) -> Sequence[str]: ...
    @property
    def no_index(self) -> bool: ...
    @property
    def python(self) -> str | None: ...
    @property
    def pre(self) -> bool: ...


def pip_source(sources: SweepSources) -> PipSource:
    """Where the pip of a sweep's venvs finds the files: the indexes of ``sources``."""
    return PipSource(
        index_url=sources.index_url,
        extra_index_urls=tuple(sources.extra_index_urls),
        find_links=tuple(sources.find_links),
        no_index=sources.no_index,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepOptions:
    """How a performance sweep measures (``advisor observe sweep``): the ``count`` newest
    versions, the ``probes`` (probe or family names; empty: all), ``repeat`` timed rounds,
    ``threads`` pinned while measuring (``None``: not pinned) and each step's ``timeout``
    in seconds, the probes of the folder ``benchmarks`` (``None``: the curated one); ``tool``
    names what measured. The defaults are the command's."""

    count: int = 3
    probes: tuple[str, ...] = ()
    repeat: int = 15
    threads: int | None = 1
    timeout: float = 600.0
    benchmarks: Path | None = None
    tool: str = TOOL

    def template(
        self, *, python: str | None, pip: PipSource, knowledge: str | None, today: str
    ) -> JobSpec:
        """The job spec every version's job starts from (its ``requirement`` left empty):
        these options (the ``benchmarks`` folder by value), the target ``python``, where pip
        finds the files, the store URL ``knowledge``, and the provenance."""
        return JobSpec(
            requirement="",
            probes=self.probes,
            repeat=self.repeat,
            threads=self.threads,
            timeout=self.timeout,
            python=python,
            index_url=pip.index_url,
            extra_index_urls=pip.extra_index_urls,
            find_links=pip.find_links,
            no_index=pip.no_index,
            knowledge=knowledge,
            benchmarks=None if self.benchmarks is None else str(self.benchmarks),
            today=today,
            tool=self.tool,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepRun:
    """Where a sweep runs on this machine (a performance sweep, or a compatibility one):
    ``jobs`` processes at once (its installs, or its pairs), its job specs, results and
    venvs in ``workdir`` (``None``: a temporary folder), every observation appended to
    ``output`` (JSON lines) too. A sweep dispatched to a team server takes none of these."""

    jobs: int = 1
    workdir: Path | None = None
    output: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CompatOptions:
    """What a compatibility sweep pairs (``advisor observe sweep --with``): the ``count``
    newest versions of the swept package with the ``other_count`` newest of each other
    one, each step within ``timeout`` seconds (how many at once: :class:`SweepRun`)."""

    count: int = 3
    other_count: int = 3
    timeout: float = 600.0


def plan_specs(
    requirements: str | Sequence[str],
    *,
    sweep: SweepOptions,
    sources: SweepSources,
    find: Callable[[str], Iterable[DistFile]],
    target: RuntimeEnvironment,
    workdir: Path,
    knowledge: str | None,
    today: str,
) -> list[Path]:
    """Write one job spec per version (:func:`advisor.observe.runs.write_specs`): the
    ``sweep.count`` newest versions with a wheel for ``target`` of each of ``requirements``
    (all about one package; one may be a plain string) among the files ``find(name)`` lists,
    pre-releases when ``sources.pre``. Each spec names ``sources``' indexes and Python, the
    store ``knowledge`` and ``sweep.benchmarks`` by value. Raises :class:`InputError`
    for a bad requirement, one with no wheel, or requirements of several packages (or none)."""
    from advisor.observe.runs import sweep_versions, write_specs

    template = sweep.template(
        python=sources.python, pip=pip_source(sources), knowledge=knowledge, today=today
    )

    def versions(requirement: str) -> tuple[str, tuple[str, ...]]:
        return sweep_versions(
            requirement, find=find, target=target, count=sweep.count, allow_prereleases=sources.pre
        )

    wanted = [requirements] if isinstance(requirements, str) else list(requirements)
    return write_specs(wanted, versions=versions, template=template, workdir=workdir)


def newest_versions(
    requirements: Iterable[str],
    *,
    count: int,
    versions: Callable[[str, int], tuple[str, tuple[str, ...]]],
) -> dict[str, list[str]]:
    """Name → the versions ``versions(requirement, count)`` picks for each of
    ``requirements`` (:func:`advisor.observe.runs.sweep_versions` over an index), several
    requirements of one package merged, newest first; names in the order first met."""
    from packaging.version import Version

    found: dict[str, set[str]] = {}
    for requirement in requirements:
        name, picked = versions(requirement, count)
        found.setdefault(name, set()).update(picked)
    return {name: sorted(v, key=Version, reverse=True) for name, v in found.items()}


def compat_pairs(
    requirements: Sequence[str],
    others: Sequence[str],
    *,
    options: CompatOptions,
    find: Callable[[str], Iterable[DistFile]],
    target: RuntimeEnvironment,
    allow_prereleases: bool = False,
) -> tuple[Pair, ...]:
    """Every pair of a compatibility sweep: the ``options.count`` newest versions with a
    wheel for ``target`` of each of ``requirements`` (one package; several lines, as
    ``"numpy<2" "numpy>=2"``) with the ``options.other_count`` newest of each of
    ``others``, of the files ``find(name)`` lists. Raises :class:`InputError` for
    requirements of several packages (or a bad requirement, or one with no wheel)."""
    from advisor.observe.runs import sweep_versions

    def versions(requirement: str, count: int) -> tuple[str, tuple[str, ...]]:
        return sweep_versions(
            requirement, find=find, target=target, count=count, allow_prereleases=allow_prereleases
        )

    swept = newest_versions(requirements, count=options.count, versions=versions)
    if len(swept) != 1:
        raise InputError(f"a sweep pairs one package's versions, not {', '.join(sorted(swept))}")
    ((name, picked),) = swept.items()
    paired = newest_versions(others, count=options.other_count, versions=versions)
    return plan_pairs(name, picked, paired)


def compat_interpreter(python: str | None) -> str:
    """The interpreter a compatibility sweep's venvs are made from: this one, whose wheels
    the versions were picked for. Raises :class:`InputError` when ``python`` (``X.Y``)
    names another."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if python is not None and python != here:
        raise InputError(f"--python {python}: a compatibility sweep runs Python {here}")
    return sys.executable
