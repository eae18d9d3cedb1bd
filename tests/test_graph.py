"""Graph views of a stack: why-paths, reverse dependencies, cycles, observations, exports."""

from __future__ import annotations

import itertools
import json

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import NormalizedName
from packaging.version import Version

from advisor.knowledge.graph import (
    ROOT,
    StackNode,
    build_graph,
    cycles,
    export,
    observations_for,
    reverse_dependencies,
    stack_graph,
    why,
)
from advisor.knowledge.schema import (
    Action,
    Advisory,
    BuildObservation,
    Match,
    Prescription,
    Provenance,
)
from advisor.models import Edge, Pin, Resolution

PROV = Provenance(source="test", date="2024-10-10")


def n(name: str) -> NormalizedName:
    return NormalizedName(name)


def pin(name: str, version: str = "1.0", **kw: object) -> Pin:
    return Pin(name=n(name), version=Version(version), **kw)  # type: ignore[arg-type]


def edge(parent: str | None, child: str, requirement: str | None = None, origin: str = "") -> Edge:
    return Edge(
        parent=None if parent is None else n(parent),
        child=n(child),
        requirement=requirement or child,
        origin=origin,
    )


def diamond() -> Resolution:
    """app → (left, right) → base; app also needs base directly under an extra."""
    return Resolution(
        pins=(pin("app", "2.0"), pin("left"), pin("right"), pin("base", "3.1")),
        edges=(
            edge(None, "app", "app[fast]>=2", origin="requirements.in:1"),
            edge("app", "left", "left>=1"),
            edge("app", "right", "right"),
            edge("left", "base", "base>=3"),
            edge("right", "base", "base<4"),
            edge("app", "base", 'base[speed]>=3; extra == "fast"'),
        ),
    )


# --- building ---------------------------------------------------------------------------


def test_nodes_and_edges_carry_attributes() -> None:
    graph = stack_graph(diamond())
    assert list(graph.nodes) == [ROOT, "app", "base", "left", "right"]
    assert graph.nodes["base"]["version"] == "3.1"
    assert graph.nodes["base"]["needs_build"] is False
    assert graph.nodes["base"]["observations"] == []
    root_edge = graph.edges[ROOT, "app"]
    assert root_edge["requirement"] == "app[fast]>=2"
    assert root_edge["extras"] == ["fast"]
    assert root_edge["origin"] == "requirements.in:1"
    assert root_edge["marker"] is None
    extra_edge = graph.edges["app", "base"]
    assert extra_edge["marker"] == 'extra == "fast"'
    assert extra_edge["extras"] == ["speed"]


def test_names_are_canonicalised_and_self_loops_dropped() -> None:
    res = Resolution(
        pins=(Pin(name=n("Foo_Bar"), version=Version("1")),),
        edges=(
            edge(None, "Foo.Bar"),
            Edge(parent=n("foo-bar"), child=n("FOO_BAR"), requirement="x"),
        ),
    )
    graph = stack_graph(res)
    assert list(graph.nodes) == [ROOT, "foo-bar"]
    assert list(graph.edges) == [(ROOT, "foo-bar")]


def test_one_node_per_name_across_targets() -> None:
    res = Resolution(
        pins=(
            pin("np", "1.26", marker='sys_platform == "darwin"'),
            pin("np", "2.1", marker='sys_platform == "linux"', needs_build=True),
        ),
        edges=(
            edge(None, "np", 'np<2; sys_platform == "darwin"', origin="a.in:1"),
            edge(None, "np", 'np>=2; sys_platform == "linux"', origin="a.in:2"),
        ),
    )
    graph = stack_graph(res)
    node = graph.nodes["np"]
    assert node["version"] == "2.1"
    assert node["versions"] == ["1.26", "2.1"]
    assert node["marker"] == '(sys_platform == "darwin") or (sys_platform == "linux")'
    assert node["needs_build"] is True
    data = graph.edges[ROOT, "np"]
    assert data["requirement"] == 'np<2; sys_platform == "darwin"'
    assert data["requirements"] == [
        'np<2; sys_platform == "darwin"',
        'np>=2; sys_platform == "linux"',
    ]
    assert data["marker"] == '(sys_platform == "darwin") or (sys_platform == "linux")'
    assert data["origin"] == "a.in:1, a.in:2"


def test_an_unconditional_pin_wins_over_markers() -> None:
    res = Resolution(pins=(pin("x", "1"), pin("x", "2", marker='os_name == "nt"')))
    assert stack_graph(res).nodes["x"]["marker"] is None


def test_unparseable_requirement_keeps_its_marker_text() -> None:
    res = Resolution(pins=(pin("a"),), edges=(edge(None, "a", "a @ ; weird marker"),))
    assert stack_graph(res).edges[ROOT, "a"]["marker"] == "weird marker"


def test_edge_endpoints_missing_from_pins_become_nodes() -> None:
    res = Resolution(pins=(pin("a"),), edges=(edge(None, "a"), edge("a", "ghost")))
    graph = stack_graph(res)
    assert graph.nodes["ghost"]["version"] is None
    assert why(graph, "ghost") == [["a", "ghost"]]


# --- why ----------------------------------------------------------------------------------


def test_why_diamond_shortest_first() -> None:
    graph = stack_graph(diamond())
    assert why(graph, "base") == [
        ["app", "base"],
        ["app", "left", "base"],
        ["app", "right", "base"],
    ]
    assert why(graph, "app") == [["app"]]
    assert why(graph, "BASE", limit=2) == [["app", "base"], ["app", "left", "base"]]


def test_why_absent_or_unreachable_is_empty() -> None:
    res = Resolution(pins=(pin("a"), pin("island")), edges=(edge(None, "a"),))
    graph = stack_graph(res)
    assert why(graph, "nothere") == []
    assert why(graph, "island") == []
    assert why(graph, ROOT) == []


def test_why_through_several_roots() -> None:
    res = Resolution(
        pins=(pin("a"), pin("b"), pin("c")),
        edges=(edge(None, "a"), edge(None, "c"), edge("a", "b"), edge("b", "c")),
    )
    assert why(stack_graph(res), "c") == [["c"], ["a", "b", "c"]]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 7)).filter(lambda e: e[0] < e[1]),
        max_size=20,
    ),
    st.integers(0, 7),
)
def test_why_paths_are_real_paths(pairs: list[tuple[int, int]], target: int) -> None:
    names = [f"p{i}" for i in range(8)]
    edges = [edge(None, "p0"), *(edge(names[a], names[b]) for a, b in pairs)]
    graph = stack_graph(Resolution(pins=tuple(pin(x) for x in names), edges=tuple(edges)))
    paths = why(graph, names[target])
    assert paths == sorted(paths, key=lambda p: (len(p), p))
    assert len({tuple(p) for p in paths}) == len(paths)
    for path in paths:
        assert path[-1] == names[target]
        assert graph.has_edge(ROOT, path[0])
        assert all(graph.has_edge(a, b) for a, b in itertools.pairwise(path))
    reachable = names[target] in nx.descendants(graph, ROOT)
    assert bool(paths) == reachable


# --- reverse dependencies and cycles --------------------------------------------------------


def test_reverse_dependencies() -> None:
    graph = stack_graph(diamond())
    assert reverse_dependencies(graph, "base") == ["app", "left", "right"]
    assert reverse_dependencies(graph, "left") == ["app"]
    assert reverse_dependencies(graph, "app") == []
    assert reverse_dependencies(graph, "nothere") == []
    res = Resolution(
        pins=(pin("a"), pin("b"), pin("c")),
        edges=(edge(None, "a"), edge("a", "b"), edge("b", "c")),
    )
    chain = stack_graph(res)
    assert reverse_dependencies(chain, "c") == ["b"]
    assert reverse_dependencies(chain, "c", transitive=True) == ["a", "b"]


def test_cycles_start_at_smallest_name_and_are_sorted() -> None:
    res = Resolution(
        pins=tuple(pin(x) for x in "abcde"),
        edges=(
            edge(None, "c"),
            edge("c", "a"),
            edge("a", "b"),
            edge("b", "c"),
            edge("d", "e"),
            edge("e", "d"),
        ),
    )
    graph = stack_graph(res)
    assert cycles(graph) == [["d", "e"], ["a", "b", "c"]]
    assert cycles(stack_graph(diamond())) == []


def test_infer_roots_for_a_lock_without_root_requirements() -> None:
    nodes = [StackNode(name=x, version="1") for x in "abcde"]
    edges = [edge("a", "b"), edge("d", "e"), edge("e", "d")]
    graph = build_graph(nodes, edges, infer_roots=True)
    assert sorted(graph.successors(ROOT)) == ["a", "c", "d"]
    assert graph.edges[ROOT, "a"]["origin"] == "inferred"
    assert why(graph, "e") == [["d", "e"]]
    assert why(graph, "b") == [["a", "b"]]


# --- observations ---------------------------------------------------------------------------


def advisory(ident: str, package: str = "base") -> Advisory:
    from advisor.knowledge.schema import Affected

    return Advisory(
        id=ident, affected=(Affected(package=package, versions=("3.1",)),), provenance=PROV
    )


def build_obs(package: str = "base") -> BuildObservation:
    return BuildObservation(package=package, version="3.1", outcome="failed", provenance=PROV)


def rule(ident: str) -> Prescription:
    return Prescription(
        id=ident,
        summary="s",
        link="https://example.invalid/notes",
        quote="q",
        match=Match(package="base"),
        action=Action(kind="justify", message="m"),
        provenance=PROV,
    )


def observed_graph() -> nx.DiGraph:
    facts = {
        "Base": [rule("r1"), advisory("PYSEC-2"), build_obs(), advisory("GHSA-1")],
        "unrelated": [advisory("X-1", "unrelated")],
    }
    return stack_graph(diamond(), observations=facts)


def test_observations_attached_in_kind_then_key_order() -> None:
    graph = observed_graph()
    kinds = [type(o).__name__ for o in graph.nodes["base"]["observations"]]
    assert kinds == ["Advisory", "Advisory", "BuildObservation", "Prescription"]
    assert [o.id for o in observations_for(graph, "base", kind="advisory")] == ["GHSA-1", "PYSEC-2"]
    assert "unrelated" not in graph


def test_observations_for_filters() -> None:
    graph = observed_graph()
    assert len(observations_for(graph, "base")) == 4
    assert observations_for(graph, "base", kind=BuildObservation) == [build_obs()]
    assert observations_for(graph, "base", kind="prescription") == [rule("r1")]
    some = observations_for(
        graph, "base", where=lambda o: isinstance(o, Advisory) and "GHSA" in o.id
    )
    assert [o.id for o in some] == ["GHSA-1"]  # type: ignore[union-attr]
    assert observations_for(graph, "left") == []
    assert observations_for(graph, "nothere") == []
    with pytest.raises(ValueError, match="unknown observation kind 'vuln'"):
        observations_for(graph, "base", kind="vuln")


# --- exports --------------------------------------------------------------------------------

EXPECTED_DOT = r"""digraph stack {
  rankdir=LR;
  node [shape=box, fontname="Helvetica"];
  edge [fontname="Helvetica", fontsize=10];
  "<root>" [shape="oval", label="inputs"];
  "app" [label="app 2.0"];
  "base" [label="base 3.1\n2 advisories, 1 build, 1 rule", color="red"];
  "left" [label="left 1.0"];
  "right" [label="right 1.0"];
  "<root>" -> "app" [label="app[fast]>=2"];
  "app" -> "base" [label="base[speed]>=3; extra == \"fast\"", style="dashed"];
  "app" -> "left" [label="left>=1"];
  "app" -> "right" [label="right"];
  "left" -> "base" [label="base>=3"];
  "right" -> "base" [label="base<4"];
}
"""


def test_dot_export_golden() -> None:
    assert export(observed_graph(), "dot") == EXPECTED_DOT


def test_dot_marks_needs_build_and_escapes() -> None:
    res = Resolution(
        pins=(pin("a", needs_build=True, marker='os_name == "nt"'),),
        edges=(edge(None, "a", 'a; os_name == "nt"'),),
    )
    text = export(stack_graph(res), "dot")
    assert '"a" [label="a 1.0", style="dashed", tooltip="os_name == \\"nt\\""];' in text
    assert '"<root>" -> "a" [label="a; os_name == \\"nt\\"", style="dashed"];' in text


def test_graphml_export_round_trips() -> None:
    text = export(observed_graph(), "graphml")
    back = nx.parse_graphml(text)
    assert list(back.nodes) == [ROOT, "app", "base", "left", "right"]
    base = back.nodes["base"]
    assert base["version"] == "3.1"
    assert base["observations"] == 4
    assert base["advisory_count"] == 2
    assert base["observation_keys"].split() == [
        "advisory:GHSA-1",
        "advisory:PYSEC-2",
        base["observation_keys"].split()[2],
        "prescription:r1",
    ]
    assert back.edges["app", "base"]["marker"] == 'extra == "fast"'
    assert back.edges[ROOT, "app"]["extras"] == "fast"


def test_json_export_is_node_link_with_observations() -> None:
    data = json.loads(export(observed_graph(), "json"))
    assert data["directed"] is True
    assert [node["id"] for node in data["nodes"]] == [ROOT, "app", "base", "left", "right"]
    base = next(node for node in data["nodes"] if node["id"] == "base")
    assert [o["type"] for o in base["observations"]] == [
        "advisory",
        "advisory",
        "build",
        "prescription",
    ]
    assert any(e["source"] == "left" and e["target"] == "base" for e in data["edges"])
    back = nx.node_link_graph(data, edges="edges")
    assert back.edges["app", "base"]["requirement"] == 'base[speed]>=3; extra == "fast"'


@pytest.mark.parametrize("fmt", ["dot", "graphml", "json"])
def test_exports_are_deterministic(fmt: str) -> None:
    res = diamond()
    shuffled = Resolution(pins=tuple(reversed(res.pins)), edges=tuple(reversed(res.edges)))
    facts = {"base": [rule("r1"), advisory("PYSEC-2"), build_obs(), advisory("GHSA-1")]}
    reordered = {"base": list(reversed(facts["base"]))}
    one = export(stack_graph(res, observations=facts), fmt)  # type: ignore[arg-type]
    two = export(stack_graph(shuffled, observations=reordered), fmt)  # type: ignore[arg-type]
    assert one == two


def test_unknown_export_format() -> None:
    with pytest.raises(ValueError, match="unknown graph format 'svg'"):
        export(stack_graph(diamond()), "svg")  # type: ignore[arg-type]
