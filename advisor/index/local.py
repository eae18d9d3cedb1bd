"""``file://`` at the same seam as http(s): local indexes and find-links folders answered
in-process like a static web server (directory listings, ``index.html``, ``Range``), with the
same :class:`~advisor.index.response.Response` shape, so nothing above the fetcher needs a
special case."""

from __future__ import annotations

import html
import re
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import IndexUnavailable
from advisor.index.response import Response
from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["file_url_to_path", "get_file", "read_directory_listing"]

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def file_url_to_path(url: str) -> Path:
    """The local path of a ``file://`` URL (host empty or ``localhost``)."""
    parts = urllib.parse.urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise IndexUnavailable("file:// URLs on another host are not supported", url=url)
    return Path(urllib.parse.unquote(parts.path))


def _listing(directory: Path) -> bytes:
    """A PEP 503-shaped HTML page linking every entry of ``directory`` (sorted, relative)."""
    lines = ["<!DOCTYPE html>", "<html><body>"]
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        name = entry.name + ("/" if entry.is_dir() else "")
        href = urllib.parse.quote(name)
        lines.append(f'<a href="{html.escape(href)}">{html.escape(name)}</a><br>')
    lines.append("</body></html>")
    return ("\n".join(lines) + "\n").encode()


def read_directory_listing(url: str) -> Response:
    """A generated HTML listing of the ``file://`` directory ``url``, even when it holds an
    ``index.html`` (find-links folders are listed, never served). Missing → 404."""
    clean = redact_url(url)
    path = file_url_to_path(clean)
    if not clean.endswith("/"):
        clean += "/"
    try:
        body = _listing(path)
    except (FileNotFoundError, NotADirectoryError):
        return Response(clean, 404, _plain_headers("text/plain", 0), b"")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise IndexUnavailable(f"cannot read: {reason.lower()}", url=clean) from exc
    return Response(clean, 200, _plain_headers("text/html", len(body)), body)


def _content_type(path: Path) -> str:
    if path.suffix in (".html", ".htm"):
        return "text/html"
    if path.suffix == ".json":
        return "application/json"
    import mimetypes

    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def get_file(url: str, headers: Mapping[str, str]) -> Response:
    """Answer a ``file://`` GET like a static web server would.

    A directory serves its ``index.html`` when it has one, else a generated listing (the
    final URL then ends with ``/`` so relative links resolve). A missing path is a 404.
    """
    path = file_url_to_path(url)
    try:
        if path.is_dir():
            if not url.endswith("/"):
                url += "/"
            index_html = path / "index.html"
            if index_html.is_file():
                body = index_html.read_bytes()
            else:
                body = _listing(path)
            return Response(url, 200, _plain_headers("text/html", len(body)), body)
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return Response(url, 404, _plain_headers("text/plain", 0), b"")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise IndexUnavailable(f"cannot read: {reason.lower()}", url=url) from exc
    ctype = _content_type(path)
    range_header = next((v for k, v in headers.items() if k.lower() == "range"), None)
    if range_header is None:
        return Response(url, 200, _plain_headers(ctype, len(data)), data)
    return _ranged(url, data, range_header, ctype)


def _plain_headers(ctype: str, length: int) -> dict[str, str]:
    return {"content-type": ctype, "content-length": str(length), "accept-ranges": "bytes"}


def _ranged(url: str, data: bytes, spec: str, ctype: str) -> Response:
    size = len(data)
    match = _RANGE.match(spec)
    if match is None or (not match[1] and not match[2]):
        # Multiple or malformed ranges: ignore the header, as servers may (RFC 9110).
        return Response(url, 200, _plain_headers(ctype, size), data)
    if match[1]:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
    else:
        start, end = max(0, size - int(match[2])), size - 1
    if start >= size or start > end:
        headers = _plain_headers(ctype, 0)
        headers["content-range"] = f"bytes */{size}"
        return Response(url, 416, headers, b"")
    body = data[start : end + 1]
    headers = _plain_headers(ctype, len(body))
    headers["content-range"] = f"bytes {start}-{end}/{size}"
    return Response(url, 206, headers, body)
