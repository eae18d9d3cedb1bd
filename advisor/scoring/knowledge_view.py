"""Knowledge views: what the scoring units read about each package.

Sits between the knowledge layer (a :class:`~advisor.knowledge.store.KnowledgeStore`, or
observations loaded from files) and the units, which only ever call
``ctx.knowledge.for_package(name)`` (the :class:`~advisor.scoring.base.KnowledgeView`
protocol). Two implementations:

* :class:`StoreKnowledge` reads a store, memoised per package, with a batched
  :meth:`~StoreKnowledge.prefetch` (one ``for_packages`` query for many names), plus extra
  observations given in memory (the curated ``knowledge/`` folder, an ``--osv`` dump);
* :class:`StaticKnowledge` holds observations in memory only (tests, ``--osv`` dumps);
* :func:`advisory_view` opens the advisories of a store that exists (a cooldown's);
* :func:`advice_knowledge` opens what an advice scores with (the store after a sync of the
  curated folders, an ``--osv`` dump's advisories on top).

Both return, per canonical package name, every observation about it (see
:func:`~advisor.knowledge.schema.packages_of`) once, ordered by
:func:`~advisor.knowledge.schema.observation_key`, so units see the same sequence for the
same knowledge whatever the load order. Unknown packages give an empty tuple (neutral).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from advisor.knowledge.schema import observation_key, packages_of
from advisor.knowledge.store_rows import check_kinds, kind_of

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator
    from datetime import date
    from pathlib import Path

    from advisor.knowledge.schema import Observation
    from advisor.knowledge.store import KnowledgeStore, StoreOpener

__all__ = ["StaticKnowledge", "StoreKnowledge", "advice_knowledge", "advisory_view"]


def _index(observations: Iterable[Observation]) -> dict[str, dict[str, Observation]]:
    """Canonical name → {observation key → observation}; a later duplicate key wins."""
    by_name: dict[str, dict[str, Observation]] = {}
    for obs in observations:
        key = observation_key(obs)
        for name in packages_of(obs):
            by_name.setdefault(name, {})[key] = obs
    return by_name


def _ordered(found: dict[str, Observation]) -> tuple[Observation, ...]:
    return tuple(found[k] for k in sorted(found))


class StaticKnowledge:
    """A :class:`~advisor.scoring.base.KnowledgeView` over observations held in memory.

    Cost: one pass over ``observations`` at construction (a key per observation); each
    :meth:`for_package` is a dictionary lookup.
    """

    def __init__(self, observations: Iterable[Observation] = ()) -> None:
        self._by_name = {name: _ordered(found) for name, found in _index(observations).items()}

    def for_package(self, name: str) -> tuple[Observation, ...]:
        """Every observation about ``name`` (any spelling), ordered by key; ``()`` if none."""
        return self._by_name.get(canonicalize_name(name), ())

    def prefetch(self, names: Iterable[str]) -> None:
        """Nothing to do: everything is in memory (here for the same interface)."""
        del names

    @property
    def packages(self) -> tuple[str, ...]:
        """The canonical names something is known about, sorted."""
        return tuple(sorted(self._by_name))


class StoreKnowledge:
    """A :class:`~advisor.scoring.base.KnowledgeView` over a store, plus ``extra``
    observations in memory (which win over a stored observation with the same key).

    ``kinds`` restricts what is read (``None``: every kind; an unknown kind raises
    :class:`~advisor.errors.InputError`). The store is not closed here:
    its owner closes it. Cost: each package is read from the store at most once (memoised
    for the view's life); :meth:`prefetch` reads many packages in one query, so call it with
    the names about to be scored (the resolver's candidates) before asking one by one.
    """

    def __init__(
        self,
        store: KnowledgeStore,
        *,
        extra: Iterable[Observation] = (),
        kinds: Collection[str] | None = None,
    ) -> None:
        self._store = store
        self._kinds = check_kinds(kinds)
        self._extra = _index(
            obs for obs in extra if self._kinds is None or kind_of(obs) in self._kinds
        )
        self._memo: dict[str, tuple[Observation, ...]] = {}

    def _merge(self, name: str, stored: Iterable[Observation]) -> tuple[Observation, ...]:
        found = {observation_key(obs): obs for obs in stored}
        found.update(self._extra.get(name, {}))
        return _ordered(found)

    def prefetch(self, names: Iterable[str]) -> None:
        """Read every package of ``names`` not read yet, in one ``for_packages`` query."""
        wanted = list(dict.fromkeys(canonicalize_name(n) for n in names))
        missing = [n for n in wanted if n not in self._memo]
        if not missing:
            return
        stored = self._store.for_packages(missing, kinds=self._kinds)
        for name in missing:
            self._memo[name] = self._merge(name, stored.get(name, ()))

    def for_package(self, name: str) -> tuple[Observation, ...]:
        """Every observation about ``name`` (any spelling), ordered by key; ``()`` if none."""
        key = canonicalize_name(name)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._merge(key, self._store.for_package(key, kinds=self._kinds))
            self._memo[key] = hit
        return hit


@contextmanager
def advisory_view(url: str) -> Iterator[StoreKnowledge | None]:
    """The advisories of the store at ``url``, closed on the way out; ``None`` when it is a
    SQLite file that does not exist: it is never created (a PostgreSQL URL is opened)."""
    from advisor.knowledge.store import open_store, sqlite_path

    if not url.startswith("postgres") and not sqlite_path(url).is_file():
        yield None
        return
    with open_store(url) as store:
        yield StoreKnowledge(store, kinds=["advisory"])


@contextmanager
def advice_knowledge(
    open_store: StoreOpener,
    *,
    folders: Iterable[tuple[Path, str]],
    osv: Path | None,
    today: date,
) -> Iterator[tuple[StoreKnowledge, KnowledgeStore, str | None]]:
    """What an advice scores with: the store ``open_store`` gives
    (:func:`~advisor.knowledge.store.store_opener`) after a sync of each curated folder of
    ``folders`` (with its source prefix; free when unchanged), plus the advisories of the
    ``osv`` dump (read first: a bad dump changes nothing, and no store is opened); the
    store, let go of on the way out; and how current the advisories are (ISO day; ``None``:
    none loaded)."""
    from advisor.knowledge.freshness import advisory_data
    from advisor.knowledge.sources.osv_import import load_osv
    from advisor.knowledge.sync import sync_folders

    dump = load_osv(osv, date=today.isoformat()) if osv is not None else None
    with open_store() as store:
        sync_folders(store, folders, today=today.isoformat())
        as_of = (dump.newest_modified or today) if dump is not None else advisory_data(store)[1]
        extra = list(dump.advisories) if dump is not None else []
        yield StoreKnowledge(store, extra=extra), store, as_of.isoformat() if as_of else None
