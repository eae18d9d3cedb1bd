"""Lock graphs and release facts: the knowledge commands that read a lock or the index.

Part of the composition root, beside :mod:`advisor.api.knowledge` (validate, sync, OSV,
show, stats), whose store helpers it uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.requirements import Requirement as PepRequirement
from packaging.utils import canonicalize_name

from advisor._version import TOOL
from advisor.errors import InputError
from advisor.knowledge.graph import ExportFormat

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from advisor.api.context import ResolveOptions
    from advisor.knowledge.graph import StackGraph
    from advisor.knowledge.schema import Observation
    from advisor.lockfile import LockedStack

from advisor.api.knowledge import _open, _today
from advisor.knowledge.package_facts import fact_applies as _applies

__all__ = [
    "ExportFormat",
    "IndexFactsOutcome",
    "export_lock_graph",
    "index_facts",
    "stack_graph_for_lock",
]


# --------------------------------------------------------------------------- lock graphs


def stack_graph_for_lock(lock_path: Path, *, store_url: str) -> StackGraph:
    """The stack a ``pylock.toml`` locks, as a graph (:mod:`advisor.knowledge.graph`), with
    the observations of the store at ``store_url`` that apply to each locked version
    attached. A lock records no root requirements: packages nothing else depends on (and
    one package of each otherwise unreachable cycle) are taken as the roots.
    Raises :class:`~advisor.errors.LockfileError` for an unreadable or invalid lock."""
    from advisor.lockfile import read_pylock

    stack = read_pylock(lock_path)
    names = sorted({str(p.name) for p in stack.packages})
    with _open(store_url) as store:
        known = store.for_packages(names)
    return _lock_graph(stack, known, origin=lock_path.name)


def _lock_graph(
    stack: LockedStack, known: Mapping[str, Sequence[Observation]], *, origin: str
) -> StackGraph:
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


def _applies_to_any(obs: Observation, name: str, versions: Iterable[str]) -> bool:
    """Kept on the graph when it holds for one of the locked versions, or cannot be told
    not to (a fact with no version, a package locked without one)."""
    results = [_applies(obs, name, v) for v in versions]
    return not results or any(r is not False for r in results)


def export_lock_graph(lock_path: Path, *, store_url: str, fmt: ExportFormat) -> str:
    """:func:`stack_graph_for_lock` exported as ``dot``, ``graphml`` or ``json`` text.
    Raises :class:`InputError` for another format."""
    from advisor.knowledge.graph import export

    if fmt not in tuple(ExportFormat):
        known = ", ".join(ExportFormat)
        raise InputError(f"unknown graph format {str(fmt)!r}: use {known}")
    return export(stack_graph_for_lock(lock_path, store_url=store_url), ExportFormat(fmt))


# ---------------------------------------------------------------------- index facts


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexFactsOutcome:
    packages: tuple[str, ...]
    facts: int
    added: int
    replaced: int
    unchanged: int


def index_facts(
    names: Sequence[str],
    *,
    store_url: str,
    opts: ResolveOptions,
    environ: Mapping[str, str],
    cwd: Path,
    today: str | None = None,
) -> IndexFactsOutcome:
    """Fetch what the index says about ``names`` (upload times, yanks, wheel coverage for the
    targets of ``opts``) and store it as release facts. Uses the cache like ``lock`` does."""
    from advisor.api.context import build_targets, index_config, open_session
    from advisor.config import load_config
    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.sources.index_facts import release_facts
    from advisor.request import AdviceRequest

    if not names:
        raise InputError("name at least one package")
    config = load_config(cwd)
    targets = build_targets(opts, config, RuntimeEnvironment.detect())
    index, pip = index_config(opts, AdviceRequest(requirements=()), config, environ, cwd)
    session = open_session(opts, index, pip, environ)
    date = today or _today()
    facts = []
    try:
        for name in names:
            facts += release_facts(
                name,
                session.finder.find(name),
                targets=targets,
                date=date,
                tool=TOOL,
            )
    finally:
        session.close()
    with _open(store_url) as store:
        result = store.put(facts)
    return IndexFactsOutcome(
        packages=tuple(sorted({f.package for f in facts})),
        facts=len(facts),
        added=result.added,
        replaced=result.replaced,
        unchanged=result.unchanged,
    )
