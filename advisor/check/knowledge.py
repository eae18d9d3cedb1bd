"""The knowledge store of one ``advisor check`` run: opened once, on first need; and the
run's sources on this machine (:class:`HostSources`).

Sits between the composition root (``api/checking.py``, whose
:class:`~advisor.check.sources.CheckSources` delegate their ``advisories`` and
``prescriptions`` here) and the store (:mod:`advisor.knowledge.store`). A check reads the
advisories and the curated rules of every lock it checks; opening the store for each read
connected and checked the migrations each time (three times per lock: advisories, the
curated folder's sync, rules), which made a check over PostgreSQL about three times slower
than over SQLite on the team server. Here the store is opened at most once per run, its
advisory stats read once, and the curated folder synced at most once, before the first
rules are read; a run that needs neither (``--only hashes``, ``--osv``) never opens it.
On the team server a run opens nothing: it reads the server's own store (shared by its
jobs, left open, its curated folders synced by ``POST /v1/knowledge/sync``). With ``--osv``, the
advisories come from that dump instead of the store.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from advisor.check.sources import (
    advisories_from_dump,
    advisories_from_store,
    prescriptions_from_store,
)
from advisor.knowledge.bundled import CURATED_PREFIX

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from contextlib import AbstractContextManager
    from datetime import date
    from pathlib import Path

    from advisor.check.sources import AdvisoryData, ProjectFiles, RelockPlan
    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.schema import Prescription
    from advisor.knowledge.store import KnowledgeStore, StoreOpener
    from advisor.lockfile.record import IndexRecord

__all__ = ["HostSources", "RunKnowledge"]


@dataclass(slots=True, kw_only=True)
class RunKnowledge:
    """The advisories and rules of the store ``open_store`` gives (called at most once:
    :func:`~advisor.knowledge.store.store_opener`), for one check run; :meth:`close` ends
    the run's hold on it (closing a store the run opened, never a shared one).

    ``curated``: a folder (this checkout's rules) synced into the store, as
    ``source_prefix``, before the first rules are read (free when unchanged; ``None`` on
    the server, whose store its admin syncs); ``today`` (ISO date) dates the facts
    that sync adds; ``osv``: an OSV dump (``--osv``) that the advisories come from instead
    of the store. Not thread-safe: one run, one thread (a shared store is).
    """

    open_store: StoreOpener
    curated: Path | None = None
    osv: Path | None = None
    source_prefix: str = CURATED_PREFIX
    today: str
    _store: KnowledgeStore | None = field(default=None, init=False)
    _held_open: ExitStack = field(default_factory=ExitStack, init=False)
    _synced: bool = field(default=False, init=False)
    _held: tuple[int, date | None] | None = field(default=None, init=False)

    def _opened(self) -> KnowledgeStore:
        if self._store is None:
            self._store = self._held_open.enter_context(self.open_store())
        return self._store

    def advisories(self, names: Sequence[str]) -> AdvisoryData:
        """The store's advisories for ``names``, with how many it holds and how current
        they are. Cost: a query; on the first call, the store opened and its stats read
        (they do not change during a run, and cost a grouped count: ~50 ms on PostgreSQL).
        With :attr:`osv`, the dump's advisories for ``names`` (the store stays closed)."""
        from advisor.knowledge.freshness import advisory_data

        if self.osv is not None:
            return advisories_from_dump(self.osv, names)
        store = self._opened()
        found = store.for_packages(names, kinds=["advisory"])
        if self._held is None:
            self._held = advisory_data(store)
        count, as_of = self._held
        return advisories_from_store(found, count=count, as_of=as_of)

    def prescriptions(self, names: Sequence[str]) -> Sequence[Prescription]:
        """The store's curated rules that name any of ``names``, the ``curated`` folder
        synced first (on the first call only). Cost: opens the store on the first call."""
        from advisor.knowledge.sync import sync_folder

        store = self._opened()
        if self.curated is not None and not self._synced:
            sync_folder(store, self.curated, today=self.today, source_prefix=self.source_prefix)
        self._synced = True
        return prescriptions_from_store(store.for_packages(names, kinds=["prescription"]))

    def close(self) -> None:
        """Let go of the store, closing it if the run opened it (it may be asked for again
        afterwards)."""
        self._store = None
        self._held_open.close()


@dataclass(slots=True, kw_only=True)
class HostSources:
    """The :class:`~advisor.check.sources.CheckSources` of one run on this machine: the
    advisories and rules of ``knowledge``, the host ``detect`` probes (once, on first need),
    and what only the composition root does, passed in: the ``build_targets`` of a
    configuration's named environments (as ``advisor lock --env`` builds them), an index
    session on a lock's indexes (``index``) and the lock job (``lock``)."""

    knowledge: RunKnowledge
    detect: Callable[[], RuntimeEnvironment]
    build_targets: Callable[
        [AdvisorConfig, Sequence[str], RuntimeEnvironment], Sequence[RuntimeEnvironment]
    ]
    index: Callable[[IndexRecord], AbstractContextManager[ProjectFiles]]
    lock: Callable[[RelockPlan], None]
    detected: RuntimeEnvironment | None = None

    def advisories(self, names: Sequence[str]) -> AdvisoryData:
        return self.knowledge.advisories(names)

    def prescriptions(self, names: Sequence[str]) -> Sequence[Prescription]:
        return self.knowledge.prescriptions(names)

    def host(self) -> RuntimeEnvironment:
        if self.detected is None:  # probed once per run
            self.detected = self.detect()
        return self.detected

    def targets(self, config: AdvisorConfig, names: Sequence[str]) -> Sequence[RuntimeEnvironment]:
        return self.build_targets(config, names, self.host())

    def open_index(self, index: IndexRecord) -> AbstractContextManager[ProjectFiles]:
        return self.index(index)

    def relock(self, plan: RelockPlan) -> None:
        self.lock(plan)
