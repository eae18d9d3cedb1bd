"""End to end through ``advisor knowledge``: validate, sync, import-osv, show, stats, graph.

Every test uses its own SQLite store under ``tmp_path`` (``--knowledge sqlite:///…``) and
its own ``knowledge/`` folder or OSV files; the graph test locks against a fixture index
(``file://``) first. The OSV API path runs against a small OSV-compatible server on
127.0.0.1 started by the test.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, ClassVar

import networkx as nx
import pytest

from tests.functional.helpers import CliResult, clean_environ, run_cli
from tests.support import FixtureIndex, Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

RULE = """\
- id: {id}
  summary: A rule for tests.
  link: https://example.invalid/changelog
  quote: a short quotation
  match:
    package: {package}
    specifier: "{specifier}"
  action:
    kind: justify
    message: something to know
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # wide enough that rich does not wrap the table cells the tests look for
    return clean_environ(tmp_path / "home", COLUMNS="200")


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'knowledge.db'}"


@pytest.fixture
def advisor(env: dict[str, str], store: str) -> Callable[..., CliResult]:
    """``advisor("knowledge", cmd, *args)`` against this test's store."""

    def run(*args: object) -> CliResult:
        return run_cli([*args, "--knowledge", store], env=env)

    return run


def _json(result: CliResult) -> Any:
    return json.loads(_ok(result).stdout)


# --- validate -------------------------------------------------------------------------------


def test_validate_reports_file_line_and_field(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "knowledge"
    good = RULE.format(id="fine", package="alpha", specifier=">=1")
    bad = RULE.format(id="broken", package="beta", specifier=">=2,<1")
    _write(folder / "prescriptions" / "rules.yaml", good + "\n" + bad)
    _write(folder / "prescriptions" / "typo.yaml", "- id: x\n  sumary: [\n")
    result = run_cli(["knowledge", "validate", folder], env=env)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    rules = str(folder / "prescriptions" / "rules.yaml")
    # the broken rule starts on line 12; its specifier is written on line 18
    assert any(
        line.startswith(f"{rules}:18: match.specifier: ") and "contradicts" in line
        for line in lines
    ), lines
    assert any(line.startswith(str(folder / "prescriptions" / "typo.yaml") + ":") for line in lines)
    assert f"{folder}: {len(lines)} problems" in result.stderr
    assert "Traceback" not in result.output
    # JSON lists the same problems
    data = json.loads(run_cli(["knowledge", "validate", folder, "--json"], env=env).stdout)
    assert any((p["file"], p["line"], p["field"]) == (rules, 18, "match.specifier") for p in data)
    # the default path is ./knowledge
    (folder / "prescriptions" / "typo.yaml").unlink()
    _write(folder / "prescriptions" / "rules.yaml", good)
    monkeypatch.chdir(tmp_path)
    clean = _ok(run_cli(["knowledge", "validate"], env=env))
    assert clean.stdout == ""
    assert "no problems" in clean.stderr


def test_validate_missing_folder_is_exit_2(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(["knowledge", "validate", tmp_path / "nothere"], env=env)
    assert result.exit_code == 2, result.output
    assert "nothere" in result.stderr
    assert "Traceback" not in result.output


# --- sync -----------------------------------------------------------------------------------


def test_sync_twice_is_a_no_op_then_follows_changes(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    folder = tmp_path / "knowledge"
    _write(
        folder / "prescriptions" / "a.yaml",
        RULE.format(id="a1", package="alpha", specifier=">=1")
        + RULE.format(id="a2", package="alpha", specifier="<1"),
    )
    _write(
        folder / "prescriptions" / "b.yaml", RULE.format(id="b1", package="beta", specifier=">=0")
    )
    first = _json(advisor("knowledge", "sync", folder, "--json"))
    assert first["skipped"] is False
    assert first["added"] == 3
    assert first["changed"] == ["knowledge/prescriptions/a.yaml", "knowledge/prescriptions/b.yaml"]
    assert first["problems"] == []

    second = _json(advisor("knowledge", "sync", folder, "--json"))
    assert second["skipped"] is True
    assert second["added"] == second["replaced"] == second["deleted"] == 0
    text = _ok(advisor("knowledge", "sync", folder))
    assert "unchanged since the last sync" in text.stderr

    # a rule removed from a.yaml leaves the store; b.yaml, unchanged, is not written again
    _write(
        folder / "prescriptions" / "a.yaml", RULE.format(id="a1", package="alpha", specifier=">=1")
    )
    third = _json(advisor("knowledge", "sync", folder, "--json"))
    assert third["changed"] == ["knowledge/prescriptions/a.yaml"]
    assert third["deleted"] == 1
    # a file removed from the folder takes its facts with it
    (folder / "prescriptions" / "b.yaml").unlink()
    fourth = _json(advisor("knowledge", "sync", folder, "--json"))
    assert fourth["removed"] == ["knowledge/prescriptions/b.yaml"]
    assert fourth["deleted"] == 1
    stats = _json(advisor("knowledge", "stats", "--json"))
    assert stats["kinds"]["prescription"]["count"] == 1
    assert stats["sources"] == {"knowledge/prescriptions/a.yaml": 1}


def test_sync_with_a_broken_file_keeps_its_facts_and_reports_it(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    folder = tmp_path / "knowledge"
    rules = folder / "prescriptions" / "a.yaml"
    _write(rules, RULE.format(id="a1", package="alpha", specifier=">=1"))
    _ok(advisor("knowledge", "sync", folder))
    _write(rules, "- id: a1\n  summary: [unclosed\n")
    result = advisor("knowledge", "sync", folder)
    _ok(result)
    assert f"warning: {rules}:" in result.stderr
    assert "problems" in result.stderr
    assert _json(advisor("knowledge", "stats", "--json"))["kinds"]["prescription"]["count"] == 1
    # not recorded as clean: the next sync reads (and reports) it again
    again = _json(advisor("knowledge", "sync", folder, "--json"))
    assert again["skipped"] is False
    assert again["problems"]


def test_show_marks_what_applies_to_a_version(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    folder = tmp_path / "knowledge"
    co_rule = RULE.format(id="beta-with-old-alpha", package="beta", specifier=">=0").replace(
        "  action:", '    co_installed:\n      - package: alpha\n        specifier: "<2"\n  action:'
    )
    _write(
        folder / "prescriptions" / "alpha.yaml",
        RULE.format(id="old-alpha", package="alpha", specifier="<2") + co_rule,
    )
    build = {"type": "build", "package": "alpha", "version": "1.0", "outcome": "failed"}
    perf = {
        "type": "performance",
        "package": "alpha",
        "version": "2.0",
        "probe": "import",
        "metric": "import-time",
        "value": 0.25,
        "unit": "s",
        "environment": {"python": "3.12", "platform": "manylinux_2_28_x86_64"},
    }
    _write(
        folder / "observations" / "alpha.jsonl",
        json.dumps(build) + "\n" + json.dumps(perf) + "\n",
    )
    synced = _json(advisor("knowledge", "sync", folder, "--json"))
    assert synced["problems"] == [] and synced["added"] == 4

    shown = _json(advisor("knowledge", "show", "alpha==1.0", "--json"))
    applies = {
        kind: [(f["observation"].get("id") or f["observation"].get("outcome"), f["applies"])
               for f in facts]
        for kind, facts in shown["kinds"].items()
    }  # fmt: skip
    assert applies == {
        "build": [("failed", True)],
        "performance": [(None, False)],
        "prescription": [("beta-with-old-alpha", True), ("old-alpha", True)],
    }
    later = _json(advisor("knowledge", "show", "alpha==2.0", "--json"))["kinds"]
    assert [f["applies"] for f in later["prescription"]] == [False, False]
    assert [f["applies"] for f in later["performance"]] == [True]
    text = _ok(advisor("knowledge", "show", "alpha==1.0")).stdout
    assert text.startswith(
        "alpha 1.0: 1 build observation (1 applies to 1.0), "
        "1 measurement (0 apply to 1.0), 2 rules (2 apply to 1.0)\n"
    )
    assert "beta>=0 (with alpha<2)" in text
    assert "import-time 0.25 s" in text


# --- OSV ------------------------------------------------------------------------------------


def _osv(ident: str, package: str, *, introduced: str, fixed: str, **extra: Any) -> str:
    record = {
        "id": ident,
        "modified": "2024-05-01T00:00:00Z",
        "summary": f"{ident} in {package}",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": introduced}, {"fixed": fixed}],
                    }
                ],
            }
        ],
        **extra,
    }
    return json.dumps(record, indent=2)


def _osv_folder(root: Path) -> Path:
    folder = root / "osv"
    _write(folder / "PYSEC-1.json", _osv("PYSEC-1", "Beta", introduced="0", fixed="2.1"))
    _write(
        folder / "GHSA-2.json",
        _osv("GHSA-2", "alpha", introduced="1.0", fixed="1.5", aliases=["CVE-2"]),
    )
    _write(folder / "BAD-3.json", '{"id": "BAD-3", "affected": [\n  {"package": 7}\n]}\n')
    return folder


def test_import_osv_folder_show_and_stats(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    folder = _osv_folder(tmp_path)
    result = _ok(advisor("knowledge", "import-osv", folder))
    assert "Imported 2 advisories" in result.stderr
    assert "BAD-3.json" in result.stderr  # the bad record is named, the rest imported
    again = _json(advisor("knowledge", "import-osv", folder, "--json"))
    assert (again["added"], again["unchanged"], again["advisories"]) == (0, 2, 2)
    assert any("BAD-3.json" in p["file"] for p in again["problems"])

    shown = _json(advisor("knowledge", "show", "beta==2.0", "--json"))
    assert shown["name"] == "beta" and shown["version"] == "2.0"
    (fact,) = shown["kinds"]["advisory"]
    assert fact["applies"] is True
    assert fact["observation"]["id"] == "PYSEC-1"
    assert (
        _json(advisor("knowledge", "show", "beta==2.1", "--json"))["kinds"]["advisory"][0][
            "applies"
        ]
        is False
    )
    assert (
        _json(advisor("knowledge", "show", "Beta", "--json"))["kinds"]["advisory"][0]["applies"]
        is None
    )

    text = _ok(advisor("knowledge", "show", "alpha==1.2")).stdout
    assert "alpha 1.2: 1 advisory (1 affects 1.2)" in text
    assert "GHSA-2" in text and "CVE-2" in text and "1.5" in text
    assert "Nothing known about gamma" in _ok(advisor("knowledge", "show", "gamma")).stdout

    stats = _json(advisor("knowledge", "stats", "--json"))
    assert stats["total"] == 2
    assert stats["kinds"]["advisory"]["count"] == 2
    assert stats["sources"] == {"osv:osv": 2}
    table = _ok(advisor("knowledge", "stats")).stdout
    assert "advisory" in table and "osv:osv" in table


def test_reimporting_a_dump_removes_advisories_that_left_it(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    folder = _osv_folder(tmp_path)
    _ok(advisor("knowledge", "import-osv", folder))
    (folder / "GHSA-2.json").unlink()
    result = _json(advisor("knowledge", "import-osv", folder, "--json"))
    assert result["removed"] == 1
    assert _json(advisor("knowledge", "stats", "--json"))["total"] == 1


def test_import_osv_usage_errors(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    for args in (
        ["knowledge", "import-osv"],
        ["knowledge", "import-osv", tmp_path, "--api", "http://127.0.0.1:9"],
        ["knowledge", "import-osv", tmp_path, "--package", "x"],
        ["knowledge", "import-osv", "--api", "http://127.0.0.1:9"],
    ):
        result = advisor(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    missing = advisor("knowledge", "import-osv", tmp_path / "nothere.zip")
    assert missing.exit_code == 2
    assert "nothere.zip" in missing.stderr
    bad = advisor("knowledge", "show", "not a name")
    assert bad.exit_code == 2
    assert "NAME==VERSION" in bad.stderr


class _OsvHandler(BaseHTTPRequestHandler):
    """``POST /v1/querybatch`` and ``GET /v1/vulns/{id}`` over a dict of OSV records."""

    records: ClassVar[dict[str, dict[str, Any]]] = {}
    queries: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length))
        if self.path != "/v1/querybatch":
            self._send(404, {})
            return
        results = []
        for query in body["queries"]:
            self.queries.append(query)
            name = query["package"]["name"]
            found = [
                {"id": ident}
                for ident, rec in sorted(self.records.items())
                if any(a["package"]["name"].lower() == name for a in rec["affected"])
            ]
            results.append({"vulns": found} if found else {})
        self._send(200, {"results": results})

    def do_GET(self) -> None:
        prefix = "/v1/vulns/"
        ident = urllib.parse.unquote(self.path[len(prefix) :])
        if self.path.startswith(prefix) and ident in self.records:
            self._send(200, self.records[ident])
        else:
            self._send(404, {"message": "not found"})


@pytest.fixture
def osv_server() -> Iterator[str]:
    handler = type(
        "Handler",
        (_OsvHandler,),
        {
            "records": {
                "PYSEC-1": json.loads(_osv("PYSEC-1", "beta", introduced="0", fixed="2.1")),
                "GHSA-9": json.loads(_osv("GHSA-9", "zeta", introduced="0", fixed="1")),
            },
            "queries": [],
        },
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_import_osv_from_an_api(
    advisor: Callable[..., CliResult], osv_server: str, tmp_path: Path
) -> None:
    result = _json(
        advisor("knowledge", "import-osv", "--api", osv_server, "--package", "Beta==2.0", "--json")
    )
    assert result["advisories"] == 1
    assert result["added"] == 1
    assert result["source"] == osv_server
    shown = _json(advisor("knowledge", "show", "beta==2.0", "--json"))
    assert shown["kinds"]["advisory"][0]["applies"] is True
    # an API import only adds: what other imports stored stays
    _ok(advisor("knowledge", "import-osv", _osv_folder(tmp_path)))
    assert _json(advisor("knowledge", "stats", "--json"))["total"] == 2
    again = _json(
        advisor("knowledge", "import-osv", "--api", osv_server, "--package", "zeta", "--json")
    )
    assert (again["added"], again["removed"]) == (1, 0)
    assert _json(advisor("knowledge", "stats", "--json"))["total"] == 3


def test_import_osv_api_for_the_packages_of_a_lock(
    advisor: Callable[..., CliResult], osv_server: str, tmp_path: Path
) -> None:
    lock = _write(
        tmp_path / "pylock.toml",
        'lock-version = "1.0"\ncreated-by = "test"\n\n'
        '[[packages]]\nname = "beta"\nversion = "2.0"\n'
        '[[packages.wheels]]\nname = "beta-2.0-py3-none-any.whl"\n'
        'url = "https://files.example.invalid/beta-2.0-py3-none-any.whl"\n'
        "hashes = {sha256 = " + '"' + "0" * 64 + '"' + "}\n",
    )
    result = _json(
        advisor("knowledge", "import-osv", "--api", osv_server, "--lock", lock, "--json")
    )
    assert result["advisories"] == 1


# --- graph of a lock ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FixtureIndex:
    projects = [
        Project(name="app", files=[*release("1.0", requires_dist=["alpha>=1", "beta"])]),
        Project(name="alpha", files=[*release("1.2", requires_dist=["beta>=2"])]),
        Project(name="beta", files=[*release("2.0")]),
        Project(name="gamma", files=[*release("3.0")]),
    ]
    return build_index(tmp_path_factory.mktemp("knowledge") / "index", projects)


def _lock(index: FixtureIndex, env: dict[str, str], tmp_path: Path) -> Path:
    req = _write(tmp_path / "project" / "requirements.in", "app\ngamma\n")
    args = ["lock", req, "--index-url", index.file_url, "--cache-dir", tmp_path / "cache"]
    _ok(run_cli(args, env=env))
    return tmp_path / "project" / "pylock.toml"


def test_graph_of_a_lock_with_observations(
    advisor: Callable[..., CliResult],
    index: FixtureIndex,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    lock = _lock(index, env, tmp_path)
    _ok(advisor("knowledge", "import-osv", _osv_folder(tmp_path)))

    data = json.loads(_ok(advisor("knowledge", "graph", lock, "--format", "json")).stdout)
    graph = nx.node_link_graph(data, edges="edges")
    assert sorted(graph.successors("<root>")) == ["app", "gamma"]  # inferred roots
    assert sorted(graph.predecessors("beta")) == ["alpha", "app"]
    beta = graph.nodes["beta"]
    assert beta["version"] == "2.0"
    assert [o["id"] for o in beta["observations"]] == ["PYSEC-1"]  # affects beta 2.0
    assert [o["id"] for o in graph.nodes["alpha"]["observations"]] == ["GHSA-2"]  # < 1.5
    assert graph.nodes["gamma"]["observations"] == []

    dot = _ok(advisor("knowledge", "graph", lock)).stdout
    assert dot.startswith("digraph stack {")
    assert '"alpha" -> "beta" [label="beta"];' in dot
    assert '"beta" [label="beta 2.0\\n1 advisory", color="red"];' in dot
    assert dot == _ok(advisor("knowledge", "graph", lock)).stdout  # byte-stable

    out = tmp_path / "stack.graphml"
    written = _ok(advisor("knowledge", "graph", lock, "--format", "graphml", "-o", out))
    assert "stack.graphml" in written.stderr
    back = nx.read_graphml(out)
    assert back.nodes["beta"]["advisory_count"] == 1


def test_graph_of_a_bad_lock_is_exit_2(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    lock = _write(tmp_path / "pylock.toml", "this is = not [ toml\n")
    result = advisor("knowledge", "graph", lock)
    assert result.exit_code == 2, result.output
    assert "pylock.toml" in result.stderr
    assert "Traceback" not in result.output


# --- who recorded what ----------------------------------------------------------------------


def _build_line(recorder: str, source: str, outcome: str, version: str) -> str:
    provenance = {"source": source, "date": "2026-11-27", "tool": "stack-advisor 0.1"}
    if recorder:
        provenance["recorder"] = recorder
    line = {
        "type": "build",
        "package": "six",
        "version": version,
        "environment": {"python": "==3.11.*", "os": "linux"},
        "outcome": outcome,
        "provenance": provenance,
    }
    if outcome == "artefact-fault":
        line["failure_class"] = "hash-mismatch"
        line["artefact"] = {
            "filename": f"six-{version}-py2.py3-none-any.whl",
            "sha256": "ab" * 32,
            "expected": ["cd" * 32],
        }
    return json.dumps(line)


def test_show_and_stats_filter_by_source_and_recorder(
    advisor: Callable[..., CliResult], env: dict[str, str], store: str, tmp_path: Path
) -> None:
    lines = [
        _build_line("aaaa", "observe", "ok", "1.17.0"),
        _build_line("bbbb", "observe", "ok", "1.17.0"),
        _build_line("bbbb", "image-build:buildah", "artefact-fault", "1.17.0"),
        _build_line("", "observe", "ok", "1.16.0"),
    ]
    jsonl = _write(tmp_path / "obs.jsonl", "\n".join(lines) + "\n")
    _ok(advisor("observe", "import", jsonl))

    def recorders(*args: str) -> list[tuple[str, str]]:
        shown = _json(advisor("knowledge", "show", "six", "--json", *args))["kinds"]
        return sorted(
            (o["observation"]["provenance"].get("recorder", ""), o["observation"]["outcome"])
            for o in shown.get("build", [])
        )

    assert len(recorders()) == 4
    assert recorders("--recorder", "bbbb") == [("bbbb", "artefact-fault"), ("bbbb", "ok")]
    assert recorders("--source", "image-build:*") == [("bbbb", "artefact-fault")]
    assert recorders("--source", "observe", "--recorder", "aaaa") == [("aaaa", "ok")]
    assert recorders("--recorder", "") == [("", "ok")]  # the unattributed one
    assert recorders("--recorder", "nobody") == []
    table = _ok(advisor("knowledge", "show", "six", "--recorder", "bbbb")).stdout
    assert "artefact-fault" in table and "six-1.17.0-py2.py3-none-any.whl had sha256" in table
    assert "bbbb" in table and "aaaa" not in table

    stats = _json(advisor("knowledge", "stats", "--json"))
    assert stats["recorders"] == {"": 1, "aaaa": 1, "bbbb": 2}
    assert stats["filter"] == {"source": None, "recorder": None}
    only = _json(advisor("knowledge", "stats", "--json", "--recorder", "bbbb"))
    assert (only["total"], only["sources"]) == (2, {"image-build:buildah": 1, "observe": 1})
    images = _json(advisor("knowledge", "stats", "--json", "--source", "image-build:*"))
    assert (images["total"], images["recorders"]) == (1, {"bbbb": 1})
    mine = run_cli(
        ["knowledge", "stats", "--knowledge", store], env={**env, "ADVISOR_RECORDER": "aaaa"}
    )
    assert "aaaa (this machine)" in _ok(mine).stdout and "(unattributed)" in mine.stdout
    filtered = _ok(advisor("knowledge", "stats", "--source", "observe")).stdout
    assert "3 observations of source observe" in filtered
