"""Knowledge loaders: OSV dumps (zip, folders of JSON/YAML), the OSV API (a real
OSV-compatible server on 127.0.0.1, reached through the product's Fetcher), and the
repository's ``knowledge/`` folder (prescriptions YAML, image TOML, observations JSONL)."""

from __future__ import annotations

import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pytest

from advisor.errors import IndexUnavailable, InputError
from advisor.index.fetch import Fetcher, NetworkSettings
from advisor.knowledge.osv import is_affected
from advisor.knowledge.schema import BuildObservation, ImageRecipe, Prescription
from advisor.knowledge.sources.folder import (
    content_digest,
    load_knowledge_file,
    load_knowledge_folder,
)
from advisor.knowledge.sources.osv_import import load_osv, query_osv_api

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from types import TracebackType

    from advisor.knowledge.sources import Problem


def osv(vuln_id: str, name: str, fixed: str, *, modified: str = "2024-01-01T00:00:00Z") -> dict:
    return {
        "id": vuln_id,
        "modified": modified,
        "summary": f"{vuln_id} in {name}",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": name},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
            }
        ],
    }


# -- OSV dumps -----------------------------------------------------------------------------


def test_zip_dump_one_bad_record_is_reported_and_skipped(tmp_path: Path) -> None:
    dump = tmp_path / "all.zip"
    with zipfile.ZipFile(dump, "w") as archive:
        for i in range(50):
            archive.writestr(f"OSV-{i:03}.json", json.dumps(osv(f"OSV-{i:03}", "demo", "1.0")))
        archive.writestr("OSV-BAD.json", b'{"id": "OSV-BAD", "affected": 7}')
        archive.writestr("OSV-TRUNC.json", b'{"id": "OSV-T')
        archive.writestr("README.txt", b"not a record")
    report = load_osv(dump, date="2024-06-01", registry_hosts=())
    assert report.records == 52
    assert len(report.advisories) == 50
    assert [a.id for a in report.advisories][:2] == ["OSV-000", "OSV-001"]
    assert sorted((p.file.rpartition("/")[2], p.field) for p in report.problems) == [
        ("OSV-BAD.json", "affected"),
        ("OSV-TRUNC.json", ""),
    ]
    assert report.origin == "all.zip"
    assert report.advisories[0].provenance.source == "osv:all.zip"


def test_folder_of_json_and_yaml(tmp_path: Path) -> None:
    root = tmp_path / "advisories"
    (root / "vulns" / "demo").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "X.json").write_text(json.dumps(osv("HIDDEN", "demo", "1")))
    (root / "vulns" / "demo" / "A-1.json").write_text(json.dumps(osv("A-1", "Demo", "1.0")))
    # YAML as in advisory repositories: unquoted timestamps stay text
    (root / "vulns" / "demo" / "A-2.yaml").write_text(
        "id: A-2\n"
        "modified: 2024-03-04T05:06:07.123Z\n"
        "details: Bad thing.\n"
        "affected:\n"
        "- package:\n"
        "    name: demo\n"
        "    ecosystem: PyPI\n"
        "  ranges:\n"
        "  - type: ECOSYSTEM\n"
        "    events:\n"
        "    - introduced: '2.0'\n"
        "    - fixed: not-a-version\n"
        "  versions:\n"
        "  - '2.0'\n"
    )
    (root / "vulns" / "demo" / "A-3.yml").write_text("id: [unclosed\n")
    (root / "notes.md").write_text("ignored")
    report = load_osv(root, date="2024-06-01", registry_hosts=())
    assert [a.id for a in report.advisories] == ["A-1", "A-2"]
    a2 = report.advisories[1]
    assert a2.modified == "2024-03-04T05:06:07.123Z"
    assert a2.provenance.date == "2024-03-04T05:06:07.123Z"
    assert is_affected(a2, "demo", "2.0") and not is_affected(a2, "demo", "2.1")
    problems = {p.file.rpartition("/")[2]: p for p in report.problems}
    assert problems["A-2.yaml"].field == "affected[0].ranges[0].events[1].fixed"
    assert problems["A-2.yaml"].line == 12  # YAML records name the line of the bad field
    assert problems["A-3.yml"].line == 2 and "invalid YAML" in problems["A-3.yml"].message


def test_duplicate_ids_keep_the_latest_and_are_reported(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(osv("D-1", "demo", "1.0", modified="2024-01-01")))
    (tmp_path / "b.json").write_text(json.dumps(osv("D-1", "demo", "2.0", modified="2024-02-01")))
    report = load_osv(tmp_path, date="2024-06-01", registry_hosts=())
    (adv,) = report.advisories
    assert adv.modified == "2024-02-01"
    (problem,) = report.problems
    assert "duplicate advisory D-1" in problem.message


def test_unreadable_sources_raise(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such OSV dump"):
        load_osv(tmp_path / "missing.zip", date="d")
    (tmp_path / "fake.zip").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable zip"):
        load_osv(tmp_path / "fake.zip", date="d")


# -- the OSV API ---------------------------------------------------------------------------


class OsvServer:
    """A small OSV-compatible API: ``POST /v1/querybatch`` (all versions, or the ones a
    ``version`` falls in; paginated by ``page_size`` ids per result) and
    ``GET /v1/vulns/{id}``. Records every request; ``fail_batch`` answers that status,
    ``garbage`` answers HTML, ``listed`` replaces what querybatch finds."""

    def __init__(self, records: list[dict[str, Any]], *, page_size: int = 100) -> None:
        self.records = {r["id"]: r for r in records}
        self.page_size = page_size
        self.requests: list[tuple[str, str, Any]] = []
        self.fail_batch: int | None = None
        self.garbage = False
        self.listed: list[str] | None = None  # what querybatch answers, when set
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> OsvServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def _matches(self, query: dict[str, Any]) -> list[str]:
        from advisor.knowledge.osv import parse_osv

        if self.listed is not None:
            return self.listed
        name, version = query["package"]["name"], query.get("version")
        found = []
        for vuln_id, rec in sorted(self.records.items()):
            adv = parse_osv(rec, file="", origin="", date="").advisory
            if adv is None or name not in {a.package for a in adv.affected}:
                continue
            if version is None or is_affected(adv, name, version):
                found.append(vuln_id)
        return found

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length))
                server.requests.append(("POST", self.path, payload))
                if self.path != "/v1/querybatch":
                    return self._send(404, {"message": "not found"})
                if server.fail_batch:
                    return self._send(server.fail_batch, {"message": "boom"})
                if server.garbage:
                    return self._send(200, b"<html>surprise</html>")
                results = []
                for query in payload["queries"]:
                    ids = server._matches(query)
                    start = int(query.get("page_token", "0"))
                    page = ids[start : start + server.page_size]
                    result: dict[str, Any] = {"vulns": [{"id": i} for i in page]} if page else {}
                    if start + server.page_size < len(ids):
                        result["next_page_token"] = str(start + server.page_size)
                    results.append(result)
                return self._send(200, {"results": results})

            def do_GET(self) -> None:
                server.requests.append(("GET", self.path, None))
                prefix = "/v1/vulns/"
                vuln_id = unquote(self.path[len(prefix) :])
                if not self.path.startswith(prefix) or vuln_id not in server.records:
                    return self._send(404, {"message": "not found"})
                return self._send(200, server.records[vuln_id])

        return Handler


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(NetworkSettings(retries=1, timeout=5)) as f:
        yield f


def test_api_queries_only_the_stack_and_fetches_each_advisory(fetcher: Fetcher) -> None:
    records = [
        osv("V-1", "numpy", "1.19.0"),
        osv("V-2", "numpy", "1.22.0"),
        osv("V-3", "jinja2", "2.10.1"),
        osv("V-4", "unrelated", "9.0"),
        osv("V/5", "jinja2", "3.1.4"),  # an id that needs quoting in the URL
    ]
    with OsvServer(records, page_size=1) as server:
        report = query_osv_api(
            server.url,
            {"NumPy": "1.20.0", "Jinja2": None},
            fetcher=fetcher,
            date="2024-06-01",
            registry_hosts=(),
        )
    assert [a.id for a in report.advisories] == ["V-2", "V-3", "V/5"]
    assert report.problems == ()
    assert report.origin == server.url
    assert report.advisories[0].provenance.source == f"osv:{server.url}"
    posts = [payload for method, _, payload in server.requests if method == "POST"]
    assert posts[0] == {
        "queries": [
            {"package": {"ecosystem": "PyPI", "name": "jinja2"}},
            {"package": {"ecosystem": "PyPI", "name": "numpy"}, "version": "1.20.0"},
        ]
    }
    # page_size=1: jinja2 has two advisories, so a second page is asked for it alone
    assert posts[1]["queries"][0]["page_token"] == "1"
    gets = sorted(path for method, path, _ in server.requests if method == "GET")
    assert gets == ["/v1/vulns/V%2F5", "/v1/vulns/V-2", "/v1/vulns/V-3"]


def test_api_advisory_gone_or_malformed_is_a_problem(fetcher: Fetcher) -> None:
    with OsvServer([osv("V-1", "demo", "1.0"), osv("V-2", "demo", "2.0")]) as server:
        server.records["V-2"] = {"id": "V-2", "affected": "broken"}
        server.listed = ["V-1", "V-2", "V-3"]  # V-3: listed, but the vulns endpoint lost it
        report = query_osv_api(
            server.url, {"demo": None}, fetcher=fetcher, date="d", registry_hosts=(), workers=1
        )
    assert [a.id for a in report.advisories] == ["V-1"]
    messages = {p.file.rpartition("/")[2]: p for p in report.problems}
    assert messages["V-2"].field == "affected"
    assert "HTTP 404" in messages["V-3"].message


def test_api_failures_raise_with_a_clean_url(fetcher: Fetcher) -> None:
    with OsvServer([]) as server:
        server.fail_batch = 500
        secret = server.url.replace("http://", "http://user:hunter2@")
        with pytest.raises(IndexUnavailable) as info:
            query_osv_api(secret, {"demo": None}, fetcher=fetcher, date="d", registry_hosts=())
        assert "HTTP 500" in str(info.value) and "hunter2" not in str(info.value)
        server.fail_batch = 400
        with pytest.raises(IndexUnavailable, match="HTTP 400"):
            query_osv_api(server.url, {"demo": None}, fetcher=fetcher, date="d")
        server.fail_batch = None
        server.garbage = True
        with pytest.raises(IndexUnavailable, match="not an OSV querybatch answer"):
            query_osv_api(server.url, {"demo": None}, fetcher=fetcher, date="d")
    with pytest.raises(IndexUnavailable, match="cannot POST"):
        fetcher.post_json("file:///nowhere", {})


# -- the knowledge folder ------------------------------------------------------------------

RULE = """\
- id: rule-one
  summary: One.
  link: https://example.org/notes
  quote: A quote.
  match:
    package: Scikit_Learn
    specifier: "<1.4.2"
    co_installed:
      - package: NumPy
        specifier: ">=2"
  action:
    kind: reject-stack
    message: Broken.
- id: rule-typo
  summary: Two.
  link: https://example.org/notes
  quote: A quote.
  match:
    package: scipy
    specifer: "<1.13"
  action:
    kind: filter
    message: Broken.
"""

SECOND_DOC = """\
---
id: rule-three
summary: Three.
link: https://example.org/3
quote: Three.
match: {package: pandas}
action:
  kind: score
  score: 0.5
  message: fine
provenance: {source: x, date: y}
---
id: rule-four
summary: Four.
link: https://example.org/4
quote: Four.
match:
  package: pandas
  specifier: 3
action: {kind: justify, message: m}
---
"""

IMAGES = """\
[[image]]
name = "cpu"
base_image = "registry.example/library/python:3.12-slim"
python = "3.12"
platform = "manylinux_2_36_x86_64"
requirements = ["numpy>=2"]

[[image]]
name = "gpu"
base_image = "registry.example/nvidia/cuda:12.4.1-runtime-ubuntu22.04"
python = "3.11"
platform = 7
"""

OBSERVATIONS = (
    '{"type": "build", "package": "H5Py", "version": "3.11.0", "outcome": "ok",'
    ' "provenance": {"source": "observe", "date": "2024-05-05", "tool": "stack-advisor 0.0.9"}}\n'
    "\n"
    '{"type": "build", "package": "x", "outcome": "exploded"}\n'
    "{not json\n"
    '{"type": "advisory", "id": "A"}\n'
    '{"type": "performance", "package": "numpy", "probe": "import", "metric": "time",'
    ' "value": 0.1, "unit": "s", "environment": {"python": "3.12", "platform": "any",'
    ' "cpu_modle": "x"}}\n'
)


def make_folder(root: Path) -> Path:
    for sub in ("prescriptions", "images", "observations", "schema"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "prescriptions" / "a.yaml").write_text(RULE)
    (root / "prescriptions" / "b.yaml").write_text(SECOND_DOC)
    (root / "prescriptions" / "README.md").write_text("about the rules")
    (root / "prescriptions" / "c.json").write_text("{}")
    (root / "images" / "profiles.toml").write_text(IMAGES)
    (root / "observations" / "shared.jsonl").write_text(OBSERVATIONS)
    (root / "schema" / "x.schema.json").write_text("{}")
    return root


def by_file(problems: tuple[Problem, ...]) -> list[tuple[str, int, str]]:
    return sorted((p.file.rpartition("/")[2], p.line, p.field) for p in problems)


def test_folder_loads_good_records_and_reports_bad_ones_with_lines(tmp_path: Path) -> None:
    folder = load_knowledge_folder(make_folder(tmp_path / "knowledge"), date="2024-06-01")
    sources = [f.source for f in folder.files]
    assert sources == [
        "knowledge/images/profiles.toml",
        "knowledge/observations/shared.jsonl",
        "knowledge/prescriptions/a.yaml",
        "knowledge/prescriptions/b.yaml",
    ]
    kinds = [type(o).__name__ for o in folder.observations]
    assert kinds == ["ImageRecipe", "BuildObservation", "Prescription"]
    assert by_file(folder.problems) == [
        ("a.yaml", 20, "match.specifer"),  # a typo is an unknown key: the rule is skipped
        ("b.yaml", 11, "provenance"),  # curated files get their provenance from the loader
        ("b.yaml", 19, "match.specifier"),  # an int where a string belongs
        ("c.json", 0, ""),  # not loaded: expected *.yaml or *.yml (the README is fine)
        ("profiles.toml", 12, "platform"),
        ("shared.jsonl", 3, "outcome"),
        ("shared.jsonl", 4, ""),
        ("shared.jsonl", 5, "type"),
        ("shared.jsonl", 6, "environment.cpu_modle"),
    ]


def test_folder_values_provenance_and_names(tmp_path: Path) -> None:
    folder = load_knowledge_folder(make_folder(tmp_path / "knowledge"), date="2024-06-01")
    image, build, rule = folder.observations
    assert isinstance(rule, Prescription) and isinstance(image, ImageRecipe)
    assert isinstance(build, BuildObservation)
    assert rule.match.package == "scikit-learn"
    assert rule.match.co_installed[0].package == "numpy"
    assert rule.provenance.source == "knowledge/prescriptions/a.yaml"
    assert rule.provenance.date == "2024-06-01"
    assert rule.provenance.tool.startswith("stack-advisor ")
    assert image.name == "cpu" and image.provenance.source == "knowledge/images/profiles.toml"
    # a shared measurement keeps its date and tool; its source is the file it lives in now
    assert build.package == "h5py"
    assert build.provenance.source == "knowledge/observations/shared.jsonl"
    assert (build.provenance.date, build.provenance.tool) == ("2024-05-05", "stack-advisor 0.0.9")
    entry = folder.files[2].entries[0]
    assert entry.line == 1
    assert entry.line_of("match.specifier") == 7
    assert entry.line_of("match.co_installed[0].specifier") == 10
    assert entry.line_of("match.environment.python") == 5  # nearest written parent


def test_yaml_document_forms_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "prescriptions" / "x.yaml"
    path.parent.mkdir()
    one = SECOND_DOC.split("---\n")[2]  # rule-four's document alone, fixed
    path.write_text(one.replace("specifier: 3", "specifier: '>=3'"))
    loaded = load_knowledge_file(path, date="d")
    assert [o.id for o in loaded.observations] == ["rule-four"]  # type: ignore[union-attr]
    assert loaded.source == "knowledge/prescriptions/x.yaml"
    path.write_text(RULE.replace("  summary: One.", "  summary: One.\n  summary: Again."))
    twice = load_knowledge_file(path, date="d")
    assert ("summary", 3, "key written twice") in [
        (p.field, p.line, p.message) for p in twice.problems
    ]
    path.write_text("- id: a\n  summary: [oops\n")
    broken = load_knowledge_file(path, date="d")
    (problem,) = broken.problems
    assert problem.line == 3 and problem.message.startswith("invalid YAML")
    path.write_text("just a string\n")
    (problem,) = load_knowledge_file(path, date="d").problems
    assert "expected a mapping" in problem.message


def test_toml_errors_and_single_recipe_files(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    (images / "one.toml").write_text(
        'name = "cpu"\nbase_image = "b"\npython = "3.12"\nplatform = "any"\ncolour = "red"\n'
    )
    (problem,) = load_knowledge_file(images / "one.toml", date="d").problems
    assert (problem.line, problem.field, problem.message) == (5, "colour", "unknown key")
    (images / "bad.toml").write_text('name = "cpu"\nbase_image = \n')
    (problem,) = load_knowledge_file(images / "bad.toml", date="d").problems
    assert problem.line == 2 and problem.message.startswith("invalid TOML")
    with pytest.raises(InputError, match="not a knowledge file"):
        load_knowledge_file(tmp_path / "what.txt", date="d")


def test_content_digest(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "knowledge")
    first = content_digest(root)
    assert first == load_knowledge_folder(root, date="d").digest
    assert content_digest(root) == first
    (root / ".cache").mkdir()
    (root / ".cache" / "x").write_text("hidden files do not count")
    assert content_digest(root) == first
    rule = root / "prescriptions" / "a.yaml"
    rule.write_text(RULE + "\n")
    changed = content_digest(root)
    assert changed != first
    rule.rename(root / "prescriptions" / "z.yaml")
    assert content_digest(root) not in (first, changed)  # a rename changes it too
    with pytest.raises(InputError, match="not a knowledge folder"):
        content_digest(tmp_path / "missing")


def test_yaml_aliases_shared_values_load_but_bombs_and_cycles_do_not(tmp_path: Path) -> None:
    path = tmp_path / "prescriptions" / "a.yaml"
    path.parent.mkdir()
    shared = RULE.split("- id: rule-typo")[0].replace(
        '    specifier: "<1.4.2"\n',
        '    specifier: "<1.4.2"\n    environment: &linux {os: linux}\n',
    )
    second = shared.replace("rule-one", "rule-two").replace("&linux {os: linux}", "*linux")
    path.write_text(shared + second)
    rules = load_knowledge_file(path, date="d").observations
    assert [r.match.environment.os for r in rules] == ["linux", "linux"]  # type: ignore[union-attr]
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    path.write_text(bomb + "---\n&c [*c]\n")
    problems = load_knowledge_file(path, date="d").problems
    assert [(p.line, p.message.split(":")[0]) for p in problems] == [
        (1, "document skipped"),
        (10, "document skipped"),
    ]
