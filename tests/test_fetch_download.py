"""Tests of Fetcher.download: file:// copies and http streams from a real server on 127.0.0.1
(hash check, retries, credentials, redaction, and no partial file under dest's name)."""

from __future__ import annotations

import hashlib
import random
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from advisor.errors import IndexUnavailable
from advisor.index.fetch import Fetcher, NetworkSettings
from tests.support.events import Recorder

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.support.server import IndexServer

# Larger than two 1 MiB chunks, so a body cut in half has already written whole chunks.
SIZE = (5 << 20) // 2
NAME = "demo-1.0-py3-none-any.whl"


def _settings(**options: object) -> NetworkSettings:
    values: dict[str, object] = {"timeout": 5.0, "retries": 1}  # one retry: 0.25 s backoff
    values.update(options)
    return NetworkSettings(**values)  # type: ignore[arg-type]


def _payload(seed: int = 7, size: int = SIZE) -> bytes:
    return random.Random(seed).randbytes(size)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _names(folder: Path) -> list[str]:
    """Everything in ``folder``, hidden files included (a leftover temporary file shows)."""
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def payload() -> bytes:
    return _payload()


@pytest.fixture
def server(tmp_path: Path, payload: bytes, index_server: Callable[..., IndexServer]) -> IndexServer:
    """The fixture server over a bare tree: ``/files/<NAME>`` holds ``payload``."""
    files = tmp_path / "served" / "files"
    files.mkdir(parents=True)
    (files / NAME).write_bytes(payload)
    return index_server(tmp_path / "served")


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


# -- file:// --------------------------------------------------------------------------------


def test_file_url_is_copied_and_hash_checked(tmp_path: Path, out: Path, payload: bytes) -> None:
    source = tmp_path / NAME
    source.write_bytes(payload)
    with Fetcher(_settings()) as fetcher:
        size = fetcher.download(source.as_uri(), out / NAME, sha256=_sha(payload).upper())
    assert size == len(payload)
    assert (out / NAME).read_bytes() == payload
    assert _names(out) == [NAME]


def test_missing_file_url_names_the_url(tmp_path: Path, out: Path) -> None:
    url = (tmp_path / "absent.whl").as_uri()
    with Fetcher(_settings()) as fetcher, pytest.raises(IndexUnavailable) as info:
        fetcher.download(url, out / NAME)
    assert "no such file" in str(info.value)
    assert info.value.url == url
    assert _names(out) == []


def test_file_url_hash_mismatch_keeps_nothing(tmp_path: Path, out: Path, payload: bytes) -> None:
    source = tmp_path / NAME
    source.write_bytes(payload)
    wrong = _sha(b"something else")
    with Fetcher(_settings()) as fetcher, pytest.raises(IndexUnavailable) as info:
        fetcher.download(source.as_uri(), out / NAME, sha256=wrong)
    message = str(info.value)
    assert "sha256 does not match" in message
    assert wrong[:12] in message and _sha(payload)[:12] in message
    assert _names(out) == []


def test_unwritable_dest_is_an_index_error(tmp_path: Path, payload: bytes) -> None:
    source = tmp_path / NAME
    source.write_bytes(payload)
    dest = tmp_path / "no-such-folder" / NAME  # the caller must create the folder
    with Fetcher(_settings()) as fetcher, pytest.raises(IndexUnavailable) as info:
        fetcher.download(source.as_uri(), dest)
    assert f"cannot write {dest}" in str(info.value)
    assert info.value.url == source.as_uri()


# -- http -----------------------------------------------------------------------------------


def test_http_download_streams_and_hash_checks(
    server: IndexServer, out: Path, payload: bytes
) -> None:
    with Fetcher(_settings()) as fetcher:
        size = fetcher.download(server.file_url(NAME), out / NAME, sha256=_sha(payload))
    assert size == len(payload)
    assert (out / NAME).read_bytes() == payload
    assert _names(out) == [NAME]
    (request,) = server.requests
    assert request.method == "GET"
    assert request.headers["accept-encoding"] == "identity"  # the bytes as stored


def test_http_hash_mismatch_is_not_retried_and_keeps_nothing(
    server: IndexServer, out: Path, payload: bytes
) -> None:
    url = server.file_url(NAME)
    wrong = _sha(b"not the served file")
    with Fetcher(_settings(retries=3)) as fetcher, pytest.raises(IndexUnavailable) as info:
        fetcher.download(url, out / NAME, sha256=wrong)
    assert "sha256 does not match the lock/index" in str(info.value)
    assert _sha(payload)[:12] in str(info.value)
    assert info.value.url == url
    assert len(server.requests) == 1
    assert _names(out) == []


def test_404_names_the_url_without_retrying(server: IndexServer, out: Path) -> None:
    url = server.file_url("missing-1.0.tar.gz")
    with Fetcher(_settings(retries=3)) as fetcher, pytest.raises(IndexUnavailable) as info:
        fetcher.download(url, out / "missing-1.0.tar.gz")
    assert str(info.value) == f"HTTP 404 ({url})"
    assert len(server.requests) == 1
    assert _names(out) == []


def test_500_then_success_is_retried(server: IndexServer, out: Path, payload: bytes) -> None:
    server.fail_next(1, status=500)
    with Fetcher(_settings()) as fetcher:
        size = fetcher.download(server.file_url(NAME), out / NAME, sha256=_sha(payload))
    assert size == len(payload)
    assert [r.status for r in server.requests] == [500, 200]
    assert (out / NAME).read_bytes() == payload


def test_body_cut_mid_stream_is_refetched_from_the_start(
    server: IndexServer, out: Path, payload: bytes
) -> None:
    server.truncate_next(1)  # announces the full length, sends half (> 1 chunk), hangs up
    with Fetcher(_settings()) as fetcher:
        size = fetcher.download(server.file_url(NAME), out / NAME, sha256=_sha(payload))
    assert size == len(payload)
    assert len(server.requests) == 2
    assert (out / NAME).read_bytes() == payload  # the first half was not kept twice
    assert _names(out) == [NAME]


def test_persistently_truncated_body_fails_after_the_attempts(
    server: IndexServer, out: Path, payload: bytes
) -> None:
    older = b"an earlier, complete file"
    (out / NAME).write_bytes(older)
    url = server.file_url(NAME)
    server.truncate_next(2)
    with Fetcher(_settings()) as fetcher, pytest.raises(IndexUnavailable) as info:
        fetcher.download(url, out / NAME, sha256=_sha(payload))
    message = str(info.value)
    assert "truncated" in message and "(after 2 attempts)" in message
    assert info.value.url == url and message.endswith(f"({url})")
    assert (out / NAME).read_bytes() == older  # never replaced by a partial body
    assert _names(out) == [NAME]


def test_failure_leaves_no_dest_and_no_temporary_file(server: IndexServer, out: Path) -> None:
    server.fail_next(2, status=503)
    with Fetcher(_settings()) as fetcher, pytest.raises(IndexUnavailable) as info:
        fetcher.download(server.file_url(NAME), out / NAME)
    assert "HTTP 503 (after 2 attempts)" in str(info.value)
    assert _names(out) == []


def test_credentials_in_the_url_are_sent_but_never_shown(
    server: IndexServer, out: Path, payload: bytes
) -> None:
    server.require_auth = ("reader", "s3cret-token")
    base = f"http://reader:s3cret-token@127.0.0.1:{server.port}/files"
    with Fetcher(_settings()) as fetcher:
        assert fetcher.download(f"{base}/{NAME}", out / NAME) == len(payload)
        with pytest.raises(IndexUnavailable) as missing:
            fetcher.download(f"{base}/absent.whl", out / "absent.whl")
        with pytest.raises(IndexUnavailable) as refused:
            fetcher.download(
                f"http://reader:wrong-pass@127.0.0.1:{server.port}/files/{NAME}",
                out / "other.whl",
            )
    assert (out / NAME).read_bytes() == payload
    assert server.requests[0].headers["authorization"].startswith("Basic ")
    assert str(missing.value) == f"HTTP 404 ({server.file_url('absent.whl')})"
    assert "HTTP 401: access denied (the credentials were refused)" in str(refused.value)
    for error in (missing.value, refused.value):
        assert "s3cret" not in str(error) and "wrong-pass" not in str(error)
        assert "reader" not in error.url
    assert _names(out) == [NAME]


def test_missing_credentials_are_fatal(server: IndexServer, out: Path) -> None:
    server.require_auth = ("reader", "s3cret-token")
    with Fetcher(_settings(retries=3)) as fetcher, pytest.raises(IndexUnavailable) as info:
        fetcher.download(server.file_url(NAME), out / NAME)
    assert "HTTP 401: access denied (no credentials were sent)" in str(info.value)
    assert len(server.requests) == 1
    assert _names(out) == []


def test_plain_http_to_a_remote_host_and_other_schemes_are_refused(out: Path) -> None:
    with Fetcher(_settings()) as fetcher:
        with pytest.raises(IndexUnavailable, match="plain http is refused") as info:
            fetcher.download("http://user:pw@files.test/x.whl", out / "x.whl")
        assert info.value.url == "http://files.test/x.whl"
        with pytest.raises(IndexUnavailable, match="unsupported URL scheme 'ftp'"):
            fetcher.download("ftp://files.test/x.whl", out / "x.whl")
    assert _names(out) == []


def test_concurrent_downloads_share_one_fetcher(
    tmp_path: Path, server: IndexServer, out: Path, payload: bytes
) -> None:
    with Fetcher(_settings()) as fetcher, ThreadPoolExecutor(max_workers=4) as pool:
        sizes = list(
            pool.map(
                lambda i: fetcher.download(
                    server.file_url(NAME), out / f"copy-{i}.whl", sha256=_sha(payload)
                ),
                range(6),
            )
        )
    assert sizes == [len(payload)] * 6
    assert _names(out) == [f"copy-{i}.whl" for i in range(6)]
    assert all((out / f"copy-{i}.whl").read_bytes() == payload for i in range(6))


# -- conditional downloads (data dumps) -----------------------------------------------------


def test_conditional_download_then_304_keeps_dest(
    server: IndexServer, out: Path, payload: bytes
) -> None:
    events = Recorder()
    with Fetcher(_settings(), events=events) as fetcher:
        first = fetcher.download_if_changed(server.file_url(NAME), out / NAME)
        assert first.changed and first.size == len(payload) and first.etag
        assert first.sha256 == _sha(payload)
        seen = [(done, total) for _, done, total in events.named("downloading")]
        assert seen[-1] == (len(payload), len(payload))
        assert seen[0] == (0, None)  # announced before the server answers
        assert [d for d, _ in seen[1:]] == sorted({d for d, _ in seen})  # growing, per chunk
        (out / NAME).write_bytes(b"kept")
        again = fetcher.download_if_changed(server.file_url(NAME), out / NAME, etag=first.etag)
    assert not again.changed and again.etag == first.etag
    assert [r.status for r in server.requests] == [200, 304]
    assert "if-none-match" not in server.requests[0].headers
    assert server.requests[1].headers["if-none-match"] == first.etag
    assert (out / NAME).read_bytes() == b"kept"  # a 304 writes nothing
    assert _names(out) == [NAME]


def test_conditional_download_of_a_changed_file_and_retries(
    server: IndexServer, tmp_path: Path, out: Path
) -> None:
    newer = _payload(seed=8, size=1000)
    (tmp_path / "served" / "files" / NAME).write_bytes(newer)
    server.fail_next(1, status=503)
    with Fetcher(_settings()) as fetcher:
        got = fetcher.download_if_changed(server.file_url(NAME), out / NAME, etag='"stale"')
    assert got.changed and got.sha256 == _sha(newer)
    assert [r.status for r in server.requests] == [503, 200]
    assert (out / NAME).read_bytes() == newer


def test_conditional_download_of_a_file_url_always_copies(tmp_path: Path, out: Path) -> None:
    source = tmp_path / "all.zip"
    source.write_bytes(b"dump")
    with Fetcher(_settings()) as fetcher:
        got = fetcher.download_if_changed(source.as_uri(), out / "all.zip", etag='"x"')
    assert got.changed and got.sha256 == _sha(b"dump") and got.etag is None
    assert (out / "all.zip").read_bytes() == b"dump"
