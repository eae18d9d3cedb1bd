"""The knowledge jobs that read a lock or the index (a lock's graph, release facts): the
lock, the store and an index session handed to :mod:`advisor.knowledge.lock_graph` and
:mod:`advisor.knowledge.sources.index_facts`.
"""

from __future__ import annotations

import contextlib
from functools import partial
from typing import TYPE_CHECKING

from advisor._version import TOOL
from advisor.api.context import here
from advisor.api.knowledge import resolve_store_url
from advisor.events import SILENT
from advisor.knowledge.graph import ExportFormat
from advisor.knowledge.sources.index_facts import IndexFactsOutcome
from advisor.knowledge.store import open_store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from pathlib import Path

    from advisor.api.context import ResolveOptions
    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.index.finder import PackageFinder
    from advisor.knowledge.graph import StackGraph
    from advisor.models import DistFile

__all__ = [
    "ExportFormat",
    "IndexFactsOutcome",
    "export_lock_graph",
    "index_facts",
    "index_files",
    "open_finder",
    "stack_graph_for_lock",
]


def stack_graph_for_lock(
    lock_path: Path, *, store_url: str | None, environ: Mapping[str, str] | None = None
) -> StackGraph:
    """:func:`~advisor.knowledge.lock_graph.graph_of_lock` with the store's observations."""
    from advisor.knowledge.lock_graph import graph_of_lock

    store = partial(open_store, resolve_store_url(store_url, environ))
    return graph_of_lock(lock_path, open_store=store)


def export_lock_graph(
    lock_path: Path,
    *,
    store_url: str | None,
    fmt: ExportFormat,
    environ: Mapping[str, str] | None = None,
    output: Path | None = None,
) -> str:
    """:func:`~advisor.knowledge.lock_graph.export_lock_graph` of :func:`stack_graph_for_lock`."""
    from advisor.knowledge.lock_graph import export_format
    from advisor.knowledge.lock_graph import export_lock_graph as export

    chosen = export_format(fmt)  # a bad format is refused before the lock is read
    return export(stack_graph_for_lock(lock_path, store_url=store_url, environ=environ), chosen,
                  output=output)  # fmt: skip


@contextlib.contextmanager
def open_finder(
    opts: ResolveOptions,
    environ: Mapping[str, str],
    cwd: Path,
    *,
    config: AdvisorConfig,
    events: ProgressEvents = SILENT,
) -> Iterator[PackageFinder]:
    """The finder of an index session on the indexes of ``opts``, while it is open."""
    from advisor.api.context import open_session
    from advisor.index.settings import default_index_url, load_pip_settings
    from advisor.request import IndexOptions

    pip = load_pip_settings(environ=environ, cwd=cwd)
    index = opts.index_config(IndexOptions(), config, pip, default_index=default_index_url)
    with open_session(opts, index, pip, environ, events=events) as session:
        yield session.finder


@contextlib.contextmanager
def index_files(
    opts: ResolveOptions, environ: Mapping[str, str], cwd: Path
) -> Iterator[tuple[Callable[[str], Iterable[DistFile]], list[RuntimeEnvironment]]]:
    """:func:`open_finder`'s ``find`` and the targets of ``opts``."""
    from advisor.api.context import build_targets
    from advisor.config import load_config
    from advisor.environment import RuntimeEnvironment

    config = load_config(cwd)
    with open_finder(opts, environ, cwd, config=config) as finder:
        yield finder.find, list(build_targets(opts, config, RuntimeEnvironment.detect()))


def index_facts(
    names: Sequence[str],
    *,
    store_url: str | None,
    opts: ResolveOptions,
    environ: Mapping[str, str],
    cwd: Path,
    today: str | None = None,
) -> IndexFactsOutcome:
    """:func:`~advisor.knowledge.sources.index_facts.collect_release_facts`, stored."""
    from advisor.knowledge.sources.index_facts import collect_release_facts

    with index_files(opts, environ, cwd) as (find, targets):
        date = today or here().today
        facts = collect_release_facts(names, find=find, targets=targets, date=date, tool=TOOL)
    url = resolve_store_url(store_url, environ)
    with open_store(url) as store:
        return IndexFactsOutcome.of(facts, store.put(facts), store=url)
