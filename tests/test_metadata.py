"""Core metadata acquisition: PEP 658, range reads, whole wheels, sdists, the cache."""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import struct
import tarfile
import threading
import time
import zipfile
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.errors import MetadataUnavailable
from advisor.index.builds import BuildSettings
from advisor.index.cache import Cache
from advisor.index.fetch import Fetcher, NetworkSettings
from advisor.index.metadata import MetadataFetcher, _cache_key, parse_core_metadata
from advisor.models import DistFile
from tests.support.dists import make_wheel, render_metadata
from tests.support.index import FileSpec, Project

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.support.index import FixtureIndex, IndexedFile
    from tests.support.server import IndexServer

REQUIRES = ("beta>=2", 'gamma; python_version >= "3.8"')


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(NetworkSettings(retries=0, timeout=20)) as f:
        yield f


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


def _project(*files: FileSpec) -> Project:
    return Project(name="Alpha.Pkg", files=files)


def _spec(version: str = "1.0", **options: object) -> FileSpec:
    defaults: dict[str, object] = {
        "requires_dist": REQUIRES,
        "requires_python": ">=3.9",
        "extras": {"Fast": ["delta"]},
    }
    return FileSpec(version=version, **{**defaults, **options})  # type: ignore[arg-type]


def _dist(
    f: IndexedFile,
    base: str,
    *,
    pep658: bool = True,
    hashed: bool = True,
    metadata_hash: str | None = None,
) -> DistFile:
    """The DistFile an index at ``base`` (…/files/ lives under it) would list for ``f``."""
    core: tuple[tuple[str, str], ...] | None = None
    if pep658 and f.metadata_sha256 is not None:
        core = (("sha256", metadata_hash or f.metadata_sha256),)
    return DistFile(
        filename=f.filename,
        url=f"{base}/files/{quote(f.filename)}",
        index=f"{base}/simple",
        hashes=(("sha256", f.sha256),) if hashed else (),
        size=f.size,
        core_metadata=core,
    )


def _check_alpha(meta: object, *, source: str, version: str = "1.0") -> None:
    assert meta == parse_core_metadata(
        render_metadata(
            name="Alpha.Pkg",
            version=version,
            requires_dist=(*REQUIRES, 'delta; extra == "fast"'),
            requires_python=">=3.9",
            provides_extra=("fast",),
        ).encode(),
        source=source,
        filename=f"alpha_pkg-{version}-py3-none-any.whl",
    )


def _wheel_requests(server: IndexServer) -> list[str]:
    return [p for p in server.paths() if p.endswith(".whl")]


@pytest.fixture
def served(
    fixture_index_factory: Callable[..., FixtureIndex],
    index_server: Callable[..., IndexServer],
) -> Callable[..., tuple[FixtureIndex, IndexServer]]:
    def make(*files: FileSpec, **options: object) -> tuple[FixtureIndex, IndexServer]:
        index = fixture_index_factory([_project(*files)], **options)
        return index, index_server(index)

    return make


# --- parsing ---------------------------------------------------------------------------


def test_parse_is_lenient_on_junk_and_strict_on_requirements() -> None:
    text = (
        "Metadata-Version: 2.1\nName: Alpha_Pkg\nVersion: 1.0.0\nX-Junk: whatever\n"
        "Classifier: not :: checked\nRequires-Python: >=3.6.*\n"
        "Provides-Extra: Fast_Thing\nProvides-Extra: fast-thing\nRequires-Dist:  beta >=2 \n"
    )
    meta = parse_core_metadata(text.encode(), source="wheel", filename="alpha_pkg-1.0.tar.gz")
    assert meta.name == "alpha-pkg"
    assert meta.version == "1.0.0"
    assert meta.requires_dist == ("beta >=2",)
    assert meta.requires_python is None  # invalid specifier: ignored, as pip does
    assert meta.provides_extra == ("fast-thing",)

    bad = text + "Requires-Dist: gamma >= = 1\n"
    with pytest.raises(MetadataUnavailable, match=r"alpha_pkg-1.0.tar.gz: invalid Requires-Dist"):
        parse_core_metadata(bad.encode(), source="wheel", filename="alpha_pkg-1.0.tar.gz")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Metadata-Version: 2.1\nName: other\nVersion: 1.0\n", "file name says alpha-pkg"),
        ("Metadata-Version: 2.1\nName: alpha-pkg\nVersion: 2.0\n", "file name says alpha-pkg 1.0"),
        ("Metadata-Version: 2.1\nName: alpha-pkg\n", "no Name or no Version"),
        ("Metadata-Version: 2.1\nName: alpha-pkg\nVersion: one\n", "invalid Version"),
        ("\x00\x01 not metadata at all", "no Name or no Version"),
    ],
)
def test_parse_rejects_metadata_of_another_file(text: str, message: str) -> None:
    with pytest.raises(MetadataUnavailable, match=message):
        parse_core_metadata(
            text.encode(), source="wheel", filename="alpha_pkg-1.0-py3-none-any.whl"
        )


_REQ = st.builds(
    "{}{}".format,
    st.sampled_from(["beta", "Gamma.Two", "d_e"]),
    st.sampled_from(["", ">=1", " ==2.*", "[x]<3", '; python_version < "3.12"']),
)


@given(
    requires=st.lists(_REQ, max_size=5),
    extras=st.lists(st.sampled_from(["a", "B_c", "b-c"]), max_size=3),
)
def test_parse_round_trips_rendered_metadata(requires: list[str], extras: list[str]) -> None:
    text = render_metadata(
        name="Alpha.Pkg", version="1.0", requires_dist=requires, provides_extra=extras
    )
    meta = parse_core_metadata(text.encode(), source="x", filename="alpha_pkg-1.0.zip")
    assert meta.requires_dist == tuple(requires)
    assert len(meta.provides_extra) == len(set(meta.provides_extra))
    assert set(meta.provides_extra) == {e.lower().replace("_", "-") for e in extras}


# --- wheels ----------------------------------------------------------------------------


def test_pep658_reads_only_the_metadata_file(
    served: Callable[..., tuple[FixtureIndex, IndexServer]], fetcher: Fetcher
) -> None:
    index, server = served(_spec())
    with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
        meta = mf.get(_dist(index.files[0], server.base_url))
    _check_alpha(meta, source="pep658")
    assert server.paths() == [f"/files/{index.files[0].filename}.metadata"]


def test_range_read_of_a_large_wheel_transfers_little(
    served: Callable[..., tuple[FixtureIndex, IndexServer]], fetcher: Fetcher
) -> None:
    index, server = served(_spec(extra_size=5_000_000), metadata_files=False)
    wheel = index.files[0]
    assert wheel.size > 5_000_000
    with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
        meta = mf.get(_dist(wheel, server.base_url))
    _check_alpha(meta, source="range")
    server.close()  # joins the handler threads: the byte count is final
    assert 0 < server.bytes_sent < 100_000
    assert all(r.headers.get("range") for r in server.requests)


def test_range_read_fetches_a_central_directory_larger_than_the_tail(
    tmp_path: Path, index_server: Callable[..., IndexServer], fetcher: Fetcher
) -> None:
    files = {f"alpha_pkg/{'m' * 80}_{i:05d}.py": b"" for i in range(1500)}
    path = make_wheel(
        tmp_path / "files", name="alpha.pkg", version="1.0", requires_dist=REQUIRES, files=files
    )
    server = index_server(tmp_path)
    dist = DistFile(filename=path.name, url=server.file_url(path.name), index=server.url)
    with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
        meta = mf.get(dist)
    with zipfile.ZipFile(path) as zf:
        assert zf.start_dir < path.stat().st_size - 100_000  # a central directory > the tail
    assert meta.source == "range"
    assert meta.requires_dist == REQUIRES
    assert len(server.requests) >= 2
    server.close()
    assert 0 < server.bytes_sent < path.stat().st_size * 0.6


def _to_zip64(data: bytes) -> bytes:
    """Rewrite a plain zip with zip64 end records and zip64 offsets in every central entry."""
    eocd = data.rindex(b"PK\x05\x06")
    _, _, _, count, _, cd_size, cd_offset, _ = struct.unpack_from("<4s4H2LH", data, eocd)
    central, pos = bytearray(), cd_offset
    for _ in range(count):
        head = bytearray(data[pos : pos + 46])
        name_len, extra_len, comment_len = struct.unpack_from("<3H", head, 28)
        (offset,) = struct.unpack_from("<L", head, 42)
        rest = data[pos + 46 : pos + 46 + name_len + extra_len + comment_len]
        extra = struct.pack("<HHQ", 1, 8, offset)
        struct.pack_into("<H", head, 30, extra_len + len(extra))
        struct.pack_into("<L", head, 42, 0xFFFFFFFF)
        name, tail = rest[:name_len], rest[name_len:]
        central += head + name + extra + tail[:extra_len] + tail[extra_len:]
        pos += 46 + name_len + extra_len + comment_len
    record_at = cd_offset + len(central)
    record = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(central), cd_offset
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, record_at, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    del cd_size
    return data[:cd_offset] + bytes(central) + record + locator + end


def test_range_read_understands_zip64(
    tmp_path: Path, index_server: Callable[..., IndexServer], fetcher: Fetcher
) -> None:
    path = make_wheel(tmp_path / "files", name="alpha.pkg", version="1.0", requires_dist=REQUIRES)
    path.write_bytes(_to_zip64(path.read_bytes()))
    with zipfile.ZipFile(path) as zf:  # still a valid zip, now a zip64 one
        assert zf.testzip() is None
        assert zf.infolist()[-1].header_offset > 0
    server = index_server(tmp_path)
    dist = DistFile(filename=path.name, url=server.file_url(path.name), index=server.url)
    with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
        meta = mf.get(dist)
    assert (meta.source, meta.requires_dist) == ("range", REQUIRES)


def test_range_read_over_file_urls(
    fixture_index_factory: Callable[..., FixtureIndex], fetcher: Fetcher
) -> None:
    index = fixture_index_factory([_project(_spec(extra_size=200_000))], metadata_files=False)
    dist = _dist(index.files[0], index.root.as_uri())
    with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
        _check_alpha(mf.get(dist), source="range")


class _NoRangeHandler(SimpleHTTPRequestHandler):
    """The standard library's file server: it ignores ``Range`` and always answers 200."""

    paths: list[str]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.paths.append(self.path)
        super().do_GET()


@contextmanager
def _no_range_server(root: Path) -> Iterator[tuple[str, list[str]]]:
    paths: list[str] = []
    handler = type("Handler", (_NoRangeHandler,), {"paths": paths})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", paths
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()


def test_whole_wheel_when_the_server_ignores_range(
    fixture_index_factory: Callable[..., FixtureIndex], fetcher: Fetcher
) -> None:
    index = fixture_index_factory([_project(_spec())], metadata_files=False)
    with _no_range_server(index.root) as (base, paths):
        with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
            meta = mf.get(_dist(index.files[0], base))
    _check_alpha(meta, source="wheel")
    assert paths == [f"/files/{index.files[0].filename}"]  # one request: the 200 body is used


def test_whole_wheel_from_a_server_ignoring_range_is_hash_checked(
    fixture_index_factory: Callable[..., FixtureIndex], fetcher: Fetcher
) -> None:
    index = fixture_index_factory([_project(_spec())], metadata_files=False)
    wheel = index.files[0]
    with _no_range_server(index.root) as (base, _):
        dist = DistFile(
            filename=wheel.filename,
            url=f"{base}/files/{wheel.filename}",
            index=base,
            hashes=(("sha256", "0" * 64),),
        )
        with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
            with pytest.raises(MetadataUnavailable, match="sha256 mismatch"):
                mf.get(dist)


@pytest.mark.parametrize("problem", ["bad-hash", "missing-file", "wrong-project"])
def test_a_bad_pep658_file_falls_back_to_the_wheel(
    served: Callable[..., tuple[FixtureIndex, IndexServer]], fetcher: Fetcher, problem: str
) -> None:
    index, server = served(_spec())
    wheel = index.files[0]
    assert wheel.metadata_path is not None
    metadata_hash = None
    if problem == "bad-hash":
        metadata_hash = "0" * 64
    elif problem == "missing-file":
        wheel.metadata_path.unlink()
    else:
        text = render_metadata(name="other", version="1.0").encode()
        wheel.metadata_path.write_bytes(text)
        metadata_hash = hashlib.sha256(text).hexdigest()
    with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
        meta = mf.get(_dist(wheel, server.base_url, metadata_hash=metadata_hash))
    _check_alpha(meta, source="range")
    assert server.paths()[0].endswith(".metadata")
    assert _wheel_requests(server)


def test_metadata_of_another_release_in_the_wheel_is_refused(
    tmp_path: Path, index_server: Callable[..., IndexServer], fetcher: Fetcher
) -> None:
    path = make_wheel(tmp_path / "files", name="alpha.pkg", version="1.0")
    renamed = path.with_name("alpha_pkg-2.0-py3-none-any.whl")
    path.rename(renamed)
    server = index_server(tmp_path)
    dist = DistFile(filename=renamed.name, url=server.file_url(renamed.name), index=server.url)
    with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
        with pytest.raises(MetadataUnavailable, match=r"is for alpha.pkg 1.0, the file name says"):
            mf.get(dist)


@pytest.mark.parametrize("content", [b"", b"not a zip file at all" * 10_000])
def test_a_bad_zip_is_metadata_unavailable(
    tmp_path: Path,
    index_server: Callable[..., IndexServer],
    fetcher: Fetcher,
    content: bytes,
) -> None:
    (tmp_path / "files").mkdir()
    name = "alpha_pkg-1.0-py3-none-any.whl"
    (tmp_path / "files" / name).write_bytes(content)
    server = index_server(tmp_path)
    dists = [
        DistFile(filename=name, url=server.file_url(name), index=server.url),
        DistFile(filename=name, url=(tmp_path / "files" / name).as_uri(), index=""),
    ]
    with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
        for dist in dists:
            with pytest.raises(MetadataUnavailable, match=f"^{name}: not a readable wheel"):
                mf.get(dist)


def test_a_wheel_without_metadata_is_metadata_unavailable(
    tmp_path: Path, index_server: Callable[..., IndexServer], fetcher: Fetcher
) -> None:
    (tmp_path / "files").mkdir()
    name = "alpha_pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(tmp_path / "files" / name, "w") as zf:
        zf.writestr("alpha_pkg/__init__.py", "")
    server = index_server(tmp_path)
    dist = DistFile(filename=name, url=server.file_url(name), index=server.url)
    with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
        with pytest.raises(MetadataUnavailable, match=r"no \(single\) .dist-info/METADATA"):
            mf.get(dist)


def test_a_missing_file_is_metadata_unavailable(
    served: Callable[..., tuple[FixtureIndex, IndexServer]], fetcher: Fetcher
) -> None:
    index, server = served(_spec(), metadata_files=False)
    index.files[0].path.unlink()
    with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
        with pytest.raises(MetadataUnavailable, match=r"HTTP 404"):
            mf.get(_dist(index.files[0], server.base_url))


# --- concurrency -----------------------------------------------------------------------


def test_prefetch_fetches_each_file_once_and_defers_errors(
    served: Callable[..., tuple[FixtureIndex, IndexServer]], fetcher: Fetcher
) -> None:
    index, server = served(*(_spec(f"1.{i}") for i in range(12)))
    dists = [_dist(f, server.base_url) for f in index.files]
    missing = DistFile(
        filename="alpha_pkg-9.0-py3-none-any.whl",
        url=server.file_url("alpha_pkg-9.0-py3-none-any.whl"),
        index=server.url,
    )
    with MetadataFetcher(fetcher=fetcher, cache=None, max_workers=4) as mf:
        mf.prefetch([*dists, missing, *dists])
        mf.prefetch(dists)
        results = [mf.get(d) for d in dists]
        with pytest.raises(MetadataUnavailable, match="HTTP 404"):
            mf.get(missing)
        with pytest.raises(MetadataUnavailable, match="HTTP 404"):  # memoised, no new request
            mf.get(missing)
    assert [m.version for m in results] == [f"1.{i}" for i in range(12)]
    assert sorted(server.paths()) == sorted(
        [f"/files/{f.filename}.metadata" for f in index.files]
        + ["/files/alpha_pkg-9.0-py3-none-any.whl"]
    )


def test_get_from_many_threads_shares_one_fetch(
    served: Callable[..., tuple[FixtureIndex, IndexServer]], fetcher: Fetcher
) -> None:
    index, server = served(_spec())
    dist = _dist(index.files[0], server.base_url)
    server.delay(0.2)
    mf = MetadataFetcher(fetcher=fetcher, cache=None)
    out: list[object] = []
    threads = [threading.Thread(target=lambda: out.append(mf.get(dist))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.delay(0)
    assert len(out) == 8 and all(m == out[0] for m in out)
    assert len(server.requests) == 1


def test_close_drops_pending_prefetches_and_get_still_works(
    served: Callable[..., tuple[FixtureIndex, IndexServer]], fetcher: Fetcher
) -> None:
    index, server = served(*(_spec(f"1.{i}") for i in range(6)))
    dists = [_dist(f, server.base_url) for f in index.files]
    server.delay(0.1)
    mf = MetadataFetcher(fetcher=fetcher, cache=None, max_workers=1)
    mf.prefetch(dists)
    mf.close()
    mf.prefetch(dists)  # no-op once closed
    server.delay(0)
    assert [m.version for m in map(mf.get, dists)] == [f"1.{i}" for i in range(6)]
    assert len(server.requests) == 6


# --- cache -----------------------------------------------------------------------------


def test_warm_cache_makes_no_request(
    served: Callable[..., tuple[FixtureIndex, IndexServer]], fetcher: Fetcher, cache: Cache
) -> None:
    index, server = served(_spec(), _spec("2.0", metadata_file=False))
    dists = [_dist(f, server.base_url) for f in index.files]
    unhashed = _dist(index.files[1], server.base_url, hashed=False)  # keyed by URL
    with MetadataFetcher(fetcher=fetcher, cache=cache) as mf:
        cold = [mf.get(d) for d in (*dists, unhashed)]
    server.reset()
    with MetadataFetcher(fetcher=fetcher, cache=cache) as mf:
        warm = [mf.get(d) for d in (*dists, unhashed)]
    assert warm == cold
    assert [m.source for m in warm] == ["pep658", "range", "range"]
    assert server.requests == []
    assert {b[0] for b in cache.info().buckets} == {"metadata"}


def _entry_files(cache: Cache) -> list[Path]:
    return sorted(p for p in (cache.root / "metadata").rglob("*") if p.is_file())


def test_corrupt_cache_entries_are_refetched(
    served: Callable[..., tuple[FixtureIndex, IndexServer]], fetcher: Fetcher, cache: Cache
) -> None:
    index, server = served(_spec())
    dist = _dist(index.files[0], server.base_url)
    with MetadataFetcher(fetcher=fetcher, cache=cache) as mf:
        expected = mf.get(dist)
    (entry,) = _entry_files(cache)

    blob = bytearray(entry.read_bytes())  # damaged on disk: the cache's checksum catches it
    blob[-3] ^= 0xFF
    entry.write_bytes(bytes(blob))
    server.reset()
    with MetadataFetcher(fetcher=fetcher, cache=cache) as mf:
        assert mf.get(dist) == expected
    assert len(server.requests) == 1

    (entry,) = _entry_files(cache)  # an intact blob, but not a metadata record
    cache.write("metadata", _cache_key(dist), b"\x93\x01\x02\x03")
    assert _entry_files(cache) == [entry]
    server.reset()
    with MetadataFetcher(fetcher=fetcher, cache=cache) as mf:
        assert mf.get(dist) == expected
    assert len(server.requests) == 1
    server.reset()
    with MetadataFetcher(fetcher=fetcher, cache=cache) as mf:
        assert mf.get(dist) == expected
    assert server.requests == []


# --- sdists ----------------------------------------------------------------------------


def test_sdist_with_static_pkg_info_needs_no_build(
    served: Callable[..., tuple[FixtureIndex, IndexServer]], fetcher: Fetcher, cache: Cache
) -> None:
    index, server = served(_spec(kind="sdist"))
    sdist = index.files[0]
    with MetadataFetcher(fetcher=fetcher, cache=cache, builds=BuildSettings(allow=False)) as mf:
        meta = mf.get(_dist(sdist, server.base_url))
    assert meta.source == "sdist-pkg-info"
    assert meta.requires_dist == (*REQUIRES, 'delta; extra == "fast"')
    assert meta.requires_python == ">=3.9"
    assert cache.read("files", sdist.sha256) == sdist.path.read_bytes()


def test_sdist_with_dynamic_dependencies_and_no_build(
    served: Callable[..., tuple[FixtureIndex, IndexServer]], fetcher: Fetcher
) -> None:
    index, server = served(_spec(kind="sdist", dynamic=True))
    with MetadataFetcher(fetcher=fetcher, cache=None, builds=BuildSettings(allow=False)) as mf:
        with pytest.raises(MetadataUnavailable, match="needs a build and --no-build is set"):
            mf.get(_dist(index.files[0], server.base_url))


def test_sdist_hash_mismatch(
    served: Callable[..., tuple[FixtureIndex, IndexServer]], fetcher: Fetcher
) -> None:
    index, server = served(_spec(kind="sdist"))
    sdist = index.files[0]
    dist = DistFile(
        filename=sdist.filename,
        url=server.file_url(sdist.filename),
        index=server.url,
        hashes=(("sha256", "ab" * 32),),
    )
    with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
        with pytest.raises(MetadataUnavailable, match="sha256 mismatch"):
            mf.get(dist)


def test_a_bad_sdist_archive(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "alpha_pkg-1.0.tar.gz"
    path.write_bytes(gzip.compress(b"not a tar archive"))
    dist = DistFile(filename=path.name, url=path.as_uri(), index="")
    with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
        with pytest.raises(MetadataUnavailable, match="not a readable sdist archive"):
            mf.get(dist)


_PYPROJECT = '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'


def _custom_sdist(
    directory: Path, backend: str, *, name: str = "alpha_pkg-1.0", extra: str | None = None
) -> Path:
    """An sdist (old PKG-INFO, so a build is needed) whose in-tree backend is ``backend``."""
    members = {
        "PKG-INFO": b"Metadata-Version: 2.1\nName: alpha.pkg\nVersion: 1.0\n",
        "pyproject.toml": _PYPROJECT.encode(),
        "backend.py": backend.encode(),
    }
    if extra is not None:
        members[extra] = b"payload"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for arcname, data in members.items():
            info = tarfile.TarInfo(f"{name}/{arcname}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path = directory / f"{name}.tar.gz"
    path.write_bytes(buf.getvalue())
    return path


def test_an_sdist_escaping_its_directory_is_refused(tmp_path: Path, fetcher: Fetcher) -> None:
    path = _custom_sdist(tmp_path, "", extra="../../escaped.txt")
    dist = DistFile(filename=path.name, url=path.as_uri(), index="")
    with MetadataFetcher(fetcher=fetcher, cache=None) as mf:
        with pytest.raises(MetadataUnavailable, match="cannot unpack the sdist"):
            mf.get(dist)


@pytest.mark.slow
def test_sdist_build_with_an_in_tree_backend(
    served: Callable[..., tuple[FixtureIndex, IndexServer]],
    fetcher: Fetcher,
    cache: Cache,
    pip_env: dict[str, str],
) -> None:
    index, server = served(_spec(kind="sdist", dynamic=True))
    dist = _dist(index.files[0], server.base_url)
    with MetadataFetcher(fetcher=fetcher, cache=cache, builds=BuildSettings(env=pip_env)) as mf:
        meta = mf.get(dist)
    assert meta.source == "sdist-build"
    assert meta.requires_dist == (*REQUIRES, 'delta; extra == "fast"')
    assert meta.provides_extra == ("fast",)
    server.reset()
    with MetadataFetcher(fetcher=fetcher, cache=cache, builds=BuildSettings(allow=False)) as mf:
        assert mf.get(dist) == meta  # cached: no download, no build
    assert server.requests == []


@pytest.mark.slow
def test_sdist_build_without_prepare_metadata_hook_builds_the_wheel(
    tmp_path: Path, fetcher: Fetcher, pip_env: dict[str, str]
) -> None:
    backend = (
        "import zipfile, os\n"
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
        "    name = 'alpha_pkg-1.0-py3-none-any.whl'\n"
        "    with zipfile.ZipFile(os.path.join(wheel_directory, name), 'w') as zf:\n"
        "        zf.writestr('alpha_pkg-1.0.dist-info/METADATA',\n"
        "                    'Metadata-Version: 2.1\\nName: alpha.pkg\\nVersion: 1.0\\n'\n"
        "                    'Requires-Dist: beta>=2\\n')\n"
        "        zf.writestr('alpha_pkg-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\n')\n"
        "    return name\n"
    )
    path = _custom_sdist(tmp_path, backend)
    dist = DistFile(filename=path.name, url=path.as_uri(), index="")
    with MetadataFetcher(fetcher=fetcher, cache=None, builds=BuildSettings(env=pip_env)) as mf:
        meta = mf.get(dist)
    assert (meta.source, meta.requires_dist) == ("sdist-build", ("beta>=2",))


@pytest.mark.slow
def test_sdist_build_failure_quotes_the_log(
    tmp_path: Path, fetcher: Fetcher, pip_env: dict[str, str]
) -> None:
    backend = (
        "def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):\n"
        "    raise RuntimeError('libfoo headers not found')\n"
    )
    path = _custom_sdist(tmp_path, backend)
    dist = DistFile(filename=path.name, url=path.as_uri(), index="")
    with MetadataFetcher(fetcher=fetcher, cache=None, builds=BuildSettings(env=pip_env)) as mf:
        with pytest.raises(MetadataUnavailable) as info:
            mf.get(dist)
    assert str(info.value).startswith(f"{path.name}: metadata build failed")
    assert "libfoo headers not found" in str(info.value)


@pytest.mark.slow
def _alive(pid: int) -> bool:
    """``pid`` runs (a zombie waiting to be reaped counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def test_sdist_build_timeout_is_a_clear_error(
    tmp_path: Path, fetcher: Fetcher, pip_env: dict[str, str]
) -> None:
    pid_file = tmp_path / "backend.pid"
    backend = (
        "import os, time\n"
        "def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):\n"
        f"    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "    print('preparing metadata, slowly', flush=True)\n"
        "    time.sleep(60)\n"
    )
    path = _custom_sdist(tmp_path, backend)
    dist = DistFile(filename=path.name, url=path.as_uri(), index="")
    started = time.monotonic()
    with MetadataFetcher(
        fetcher=fetcher, cache=None, builds=BuildSettings(timeout=2, env=pip_env)
    ) as mf:
        with pytest.raises(MetadataUnavailable, match=r"timed out after 2 s") as info:
            mf.get(dist)
    assert time.monotonic() - started < 10
    assert str(info.value).startswith(f"{path.name}: metadata build timed out")
    assert "preparing metadata, slowly" in str(info.value)
    pid = int(pid_file.read_text())  # the backend ran in a grandchild: it was killed too
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_a_missing_build_front_end_is_a_clear_error(
    tmp_path: Path, fetcher: Fetcher, pip_env: dict[str, str]
) -> None:
    path = _custom_sdist(tmp_path, "")
    dist = DistFile(filename=path.name, url=path.as_uri(), index="")
    python = str(tmp_path / "no-such-python")
    with MetadataFetcher(fetcher=fetcher, cache=None, builds=BuildSettings(python=python)) as mf:
        with pytest.raises(MetadataUnavailable, match="cannot start the build front end"):
            mf.get(dist)
