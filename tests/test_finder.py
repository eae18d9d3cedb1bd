"""Tests of advisor.index.finder against real fixture indexes (HTTP on 127.0.0.1 and file://)."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name

from advisor.errors import IndexUnavailable, InputError
from advisor.index.cache import Cache
from advisor.index.fetch import Fetcher, NetworkSettings
from advisor.index.finder import IndexStrategy, PackageFinder
from advisor.models import ProjectState, ProjectStatus
from tests.support.index import Project, release

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from advisor.models import DistFile
    from tests.support.index import FixtureIndex
    from tests.support.server import IndexServer

WHEN = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(NetworkSettings(timeout=5.0, retries=0)) as f:
        yield f


@pytest.fixture
def first(fixture_index_factory: Callable[..., FixtureIndex]) -> FixtureIndex:
    return fixture_index_factory(
        [
            Project(name="Shared", files=release("1.0", upload_time=WHEN)),
            Project(name="only1", files=release("1.0")),
        ],
        name="first",
    )


@pytest.fixture
def second(fixture_index_factory: Callable[..., FixtureIndex]) -> FixtureIndex:
    return fixture_index_factory(
        [
            Project(name="shared", files=release("2.0", upload_time=WHEN)),
            Project(name="only2", files=release("1.0", sdist=False)),
        ],
        name="second",
    )


def _versions(files: tuple[DistFile, ...]) -> list[str]:
    return sorted({str(f.parsed.version) for f in files if f.parsed})


def _filenames(index: FixtureIndex, project: str) -> list[str]:
    return [f.filename for f in index.project_files(project)]


# -- lookup ---------------------------------------------------------------------------------


def test_file_index(fetcher: Fetcher, first: FixtureIndex) -> None:
    finder = PackageFinder(fetcher=fetcher, indexes=[first.file_url])
    files = finder.find("SHARED")
    assert [f.filename for f in files] == _filenames(first, "shared")
    assert all(f.index == first.file_url and f.sha256 for f in files)
    assert finder.find("no-such-project") == ()
    assert finder.find("shared") is files  # memoised
    assert finder.requests == 2


def test_http_index_asks_for_json(
    fetcher: Fetcher, first: FixtureIndex, index_server: Callable[..., IndexServer]
) -> None:
    server = index_server(first)
    finder = PackageFinder(fetcher=fetcher, indexes=[server.url])
    files = finder.find("shared")
    assert [f.filename for f in files] == _filenames(first, "shared")
    assert all(f.upload_time == WHEN for f in files)  # only the JSON page carries it
    assert all(f.url.startswith(server.base_url + "/files/") for f in files)
    (request,) = server.requests
    assert request.path == "/simple/shared/"
    assert request.headers["accept"].startswith("application/vnd.pypi.simple.v1+json")


def test_first_index_wins_and_later_indexes_are_not_asked(
    fetcher: Fetcher,
    first: FixtureIndex,
    second: FixtureIndex,
    index_server: Callable[..., IndexServer],
) -> None:
    one, two = index_server(first), index_server(second)
    finder = PackageFinder(fetcher=fetcher, indexes=[one.url, two.url])
    assert _versions(finder.find("shared")) == ["1.0"]
    assert two.paths() == []  # dependency-confusion safety: index 2 never asked for it
    assert _versions(finder.find("only2")) == ["1.0"]
    assert one.paths() == ["/simple/shared/", "/simple/only2/"]
    assert two.paths() == ["/simple/only2/"]


def test_unsafe_best_match_merges_every_index(
    fetcher: Fetcher, first: FixtureIndex, second: FixtureIndex
) -> None:
    finder = PackageFinder(
        fetcher=fetcher,
        indexes=[first.file_url, second.file_url],
        strategy=IndexStrategy.UNSAFE_BEST_MATCH,
    )
    files = finder.find("shared")
    assert _versions(files) == ["1.0", "2.0"]
    assert {f.index for f in files} == {first.file_url, second.file_url}


def test_pinned_index_is_the_only_one(
    fetcher: Fetcher, first: FixtureIndex, second: FixtureIndex
) -> None:
    finder = PackageFinder(
        fetcher=fetcher,
        indexes=[first.file_url, second.file_url],
        strategy=IndexStrategy.UNSAFE_BEST_MATCH,
        pinned={canonicalize_name("shared"): second.file_url},
    )
    assert _versions(finder.find("shared")) == ["2.0"]
    assert finder.find("only1") != ()  # other projects still see every index


def test_missing_file_index_warns_once_and_is_skipped(
    fetcher: Fetcher, first: FixtureIndex, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = (tmp_path / "nowhere" / "simple").as_uri()
    finder = PackageFinder(fetcher=fetcher, indexes=[missing, first.file_url])
    with caplog.at_level(logging.WARNING, logger="advisor.index"):
        assert _versions(finder.find("shared")) == ["1.0"]
        assert _versions(finder.find("only1")) == ["1.0"]
    warnings = [r for r in caplog.records if r.name == "advisor.index"]
    assert len(warnings) == 1
    assert "nowhere" in warnings[0].getMessage()


def test_find_links_are_merged_and_read_once(
    fetcher: Fetcher,
    first: FixtureIndex,
    second: FixtureIndex,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    single = next(f.path for f in second.files if f.project == "only2")
    finder = PackageFinder(
        fetcher=fetcher,
        indexes=[first.file_url],
        find_links=[str(second.files_dir), str(single), str(tmp_path / "absent")],
    )
    with caplog.at_level(logging.WARNING, logger="advisor.index"):
        assert _versions(finder.find("shared")) == ["1.0", "2.0"]  # index + find-links
        before = finder.requests
        only2 = finder.find("only2")
    assert len(only2) == 1  # the folder and the single-file location give the same URL
    assert finder.requests == before + 1  # one index page; find-links not read again
    assert sum("absent" in r.getMessage() for r in caplog.records) == 1


def test_find_links_over_http(
    fetcher: Fetcher, second: FixtureIndex, index_server: Callable[..., IndexServer]
) -> None:
    server = index_server(second)
    # The index's project page is an HTML page linking files: usable as a find-links URL.
    finder = PackageFinder(fetcher=fetcher, indexes=[], find_links=[server.url + "/shared/"])
    assert _versions(finder.find("shared")) == ["2.0"]


def test_invalid_name_is_an_input_error(fetcher: Fetcher, first: FixtureIndex) -> None:
    finder = PackageFinder(fetcher=fetcher, indexes=[first.file_url])
    with pytest.raises(InputError, match="invalid project name"):
        finder.find("../etc")


def test_concurrent_finds_fetch_once(
    fetcher: Fetcher, first: FixtureIndex, index_server: Callable[..., IndexServer]
) -> None:
    server = index_server(first)
    server.delay(0.2)
    finder = PackageFinder(fetcher=fetcher, indexes=[server.url])
    barrier = threading.Barrier(8)

    def look(_: int) -> tuple[DistFile, ...]:
        barrier.wait()
        return finder.find("shared")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(look, range(8)))
    assert all(r is results[0] for r in results)
    assert server.paths() == ["/simple/shared/"]


def test_prefetch_is_concurrent_and_defers_errors(
    fetcher: Fetcher, first: FixtureIndex, index_server: Callable[..., IndexServer]
) -> None:
    server = index_server(first)
    server.delay(0.3)
    finder = PackageFinder(fetcher=fetcher, indexes=[server.url])
    start = time.monotonic()
    finder.prefetch(["shared", "only1", "nothing", "only1"])
    assert time.monotonic() - start < 0.8  # three pages in parallel, not 0.9 s in a row
    assert finder.requests == 3
    server.delay(0)
    server.fail_next(1, status=500)
    finder.prefetch(["broken"])  # no exception here...
    with pytest.raises(IndexUnavailable, match="HTTP 500"):
        finder.find("broken")  # ...but here
    assert _versions(finder.find("shared")) == ["1.0"]
    assert finder.requests == 4


# -- cache ----------------------------------------------------------------------------------


@pytest.fixture
def served(first: FixtureIndex, index_server: Callable[..., IndexServer]) -> IndexServer:
    return index_server(first)


def _finder(
    fetcher: Fetcher, server: IndexServer, cache: Cache, **options: object
) -> PackageFinder:
    return PackageFinder(fetcher=fetcher, indexes=[server.url], cache=cache, **options)  # type: ignore[arg-type]


def test_warm_cache_makes_no_request(fetcher: Fetcher, served: IndexServer, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    cold = _finder(fetcher, served, cache)
    files = cold.find("shared")
    assert cold.find("absent") == ()
    assert len(served.requests) == 2
    warm = _finder(fetcher, served, cache)
    assert warm.find("shared") == files  # equal values, upload times included
    assert warm.find("absent") == ()  # a 404 is cached too
    assert warm.requests == 0
    assert len(served.requests) == 2


def test_expired_entry_is_revalidated_with_etag(
    fetcher: Fetcher, served: IndexServer, tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    files = _finder(fetcher, served, cache).find("shared")
    later = _finder(fetcher, served, cache, now=lambda: time.time() + 3600)
    assert later.find("shared") == files
    last = served.requests[-1]
    assert last.status == 304 and "if-none-match" in last.headers
    # The 304 reset the entry's age: a run now needs no request at all.
    assert _finder(fetcher, served, cache).find("shared") == files
    assert len(served.requests) == 2


def test_server_max_age_overrides_the_ttl(
    fetcher: Fetcher,
    first: FixtureIndex,
    index_server: Callable[..., IndexServer],
    tmp_path: Path,
) -> None:
    server = index_server(first, max_age=0)
    cache = Cache(tmp_path / "cache")
    _finder(fetcher, server, cache, page_ttl=3600).find("shared")
    _finder(fetcher, server, cache, page_ttl=3600).find("shared")
    assert [r.status for r in server.requests] == [200, 304]


def test_refresh_always_revalidates(fetcher: Fetcher, served: IndexServer, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    _finder(fetcher, served, cache).find("shared")
    _finder(fetcher, served, cache, refresh=True).find("shared")
    assert [r.status for r in served.requests] == [200, 304]


def test_changed_page_replaces_the_entry(
    fetcher: Fetcher, first: FixtureIndex, served: IndexServer, tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    _finder(fetcher, served, cache).find("shared")
    (first.simple_dir / "shared" / "index.json").write_text(
        '{"meta": {"api-version": "1.0"}, "name": "shared", "files": []}'
    )
    assert _finder(fetcher, served, cache, refresh=True).find("shared") == ()
    assert _finder(fetcher, served, cache).find("shared") == ()
    assert [r.status for r in served.requests] == [200, 200]


def test_offline_reads_the_cache_only(
    fetcher: Fetcher, served: IndexServer, tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    files = _finder(fetcher, served, cache).find("shared")
    served.close()
    old = _finder(fetcher, served, cache, offline=True, now=lambda: time.time() + 10**6)
    assert old.find("shared") == files  # however stale
    with pytest.raises(IndexUnavailable, match="not in the cache and --offline is set") as info:
        old.find("only1")
    assert info.value.url == served.url + "/only1/"
    assert old.requests == 0
    no_cache = PackageFinder(fetcher=fetcher, indexes=[served.url], offline=True)
    with pytest.raises(IndexUnavailable, match="--offline"):
        no_cache.find("shared")


def test_offline_still_reads_file_indexes(fetcher: Fetcher, first: FixtureIndex) -> None:
    finder = PackageFinder(fetcher=fetcher, indexes=[first.file_url], offline=True)
    assert _versions(finder.find("shared")) == ["1.0"]


def test_corrupt_entry_is_refetched(fetcher: Fetcher, served: IndexServer, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    files = _finder(fetcher, served, cache).find("shared")
    (entry,) = [p for p in (tmp_path / "cache" / "pages").rglob("*") if p.is_file()]
    blob = bytearray(entry.read_bytes())
    blob[-3] ^= 0xFF
    entry.write_bytes(bytes(blob))
    assert _finder(fetcher, served, cache).find("shared") == files
    assert len(served.requests) == 2
    assert _finder(fetcher, served, cache).find("shared") == files  # rewritten, healthy
    assert len(served.requests) == 2


def test_foreign_cache_payload_is_a_miss(
    fetcher: Fetcher, served: IndexServer, tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    cache.write("pages", served.url + "/shared/", b"\x93not our layout")
    assert _versions(_finder(fetcher, served, cache).find("shared")) == ["1.0"]
    assert len(served.requests) == 1


def test_file_index_pages_are_parsed_once_per_change(
    fetcher: Fetcher, first: FixtureIndex, tmp_path: Path
) -> None:
    cache = Cache(tmp_path / "cache")
    cold = PackageFinder(fetcher=fetcher, indexes=[first.file_url], cache=cache)
    files = cold.find("shared")
    assert cold.requests == 1 and cache.info().entries == 1
    warm = PackageFinder(fetcher=fetcher, indexes=[first.file_url], cache=cache)
    assert warm.find("shared") == files
    assert warm.requests == 0  # one stat, no read, no parse
    page = first.simple_dir / "shared" / "index.html"
    page.write_text(page.read_text() + "\n")  # the page changed on disk: read it again
    again = PackageFinder(fetcher=fetcher, indexes=[first.file_url], cache=cache)
    assert again.find("shared") == files
    assert again.requests == 1


# -- credentials ----------------------------------------------------------------------------


def test_credentials_never_leak(
    first: FixtureIndex, index_server: Callable[..., IndexServer], tmp_path: Path
) -> None:
    server = index_server(first, require_auth=("carol", "hunter22"))
    cache = Cache(tmp_path / "cache")
    with Fetcher(NetworkSettings(timeout=5.0, retries=0)) as fetcher:
        finder = PackageFinder(
            fetcher=fetcher, indexes=[server.auth_url("carol", "hunter22")], cache=cache
        )
        files = finder.find("shared")
        assert files
        for f in files:
            assert "hunter22" not in repr(f) and "carol" not in repr(f)
            assert fetcher.get(f.url).status == 200  # the credentials still apply to files
        for entry in (tmp_path / "cache").rglob("*"):
            if entry.is_file():
                assert b"hunter22" not in entry.read_bytes()
        server.fail_next(1, status=500)
        with pytest.raises(IndexUnavailable) as info:
            finder.find("only1")
    assert "hunter22" not in str(info.value) and "carol" not in str(info.value)
    assert info.value.url == server.url + "/only1/"


# -- PEP 792 project status -----------------------------------------------------------------


def test_project_status_comes_with_the_page_and_is_cached(
    fetcher: Fetcher,
    fixture_index_factory: Callable[..., FixtureIndex],
    index_server: Callable[..., IndexServer],
    tmp_path: Path,
) -> None:
    index = fixture_index_factory(
        [
            Project(name="old", files=release("1.0"), status="archived", status_reason="done"),
            Project(name="plain", files=release("1.0")),
        ]
    )
    server = index_server(index)
    cache = Cache(tmp_path / "cache")
    archived = ProjectStatus(state=ProjectState.ARCHIVED, reason="done")
    for location in (server.url, index.file_url):  # JSON over HTTP, HTML from file://
        cold = PackageFinder(fetcher=fetcher, indexes=[location], cache=cache)
        assert cold.project_status("old") == archived
        assert cold.project_status("plain") is None
        assert cold.requests == 2  # the status came with the files' page
        warm = PackageFinder(fetcher=fetcher, indexes=[location], cache=cache)
        assert warm.project_status("Old") == archived  # from the cache, no request
        assert warm.project_status("plain") is None
        assert warm.requests == 0
    assert len(server.requests) == 2


def test_project_status_from_the_index_the_files_come_from(
    fetcher: Fetcher, fixture_index_factory: Callable[..., FixtureIndex]
) -> None:
    one = fixture_index_factory([Project(name="x", files=release("1.0"), status="deprecated")])
    two = fixture_index_factory([Project(name="x", files=release("2.0"), status="archived")])
    finder = PackageFinder(fetcher=fetcher, indexes=[two.file_url, one.file_url])
    assert finder.project_status("x") == ProjectStatus(state=ProjectState.ARCHIVED)
    assert _versions(finder.find("x")) == ["2.0"]  # first-index: the second is not asked
