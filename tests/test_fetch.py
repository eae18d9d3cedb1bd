"""Tests of advisor.index.fetch: http(s) over a real server on 127.0.0.1, and file://."""

from __future__ import annotations

import base64
import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from advisor.errors import ConfigError, IndexUnavailable
from advisor.index.fetch import (
    Fetcher,
    NetworkSettings,
    read_directory_listing,
)
from tests.support.events import Recorder
from tests.support.index import Project, release

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.support.index import FixtureIndex
    from tests.support.server import IndexServer


def _fast(**options: object) -> NetworkSettings:
    values: dict[str, object] = {"timeout": 5.0, "retries": 2}
    values.update(options)
    return NetworkSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def index(fixture_index_factory: Callable[..., FixtureIndex]) -> FixtureIndex:
    return fixture_index_factory([Project(name="alpha", files=release("1.0"))])


@pytest.fixture
def server(index: FixtureIndex, index_server: Callable[..., IndexServer]) -> IndexServer:
    return index_server(index)


@pytest.fixture
def wheel(index: FixtureIndex) -> str:
    return next(f.filename for f in index.files if f.filename.endswith(".whl"))


def _auth_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- http -----------------------------------------------------------------------------------


def test_get_returns_body_headers_and_final_url(server: IndexServer, index: FixtureIndex) -> None:
    with Fetcher(_fast()) as fetcher:
        resp = fetcher.get(server.url + "/alpha")  # redirected to the trailing slash
    assert resp.status == 200
    assert resp.url == server.url + "/alpha/"
    assert resp.headers["content-type"].startswith("text/html")
    assert all(key == key.lower() for key in resp.headers)
    assert resp.content == (index.simple_dir / "alpha" / "index.html").read_bytes()
    first = server.requests[0]
    assert first.headers["user-agent"].startswith("stack-advisor/")


def test_404_is_a_response_not_an_error(server: IndexServer) -> None:
    with Fetcher(_fast()) as fetcher:
        resp = fetcher.get(server.url + "/missing/")
    assert resp.status == 404
    assert len(server.requests) == 1  # an expected absence is never retried


def test_http_range_is_passed_through(server: IndexServer, index: FixtureIndex, wheel: str) -> None:
    data = index.file(wheel).path.read_bytes()
    with Fetcher(_fast()) as fetcher:
        resp = fetcher.get(server.file_url(wheel), headers={"Range": "bytes=-10"})
    assert resp.status == 206
    assert resp.content == data[-10:]


def test_5xx_then_success_is_retried(server: IndexServer) -> None:
    server.fail_next(2, status=500)
    with Fetcher(_fast(retries=2)) as fetcher:
        resp = fetcher.get(server.url + "/alpha/")
    assert resp.status == 200
    assert [r.status for r in server.requests] == [500, 500, 200]


def test_429_is_retried(server: IndexServer) -> None:
    server.fail_next(1, status=429)
    with Fetcher(_fast(retries=1)) as fetcher:
        assert fetcher.get(server.url + "/alpha/").status == 200
    assert [r.status for r in server.requests] == [429, 200]


def test_persistent_5xx_raises_with_the_url(server: IndexServer) -> None:
    server.fail_next(10, status=503)
    url = server.url + "/alpha/"
    with Fetcher(_fast(retries=1)) as fetcher, pytest.raises(IndexUnavailable) as info:
        fetcher.get(url)
    assert info.value.url == url
    assert "HTTP 503" in str(info.value)
    assert url in str(info.value)
    assert len(server.requests) == 2  # retries + 1 attempts


def test_backoff_grows_between_attempts(server: IndexServer) -> None:
    server.fail_next(10, status=500)
    start = time.monotonic()
    with Fetcher(_fast(retries=2)) as fetcher, pytest.raises(IndexUnavailable):
        fetcher.get(server.url + "/alpha/")
    assert time.monotonic() - start >= 0.7  # 0.25 s, then 0.5 s


def test_timeout_is_reported_plainly(server: IndexServer) -> None:
    server.delay(2.0)
    with Fetcher(_fast(timeout=0.2, retries=0)) as fetcher, pytest.raises(IndexUnavailable) as info:
        fetcher.get(server.url + "/alpha/")
    assert "timed out after 0.2 s" in str(info.value)


def test_connection_refused_is_reported_plainly() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/simple/"
    with Fetcher(_fast(retries=1)) as fetcher, pytest.raises(IndexUnavailable) as info:
        fetcher.get(url)
    assert str(info.value).startswith("connection refused")
    assert info.value.url == url


def test_truncated_body_is_retried(server: IndexServer, index: FixtureIndex, wheel: str) -> None:
    server.truncate_next(1)
    with Fetcher(_fast(retries=1)) as fetcher:
        resp = fetcher.get(server.file_url(wheel))
    assert resp.content == index.file(wheel).path.read_bytes()
    assert len(server.requests) == 2


def test_persistently_truncated_body_raises(server: IndexServer, wheel: str) -> None:
    server.truncate_next(5)
    with Fetcher(_fast(retries=1)) as fetcher, pytest.raises(IndexUnavailable) as info:
        fetcher.get(server.file_url(wheel))
    assert info.value.url == server.file_url(wheel)
    assert str(info.value).startswith("truncated")
    assert len(server.requests) == 2


def test_unsupported_scheme_and_plain_http_to_remote_hosts_are_refused() -> None:
    with Fetcher(_fast()) as fetcher:
        with pytest.raises(IndexUnavailable, match="unsupported URL scheme"):
            fetcher.get("ftp://host.test/simple/")
        # Refused before any connection is attempted: no network needed.
        with pytest.raises(IndexUnavailable, match="plain http is refused") as info:
            fetcher.get("http://user:pw@host.invalid/simple/")
    assert "pw" not in str(info.value)


def test_concurrent_gets_share_one_fetcher(server: IndexServer, wheel: str) -> None:
    with Fetcher(_fast()) as fetcher, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: fetcher.get(server.file_url(wheel)).status, range(32)))
    assert statuses == [200] * 32


# -- credentials ----------------------------------------------------------------------------


def test_userinfo_is_used_and_never_shown(server: IndexServer, wheel: str) -> None:
    server.require_auth = ("alice", "s3cret")
    with Fetcher(_fast()) as fetcher:
        resp = fetcher.get(server.auth_url("alice", "s3cret") + "/alpha/")
        assert resp.status == 200
        assert "s3cret" not in resp.url and "alice" not in resp.url
        # Files of that index live elsewhere on the same host: the credentials follow.
        assert fetcher.get(server.file_url(wheel)).status == 200
    sent = [r.headers.get("authorization") for r in server.requests]
    assert sent == [_auth_header("alice", "s3cret")] * 2


def test_configured_credentials_apply_by_prefix(server: IndexServer) -> None:
    server.require_auth = ("bob", "pw")
    settings = _fast(credentials=((server.url, "bob", "pw"),))
    with Fetcher(settings) as fetcher:
        assert fetcher.get(server.url + "/alpha/").status == 200


def test_refused_credentials_raise_with_a_hint_and_no_secret(server: IndexServer) -> None:
    server.require_auth = ("alice", "right")
    with Fetcher(_fast()) as fetcher:
        with pytest.raises(IndexUnavailable) as info:
            fetcher.get(server.auth_url("alice", "wrong") + "/alpha/")
        message = str(info.value)
        assert "HTTP 401" in message and ".netrc" in message
        assert "wrong" not in message and "alice" not in message
        assert info.value.url == server.url + "/alpha/"
    with Fetcher(_fast()) as fresh, pytest.raises(IndexUnavailable, match="no credentials"):
        fresh.get(server.url + "/alpha/")
    assert len(server.requests) == 2  # 401 is not retried


# -- TLS ------------------------------------------------------------------------------------


class _OkHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An https server on 127.0.0.1 with a fresh self-signed certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OkHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/", cert
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()


def test_tls_unknown_ca_fails_without_retry(tls_server: tuple[str, Path]) -> None:
    url, _ = tls_server
    events = Recorder()
    with (
        Fetcher(_fast(retries=3), events=events) as fetcher,
        pytest.raises(IndexUnavailable) as info,
    ):
        fetcher.get(url)
    assert "TLS certificate verification failed" in str(info.value)
    assert events.calls == []  # no retry announced: retrying cannot help


def test_tls_cert_bundle_is_trusted(tls_server: tuple[str, Path]) -> None:
    url, cert = tls_server
    with Fetcher(_fast(cert=str(cert))) as fetcher:
        assert fetcher.get(url).content == b"ok"


def test_tls_trusted_host_skips_verification(tls_server: tuple[str, Path]) -> None:
    url, _ = tls_server
    port = url.rsplit(":", 1)[1].strip("/")
    for entry in ("127.0.0.1", f"127.0.0.1:{port}"):
        with Fetcher(_fast(trusted_hosts=(entry,))) as fetcher:
            assert fetcher.get(url).status == 200
    with Fetcher(_fast(trusted_hosts=("127.0.0.1:1",), retries=0)) as fetcher:
        with pytest.raises(IndexUnavailable, match="TLS"):
            fetcher.get(url)


def test_missing_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    # the TLS context is built on the first https request (a warm run never needs it)
    with Fetcher(_fast(cert=str(tmp_path / "nope.pem"))) as fetcher:
        with pytest.raises(ConfigError, match="CA bundle"):
            fetcher.get("https://127.0.0.1:1/simple/")


# -- file:// --------------------------------------------------------------------------------


def test_file_url_gives_bytes_and_ranges(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    data = bytes(range(100))
    path.write_bytes(data)
    url = path.as_uri()
    with Fetcher(_fast()) as fetcher:
        whole = fetcher.get(url)
        assert (whole.status, whole.content) == (200, data)
        assert whole.headers["content-length"] == "100"
        cases = {
            "bytes=0-9": (0, 9),
            "bytes=90-": (90, 99),
            "bytes=-5": (95, 99),
            "bytes=95-500": (95, 99),
        }
        for spec, (start, end) in cases.items():
            part = fetcher.get(url, headers={"Range": spec})
            assert part.status == 206, spec
            assert part.content == data[start : end + 1], spec
            assert part.headers["content-range"] == f"bytes {start}-{end}/100"
        bad = fetcher.get(url, headers={"range": "bytes=200-300"})
        assert (bad.status, bad.headers["content-range"]) == (416, "bytes */100")
        several = fetcher.get(url, headers={"Range": "bytes=0-1,5-6"})
        assert (several.status, several.content) == (200, data)


def test_file_directory_listing_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "b-1.0-py3-none-any.whl").write_bytes(b"x")
    (tmp_path / "a b-1.0.tar.gz").write_bytes(b"y")
    (tmp_path / "sub").mkdir()
    with Fetcher(_fast()) as fetcher:
        listing = fetcher.get(tmp_path.as_uri())  # no trailing slash
        missing = fetcher.get((tmp_path / "nope.whl").as_uri())
        (tmp_path / "sub" / "index.html").write_text("<a href='x'>x</a>")
        served = fetcher.get((tmp_path / "sub").as_uri() + "/")
    assert listing.status == 200
    assert listing.url == tmp_path.as_uri() + "/"
    assert listing.headers["content-type"] == "text/html"
    text = listing.content.decode()
    assert text.index("a%20b-1.0.tar.gz") < text.index("b-1.0-py3-none-any.whl")
    assert 'href="sub/"' in text
    assert missing.status == 404 and missing.content == b""
    assert served.content == b"<a href='x'>x</a>"  # a directory's index.html is served


def test_read_directory_listing_ignores_index_html(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("ignored")
    (tmp_path / "c-2.0-py3-none-any.whl").write_bytes(b"x")
    resp = read_directory_listing(tmp_path.as_uri())
    assert b"c-2.0-py3-none-any.whl" in resp.content
    assert read_directory_listing((tmp_path / "gone").as_uri()).status == 404
