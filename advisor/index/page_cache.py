"""Project pages kept parsed in the on-disk cache: the layout of a cached page, its
freshness rules, and reading and writing it.

Sits under :mod:`advisor.index.finder`, which decides when a page is fresh enough, fetches
it otherwise and hands the parsed result here; below it is the on-disk
:class:`~advisor.index.cache.Cache` (bucket ``pages``). A page is stored as its parsed files
(msgpack, without the index URL's credentials) with its validators (ETag, Last-Modified),
the ``max-age`` the server gave and the project's PEP 792 status, so a warm run within the
TTL makes no request and parses no HTML. A ``file://`` page is validated by its file's
modification time and size (:func:`file_stamp`) in the ETag's place. An entry written by
another layout (:data:`FORMAT`) or unreadable reads as a miss and is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from advisor.index.local import file_url_to_path
from advisor.models import DistFile, ProjectStatus
from advisor.urls import redact_url

if TYPE_CHECKING:
    from advisor.index.cache import Cache

__all__ = ["BUCKET", "FORMAT", "CachedPage", "Page", "PageCache", "cache_directives", "file_stamp"]

BUCKET = "pages"
FORMAT = 2  # bump when the cached layout changes: older entries then read as misses


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched or cached page: ``status`` 404 means the location lacks it;
    ``project`` is the project's PEP 792 status when the page gave one."""

    status: int
    files: tuple[DistFile, ...]
    project: ProjectStatus | None = None


class _CachedFile(msgspec.Struct, array_like=True, frozen=True):
    filename: str
    url: str
    hashes: tuple[tuple[str, str], ...]
    requires_python: str | None
    yanked: str | None
    upload_time: datetime | None
    size: int | None
    core_metadata: tuple[tuple[str, str], ...] | None


class CachedPage(msgspec.Struct, array_like=True, frozen=True):
    """One page as the cache keeps it: its validators, ``max_age`` and parsed files."""

    format: int
    status: int
    index: str
    etag: str | None
    last_modified: str | None
    max_age: float | None
    files: tuple[_CachedFile, ...]
    marker: str | None = None  # the project's PEP 792 status, as the page gave it
    marker_reason: str = ""

    def page(self) -> Page:
        """The page the entry holds, its files' index restored (without credentials)."""
        project = (
            ProjectStatus.parse(self.marker, self.marker_reason)
            if self.marker is not None
            else None
        )
        return Page(self.status, tuple(_from_cached(f, self.index) for f in self.files), project)


class PageCache:
    """The ``pages`` bucket of a :class:`~advisor.index.cache.Cache`, keyed by the page's
    URL without credentials. Safe for concurrent processes, as the cache is."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    def read(self, key: str) -> CachedPage | None:
        """The entry under ``key``, or ``None`` (missing, unreadable, another layout: the
        last two are deleted, so the page is fetched afresh)."""
        blob = self._cache.read(BUCKET, key)
        if blob is None:
            return None
        try:
            entry = msgspec.msgpack.decode(blob, type=CachedPage)
        except (msgspec.DecodeError, msgspec.ValidationError):
            entry = None
        if entry is None or entry.format != FORMAT:
            self._cache.delete(BUCKET, key)  # an old layout or garbage: refetch
            return None
        return entry

    def write(
        self,
        key: str,
        page: Page,
        *,
        index: str,
        etag: str | None,
        last_modified: str | None,
        max_age: float | None,
    ) -> None:
        """Keep ``page`` (of ``index``, stored without credentials) under ``key``."""
        marker, reason = _marker(page.project)
        entry = CachedPage(
            format=FORMAT,
            status=page.status,
            index=redact_url(index),
            etag=etag,
            last_modified=last_modified,
            max_age=max_age,
            files=tuple(_to_cached(f) for f in page.files),
            marker=marker,
            marker_reason=reason,
        )
        self._cache.write(BUCKET, key, msgspec.msgpack.encode(entry))

    def age(self, key: str, *, now: float) -> float | None:
        """Seconds since the entry was written or last revalidated, ``None`` when absent."""
        return self._cache.age(BUCKET, key, now=now)

    def touch(self, key: str) -> None:
        """The entry was revalidated (a 304): its age starts again."""
        self._cache.touch(BUCKET, key)


def cache_directives(cache_control: str | None) -> tuple[float | None, bool]:
    """``(max-age seconds or None, storable)`` from a Cache-Control header."""
    max_age: float | None = None
    storable = True
    for directive in (cache_control or "").lower().split(","):
        key, _, value = directive.strip().partition("=")
        if key == "no-store":
            storable = False
        elif key == "no-cache":
            max_age = 0.0
        elif key == "max-age" and value.strip().strip('"').isdigit() and max_age is None:
            max_age = float(value.strip().strip('"'))
    return max_age, storable


def file_stamp(url: str) -> str | None:
    """``mtime:size`` of the file a ``file://`` page URL is served from, or ``None``."""
    path = file_url_to_path(url)
    try:
        if path.is_dir():
            path = path / "index.html"
        st = path.stat()
    except OSError:
        return None
    return f"file:{st.st_mtime_ns}:{st.st_size}"


def _marker(project: ProjectStatus | None) -> tuple[str | None, str]:
    """The cached form of a project's status: (marker, reason); ``(None, "")``: none."""
    if project is None:
        return None, ""
    return project.other or project.state.value, project.reason


def _to_cached(f: DistFile) -> _CachedFile:
    return _CachedFile(
        f.filename,
        f.url,
        f.hashes,
        f.requires_python,
        f.yanked,
        f.upload_time,
        f.size,
        f.core_metadata,
    )


def _from_cached(f: _CachedFile, index: str) -> DistFile:
    return DistFile(
        filename=f.filename,
        url=f.url,
        index=index,
        hashes=f.hashes,
        requires_python=f.requires_python,
        yanked=f.yanked,
        upload_time=f.upload_time,
        size=f.size,
        core_metadata=f.core_metadata,
    )
