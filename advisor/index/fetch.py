"""The one network seam of the index client: bytes in, :class:`Response` out.

Sits at the bottom of the sources layer (``inputs → index client → …``): the page parser,
the package finder and the metadata fetcher all call :meth:`Fetcher.get` and never touch
httpx themselves. ``http(s)://`` goes through one shared ``httpx.Client`` (thread-safe, used
from thread pools); ``file://`` is answered in-process with the same :class:`Response`
shape (directories become an HTML listing, ``Range`` is honoured), so local indexes and
find-links folders need no special case above this module.

Failures are translated here: transient ones (connect errors, time-outs, 5xx, 429,
truncated bodies) are retried with exponential backoff, then raised as
:class:`~advisor.errors.IndexUnavailable` with a plain reason and a URL without credentials
(the policy, which needs no httpx, is :mod:`advisor.index.retry`'s).
:meth:`Fetcher.download` streams a file to disk (hash-checked, renamed into place when whole)
for the image build context and installers; :meth:`Fetcher.download_if_changed` does the
same with a conditional GET (ETag / Last-Modified, 304 → nothing written) for data dumps.
Which hosts are trusted, which credentials go where and the TLS context are
:mod:`advisor.index.network`'s rules. Each retry and each streamed chunk is reported to the
:class:`~advisor.events.ProgressEvents` given to the constructor.
"""

from __future__ import annotations

import threading
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Self, TypeVar

from advisor.errors import IndexUnavailable
from advisor.events import SILENT
from advisor.index.download import (
    CHUNK,
    Downloaded,
    Saved,
    copy_file,
    part_file,
    pump,
    reported,
)
from advisor.index.local import file_url_to_path, get_file, read_directory_listing
from advisor.index.network import (
    NetworkSettings,
    configured_credentials,
    is_loopback,
    is_trusted,
    origin,
    split_userinfo,
    ssl_context,
    truncation,
)
from advisor.index.response import Response
from advisor.index.retry import Fatal, exception_chain, os_reason, retrying, status_failure
from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path
    from types import TracebackType

    import httpx

    from advisor.events import ProgressEvents

__all__ = [
    "Downloaded",
    "Fetcher",
    "NetworkSettings",
    "Response",
    "file_url_to_path",
    "read_directory_listing",
]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Streamed:
    """One streamed answer: what was saved (``None`` for a 304) and its headers (lower-case)."""

    saved: Saved | None
    headers: Mapping[str, str]


class _NotModified(Exception):
    """Carries a 304 out of the part-file block, so that nothing is renamed into place."""

    def __init__(self, streamed: _Streamed) -> None:
        super().__init__("not modified")
        self.streamed = streamed


class Fetcher:
    """GET over http(s) and file:// with retries, credentials, TLS policy and redaction
    (and :meth:`post_json` for JSON query APIs over http(s)).

    Thread-safe: one instance is shared by every worker thread. Use as a context manager
    or call :meth:`close`. Cost: one request per call (plus retries); no caching here.
    """

    def __init__(self, settings: NetworkSettings, *, events: ProgressEvents = SILENT) -> None:
        self._settings = settings
        self._events = events
        self._lock = threading.Lock()
        self._client_: httpx.Client | None = None  # created on first http(s) request
        self._insecure: httpx.Client | None = None  # for trusted hosts, created on first use
        # Credentials seen in requested URLs (user:pass@), reused for later requests under
        # the same prefix or origin: files usually live outside the index page's path.
        self._learned: dict[tuple[str, str, int | None], tuple[str, str]] = {}
        self._closed = False

    # -- public ---------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        answer_errors: bool = False,
    ) -> Response:
        """Fetch ``url``; 2xx and 4xx (except 401/403/429) are returned, 404 included (every
        status with ``answer_errors``, as :meth:`post_json`).

        Raises :class:`IndexUnavailable` (URL redacted) once retries are exhausted, for
        401/403, for plain http to an untrusted remote host, and for unsupported schemes.
        """
        clean, userinfo = split_userinfo(url)
        scheme = urllib.parse.urlsplit(clean).scheme.lower()
        if scheme == "file":
            return get_file(clean, headers or {})
        if scheme not in ("http", "https"):
            raise IndexUnavailable(f"unsupported URL scheme {scheme!r}", url=clean)
        client, auth = self._route(clean, scheme, userinfo)
        if answer_errors:
            sent = dict(headers or {})
            return self._retrying(
                clean, lambda: self._attempt(client, clean, sent, auth, answer_errors=True)
            )
        return self._get_with_retries(client, clean, dict(headers or {}), auth)

    def download(self, url: str, dest: Path, *, sha256: str | None = None) -> int:
        """Save the file at ``url`` as ``dest`` (written to a temporary file beside it, then
        renamed, so a partial file never appears under dest's name); return its size in bytes.

        ``file://`` is copied, http(s) streamed, in 1 MiB chunks (memory stays flat), with the
        routing, credentials, retries and errors of :meth:`get`; the bytes are saved as sent
        (``Accept-Encoding: identity``). When ``sha256`` (hex) is given and the content's
        digest differs, nothing is kept and no retry is made. dest's folder must exist.

        Raises :class:`IndexUnavailable` (URL redacted) for a missing file, any HTTP status
        other than 2xx (after retries for 5xx/429), a hash mismatch, or a failed write.
        """
        clean, userinfo = split_userinfo(url)
        scheme = urllib.parse.urlsplit(clean).scheme.lower()
        if scheme not in ("file", "http", "https"):
            raise IndexUnavailable(f"unsupported URL scheme {scheme!r}", url=clean)
        route = None if scheme == "file" else self._route(clean, scheme, userinfo)
        with part_file(dest, url=clean) as out:
            if route is None:
                saved = copy_file(file_url_to_path(clean), out, dest=dest, url=clean)
            else:
                client, auth = route
                self._events.downloading(clean, done=0, total=None)  # shown while it waits
                try:
                    streamed = self._retrying(
                        clean, lambda: self._stream_attempt(client, clean, auth, out, dest=dest)
                    )
                finally:
                    self._events.download_finished(clean)
                assert streamed.saved is not None  # only a conditional GET gets a 304
                saved = streamed.saved
            if sha256 is not None and saved.sha256 != sha256.lower():
                raise IndexUnavailable(
                    f"sha256 does not match the lock/index: expected {sha256.lower()[:12]}…,"
                    f" got {saved.sha256[:12]}…",
                    url=clean,
                )
        return saved.size

    def download_if_changed(
        self,
        url: str,
        dest: Path,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Downloaded:
        """Like :meth:`download` (no hash given), but conditional: ``If-None-Match: etag``
        and ``If-Modified-Since: last_modified`` are sent when given, and a 304 answer
        returns ``Downloaded(changed=False)`` with ``dest`` untouched. Otherwise ``dest`` is
        replaced (whole, or not at all) and the answer's validators are returned. ``file://``
        has no validators: it is always copied. The body's progress goes to the events, as
        :meth:`download`'s does. Raises :class:`IndexUnavailable` like :meth:`download`."""
        clean, userinfo = split_userinfo(url)
        scheme = urllib.parse.urlsplit(clean).scheme.lower()
        if scheme not in ("file", "http", "https"):
            raise IndexUnavailable(f"unsupported URL scheme {scheme!r}", url=clean)
        if scheme == "file":  # a local copy: fast, so no progress
            with part_file(dest, url=clean) as out:
                saved = copy_file(file_url_to_path(clean), out, dest=dest, url=clean)
            return Downloaded(changed=True, size=saved.size, sha256=saved.sha256)
        client, auth = self._route(clean, scheme, userinfo)
        headers = {"if-none-match": etag or "", "if-modified-since": last_modified or ""}
        headers = {k: v for k, v in headers.items() if v}
        try:
            with part_file(dest, url=clean) as out:
                self._events.downloading(clean, done=0, total=None)  # shown while it waits
                try:
                    got = self._retrying(
                        clean,
                        lambda: self._stream_attempt(
                            client,
                            clean,
                            auth,
                            out,
                            dest=dest,
                            headers=headers,
                        ),
                    )
                finally:
                    self._events.download_finished(clean)
                if got.saved is None:
                    raise _NotModified(got)  # leaves the with: the part file is removed
        except _NotModified as not_modified:
            kept = not_modified.streamed.headers
            return Downloaded(
                changed=False,
                etag=kept.get("etag") or etag,
                last_modified=kept.get("last-modified") or last_modified,
            )
        return Downloaded(
            changed=True,
            size=got.saved.size,
            sha256=got.saved.sha256,
            etag=got.headers.get("etag"),
            last_modified=got.headers.get("last-modified"),
        )

    def _route(
        self, clean: str, scheme: str, userinfo: tuple[str, str] | None
    ) -> tuple[httpx.Client, tuple[str, str] | None]:
        """The client (TLS policy) and credentials for an http(s) URL; refuses plain http to
        an untrusted remote host."""
        host = origin(clean)[1]
        trusted = self._is_trusted(clean)
        if scheme == "http" and not trusted and not is_loopback(host):
            raise IndexUnavailable(
                f"plain http is refused for {host}: use https, or add the host to the"
                " trusted hosts (pip's trusted-host)",
                url=clean,
            )
        if userinfo is not None:
            with self._lock:
                self._learned[origin(clean)] = userinfo
        auth = userinfo or self._credentials_for(clean)
        client = self._insecure_client() if trusted else self._secure_client()
        return client, auth

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._client_ is not None:
                self._client_.close()
            if self._insecure is not None:
                self._insecure.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- clients --------------------------------------------------------------------------

    def _secure_client(self) -> httpx.Client:
        # httpx and the system trust store load lazily: a warm run never touches the network
        with self._lock:
            if self._client_ is None:
                self._client_ = self._make_client(verify=True)
            return self._client_

    def _make_client(self, *, verify: bool) -> httpx.Client:
        import httpx

        s = self._settings
        return httpx.Client(
            verify=ssl_context(self._settings, verify=verify),
            http1=True,
            http2=False,
            trust_env=True,
            follow_redirects=True,
            timeout=httpx.Timeout(s.timeout),
            limits=httpx.Limits(
                max_connections=s.max_connections, max_keepalive_connections=s.max_connections
            ),
            headers={"User-Agent": s.user_agent},
        )

    def _insecure_client(self) -> httpx.Client:
        with self._lock:
            if self._insecure is None:
                if self._closed:
                    raise RuntimeError("Fetcher is closed")
                self._insecure = self._make_client(verify=False)
            return self._insecure

    def _is_trusted(self, url: str) -> bool:
        return is_trusted(self._settings, url)

    def _credentials_for(self, url: str) -> tuple[str, str] | None:
        """Configured credentials for ``url`` (:func:`configured_credentials`), else those
        seen earlier in a URL of the same origin, else a configured entry for that origin
        (files often live outside the index's path on the same host)."""
        best, same_origin = configured_credentials(self._settings, url)
        if best is not None:
            return best
        with self._lock:
            learned = self._learned.get(origin(url))
        return learned or same_origin

    # -- http -----------------------------------------------------------------------------

    def _get_with_retries(
        self,
        client: httpx.Client,
        url: str,
        headers: dict[str, str],
        auth: tuple[str, str] | None,
        *,
        body: bytes | None = None,
    ) -> Response:
        return self._retrying(url, lambda: self._attempt(client, url, headers, auth, body=body))

    def _retrying(self, url: str, attempt: Callable[[], _T | tuple[str, float]]) -> _T:
        return retrying(url, attempt, retries=self._settings.retries, events=self._events)

    def _attempt(
        self,
        client: httpx.Client,
        url: str,
        headers: dict[str, str],
        auth: tuple[str, str] | None,
        *,
        body: bytes | None = None,
        answer_errors: bool = False,
    ) -> Response | tuple[str, float]:
        """One request (a GET, or a POST of ``body``): a :class:`Response`, or ``(reason,
        retry-after seconds)`` to retry (never for a status with ``answer_errors``)."""
        import httpx

        try:
            if body is None:
                resp = client.get(url, headers=headers, auth=auth)
            else:
                resp = client.request("POST", url, content=body, headers=headers, auth=auth)
        except (httpx.RequestError, httpx.InvalidURL) as exc:
            return self._failure(exc), 0.0
        final = redact_url(str(resp.url))
        status = resp.status_code
        retry = None if answer_errors else status_failure(status, resp.headers, auth)
        if retry is not None:
            return retry
        content = resp.content
        encoding = resp.headers.get("content-encoding", "identity").lower()
        short = truncation(resp.headers.get("content-length"), len(content))
        if short is not None and encoding == "identity":
            return short, 0.0
        out_headers = {k.lower(): v for k, v in resp.headers.items()}
        return Response(final, status, out_headers, content)

    # -- POST (JSON query APIs such as OSV's /v1/querybatch) ---------------------------------

    def post_json(
        self,
        url: str,
        payload: Any,
        *,
        headers: Mapping[str, str] | None = None,
        answer_errors: bool = False,
    ) -> Response:
        """POST ``payload`` as JSON (compact, keys sorted) to an http(s) ``url``.

        For idempotent queries only: it is retried like :meth:`get`, with the same TLS
        policy, credentials, redaction and errors (:class:`IndexUnavailable`); ``file://``
        has no POST and is refused. ``headers`` are sent as well (never logged: they may
        carry a token). With ``answer_errors`` every HTTP status is returned as a
        :class:`Response` (for a service that explains its refusals in the body): only
        failures to connect are retried and raised.
        """
        import json

        clean, userinfo = split_userinfo(url)
        scheme = urllib.parse.urlsplit(clean).scheme.lower()
        if scheme not in ("http", "https"):
            raise IndexUnavailable(f"cannot POST to a {scheme or 'relative'} URL", url=clean)
        client, auth = self._route(clean, scheme, userinfo)
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        sent = {
            **{k.lower(): v for k, v in (headers or {}).items()},
            "content-type": "application/json",
            "accept": "application/json",
        }
        return self._retrying(
            clean,
            lambda: self._attempt(
                client, clean, sent, auth, body=body, answer_errors=answer_errors
            ),
        )

    def _stream_attempt(
        self,
        client: httpx.Client,
        url: str,
        auth: tuple[str, str] | None,
        out: BinaryIO,
        *,
        dest: Path,
        headers: Mapping[str, str] | None = None,
    ) -> _Streamed | tuple[str, float]:
        """One streamed GET of ``url`` into ``out`` (emptied first): what was saved (nothing
        for a 304 to a conditional GET, i.e. with ``headers``), or ``(reason, retry-after
        seconds)`` to retry."""
        import httpx

        out.seek(0)
        out.truncate()
        sent = {"accept-encoding": "identity", **(headers or {})}
        try:
            with client.stream("GET", url, headers=sent, auth=auth) as resp:
                retry = status_failure(resp.status_code, resp.headers, auth)
                if retry is not None:
                    return retry
                got = {k.lower(): v for k, v in resp.headers.items()}
                if resp.status_code == 304 and headers:
                    return _Streamed(saved=None, headers=got)
                if not 200 <= resp.status_code < 300:
                    raise Fatal(f"HTTP {resp.status_code}")
                length = resp.headers.get("content-length")
                total = int(length) if length and length.isdigit() else None
                chunks = reported(resp.iter_raw(CHUNK), url=url, total=total, events=self._events)
                saved = pump(chunks, out, dest=dest, url=url)
                short = truncation(length, saved.size)
        except (httpx.RequestError, httpx.InvalidURL) as exc:
            return self._failure(exc), 0.0
        return _Streamed(saved=saved, headers=got) if short is None else (short, 0.0)

    def _failure(self, exc: httpx.RequestError | httpx.InvalidURL) -> str:
        """The reason to retry after ``exc``; raises ``Fatal`` when retrying cannot cure it."""
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            return f"timed out after {self._settings.timeout:g} s"
        if isinstance(exc, httpx.UnsupportedProtocol):
            raise Fatal(f"unsupported URL: {exc}") from exc
        if isinstance(exc, httpx.TooManyRedirects):
            raise Fatal("too many redirects") from exc
        if isinstance(exc, httpx.InvalidURL):
            raise Fatal(f"invalid URL: {exc}") from exc
        if isinstance(exc, httpx.TransportError):
            return self._transport_reason(exc)
        return "the response body could not be decoded (corrupt or truncated)"

    @staticmethod
    def _transport_reason(exc: httpx.TransportError) -> str:
        import httpx

        reason = os_reason(exc)
        if reason is not None:
            return reason
        if isinstance(exc, httpx.RemoteProtocolError):
            return f"truncated or broken response: {exception_chain(exc)[-1] or exc}"
        if isinstance(exc, httpx.ProxyError):
            return f"proxy error: {exc}"
        if isinstance(exc, httpx.ConnectError):
            return f"cannot connect: {exc}"
        if isinstance(exc, httpx.ReadError):
            return f"read error: {exc}"
        return str(exc) or type(exc).__name__
