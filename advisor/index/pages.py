"""Parse index pages into :class:`~advisor.models.DistFile` values (pure, no I/O).

Sits between the fetcher (bytes) and the finder (files per project): PEP 691 JSON and
PEP 503 HTML project pages (with PEP 592 yanks, PEP 658/714 core metadata, PEP 700
upload times and sizes, PEP 792 project status markers), and find-links listings (any
HTML page or directory listing, any project). Every URL is made absolute and stored
without credentials.
"""

from __future__ import annotations

import json
import posixpath
import urllib.parse
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from advisor.errors import IndexUnavailable
from advisor.models import DistFile, ProjectPage, ProjectStatus
from advisor.urls import redact_url

if TYPE_CHECKING:
    from packaging.utils import NormalizedName

__all__ = [
    "JSON_CONTENT_TYPE",
    "is_json_content_type",
    "parse_links_listing",
    "parse_project_page",
]

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
_SUPPORTED_MAJOR = 1


def is_json_content_type(content_type: str) -> bool:
    """True for a PEP 691 JSON page (``application/vnd.pypi.simple.v1+json`` or plain JSON)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media.endswith("+json") or media == "application/json"


def parse_project_page(
    content: bytes, *, content_type: str, page_url: str, index: str, name: NormalizedName
) -> ProjectPage:
    """The files of project ``name`` listed on one index page.

    ``content_type`` picks the format (JSON when it says so, else HTML). Files whose name
    does not parse as a wheel or sdist, or belongs to another project, are dropped.
    Raises :class:`IndexUnavailable` (with the redacted ``page_url``) for a malformed
    page or an unsupported API major version.
    """
    status: ProjectStatus | None
    if is_json_content_type(content_type):
        files, status = _parse_json(content, page_url=page_url, index=index)
    else:
        files, status = _parse_html(content, page_url=page_url, index=index)
    kept = tuple(f for f in files if (p := f.parsed) is not None and p.name == name)
    return ProjectPage(name=name, index=redact_url(index), files=kept, status=status)


def parse_links_listing(
    content: bytes, *, content_type: str, page_url: str, index: str
) -> tuple[DistFile, ...]:
    """Every wheel or sdist linked from a find-links page or directory listing (any project).

    ``index`` is recorded as the files' origin (the find-links location). JSON pages are
    accepted too. Raises :class:`IndexUnavailable` for a malformed page.
    """
    if is_json_content_type(content_type):
        files, _ = _parse_json(content, page_url=page_url, index=index)
    else:
        files, _ = _parse_html(content, page_url=page_url, index=index)
    return tuple(f for f in files if f.parsed is not None)


# -- JSON (PEP 691) -------------------------------------------------------------------------


def _malformed(page_url: str, reason: str) -> IndexUnavailable:
    return IndexUnavailable(f"malformed index page: {reason}", url=redact_url(page_url))


def _check_version(version: object, page_url: str) -> None:
    if version is None:
        return
    major = str(version).split(".", 1)[0].strip()
    if not major.isdigit():
        raise _malformed(page_url, f"unreadable api-version {version!r}")
    if int(major) != _SUPPORTED_MAJOR:
        raise _malformed(page_url, f"unsupported api-version {version} (need 1.x)")


def _status(status: object, reason: object) -> ProjectStatus | None:
    """A PEP 792 marker, or ``None`` when the page gives none (or no usable one)."""
    if not isinstance(status, str) or not status.strip():
        return None
    return ProjectStatus.parse(status, reason if isinstance(reason, str) else "")


def _json_status(data: dict[str, Any], meta: dict[str, Any]) -> ProjectStatus | None:
    """``project-status: {status, reason}`` beside ``meta`` (PEP 792); the living spec
    once placed it inside ``meta`` by mistake, so that place is read too."""
    for holder in (data, meta):
        found = holder.get("project-status")
        if isinstance(found, dict):
            return _status(found.get("status"), found.get("reason"))
    return None


def _parse_json(
    content: bytes, *, page_url: str, index: str
) -> tuple[list[DistFile], ProjectStatus | None]:
    try:
        data: Any = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _malformed(page_url, f"invalid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise _malformed(page_url, "the JSON page is not an object")
    meta = data.get("meta")
    if not isinstance(meta, dict) or "api-version" not in meta:
        raise _malformed(page_url, "no meta.api-version in the JSON page")
    _check_version(meta["api-version"], page_url)
    raw_files = data.get("files", [])
    if not isinstance(raw_files, list):
        raise _malformed(page_url, "'files' is not a list")
    base = redact_url(page_url)
    index = redact_url(index)
    out: list[DistFile] = []
    for item in raw_files:
        if not isinstance(item, dict):
            continue
        filename, url = item.get("filename"), item.get("url")
        if not isinstance(filename, str) or not isinstance(url, str):
            continue
        hashes = item.get("hashes")
        core = item.get("core-metadata", item.get("dist-info-metadata"))
        size = item.get("size")
        requires_python = item.get("requires-python")
        out.append(
            DistFile(
                filename=filename,
                url=_absolute(base, url),
                index=index,
                hashes=_hash_pairs(hashes) if isinstance(hashes, dict) else (),
                requires_python=requires_python if isinstance(requires_python, str) else None,
                yanked=_json_yanked(item.get("yanked")),
                upload_time=_parse_time(item.get("upload-time")),
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                core_metadata=_json_core_metadata(core),
            )
        )
    return out, _json_status(data, meta)


def _hash_pairs(hashes: dict[Any, Any]) -> tuple[tuple[str, str], ...]:
    pairs = {
        str(k).lower(): str(v).lower()
        for k, v in hashes.items()
        if isinstance(k, str) and isinstance(v, str) and v
    }
    return tuple(sorted(pairs.items()))


def _json_yanked(value: object) -> str | None:
    if value is None or value is False:
        return None
    if isinstance(value, str):
        return value
    return ""  # True (or anything truthy without a reason)


def _json_core_metadata(value: object) -> tuple[tuple[str, str], ...] | None:
    if value is None or value is False:
        return None
    if isinstance(value, dict):
        return _hash_pairs(value)
    return ()


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# -- HTML (PEP 503) -------------------------------------------------------------------------


class _AnchorParser(HTMLParser):
    """Collects ``<a>`` attributes, the first ``<base href>``, the repository version and
    the project status markers (``pypi:project-status``, ``pypi:project-status-reason``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.base: str | None = None
        self.version: str | None = None
        self.status: str | None = None
        self.status_reason: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "meta":
            values = dict(attrs)
            name = values.get("name")
            if name == "pypi:repository-version":
                self.version = values.get("content")
            elif name == "pypi:project-status":
                self.status = values.get("content")
            elif name == "pypi:project-status-reason":
                self.status_reason = values.get("content")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def _parse_html(
    content: bytes, *, page_url: str, index: str
) -> tuple[list[DistFile], ProjectStatus | None]:
    parser = _AnchorParser()
    # Attribute values are unescaped by the parser (&gt;= → >=), as PEP 503 requires.
    parser.feed(content.decode("utf-8", errors="replace"))
    parser.close()
    _check_version(parser.version, page_url)
    base = redact_url(page_url)
    if parser.base:
        base = _absolute(base, parser.base)
    index = redact_url(index)
    out: list[DistFile] = []
    for attrs in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url = _absolute(base, href)
        path = urllib.parse.urlsplit(url).path
        filename = urllib.parse.unquote(posixpath.basename(path))
        if not filename:
            continue
        requires_python = attrs.get("data-requires-python") or None
        core_key = (
            "data-core-metadata" if "data-core-metadata" in attrs else "data-dist-info-metadata"
        )
        out.append(
            DistFile(
                filename=filename,
                url=url.split("#", 1)[0],
                index=index,
                hashes=_fragment_hash(url),
                requires_python=requires_python,
                yanked=(attrs["data-yanked"] or "") if "data-yanked" in attrs else None,
                core_metadata=(
                    _html_core_metadata(attrs[core_key] or "") if core_key in attrs else None
                ),
            )
        )
    return out, _status(parser.status, parser.status_reason)


def _fragment_hash(url: str) -> tuple[tuple[str, str], ...]:
    fragment = urllib.parse.urlsplit(url).fragment
    algo, sep, digest = fragment.partition("=")
    if not sep or not algo or not digest or not digest.isalnum():
        return ()
    return ((algo.lower(), digest.lower()),)


def _html_core_metadata(value: str) -> tuple[tuple[str, str], ...] | None:
    text = value.strip()
    if text.lower() in ("", "true"):
        return ()
    if text.lower() == "false":
        return None
    algo, sep, digest = text.partition("=")
    return ((algo.lower(), digest.lower()),) if sep and algo and digest else ()


def _absolute(base: str, href: str) -> str:
    href = href.strip()
    if href.startswith(("https://", "http://")) and "@" not in href.split("/", 3)[2]:
        return href  # already absolute and carries no credentials: the common JSON case
    return redact_url(urllib.parse.urljoin(base, href))
