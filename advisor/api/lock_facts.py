"""The knowledge jobs that read a lock or the index: a lock's graph, release facts.

Composition only: it reads the lock, opens the store and an index session, and hands them
to :mod:`advisor.knowledge.lock_graph` and :mod:`advisor.knowledge.sources.index_facts`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING

from advisor._version import TOOL
from advisor.api.knowledge import _open, _today, resolve_store_url
from advisor.knowledge.graph import ExportFormat
from advisor.knowledge.sources.index_facts import IndexFactsOutcome

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from pathlib import Path

    from advisor.api.context import ResolveOptions
    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.graph import StackGraph
    from advisor.models import DistFile

__all__ = [
    "ExportFormat",
    "IndexFactsOutcome",
    "export_lock_graph",
    "index_facts",
    "index_files",
    "stack_graph_for_lock",
]


def stack_graph_for_lock(
    lock_path: Path, *, store_url: str | None, environ: Mapping[str, str] | None = None
) -> StackGraph:
    """The stack a ``pylock.toml`` locks, as a graph, with the observations of the store at
    ``store_url`` (``None``: the default store) that apply to each locked version attached
    (:func:`advisor.knowledge.lock_graph.lock_graph`). Raises
    :class:`~advisor.errors.LockfileError` for an unreadable or invalid lock."""
    from advisor.knowledge.lock_graph import lock_graph, locked_names
    from advisor.lockfile import read_pylock

    stack = read_pylock(lock_path)
    with _open(resolve_store_url(store_url, environ)) as store:
        known = store.for_packages(locked_names(stack))
    return lock_graph(stack, known, origin=lock_path.name)


def export_lock_graph(
    lock_path: Path,
    *,
    store_url: str | None,
    fmt: ExportFormat,
    environ: Mapping[str, str] | None = None,
    output: Path | None = None,
) -> str:
    """:func:`stack_graph_for_lock` exported as ``dot``, ``graphml`` or ``json`` text, also
    written to ``output`` when given (as :func:`~advisor.lockfile.write_output` does).
    Raises :class:`InputError` for another format."""
    from advisor.knowledge.graph import export
    from advisor.knowledge.lock_graph import export_format
    from advisor.lockfile.write import write_output

    chosen = export_format(fmt)
    graph = stack_graph_for_lock(lock_path, store_url=store_url, environ=environ)
    text = export(graph, chosen)
    if output is not None:
        write_output(output, text)
    return text


@contextlib.contextmanager
def index_files(
    opts: ResolveOptions, environ: Mapping[str, str], cwd: Path
) -> Iterator[tuple[Callable[[str], Iterable[DistFile]], list[RuntimeEnvironment]]]:
    """The files of a project on the indexes of ``opts`` (the finder's ``find``, with the
    cache ``lock`` uses) and the targets of ``opts``, while an index session is open."""
    from advisor.api.context import build_targets, index_config, open_session
    from advisor.config import load_config
    from advisor.environment import RuntimeEnvironment
    from advisor.request import AdviceRequest

    config = load_config(cwd)
    targets = build_targets(opts, config, RuntimeEnvironment.detect())
    index, pip = index_config(opts, AdviceRequest(requirements=()), config, environ, cwd)
    session = open_session(opts, index, pip, environ)
    try:
        yield session.finder.find, list(targets)
    finally:
        session.close()


def index_facts(
    names: Sequence[str],
    *,
    store_url: str | None,
    opts: ResolveOptions,
    environ: Mapping[str, str],
    cwd: Path,
    today: str | None = None,
) -> IndexFactsOutcome:
    """Store what the index says about ``names`` (upload times, yanks, wheel coverage for
    the targets of ``opts``; :func:`advisor.knowledge.sources.index_facts.release_facts`)
    in the store at ``store_url`` (``None``: the default store)."""
    from advisor.knowledge.sources.index_facts import collect_release_facts

    with index_files(opts, environ, cwd) as (find, targets):
        date = today or _today()
        facts = collect_release_facts(names, find=find, targets=targets, date=date, tool=TOOL)
    url = resolve_store_url(store_url, environ)
    with _open(url) as store:
        return dataclasses.replace(IndexFactsOutcome.of(facts, store.put(facts)), store=url)
