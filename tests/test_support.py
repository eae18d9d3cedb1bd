"""Tests of the test support: fixture distributions, generated indexes, the index server."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import httpx
import pytest
from packaging.metadata import Metadata
from packaging.utils import canonicalize_name

from tests.support.dists import make_sdist, make_wheel, record_hash
from tests.support.index import FileSpec, Project, build_index, release
from tests.support.packse import ScenarioError, iter_scenarios, load_scenario
from tests.support.server import JSON_TYPE, IndexServer, negotiate

if TYPE_CHECKING:
    from pathlib import Path

PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)


def _projects() -> list[Project]:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    return [
        Project(
            name="Alpha",
            files=(
                *release("1.0", requires_dist=["beta>=1"], upload_time=when),
                *release(
                    "2.0",
                    requires_python=">=3.99",
                    requires_dist=["beta>=1"],
                    extras={"fast": ["gamma"]},
                ),
            ),
        ),
        Project(
            name="beta",
            files=(
                *release("1.0"),
                FileSpec(version="1.5", yanked="broken <build>"),
                FileSpec(version="1.6", yanked=True),
            ),
        ),
        Project(name="gamma", files=release("0.1", sdist=False)),
    ]


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))


def _anchors(text: str) -> list[dict[str, str | None]]:
    parser = _Anchors()
    parser.feed(text)
    return parser.anchors


# --- distributions -------------------------------------------------------------------


def test_wheel_is_valid_and_deterministic(tmp_path: Path) -> None:
    tag = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"
    kwargs = {
        "name": "Foo.Bar-baz",
        "version": "1.0.0-rc1",
        "tag": tag,
        "requires_dist": ["requests>=2; python_version >= '3.8'"],
        "requires_python": ">=3.9",
        "provides_extra": ["x"],
        "files": {"foo_bar_baz/data.txt": b"hello"},
    }
    path = make_wheel(tmp_path / "one", **kwargs)  # type: ignore[arg-type]
    again = make_wheel(tmp_path / "two", **kwargs)  # type: ignore[arg-type]
    assert path.name == f"foo_bar_baz-1.0.0rc1-{tag}.whl"
    assert path.read_bytes() == again.read_bytes()
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        dist_info = "foo_bar_baz-1.0.0rc1.dist-info"
        assert names[-1] == f"{dist_info}/RECORD"
        assert "foo_bar_baz/__init__.py" in names
        assert b'__version__ = "1.0.0rc1"' in wheel.read("foo_bar_baz/__init__.py")
        meta = Metadata.from_email(wheel.read(f"{dist_info}/METADATA"))
        tags = [
            line for line in wheel.read(f"{dist_info}/WHEEL").decode().splitlines() if "Tag" in line
        ]
        record = wheel.read(f"{dist_info}/RECORD").decode().splitlines()
        for line in record[:-1]:
            arcname, digest, size = line.rsplit(",", 2)
            data = wheel.read(arcname)
            assert (digest, int(size)) == (record_hash(data), len(data))
        assert record[-1] == f"{dist_info}/RECORD,,"
    assert meta.metadata_version in ("2.3", "2.4")
    assert (meta.name, str(meta.version), str(meta.requires_python)) == (
        "Foo.Bar-baz",
        "1.0.0rc1",
        ">=3.9",
    )
    assert [str(r) for r in meta.requires_dist or []] == ['requests>=2; python_version >= "3.8"']
    assert tags == [
        "Tag: cp311-cp311-manylinux_2_17_x86_64",
        "Tag: cp311-cp311-manylinux2014_x86_64",
    ]


def test_wheel_padding_is_incompressible(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, name="big", version="1", extra_size=5_000_000)
    assert path.stat().st_size > 5_000_000
    with zipfile.ZipFile(path) as wheel:
        info = wheel.getinfo("big/_padding.bin")
        assert info.compress_type == zipfile.ZIP_STORED and info.file_size == 5_000_000


@pytest.mark.parametrize("dynamic", [False, True])
def test_sdist_metadata_and_in_tree_backend(tmp_path: Path, dynamic: bool) -> None:
    path = make_sdist(
        tmp_path,
        name="My_Pkg",
        version="2.0",
        requires_dist=["dep>=1"],
        requires_python=">=3.8",
        dynamic=dynamic,
    )
    assert path.name == "my_pkg-2.0.tar.gz"
    with tarfile.open(path) as sdist:
        sdist.extractall(tmp_path / "src", filter="data")
    src = tmp_path / "src" / "my_pkg-2.0"
    pkg_info = Metadata.from_email((src / "PKG-INFO").read_bytes(), validate=False)
    assert pkg_info.metadata_version == "2.2"
    assert (pkg_info.dynamic or []) == (["requires-dist"] if dynamic else [])
    assert [str(r) for r in pkg_info.requires_dist or []] == ([] if dynamic else ["dep>=1"])
    # Drive the PEP 517 hooks the way a frontend does: in a subprocess, cwd = source tree.
    script = (
        "import sys, _backend as b\n"
        "assert b.get_requires_for_build_wheel() == []\n"
        "print(b.prepare_metadata_for_build_wheel(sys.argv[1]))\n"
        "print(b.build_wheel(sys.argv[2]))\n"
        "print(b.build_sdist(sys.argv[2]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "meta"), str(tmp_path / "out")],
        cwd=src,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.split()
    assert out == ["my_pkg-2.0.dist-info", "my_pkg-2.0-py3-none-any.whl", "my_pkg-2.0.tar.gz"]
    with zipfile.ZipFile(tmp_path / "out" / out[1]) as wheel:
        built = Metadata.from_email(wheel.read("my_pkg-2.0.dist-info/METADATA"))
        assert "my_pkg/__init__.py" in wheel.namelist()
    assert [str(r) for r in built.requires_dist or []] == ["dep>=1"]
    prepared = (tmp_path / "meta" / out[0] / "METADATA").read_bytes()
    assert Metadata.from_email(prepared).requires_dist == built.requires_dist


# --- index -------------------------------------------------------------------------------


def test_index_layout_html_and_json(tmp_path: Path) -> None:
    index = build_index(tmp_path / "idx", _projects())
    assert index.file_url == (tmp_path / "idx" / "simple").as_uri()
    assert index.projects == ("alpha", "beta", "gamma")
    page = index.simple_dir / "alpha" / "index.html"
    anchors = _anchors(page.read_text())
    assert [a["href"].split("#")[0] for a in anchors if a["href"]] == [
        "../../files/alpha-1.0-py3-none-any.whl",
        "../../files/alpha-1.0.tar.gz",
        "../../files/alpha-2.0-py3-none-any.whl",
        "../../files/alpha-2.0.tar.gz",
    ]
    for anchor in anchors:
        href = str(anchor["href"])
        target = index.simple_dir / "alpha" / href.split("#")[0]
        assert target.is_file()
        assert href.endswith("#sha256=" + hashlib.sha256(target.read_bytes()).hexdigest())
    assert anchors[2]["data-requires-python"] == ">=3.99"  # unescaped by the parser
    assert 'data-requires-python="&gt;=3.99"' in page.read_text()
    wheel = index.file("alpha-1.0-py3-none-any.whl")
    assert wheel.metadata_path is not None
    meta_hash = hashlib.sha256(wheel.metadata_path.read_bytes()).hexdigest()
    assert anchors[0]["data-core-metadata"] == anchors[0]["data-dist-info-metadata"]
    assert anchors[0]["data-core-metadata"] == f"sha256={meta_hash}"
    assert "data-core-metadata" not in anchors[1]  # sdists have no PEP 658 file

    beta = _anchors((index.simple_dir / "beta" / "index.html").read_text())
    assert [a.get("data-yanked") for a in beta] == [None, None, "broken <build>", ""]

    doc = json.loads((index.simple_dir / "alpha" / "index.json").read_text())
    assert doc["meta"] == {"api-version": "1.1"} and doc["name"] == "alpha"
    assert doc["versions"] == ["1.0", "2.0"]
    first = doc["files"][0]
    assert first["upload-time"] == "2024-05-01T12:30:00.000000Z"
    assert first["hashes"] == {"sha256": wheel.sha256} and first["size"] == wheel.size
    assert first["core-metadata"] == {"sha256": meta_hash} and first["yanked"] is False
    assert "upload-time" not in doc["files"][2] and "requires-python" not in first
    assert doc["files"][2]["requires-python"] == ">=3.99"
    beta_json = json.loads((index.simple_dir / "beta" / "index.json").read_text())
    assert [f["yanked"] for f in beta_json["files"]] == [False, False, "broken <build>", True]
    fast = Metadata.from_email(
        index.file("alpha-2.0-py3-none-any.whl").path.with_suffix(".whl.metadata").read_bytes()
    )
    assert fast.provides_extra == ["fast"]
    assert 'gamma; extra == "fast"' in [str(r) for r in fast.requires_dist or []]
    assert [a["href"] for a in _anchors((index.simple_dir / "index.html").read_text())] == [
        "alpha/",
        "beta/",
        "gamma/",
    ]


def test_index_without_metadata_files_and_duplicates(tmp_path: Path) -> None:
    index = build_index(tmp_path / "a", _projects(), metadata_files=False)
    assert not list(index.files_dir.glob("*.metadata"))
    assert "data-core-metadata" not in (index.simple_dir / "alpha" / "index.html").read_text()
    with pytest.raises(ValueError, match="duplicate"):
        build_index(tmp_path / "b", [Project(name="x", files=(*release("1.0"), *release("1.0")))])


# --- server ------------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, index_server):  # type: ignore[no-untyped-def]
    index = build_index(
        tmp_path / "idx",
        [*_projects(), Project(name="big", files=(FileSpec(version="1", extra_size=5_000_000),))],
    )
    server = index_server(index, max_age=42)
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield index, server, client


def test_negotiate_accept_header() -> None:
    assert negotiate(PIP_ACCEPT) == ("index.json", JSON_TYPE)
    assert negotiate(None)[0] == "index.html"
    assert negotiate("text/html, application/vnd.pypi.simple.v1+json;q=0.5")[0] == "index.html"
    assert negotiate("application/vnd.pypi.simple.v1+html")[1].endswith("v1+html")
    assert negotiate(f"{JSON_TYPE};q=0, image/png")[0] == "index.html"


def test_server_pages_and_redirects(served) -> None:  # type: ignore[no-untyped-def]
    _, server, client = served
    r = client.get("/simple/alpha/", headers={"Accept": PIP_ACCEPT})
    assert r.status_code == 200 and r.headers["content-type"] == JSON_TYPE
    assert r.json()["name"] == "alpha" and r.headers["vary"] == "Accept"
    assert r.headers["cache-control"] == "max-age=42"
    r = client.get("/simple/alpha/")
    assert r.headers["content-type"].startswith("text/html") and "Links for Alpha" in r.text
    # Relative hrefs resolve against the served page to downloadable files.
    href = _anchors(r.text)[0]["href"]
    download = client.get(urljoin(str(r.url), href))
    assert hashlib.sha256(download.content).hexdigest() == str(href).split("=")[1]
    for path, location in [
        ("/simple/alpha", "/simple/alpha/"),
        ("/simple/ALPHA/", "/simple/alpha/"),
    ]:
        r = client.get(path)
        assert (r.status_code, r.headers["location"]) == (301, location)
    followed = client.get("/simple/Alpha", follow_redirects=True, headers={"Accept": JSON_TYPE})
    assert followed.json()["name"] == "alpha"
    assert client.get("/simple/", headers={"Accept": JSON_TYPE}).json()["projects"][0] == {
        "name": "Alpha"
    }
    for missing in (
        "/simple/nope/",
        "/files/nope.whl",
        "/elsewhere",
        "/files/..%2Fsimple%2Findex.html",
        "/files/..",
    ):
        assert client.get(missing).status_code == 404
    assert [r.status for r in server.requests][-5:] == [404] * 5


def test_server_ranges_head_and_etag(served) -> None:  # type: ignore[no-untyped-def]
    index, _, client = served
    whl = index.file("big-1-py3-none-any.whl")
    data = whl.path.read_bytes()
    url = f"/files/{whl.filename}"
    head = client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == whl.size
    assert head.headers["accept-ranges"] == "bytes"
    for spec, (start, end) in {
        "bytes=10-19": (10, 19),
        "bytes=-100": (whl.size - 100, whl.size - 1),
        f"bytes={whl.size - 5}-": (whl.size - 5, whl.size - 1),
        f"bytes=0-{whl.size + 100}": (0, whl.size - 1),
    }.items():
        r = client.get(url, headers={"Range": spec})
        assert r.status_code == 206, spec
        assert r.headers["content-range"] == f"bytes {start}-{end}/{whl.size}"
        assert r.content == data[start : end + 1]
    for bad in (f"bytes={whl.size}-", "bytes=-0", "bytes=9-3"):
        r = client.get(url, headers={"Range": bad})
        assert (r.status_code, r.headers["content-range"]) == (416, f"bytes */{whl.size}")
    etag = client.get("/simple/beta/").headers["etag"]
    r = client.get("/simple/beta/", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    assert client.get("/simple/beta/", headers={"If-None-Match": '"other"'}).status_code == 200
    r = client.get(url, headers={"If-None-Match": client.head(url).headers["etag"]})
    assert r.status_code == 304


class _RangeReader(io.RawIOBase):
    """A seekable read-only file over HTTP range requests (what a lazy wheel reader does)."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        self.client, self.url, self.pos = client, url, 0
        self.size = int(client.head(url).headers["content-length"])

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = [offset, self.pos + offset, self.size + offset][whence]
        return self.pos

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        if self.pos >= self.size or not len(buffer):
            return 0
        end = min(self.pos + len(buffer), self.size) - 1
        r = self.client.get(self.url, headers={"Range": f"bytes={self.pos}-{end}"})
        assert r.status_code == 206
        buffer[: len(r.content)] = r.content
        self.pos += len(r.content)
        return len(r.content)


def test_range_read_of_metadata_in_a_5mb_wheel(served) -> None:  # type: ignore[no-untyped-def]
    index, server, client = served
    whl = index.file("big-1-py3-none-any.whl")
    server.reset()
    reader = _RangeReader(client, f"/files/{whl.filename}")
    with zipfile.ZipFile(reader) as wheel:
        metadata = wheel.read("big-1.dist-info/METADATA")
    reader.close()
    assert metadata == whl.metadata_path.read_bytes()  # type: ignore[union-attr]
    assert server.bytes_sent < 64_000 < 5_000_000 < whl.size
    assert {r.status for r in server.requests} == {200, 206}


def test_fault_injection_and_log(served) -> None:  # type: ignore[no-untyped-def]
    index, server, client = served
    server.reset()
    server.fail_next(2, status=503)
    assert [client.get("/simple/beta/").status_code for _ in range(3)] == [503, 503, 200]
    assert [(r.method, r.path, r.status) for r in server.requests] == [
        ("GET", "/simple/beta/", 503),
        ("GET", "/simple/beta/", 503),
        ("GET", "/simple/beta/", 200),
    ]
    assert server.requests[0].headers["host"] == f"127.0.0.1:{server.port}"
    assert server.bytes_sent > 0
    server.reset()
    assert (server.requests, server.bytes_sent) == ([], 0)

    server.truncate_next(1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(f"/files/{index.files[0].filename}")
    assert client.get(f"/files/{index.files[0].filename}").status_code == 200

    server.delay(1.0)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/simple/beta/", timeout=0.2)
    server.delay(0)
    assert client.get("/simple/beta/").status_code == 200


def test_basic_auth(tmp_path: Path) -> None:
    index = build_index(tmp_path, [Project(name="a", files=release("1"))])
    with IndexServer(index, require_auth=("user", "s3cret")) as server, httpx.Client() as client:
        denied = client.get(server.url + "/a/")
        assert denied.status_code == 401 and "Basic" in denied.headers["www-authenticate"]
        assert client.get(server.url + "/a/", auth=("user", "wrong")).status_code == 401
        assert client.get(server.url + "/a/", auth=("user", "s3cret")).status_code == 200
        token = base64.b64encode(b"user:s3cret").decode()
        assert server.requests[-1].headers["authorization"] == f"Basic {token}"
        assert server.auth_url("user", "s3cret").startswith("http://user:s3cret@127.0.0.1:")


def test_server_survives_kept_alive_clients_at_close(tmp_path: Path) -> None:
    index = build_index(tmp_path, [Project(name="a", files=release("1"))])
    server = IndexServer(index).start()
    client = httpx.Client()
    assert client.get(server.url + "/a/").status_code == 200  # connection stays pooled
    server.close()  # must not hang on the kept-alive connection
    client.close()


# --- packse ------------------------------------------------------------------------------


def test_packse_scenario_rules(packse_scenarios: Path) -> None:
    s = load_scenario(packse_scenarios / "local" / "local-used-without-sdist.toml")
    assert s.requires == ("a==1.2.3",) and s.expected.packages == {"a": "1.2.3+foo"}
    (a,) = s.projects
    assert [(f.version, f.kind) for f in a.files] == [
        ("1.2.3", "py3-any-macosx_10_0_ppc64"),
        ("1.2.3+foo", "py3-none-any"),
        ("1.2.3+foo", "sdist"),
    ]
    assert {f.requires_python for f in a.files} == {">=3.8"}
    s = load_scenario(packse_scenarios / "wheels" / "no-wheels-no-build.toml")
    assert [f.kind for f in s.projects[0].files] == ["sdist"]
    assert s.resolver_options.no_build == ("a",) and not s.expected.satisfiable
    s = load_scenario(
        packse_scenarios / "requires_python" / "incompatible-python-compatible-override.toml"
    )
    assert (s.resolver_options.python, s.environment.python, s.target_python) == (
        "3.11",
        "3.9",
        "3.11",
    )
    s = load_scenario(packse_scenarios / "yanked" / "package-only-yanked.toml")
    assert all(f.yanked is True for p in s.projects for f in p.files if f.version == "1.0.0")
    s = load_scenario(packse_scenarios / "extras" / "extra-required.toml")
    assert any(f.extras for p in s.projects for f in p.files)
    s = load_scenario(packse_scenarios / "prereleases" / "package-prereleases-global-boundary.toml")
    assert s.resolver_options.prereleases is True


def test_every_packse_scenario_builds(packse_scenarios: Path, tmp_path: Path) -> None:
    scenarios = list(iter_scenarios(packse_scenarios))
    assert len(scenarios) > 100
    for i, scenario in enumerate(scenarios):
        index = build_index(tmp_path / str(i), scenario.projects)
        assert len(index.projects) == len(scenario.projects), scenario.name


def test_bad_scenario_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\n[expected]\nsatisfiable = true\n[packages.a.versions."1"]\nwheel_tag = 1\n'
    )
    with pytest.raises(ScenarioError, match=r"bad\.toml: packages\.a\.versions\.'1': unknown keys"):
        load_scenario(bad)
    bad.write_text("name = ")
    with pytest.raises(ScenarioError, match=r"bad\.toml"):
        load_scenario(bad)


# --- pip against the fixtures (slow) -----------------------------------------------------


def test_pip_env_is_isolated(pip_env: dict[str, str]) -> None:
    assert {k for k in pip_env if k.upper().startswith("PIP_")} == {
        "PIP_CONFIG_FILE",
        "PIP_DISABLE_PIP_VERSION_CHECK",
        "PIP_NO_INPUT",
    }


def _report(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert proc.returncode == 0, proc.stderr
    installs = json.loads(proc.stdout)["install"]
    return {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in installs}


@pytest.mark.slow
def test_pip_installs_wheels_and_builds_sdists_offline(tmp_path: Path, make_venv, run_pip) -> None:  # type: ignore[no-untyped-def]
    index = build_index(
        tmp_path / "idx",
        [
            Project(name="top", files=release("1.0", requires_dist=["Mid.Dle"])),
            Project(name="Mid.Dle", files=release("3.0", dynamic=True, requires_dist=["leaf"])),
            Project(name="leaf", files=release("0.5")),
        ],
    )
    python = make_venv()
    proc = run_pip(
        "install", "--no-index", "--find-links", str(index.files_dir),
        "--no-binary", "mid-dle", "top", python=python,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Building wheel for Mid.Dle" in proc.stdout
    check = (
        "import top, mid_dle, leaf; print(top.__version__, mid_dle.__version__, leaf.__version__)"
    )
    out = subprocess.run([str(python), "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1.0", "3.0", "0.5"]


@pytest.mark.slow
def test_pip_resolves_against_served_and_file_index(tmp_path: Path, index_server, run_pip) -> None:  # type: ignore[no-untyped-def]
    index = build_index(tmp_path / "idx", _projects())
    server = index_server(index)
    expected = {"alpha": "1.0", "beta": "1.0"}  # 2.0 needs Python >= 3.99; 1.5/1.6 yanked
    for url in (server.url, index.file_url):
        proc = run_pip(
            "install", "--dry-run", "--quiet", "--report", "-", "--index-url", url, "alpha"
        )
        assert _report(proc) == expected
    paths = server.paths("GET")
    assert "/simple/alpha/" in paths and "/files/alpha-1.0-py3-none-any.whl.metadata" in paths
    assert not any(p.endswith("alpha-1.0-py3-none-any.whl") for p in paths)  # PEP 658 used
    json_pages = [r for r in server.requests if r.path == "/simple/alpha/"]
    assert "application/vnd.pypi.simple.v1+json" in json_pages[0].headers["accept"]


@pytest.mark.slow
def test_pip_uses_credentials_from_the_index_url(tmp_path: Path, index_server, run_pip) -> None:  # type: ignore[no-untyped-def]
    index = build_index(tmp_path / "idx", [Project(name="a", files=release("1"))])
    server = index_server(index, require_auth=("u", "p"))
    proc = run_pip(
        "install",
        "--dry-run",
        "--quiet",
        "--report",
        "-",
        "--index-url",
        server.auth_url("u", "p"),
        "a",
    )
    assert _report(proc) == {"a": "1"}
    assert {r.status for r in server.requests} == {200}
