"""A lock as a graph, and the packages it locks: what ``knowledge graph``, ``explain`` and an
OSV API query read from a ``pylock.toml``.

Sits between the lockfile reader (a :class:`~advisor.lockfile.LockedStack`) and the graph
views (:mod:`advisor.knowledge.graph`); the caller passes in the lock (or its path) and the
store (or how to open it), so the composition root only wires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.requirements import Requirement as PepRequirement
from packaging.utils import canonicalize_name

from advisor.errors import InputError
from advisor.knowledge.package_facts import fact_applies, merge_packages

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from pathlib import Path

    from packaging.utils import NormalizedName

    from advisor.knowledge.graph import ExportFormat, StackGraph
    from advisor.knowledge.schema import Observation
    from advisor.knowledge.store import KnowledgeStore
    from advisor.lockfile import LockedStack

__all__ = [
    "export_format",
    "export_lock_graph",
    "graph_of_lock",
    "lock_graph",
    "lock_packages",
    "locked_names",
    "locked_version",
    "osv_query_packages",
]


def locked_names(stack: LockedStack) -> list[str]:
    """The names ``stack`` locks, sorted, each once."""
    return sorted({str(p.name) for p in stack.packages})


def lock_packages(stack: LockedStack) -> dict[str, str | None]:
    """Name → version of every package ``stack`` locks (for an OSV API query); a name
    locked at several versions is asked for all versions."""
    found: dict[str, str | None] = {}
    for pkg in stack.packages:
        version = str(pkg.version) if pkg.version is not None else None
        if pkg.name in found and found[pkg.name] != version:
            found[pkg.name] = None
        else:
            found[pkg.name] = version
    return dict(sorted(found.items()))


def osv_query_packages(
    packages: Mapping[str, str | None], specs: Iterable[str], *, lock: LockedStack | None
) -> dict[str, str | None]:
    """What an OSV API import asks about: the packages ``lock`` locks
    (:func:`lock_packages`), overridden by ``packages`` (name → version, ``None``: all
    versions), with those of ``specs`` (``NAME[==VERSION]``) added; a name asked for at two
    versions is asked for all versions."""
    wanted = dict(packages)
    if lock is not None:
        wanted = {**lock_packages(lock), **wanted}
    return merge_packages(wanted, specs)


def export_format(value: str) -> ExportFormat:
    """The graph format ``value`` names (``knowledge graph --format``). Raises
    :class:`InputError` naming the known ones for another."""
    from advisor.knowledge.graph import ExportFormat

    if value not in tuple(ExportFormat):
        raise InputError(f"unknown graph format {value!r}: use {', '.join(ExportFormat)}")
    return ExportFormat(value)


def lock_graph(
    stack: LockedStack, known: Mapping[str, Sequence[Observation]], *, origin: str
) -> StackGraph:
    """The stack ``stack`` locks, as a graph, with those of ``known`` (name → stored
    observations) that apply to each locked version attached; ``origin`` names the lock on
    the edges. A lock written by ``advisor lock`` records its input requirements, which
    are the roots; without them, packages nothing else depends on (and one package of each
    otherwise unreachable cycle) are taken as the roots."""
    from advisor.knowledge.graph import StackNode, build_graph
    from advisor.models import Edge

    nodes = [
        StackNode(
            name=p.name,
            version=str(p.version) if p.version is not None else None,
            marker=p.marker,
            needs_build=p.needs_build,
        )
        for p in stack.packages
    ]
    edges: list[Edge] = []
    versions: dict[str, set[str]] = {}
    for pkg in stack.packages:
        if pkg.version is not None:
            versions.setdefault(pkg.name, set()).add(str(pkg.version))
        edges.extend(
            Edge(parent=pkg.name, child=dep, requirement=str(dep), origin=origin)
            for dep in pkg.dependencies
        )
    # a lock written by advisor lock records its input requirements: those are the roots
    inputs = stack.record.inputs
    locked = {p.name for p in stack.packages}
    roots = []
    for text in inputs.requirements if inputs is not None else ():
        try:
            req = PepRequirement(text)
        except ValueError:
            continue
        name = canonicalize_name(req.name)
        if name in locked:
            roots.append(Edge(parent=None, child=name, requirement=text, origin=origin))
    edges.extend(roots)
    applying = {
        name: [o for o in facts if _applies_to_any(o, name, versions.get(name, set()))]
        for name, facts in known.items()
    }
    return build_graph(nodes, edges, observations=applying, infer_roots=not roots)


def graph_of_lock(path: Path, *, open_store: Callable[[], KnowledgeStore]) -> StackGraph:
    """The stack the ``pylock.toml`` at ``path`` locks, as a graph (:func:`lock_graph`), with
    the observations of the store ``open_store()`` opens (once, after the lock is read).
    Raises :class:`~advisor.errors.LockfileError` for an unreadable or invalid lock."""
    from advisor.lockfile import read_pylock

    stack = read_pylock(path)
    with open_store() as store:
        known = store.for_packages(locked_names(stack))
    return lock_graph(stack, known, origin=path.name)


def export_lock_graph(graph: StackGraph, fmt: str, *, output: Path | None = None) -> str:
    """``graph`` as ``dot``, ``graphml`` or ``json`` text, also written to ``output`` when
    given (whole or not at all: :func:`~advisor.lockfile.write.write_output`). Raises
    :class:`InputError` for another format."""
    from advisor.knowledge.graph import export
    from advisor.lockfile.write import write_output

    text = export(graph, export_format(fmt))
    if output is not None:
        write_output(output, text)
    return text


def locked_version(stack: LockedStack, name: str, *, source: str) -> tuple[NormalizedName, str]:
    """``name`` (canonicalised) and the version ``stack`` (read from ``source``) locks it at.
    Raises :class:`InputError` naming some of what the lock holds when it is not locked."""
    canonical = canonicalize_name(name)
    locked = {p.name: p for p in stack.packages}
    if canonical not in locked:
        known = ", ".join(sorted(locked)[:8])
        raise InputError(f"{name} is not in {source} (it locks {known}, ...)")
    return canonical, str(locked[canonical].version)


def _applies_to_any(obs: Observation, name: str, versions: Iterable[str]) -> bool:
    """Kept on the graph when it holds for one of the locked versions, or cannot be told
    not to (a fact with no version, a package locked without one)."""
    results = [fact_applies(obs, name, v) for v in versions]
    return not results or any(r is not False for r in results)
