"""A real HTTP package index on 127.0.0.1 serving a :class:`FixtureIndex` tree (test support).

What it does, like a real index: PEP 691 content negotiation on ``/simple/`` and
``/simple/<project>/`` (``Accept`` with q-values: ``application/vnd.pypi.simple.v1+json`` →
``index.json``, ``...v1+html`` or ``text/html`` → ``index.html``, HTML by default); 301 to the
trailing slash and to the PEP 503 normalised name; 404 for anything unknown; files under
``/files/`` with ``Range`` (``bytes=a-b``, ``bytes=a-``, ``bytes=-N`` → 206 + Content-Range,
416 when unsatisfiable; several ranges → the whole file), ``Accept-Ranges``, ``ETag`` +
``If-None-Match`` → 304, ``Cache-Control: max-age``, HEAD. It reads the tree on each request,
so a test may rebuild the index under a running server.

Test hooks: the request log (``requests``: ``(method, path, headers, status)`` with
lower-cased header names; ``bytes_sent``: body bytes), ``reset()``, and faults settable at run
time: :meth:`IndexServer.fail_next`, :meth:`~IndexServer.delay`,
:meth:`~IndexServer.truncate_next`, and ``require_auth``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from types import TracebackType

    from tests.support.index import FixtureIndex

__all__ = ["JSON_TYPE", "IndexServer", "RequestRecord"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_HTML_V1 = "application/vnd.pypi.simple.v1+html"
_OFFERS = {  # media type → (file served, Content-Type sent)
    JSON_TYPE: ("index.json", JSON_TYPE),
    "application/vnd.pypi.simple.latest+json": ("index.json", JSON_TYPE),
    _HTML_V1: ("index.html", _HTML_V1),
    "application/vnd.pypi.simple.latest+html": ("index.html", _HTML_V1),
    "text/html": ("index.html", "text/html; charset=utf-8"),
}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class RequestRecord(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    status: int


def negotiate(accept: str | None) -> tuple[str, str]:
    """Pick ``(page file, content type)`` for an Accept header; HTML when nothing matches."""
    best: tuple[float, int, str] | None = None
    for pos, item in enumerate((accept or "").split(",")):
        media, *params = (p.strip() for p in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media.lower() in _OFFERS and q > 0 and (best is None or (q, -pos) > best[:2]):
            best = (q, -pos, media.lower())
    return _OFFERS[best[2]] if best else _OFFERS["text/html"]


def _parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """``(start, end)`` inclusive; ``None`` → serve whole file; ``False`` → 416."""
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None  # unknown unit or several ranges: ignoring Range is allowed
    first, last = match.groups()
    if not first:
        if not last or int(last) == 0:
            return False
        return (max(size - int(last), 0), size - 1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return False
    return (start, end)


class _State:
    """Everything the handler threads share, behind one lock."""

    def __init__(self, root: Path, *, max_age: int, require_auth: tuple[str, str] | None) -> None:
        self.root = root
        self.max_age = max_age
        self.require_auth = require_auth
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.requests: list[RequestRecord] = []
        self.bytes_sent = 0
        self.fail: list[tuple[int, float]] = []  # (status, seconds before) for the next requests
        self.truncate = 0
        self.delay = 0.0
        self.connections: set[socket.socket] = set()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FixtureIndex/1.0"
    timeout = 30
    state: _State  # set on the per-server subclass

    def log_message(self, format: str, *args: object) -> None:  # quiet: the log is ours
        pass

    def setup(self) -> None:
        super().setup()
        with self.state.lock:
            self.state.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.state.lock:
                self.state.connections.discard(self.connection)

    def do_GET(self) -> None:
        self._handle(head=False)

    def do_HEAD(self) -> None:
        self._handle(head=True)

    # --- responses ------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes = b"",
        *,
        head: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        st = self.state
        with st.lock:
            truncate = bool(body) and not head and st.truncate > 0
            if truncate:
                st.truncate -= 1
            record = RequestRecord(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, status
            )
            st.requests.append(record)
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
            body = body[: len(body) // 2]
        self.end_headers()
        if not head and body:
            self.wfile.write(body)
            with st.lock:
                st.bytes_sent += len(body)

    def _text(self, status: int, message: str, *, head: bool, **headers: str) -> None:
        self._send(
            status,
            (message + "\n").encode(),
            head=head,
            headers={"Content-Type": "text/plain; charset=utf-8", **headers},
        )

    def _content(self, data: bytes, content_type: str, *, head: bool, ranged: bool) -> None:
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        headers = {
            "Content-Type": content_type,
            "ETag": etag,
            "Cache-Control": f"max-age={self.state.max_age}",
        }
        if ranged:
            headers["Accept-Ranges"] = "bytes"
        else:
            headers["Vary"] = "Accept"
        inm = self.headers.get("If-None-Match")
        if inm and (inm.strip() == "*" or etag in (t.strip() for t in inm.split(","))):
            self._send(304, head=True, headers=headers)
            return
        range_header = self.headers.get("Range")
        if ranged and range_header:
            span = _parse_range(range_header, len(data))
            if span is False:
                headers["Content-Range"] = f"bytes */{len(data)}"
                self._send(416, head=head, headers=headers)
                return
            if isinstance(span, tuple):
                start, end = span
                headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
                self._send(206, data[start : end + 1], head=head, headers=headers)
                return
        self._send(200, data, head=head, headers=headers)

    # --- routing --------------------------------------------------------------------

    def _handle(self, *, head: bool) -> None:
        st = self.state
        if st.delay:
            st.stopping.wait(st.delay)
        with st.lock:
            fail = st.fail.pop(0) if st.fail else None
        if fail is not None:
            status, after = fail
            if after:
                st.stopping.wait(after)
            self._text(status, f"injected failure {status}", head=head)
            return
        if st.require_auth is not None and not self._authorised(st.require_auth):
            self._text(
                401,
                "authentication required",
                head=head,
                **{"WWW-Authenticate": 'Basic realm="fixture"'},
            )
            return
        path = unquote(urlsplit(self.path).path)
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["simple"] and len(parts) <= 2:
            self._page(parts[1] if len(parts) == 2 else None, path, head=head)
        elif parts[:1] == ["files"] and len(parts) == 2 and not parts[1].startswith("."):
            target = st.root / "files" / parts[1]
            if target.is_file():
                self._content(
                    target.read_bytes(), "application/octet-stream", head=head, ranged=True
                )
            else:
                self._text(404, "not found", head=head)
        else:
            self._text(404, "not found", head=head)

    def _page(self, project: str | None, path: str, *, head: bool) -> None:
        if project is not None and project != canonicalize_name(project):
            if (self.state.root / "simple" / canonicalize_name(project)).is_dir():
                location = f"/simple/{canonicalize_name(project)}/"
                self._text(301, "moved", head=head, Location=location)
            else:
                self._text(404, "not found", head=head)
            return
        folder = self.state.root / "simple" / (project or "")
        if not (folder / "index.html").is_file():
            self._text(404, "not found", head=head)
        elif not path.endswith("/"):
            self._text(301, "moved", head=head, Location=path + "/")
        else:
            filename, content_type = negotiate(self.headers.get("Accept"))
            data = (folder / filename).read_bytes()
            self._content(data, content_type, head=head, ranged=False)

    def _authorised(self, expected: tuple[str, str]) -> bool:
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(token).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == expected


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # close() joins every handler thread
    block_on_close = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-response is normal in fault tests


class IndexServer:
    """A threaded index server for ``index`` (a :class:`FixtureIndex` or its root folder).

    Use as a context manager, or call :meth:`start`/:meth:`close`. ``url`` is the index
    URL (``http://127.0.0.1:PORT/simple``); ``base_url`` has no path.
    """

    def __init__(
        self,
        index: FixtureIndex | Path,
        *,
        max_age: int = 600,
        require_auth: tuple[str, str] | None = None,
    ) -> None:
        root = index if isinstance(index, Path) else index.root
        self._state = _State(root, max_age=max_age, require_auth=require_auth)
        handler = type("Handler", (_Handler,), {"state": self._state})
        self._httpd = _HTTPServer(("127.0.0.1", 0), handler)
        self._thread: threading.Thread | None = None
        self.port: int = self._httpd.server_address[1]

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> IndexServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, drop kept-alive connections, join every thread, close the socket."""
        st = self._state
        st.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        with st.lock:
            conns = list(st.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- addresses ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/simple"

    def file_url(self, filename: str) -> str:
        return f"{self.base_url}/files/{filename}"

    def auth_url(self, user: str, password: str) -> str:
        """``url`` with credentials in it (``http://user:pass@127.0.0.1:PORT/simple``)."""
        return f"http://{user}:{password}@127.0.0.1:{self.port}/simple"

    # --- log and faults -------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def bytes_sent(self) -> int:
        return self._state.bytes_sent

    def paths(self, method: str | None = None) -> list[str]:
        """Requested paths in order (optionally of one method only)."""
        return [r.path for r in self.requests if method is None or r.method == method]

    def reset(self) -> None:
        """Clear the log, the byte counter and every pending fault (auth is kept)."""
        st = self._state
        with st.lock:
            st.requests.clear()
            st.bytes_sent = 0
            st.fail.clear()
            st.truncate = 0
            st.delay = 0.0

    def fail_next(self, n: int = 1, *, status: int = 500, after: float = 0.0) -> None:
        """Answer the next ``n`` requests (any path) with ``status`` and a short text body,
        each ``after`` seconds late (a slow failure; interrupted by close)."""
        with self._state.lock:
            self._state.fail.extend([(status, after)] * n)

    def delay(self, seconds: float) -> None:
        """Sleep ``seconds`` before every response until ``delay(0)`` (interrupted by close)."""
        self._state.delay = seconds

    def truncate_next(self, n: int = 1) -> None:
        """The next ``n`` responses with a body announce its full length, send half, close."""
        with self._state.lock:
            self._state.truncate += n

    @property
    def require_auth(self) -> tuple[str, str] | None:
        return self._state.require_auth

    @require_auth.setter
    def require_auth(self, value: tuple[str, str] | None) -> None:
        self._state.require_auth = value
