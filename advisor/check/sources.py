"""What ``advisor check`` reads beyond the lock files and their inputs, and the one seam
through which it gets it.

:class:`CheckSources` is the protocol the composition root (``api/checking.py``) implements:
it opens the knowledge store, the index and runs the lock job, so that
:mod:`advisor.check.run` never reads the process environment or imports ``api``. The
advisories come as one :class:`AdvisoryData` value, made here from either source: an OSV
dump given with ``--osv`` (:func:`advisories_from_dump`) or the store's records
(:func:`advisories_from_store`). A re-lock (``--fix``) is asked for with a
:class:`RelockPlan`: what to make the lock again from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Protocol

from advisor.knowledge.schema import Advisory, Prescription

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from contextlib import AbstractContextManager
    from pathlib import Path

    from advisor.check.paths import LockKind
    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.schema import Observation
    from advisor.lockfile.record import IndexRecord
    from advisor.models import DistFile
    from advisor.request import IndexOptions

__all__ = [
    "AdvisoryData",
    "CheckSources",
    "ProjectFiles",
    "RelockPlan",
    "advisories_from_dump",
    "advisories_from_store",
    "prescriptions_from_store",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdvisoryData:
    """The advisories known for the pinned projects (``by_package``: canonical name → its
    advisories), how many the source holds in all (``count``) and how current it is
    (``as_of``: its newest record's ``modified`` day; ``None``: never imported)."""

    by_package: Mapping[str, Sequence[Advisory]] = field(default_factory=dict)
    count: int = 0
    as_of: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RelockPlan:
    """What ``--fix`` makes ``lock`` (absolute) again from. A pylock: the inputs, options
    and targets it records (``inputs`` and ``index`` are empty). A requirements lock: the
    ``inputs`` (absolute) and the index options its own ``--index-url`` lines name."""

    lock: Path
    kind: LockKind
    inputs: tuple[Path, ...] = ()
    index: IndexOptions | None = None


class ProjectFiles(Protocol):
    """The files of a project on the lock's indexes (the index layer's finder)."""

    def find(self, name: str) -> tuple[DistFile, ...]: ...


class CheckSources(Protocol):
    """What the checks need from outside the lock files, given by the composition root.

    Each method is called only when a check that needs it runs (``--only`` and ``--online``
    decide), so a run that needs no store never opens one.
    """

    def advisories(self, names: Sequence[str]) -> AdvisoryData:
        """The advisories known for ``names``. Cost: a store query per lock checked for
        advisories (the store opened once per run: :class:`~advisor.check.knowledge.RunKnowledge`),
        or the dump read."""
        ...

    def prescriptions(self, names: Sequence[str]) -> Sequence[Prescription]:
        """The curated rules that name any of ``names`` (the bundled folder synced first)."""
        ...

    def host(self) -> RuntimeEnvironment:
        """This machine, as a target (probing it may take a few seconds)."""
        ...

    def targets(self, config: AdvisorConfig, names: Sequence[str]) -> Sequence[RuntimeEnvironment]:
        """The runtime environments ``config`` names ``names``, as ``advisor lock --env``
        builds them."""
        ...

    def open_index(self, index: IndexRecord) -> AbstractContextManager[ProjectFiles]:
        """The indexes a lock records, asked afresh (``--online``); closed on exit."""
        ...

    def relock(self, plan: RelockPlan) -> None:
        """Write ``plan.lock`` again (``--fix``), as ``advisor lock`` would."""
        ...


def advisories_from_dump(path: Path, names: Iterable[str]) -> AdvisoryData:
    """The advisories of an OSV dump (a zip or a folder) for ``names``. How current it is
    comes from its records (a dump copied or downloaded today may hold old data), else the
    file's modification day."""
    from advisor.knowledge.sources.osv_import import load_osv

    stamp = date.fromtimestamp(path.stat().st_mtime)
    report = load_osv(path, date=stamp.isoformat())
    wanted = set(names)
    by_package: dict[str, list[Advisory]] = {}
    for adv in report.advisories:
        for package in sorted({a.package for a in adv.affected} & wanted):
            by_package.setdefault(package, []).append(adv)
    return AdvisoryData(
        by_package={k: tuple(v) for k, v in by_package.items()},
        count=len(report.advisories),
        as_of=report.newest_modified or stamp,
    )


def advisories_from_store(
    found: Mapping[str, Sequence[Observation]], *, count: int, as_of: date | None
) -> AdvisoryData:
    """The advisories among ``found`` (a store's records per package), with how many the
    store holds and how current they are (as recorded by its last import)."""
    return AdvisoryData(
        by_package={k: tuple(a for a in v if isinstance(a, Advisory)) for k, v in found.items()},
        count=count,
        as_of=as_of,
    )


def prescriptions_from_store(found: Mapping[str, Sequence[Observation]]) -> list[Prescription]:
    """The prescriptions among ``found`` (a store's records per package), in order."""
    return [r for facts in found.values() for r in facts if isinstance(r, Prescription)]
