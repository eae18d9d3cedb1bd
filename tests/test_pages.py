"""Tests of advisor.index.pages: PEP 691 JSON and PEP 503 HTML pages, find-links listings."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import NormalizedName, canonicalize_name

from advisor.errors import IndexUnavailable
from advisor.index.fetch import read_directory_listing
from advisor.index.pages import parse_links_listing, parse_project_page
from advisor.models import ProjectPage, ProjectState, ProjectStatus
from tests.support.index import FileSpec, Project, build_index, release

if TYPE_CHECKING:
    from pathlib import Path

    from tests.support.index import FixtureIndex

JSON = "application/vnd.pypi.simple.v1+json"
WHEN = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def _name(text: str) -> NormalizedName:
    return canonicalize_name(text)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FixtureIndex:
    return build_index(
        tmp_path_factory.mktemp("pages"),
        [
            Project(
                name="Alpha.Pkg",
                files=(
                    *release("1.0", upload_time=WHEN),
                    *release("2.0", requires_python=">=3.10,<4", sdist=False),
                    FileSpec(version="2.1", yanked="broken <build> & more"),
                    FileSpec(version="2.2", yanked=True, metadata_file=False),
                ),
            ),
            Project(name="beta", files=release("0.1")),
        ],
    )


def _parse(index: FixtureIndex, project: str, flavour: str) -> tuple:  # type: ignore[type-arg]
    folder = index.simple_dir / project
    page_url = folder.as_uri() + "/"
    if flavour == "json":
        content, ctype = (folder / "index.json").read_bytes(), JSON
    else:
        content, ctype = (folder / "index.html").read_bytes(), "text/html; charset=utf-8"
    page = parse_project_page(
        content, content_type=ctype, page_url=page_url, index=index.file_url, name=_name(project)
    )
    assert page.name == project
    assert page.index == index.file_url
    return page.files


@pytest.mark.parametrize("flavour", ["html", "json"])
def test_project_page_fields(index: FixtureIndex, flavour: str) -> None:
    files = _parse(index, "alpha-pkg", flavour)
    expected = index.project_files("alpha-pkg")
    assert [f.filename for f in files] == [f.filename for f in expected]
    for got, want in zip(files, expected, strict=True):
        assert got.url == want.path.as_uri()  # relative href resolved, fragment dropped
        assert got.hashes == (("sha256", want.sha256),)
        assert got.requires_python == want.spec.requires_python
        assert got.yanked == want.spec.yanked_reason
        if want.metadata_sha256:
            assert got.core_metadata == (("sha256", want.metadata_sha256),)
        else:
            assert got.core_metadata is None
        assert got.index == index.file_url
    by_version = {str(f.parsed.version): f for f in files if f.parsed}
    assert by_version["2.0"].requires_python == ">=3.10,<4"  # HTML entities unescaped
    assert by_version["2.1"].yanked == "broken <build> & more"
    assert by_version["2.2"].yanked == ""


def test_json_only_fields(index: FixtureIndex) -> None:
    files = _parse(index, "alpha-pkg", "json")
    sizes = {f.filename: f.size for f in files}
    assert sizes == {f.filename: f.size for f in index.project_files("alpha-pkg")}
    assert {f.upload_time for f in files if str(f.parsed.version) == "1.0"} == {WHEN}  # type: ignore[union-attr]
    assert {f.upload_time for f in files if str(f.parsed.version) != "1.0"} == {None}  # type: ignore[union-attr]


def test_html_base_href_fragments_and_other_projects_dropped() -> None:
    page = b"""<!DOCTYPE html><html><head><base href="https://files.test/base/"></head><body>
    <a href="alpha-1.0-py3-none-any.whl#sha256=ABCDEF">alpha-1.0-py3-none-any.whl</a>
    <a href="../other/alpha-1.1.tar.gz#md5=0123" data-requires-python="&gt;=3.8"
       data-dist-info-metadata="true">alpha-1.1.tar.gz</a>
    <a href="/x/alpha-1.2.tar.gz" data-core-metadata="sha256=aa" data-dist-info-metadata="false"
       data-yanked>y</a>
    <a href="beta-1.0-py3-none-any.whl">another project</a>
    <a href="alpha-1.0.exe">not a wheel or sdist</a>
    <a>no href</a>
    </body></html>"""
    files = parse_project_page(
        page,
        content_type="text/html",
        page_url="https://u:p@index.test/simple/alpha/",
        index="https://u:p@index.test/simple",
        name=_name("alpha"),
    ).files
    assert [f.url for f in files] == [
        "https://files.test/base/alpha-1.0-py3-none-any.whl",
        "https://files.test/other/alpha-1.1.tar.gz",
        "https://files.test/x/alpha-1.2.tar.gz",
    ]
    assert files[0].hashes == (("sha256", "abcdef"),)
    assert files[0].core_metadata is None and files[0].yanked is None
    assert files[1].hashes == (("md5", "0123"),)
    assert files[1].requires_python == ">=3.8"
    assert files[1].core_metadata == ()
    assert files[2].core_metadata == (("sha256", "aa"),)  # PEP 714: the new name wins
    assert files[2].yanked == ""
    assert {f.index for f in files} == {"https://index.test/simple"}


def test_json_relative_urls_credentials_and_odd_entries() -> None:
    data = {
        "meta": {"api-version": "1.3"},
        "name": "alpha",
        "files": [
            {
                "filename": "alpha-1.0.tar.gz",
                "url": "../../files/alpha-1.0.tar.gz",
                "hashes": {"SHA256": "AB", "blake2b_256": "cd"},
                "requires-python": "",
                "dist-info-metadata": {"sha256": "ee"},
                "yanked": False,
                "size": 12,
                "upload-time": "2024-01-02T03:04:05.123456Z",
            },
            {
                "filename": "alpha-1.1.tar.gz",
                "url": "https://user:tok@cdn.test/alpha-1.1.tar.gz",
                "hashes": {},
                "core-metadata": True,
                "yanked": "reason",
                "upload-time": "garbage",
            },
            "not a file",
            {"filename": "alpha-1.2.tar.gz"},  # no url: skipped
        ],
    }
    files = parse_project_page(
        json.dumps(data).encode(),
        content_type=JSON,
        page_url="https://u:secret@index.test/simple/alpha/",
        index="https://u:secret@index.test/simple/",
        name=_name("alpha"),
    ).files
    assert [f.url for f in files] == [
        "https://index.test/files/alpha-1.0.tar.gz",
        "https://cdn.test/alpha-1.1.tar.gz",
    ]
    first, second = files
    assert first.hashes == (("blake2b_256", "cd"), ("sha256", "ab"))
    assert first.core_metadata == (("sha256", "ee"),)
    assert first.size == 12
    assert first.upload_time == datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert second.core_metadata == () and second.yanked == "reason"
    assert second.upload_time is None
    assert all("secret" not in f.index and "tok" not in f.url for f in files)


@pytest.mark.parametrize(
    ("content", "ctype", "reason"),
    [
        (b"{not json", JSON, "invalid JSON"),
        (b"[]", JSON, "not an object"),
        (b'{"files": []}', JSON, "api-version"),
        (b'{"meta": {"api-version": "2.0"}, "files": []}', JSON, "unsupported api-version"),
        (b'{"meta": {"api-version": "1.0"}, "files": {}}', JSON, "not a list"),
        (
            b'<meta name="pypi:repository-version" content="2.0"><a href="a-1.0.tar.gz">a</a>',
            "text/html",
            "unsupported api-version",
        ),
    ],
)
def test_malformed_pages_raise_with_the_redacted_url(
    content: bytes, ctype: str, reason: str
) -> None:
    with pytest.raises(IndexUnavailable, match=reason) as info:
        parse_project_page(
            content,
            content_type=ctype,
            page_url="https://u:pw@index.test/simple/a/",
            index="https://index.test/simple",
            name=_name("a"),
        )
    assert info.value.url == "https://index.test/simple/a/"
    assert "pw" not in str(info.value)


def test_links_listing_of_a_directory(index: FixtureIndex) -> None:
    resp = read_directory_listing(index.files_dir.as_uri())
    files = parse_links_listing(
        resp.content, content_type="text/html", page_url=resp.url, index=index.files_dir.as_uri()
    )
    assert sorted(f.filename for f in files) == sorted(f.filename for f in index.files)
    assert {f.parsed.name for f in files if f.parsed} == {"alpha-pkg", "beta"}
    assert all(f.url.startswith(index.files_dir.as_uri() + "/") for f in files)


def test_links_listing_from_a_find_links_page() -> None:
    page = b'<a href="https://host.test/w/pkg-1.0-py3-none-any.whl#sha256=00">x</a><a href="sub/">'
    files = parse_links_listing(
        page, content_type="text/html", page_url="https://host.test/links.html", index="L"
    )
    assert [(f.filename, f.hashes, f.index) for f in files] == [
        ("pkg-1.0-py3-none-any.whl", (("sha256", "00"),), "L")
    ]


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)


@given(
    requires_python=st.one_of(st.none(), _text.filter(lambda s: s.strip() == s and s != "")),
    yanked=st.one_of(st.none(), _text),
    digest=st.text(alphabet="0123456789abcdef", min_size=1, max_size=64),
    version=st.integers(min_value=0, max_value=10_000),
)
def test_html_attributes_round_trip(
    requires_python: str | None, yanked: str | None, digest: str, version: int
) -> None:
    filename = f"alpha-{version}.tar.gz"
    attrs = [f'href="../f/{filename}#sha256={digest}"']
    if requires_python is not None:
        attrs.append(f'data-requires-python="{html.escape(requires_python)}"')
    if yanked is not None:
        attrs.append(f'data-yanked="{html.escape(yanked)}"')
    page = f"<html><body><a {' '.join(attrs)}>{filename}</a></body></html>".encode()
    (f,) = parse_project_page(
        page,
        content_type="text/html",
        page_url="https://index.test/simple/alpha/",
        index="https://index.test/simple",
        name=_name("alpha"),
    ).files
    assert f.filename == filename
    assert f.hashes == (("sha256", digest),)
    assert f.requires_python == requires_python
    assert f.yanked == yanked


# -- PEP 792 project status ---------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["json", "html"])
def test_project_status_markers(tmp_path: Path, flavour: str) -> None:
    index = build_index(
        tmp_path,
        [
            Project(name="old", files=release("1.0"), status="archived", status_reason="done <&>"),
            Project(name="bad", files=release("1.0"), status="Quarantined"),
            Project(name="odd", files=release("1.0"), status="haunted"),
            Project(name="plain", files=release("1.0")),
        ],
    )
    pages = {name: _page(index, name, flavour) for name in ("old", "bad", "odd", "plain")}
    assert pages["old"].status == ProjectStatus(state=ProjectState.ARCHIVED, reason="done <&>")
    assert pages["bad"].status == ProjectStatus(state=ProjectState.QUARANTINED)
    # a marker PEP 792 does not define means nothing: active, the text kept
    assert pages["odd"].status == ProjectStatus(state=ProjectState.ACTIVE, other="haunted")
    assert pages["plain"].status is None
    assert [len(p.files) for p in pages.values()] == [2, 2, 2, 2]


def test_json_project_status_inside_meta_is_read_too() -> None:
    # the living specification once placed it inside meta by mistake
    page = {
        "meta": {"api-version": "1.4", "project-status": {"status": "deprecated"}},
        "name": "x",
        "files": [],
    }
    parsed = parse_project_page(
        json.dumps(page).encode(),
        content_type=JSON,
        page_url="https://example.invalid/simple/x/",
        index="https://example.invalid/simple",
        name=_name("x"),
    )
    assert parsed.status == ProjectStatus(state=ProjectState.DEPRECATED)
    page["project-status"] = {"status": 3}  # unusable beside meta: no status, no error
    parsed = parse_project_page(
        json.dumps(page).encode(),
        content_type=JSON,
        page_url="https://example.invalid/simple/x/",
        index="https://example.invalid/simple",
        name=_name("x"),
    )
    assert parsed.status is None


def _page(index: FixtureIndex, project: str, flavour: str) -> ProjectPage:
    folder = index.simple_dir / project
    if flavour == "json":
        content, ctype = (folder / "index.json").read_bytes(), JSON
    else:
        content, ctype = (folder / "index.html").read_bytes(), "text/html"
    return parse_project_page(
        content,
        content_type=ctype,
        page_url=folder.as_uri() + "/",
        index=index.file_url,
        name=_name(project),
    )
