"""Graph views of a stack (networkx): dependency edges with markers, observations on nodes;
and the compatibility graph: releases as nodes, observed compatibility as edges.

Sits on top of the knowledge layer: a graph is built from a :class:`~advisor.models.Resolution`
(or a lock read back, :mod:`advisor.knowledge.lock_graph`) and the
observations the store holds for its packages; the scoring and report layers query it here
(why a package is in the stack, who depends on it, what is known about it) and export it.
This is the only module that imports networkx; it is imported lazily, inside functions.

Nodes are canonical project names with the attributes ``version`` (the highest pinned
version, ``None`` when unknown), ``versions`` (every pinned version), ``marker`` (``None``
when the package is needed on every target), ``needs_build`` and ``observations`` (a list,
ordered by kind and key). A synthetic :data:`ROOT` node stands for the inputs: root
requirements are its edges. Edges carry ``requirement`` (PEP 508 text), ``marker`` (parsed
out of the requirement), ``extras``, ``origin`` and ``requirements`` (every requirement
text when several connect the same two nodes). Everything is built in sorted order, so
queries and exports are deterministic.

The compatibility graph (:func:`compatibility_graph`) is a multigraph of releases (nodes
``name==version``, attributes ``name`` and ``version``) with one edge per
:class:`~advisor.knowledge.schema.CompatibilityObservation` (attribute ``observation``)
between the two releases it paired; :func:`observed_pairs` reads the edges among a stack's
pins.
"""

from __future__ import annotations

import enum
import itertools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from packaging.utils import canonicalize_name

from advisor.knowledge.schema import KINDS, CompatibilityObservation, observation_key

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    import networkx as nx  # type: ignore[import-untyped,unused-ignore]

    from advisor.knowledge.schema import Observation
    from advisor.models import Edge, Resolution

__all__ = [
    "KINDS",
    "ROOT",
    "ExportFormat",
    "StackGraph",
    "StackNode",
    "build_graph",
    "compatibility_graph",
    "cycles",
    "export",
    "observations_for",
    "observed_pairs",
    "release_node",
    "reverse_dependencies",
    "stack_graph",
    "why",
]

ROOT = "<root>"
"""The synthetic node whose edges are the root requirements (an ``Edge`` with no parent)."""

"""Observation kinds by their ``type`` tag, in the order nodes list them."""


class ExportFormat(enum.StrEnum):
    """``advisor knowledge graph --format``."""

    DOT = "dot"  # Graphviz
    GRAPHML = "graphml"
    JSON = "json"  # node-link, with the observations


StackGraph: TypeAlias = "nx.DiGraph[str]"
"""The graph type, for annotations in modules that must not import networkx themselves."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StackNode:
    """One locked package as the graph needs it (a :class:`~advisor.models.Pin`, or a
    package entry of a lock read back, whose version may be unknown)."""

    name: str
    version: str | None = None
    marker: str | None = None
    needs_build: bool = False


def stack_graph(
    resolution: Resolution,
    *,
    observations: Mapping[str, Sequence[Observation]] | None = None,
) -> nx.DiGraph[str]:
    """The stack of ``resolution`` as a DiGraph; see the module docstring for attributes.

    ``observations`` maps project names (canonicalised here) to the facts that apply to
    the pinned version; facts about projects not in the stack are ignored.
    """
    nodes = [
        StackNode(
            name=pin.name, version=str(pin.version), marker=pin.marker, needs_build=pin.needs_build
        )
        for pin in resolution.pins
    ]
    return build_graph(nodes, resolution.edges, observations=observations)


def build_graph(
    nodes: Iterable[StackNode],
    edges: Iterable[Edge],
    *,
    observations: Mapping[str, Sequence[Observation]] | None = None,
    infer_roots: bool = False,
) -> nx.DiGraph[str]:
    """A stack graph from ``nodes`` and ``edges`` (the general form of :func:`stack_graph`).

    A name given by several nodes (one project pinned differently per target) becomes one
    node. Edge endpoints that are not among ``nodes`` are added (version ``None``);
    self-loops are dropped. With ``infer_roots`` (a lock records no root requirements),
    every node nobody depends on, and then one node of each cycle unreachable from the
    root (the smallest name), becomes a root with ``origin="inferred"``.
    """
    import networkx as nx

    by_name: dict[str, list[StackNode]] = {}
    for node in nodes:
        by_name.setdefault(str(canonicalize_name(node.name)), []).append(node)
    by_edge: dict[tuple[str, str], list[Edge]] = {}
    for edge in edges:
        parent = ROOT if edge.parent is None else str(canonicalize_name(edge.parent))
        child = str(canonicalize_name(edge.child))
        if parent != child:
            by_edge.setdefault((parent, child), []).append(edge)
            for name in (parent, child):
                if name != ROOT:
                    by_name.setdefault(name, [])
    facts = {str(canonicalize_name(k)): list(v) for k, v in (observations or {}).items()}

    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_node(ROOT, version=None, versions=[], marker=None, needs_build=False, observations=[])
    for name in sorted(by_name):
        group = by_name[name]
        versions = sorted({n.version for n in group if n.version is not None}, key=_version_key)
        graph.add_node(
            name,
            version=versions[-1] if versions else None,
            versions=versions,
            marker=_any_of([n.marker for n in group]) if group else None,
            needs_build=any(n.needs_build for n in group),
            observations=sorted(facts.get(name, ()), key=_observation_order),
        )
    for parent, child in sorted(by_edge, key=lambda pc: (pc[0] != ROOT, pc)):
        graph.add_edge(parent, child, **_edge_attributes(by_edge[parent, child]))
    if infer_roots:
        _infer_roots(graph)
    return graph


def why(graph: nx.DiGraph[str], name: str, *, limit: int = 50) -> list[list[str]]:
    """Every simple path from the inputs to ``name`` (the root node left out), shortest
    first, then by name; at most ``limit`` paths. ``[]`` when ``name`` is not in the graph
    or nothing leads to it.

    Cost: Yen's algorithm, about ``limit`` shortest-path searches over the graph.
    """
    import networkx as nx

    target = canonicalize_name(name)
    if target not in graph or target == ROOT:
        return []
    try:
        found = list(itertools.islice(nx.shortest_simple_paths(graph, ROOT, target), limit))
    except nx.NetworkXNoPath:
        return []
    return sorted((path[1:] for path in found), key=lambda p: (len(p), p))


def reverse_dependencies(
    graph: nx.DiGraph[str], name: str, *, transitive: bool = False
) -> list[str]:
    """The packages that depend on ``name`` (directly, or with ``transitive`` at any
    depth), sorted; the root node is left out. ``[]`` for a name not in the graph."""
    import networkx as nx

    target = canonicalize_name(name)
    if target not in graph:
        return []
    found = nx.ancestors(graph, target) if transitive else set(graph.predecessors(target))
    return sorted(found - {ROOT})


def cycles(graph: nx.DiGraph[str], *, limit: int = 100) -> list[list[str]]:
    """Dependency cycles (at most ``limit``), each starting at its smallest name, sorted."""
    import networkx as nx

    packages = graph.subgraph(n for n in graph if n != ROOT)
    found = []
    for cycle in itertools.islice(nx.simple_cycles(packages), limit):
        start = cycle.index(min(cycle))
        found.append([*cycle[start:], *cycle[:start]])
    return sorted(found, key=lambda c: (len(c), c))


def observations_for(
    graph: nx.DiGraph[str],
    name: str,
    *,
    kind: str | type[Observation] | None = None,
    where: Callable[[Observation], bool] | None = None,
) -> list[Observation]:
    """The observations attached to ``name`` (``[]`` when none or not in the graph).

    ``kind`` keeps one kind, by its tag (see :data:`KINDS`) or its class; ``where`` is a
    further predicate (for example an environment match supplied by the scoring layer).
    Raises ``ValueError`` for an unknown kind tag.
    """
    if isinstance(kind, str) and kind not in KINDS:
        raise ValueError(f"unknown observation kind {kind!r}: use one of {', '.join(KINDS)}")
    target = canonicalize_name(name)
    if target not in graph:
        return []
    found: list[Observation] = graph.nodes[target]["observations"]
    if isinstance(kind, str):
        found = [o for o in found if _tag(o) == kind]
    elif kind is not None:
        found = [o for o in found if isinstance(o, kind)]
    return [o for o in found if where is None or where(o)]


def export(graph: nx.DiGraph[str], fmt: ExportFormat) -> str:
    """``graph`` as text: ``dot`` (Graphviz), ``graphml`` or ``json`` (node-link, with the
    observations in full). Byte-stable for the same graph. Raises ``ValueError`` for an
    unknown format."""
    if fmt == "dot":
        return _dot(graph)
    if fmt == "graphml":
        return _graphml(graph)
    if fmt == "json":
        return _json(graph)
    raise ValueError(f"unknown graph format {str(fmt)!r}: use dot, graphml or json")


# --------------------------------------------------------------------------- compatibility


def release_node(name: str, version: str) -> str:
    """The compatibility graph's node of a release: ``name==version``, the name canonical
    and the version normalised (``2.0`` and ``2.0.0`` stay different releases)."""
    from packaging.version import InvalidVersion, Version

    try:
        text = str(Version(version))
    except InvalidVersion:
        text = version
    return f"{canonicalize_name(name)}=={text}"


def compatibility_graph(observations: Iterable[Observation]) -> nx.MultiGraph[str]:
    """Releases as nodes and one edge per compatibility observation in ``observations``
    (other kinds are ignored), added in key order. Cost: linear in ``observations``."""
    import networkx as nx

    graph: nx.MultiGraph[str] = nx.MultiGraph()
    found = [o for o in observations if isinstance(o, CompatibilityObservation)]
    for obs in sorted(found, key=observation_key):
        ends = [(obs.package, obs.version), (obs.other, obs.other_version)]
        for name, version in ends:
            node = release_node(name, version)
            graph.add_node(node, name=str(canonicalize_name(name)), version=version)
        a, b = (release_node(n, v) for n, v in ends)
        graph.add_edge(a, b, key=observation_key(obs), observation=obs)
    return graph


def observed_pairs(
    graph: nx.MultiGraph[str], pins: Mapping[str, str]
) -> list[CompatibilityObservation]:
    """The observations on edges between two releases of ``pins`` (name → version), in
    key order. Cost: one subgraph view over the pinned releases."""
    nodes = [node for n, v in pins.items() if (node := release_node(n, v)) in graph]
    found = [data["observation"] for _, _, data in graph.subgraph(nodes).edges(data=True)]
    return sorted(found, key=observation_key)


# --------------------------------------------------------------------------- building


def _version_key(text: str) -> tuple[int, Any, str]:
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(text), text)
    except InvalidVersion:
        return (0, text, text)


def _any_of(markers: Sequence[str | None]) -> str | None:
    """One marker that holds where any of ``markers`` holds (``None``: everywhere)."""
    if any(m is None or not m.strip() for m in markers):
        return None
    distinct = sorted({m.strip() for m in markers if m})
    if len(distinct) == 1:
        return distinct[0]
    return " or ".join(f"({m})" for m in distinct)


def _split_requirement(text: str) -> tuple[str | None, list[str]]:
    """The marker (as text) and extras of a PEP 508 requirement; a requirement packaging
    cannot parse keeps what follows its ``;`` as the marker, so the graph still shows it."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
    except InvalidRequirement:
        _, sep, marker = text.partition(";")
        return (marker.strip() or None) if sep else None, []
    return (str(req.marker) if req.marker else None), sorted(req.extras)


def _edge_attributes(edges: Sequence[Edge]) -> dict[str, Any]:
    ordered = sorted(edges, key=lambda e: (e.requirement, e.origin))
    split = [_split_requirement(e.requirement) for e in ordered]
    return {
        "requirement": ordered[0].requirement,
        "marker": _any_of([marker for marker, _ in split]),
        "extras": sorted({x for _, extras in split for x in extras}),
        "origin": ", ".join(sorted({e.origin for e in ordered if e.origin})),
        "requirements": sorted({e.requirement for e in ordered}),
    }


def _infer_roots(graph: nx.DiGraph[str]) -> None:
    import networkx as nx

    def add_root(name: str) -> None:
        graph.add_edge(
            ROOT,
            name,
            requirement=name,
            marker=None,
            extras=[],
            origin="inferred",
            requirements=[name],
        )

    packages = sorted(n for n in graph if n != ROOT)
    for name in packages:
        if graph.in_degree(name) == 0:
            add_root(name)
    reached = nx.descendants(graph, ROOT)
    for name in packages:
        if name not in reached:
            add_root(name)
            reached |= {name, *nx.descendants(graph, name)}


def _tag(obs: Observation) -> str:
    return str(type(obs).__struct_config__.tag)


def _observation_order(obs: Observation) -> tuple[int, str]:
    tag = _tag(obs)
    return (KINDS.index(tag) if tag in KINDS else len(KINDS), observation_key(obs))


# --------------------------------------------------------------------------- export


def _dot_text(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _dot_attrs(attrs: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={_dot_text(v)}" for k, v in attrs.items())


def _dot(graph: nx.DiGraph[str]) -> str:
    lines = [
        "digraph stack {",
        "  rankdir=LR;",
        '  node [shape=box, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for name, data in graph.nodes(data=True):
        if name == ROOT:
            root = _dot_attrs({"shape": "oval", "label": "inputs"})
            lines.append(f"  {_dot_text(ROOT)} [{root}];")
            continue
        label = name if data["version"] is None else f"{name} {data['version']}"
        attrs = {"label": label}
        counts = _kind_counts(data["observations"])
        if counts:
            attrs["label"] += "\n" + ", ".join(_count_words(k, n) for k, n in counts.items())
        if counts.get("advisory"):
            attrs["color"] = "red"
        if data["needs_build"]:
            attrs["style"] = "dashed"
        if data["marker"]:
            attrs["tooltip"] = data["marker"]
        lines.append(f"  {_dot_text(name)} [{_dot_attrs(attrs)}];")
    for parent, child, data in graph.edges(data=True):
        attrs = {"label": data["requirement"]}
        if data["marker"]:
            attrs["style"] = "dashed"
        lines.append(f"  {_dot_text(parent)} -> {_dot_text(child)} [{_dot_attrs(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _kind_counts(observations: Sequence[Observation]) -> dict[str, int]:
    counts = dict.fromkeys(KINDS, 0)
    for obs in observations:
        counts[_tag(obs)] = counts.get(_tag(obs), 0) + 1
    return {k: n for k, n in counts.items() if n}


def _count_words(kind: str, count: int) -> str:
    one, many = _WORDS.get(kind, (kind, kind))
    return f"{count} {one if count == 1 else many}"


_WORDS = {
    "advisory": ("advisory", "advisories"),
    "build": ("build", "builds"),
    "performance": ("measurement", "measurements"),
    "prescription": ("rule", "rules"),
    "image": ("image", "images"),
}


def _graphml(graph: nx.DiGraph[str]) -> str:
    """GraphML wants scalar attributes: lists become text, ``None`` the empty string, and
    the observations their count per kind and their keys."""
    import networkx as nx

    flat: nx.DiGraph[str] = nx.DiGraph()
    for name, data in graph.nodes(data=True):
        counts = _kind_counts(data["observations"])
        flat.add_node(
            name,
            version=data["version"] or "",
            versions=" ".join(data["versions"]),
            marker=data["marker"] or "",
            needs_build=bool(data["needs_build"]),
            observations=len(data["observations"]),
            **{f"{k}_count": counts.get(k, 0) for k in KINDS},
            observation_keys=" ".join(observation_key(o) for o in data["observations"]),
        )
    for parent, child, data in graph.edges(data=True):
        flat.add_edge(
            parent,
            child,
            requirement=data["requirement"],
            marker=data["marker"] or "",
            extras=",".join(data["extras"]),
            origin=data["origin"],
        )
    return "\n".join(nx.generate_graphml(flat)) + "\n"


def _json(graph: nx.DiGraph[str]) -> str:
    import msgspec
    import networkx as nx

    data = nx.node_link_data(graph, edges="edges")
    for node in data["nodes"]:
        node["observations"] = [msgspec.to_builtins(o) for o in node["observations"]]
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
