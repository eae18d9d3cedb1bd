"""Find every file of a project across indexes and find-links locations.

Sits between the fetcher/page parser (below) and the resolution layer (above): the
provider asks :meth:`PackageFinder.find` for a project's files and gets
:class:`~advisor.models.DistFile` values, already filtered to the project and stripped of
credentials. Index policy lives here: first-index (default, safe against dependency
confusion) or pip's merge of every index, per-project index pinning, and find-links merged
as pip merges them.

Project pages (and find-links pages over http) are cached in the ``pages`` bucket of the
on-disk :class:`~advisor.index.cache.Cache` as already-parsed files (msgpack), with their
validators (and the project's PEP 792 status, when the page gives one): a warm run within
the TTL makes no request and parses no HTML. A ``file://``
project page is cached too, validated by its file's modification time and size (one
``stat``), since parsing a large page costs more than loading the parsed form. find-links
folders are listed afresh every time (a listing is cheap and has no single file to stat).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import urllib.parse
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import msgspec
from packaging.utils import InvalidName, canonicalize_name

from advisor.errors import AdvisorError, IndexUnavailable, InputError
from advisor.index.fetch import file_url_to_path, read_directory_listing
from advisor.index.pages import parse_links_listing, parse_project_page
from advisor.models import DistFile, IndexStrategy, ProjectStatus
from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from packaging.utils import NormalizedName

    from advisor.index.cache import Cache
    from advisor.index.fetch import Fetcher, Response

__all__ = ["ACCEPT", "IndexStrategy", "PackageFinder"]

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2,"
    " text/html;q=0.01"
)
_BUCKET = "pages"
_FORMAT = 2  # bump when the cached layout changes: older entries then read as misses
_MAX_WORKERS = 16
_T = TypeVar("_T")
_K = TypeVar("_K", bound=str)


class _CachedFile(msgspec.Struct, array_like=True, frozen=True):
    filename: str
    url: str
    hashes: tuple[tuple[str, str], ...]
    requires_python: str | None
    yanked: str | None
    upload_time: datetime | None
    size: int | None
    core_metadata: tuple[tuple[str, str], ...] | None


class _CachedPage(msgspec.Struct, array_like=True, frozen=True):
    format: int
    status: int
    index: str
    etag: str | None
    last_modified: str | None
    max_age: float | None
    files: tuple[_CachedFile, ...]
    marker: str | None = None  # the project's PEP 792 status, as the page gave it
    marker_reason: str = ""


@dataclass(frozen=True, slots=True)
class _Page:
    """A fetched or cached page: ``status`` 404 means the location lacks it;
    ``project`` is the project's PEP 792 status when the page gave one."""

    status: int
    files: tuple[DistFile, ...]
    project: ProjectStatus | None = None


#: what a page parser returns: the files and the project's status (project pages only)
_Parsed = tuple[tuple[DistFile, ...], ProjectStatus | None]


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


def _marker(project: ProjectStatus | None) -> tuple[str | None, str]:
    """The cached form of a project's status: (marker, reason); ``(None, "")``: none."""
    if project is None:
        return None, ""
    return project.other or project.state.value, project.reason


def _file_stamp(url: str) -> str | None:
    """``mtime:size`` of the file a ``file://`` page URL is served from, or ``None``."""
    path = file_url_to_path(url)
    try:
        if path.is_dir():
            path = path / "index.html"
        st = path.stat()
    except OSError:
        return None
    return f"file:{st.st_mtime_ns}:{st.st_size}"


def _as_url(location: str) -> str:
    """A URL for an index or find-links location; a bare local path becomes ``file://``."""
    scheme = urllib.parse.urlsplit(location).scheme
    if len(scheme) > 1:  # one letter is a Windows drive, not a scheme
        return location
    return Path(location).expanduser().absolute().as_uri()


def _is_file_url(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme.lower() == "file"


def _max_age(cache_control: str | None) -> tuple[float | None, bool]:
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


class PackageFinder:
    """All files of a project from the configured indexes and find-links locations.

    Thread-safe; :meth:`find` is memoised per instance (a project is looked up once, even
    when several threads ask at the same time). ``pinned`` maps a project to the only index
    it may come from (find-links are still merged). ``offline`` reads the cache only
    (``file://`` locations are still read); ``refresh`` revalidates every cached page.
    """

    def __init__(
        self,
        *,
        fetcher: Fetcher,
        indexes: Sequence[str],
        find_links: Sequence[str] = (),
        strategy: IndexStrategy = IndexStrategy.FIRST_INDEX,
        cache: Cache | None = None,
        page_ttl: float = 600.0,
        offline: bool = False,
        refresh: bool = False,
        pinned: Mapping[NormalizedName, str] = {},
        now: Callable[[], float] = time.time,
    ) -> None:
        self._fetcher = fetcher
        self._indexes = tuple(_as_url(i) for i in indexes)
        self._find_links = tuple(_as_url(loc) for loc in find_links)
        self._strategy = strategy
        self._cache = cache
        self._ttl = page_ttl
        self._offline = offline
        self._refresh = refresh
        self._pinned = {canonicalize_name(k): _as_url(v) for k, v in pinned.items()}
        self._now = now
        self._lock = threading.Lock()
        self._found: dict[NormalizedName, Future[tuple[DistFile, ...]]] = {}
        self._statuses: dict[NormalizedName, ProjectStatus] = {}
        self._links: dict[str, Future[Mapping[NormalizedName, tuple[DistFile, ...]]]] = {}
        self._warned: set[str] = set()
        self._requests = 0
        self._network_requests = 0
        self._log = logging.getLogger("advisor.index")

    @property
    def requests(self) -> int:
        """Number of fetches made so far (network or ``file://``; cache hits are not counted)."""
        with self._lock:
            return self._requests

    @property
    def network_requests(self) -> int:
        """Fetches over http(s) so far: 0 means every page came from the cache or disk."""
        with self._lock:
            return self._network_requests

    # -- public ---------------------------------------------------------------------------

    def find(self, name: str) -> tuple[DistFile, ...]:
        """Every file of project ``name``: the chosen indexes' files, then find-links files.

        An unknown project gives ``()``. Raises :class:`IndexUnavailable` when a location
        that must be consulted cannot be read (or is not cached while offline), and
        :class:`InputError` for an invalid project name. Cost: one request per index
        consulted (none when cached and fresh), once per instance.
        """
        try:
            norm = canonicalize_name(name, validate=True)
        except InvalidName as exc:
            raise InputError(f"invalid project name {name!r}") from exc
        return self._once(self._found, norm, lambda: self._find(norm))

    def project_status(self, name: str) -> ProjectStatus | None:
        """The PEP 792 status of project ``name`` on the index its files come from (the
        first that gives one, in index order), or ``None`` when no page gives a marker.
        Looks the project up like :meth:`find` (memoised: free after it) and raises what
        it raises."""
        self.find(name)
        with self._lock:
            return self._statuses.get(canonicalize_name(name))

    def prefetch(self, names: Iterable[str]) -> None:
        """Look up ``names`` concurrently (bounded pool) and return when all are done.

        Errors are not raised here: :meth:`find` raises them for the project concerned.
        """
        todo: list[str] = []
        for name in names:
            try:
                norm = canonicalize_name(name, validate=True)
            except InvalidName:
                continue  # find() reports it
            with self._lock:
                if norm not in self._found and norm not in todo:
                    todo.append(norm)
        if not todo:
            return
        # Threads pay off only when pages come over the wire: when the first lookup is
        # answered by the cache, the rest most likely are too, and find() gets them lazily.
        before = self.network_requests
        with contextlib.suppress(AdvisorError):
            self.find(todo.pop(0))
        if not todo or self.network_requests == before:
            return
        workers = min(_MAX_WORKERS, len(todo))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="advisor-index") as pool:
            for future in [pool.submit(self.find, n) for n in todo]:
                future.exception()  # wait; the error stays memoised for find()

    # -- lookup ---------------------------------------------------------------------------

    def _once(self, table: dict[_K, Future[_T]], key: _K, compute: Callable[[], _T]) -> _T:
        """``compute()`` once per ``key``; concurrent callers wait for the first one."""
        with self._lock:
            future = table.get(key)
            owner = future is None
            if future is None:
                future = table[key] = Future()
        if owner:
            try:
                future.set_result(compute())
            except BaseException as exc:
                future.set_exception(exc)
                raise
        return future.result()

    def _find(self, name: NormalizedName) -> tuple[DistFile, ...]:
        pinned = self._pinned.get(name)
        indexes = (pinned,) if pinned is not None else self._indexes
        files: list[DistFile] = []
        for index in indexes:
            page = self._project_page(index, name)
            if page.project is not None:
                with self._lock:
                    self._statuses.setdefault(name, page.project)
            if page.status == 404 or not page.files:
                continue
            files.extend(page.files)
            if self._strategy is IndexStrategy.FIRST_INDEX:
                break
        for location in self._find_links:
            files.extend(self._links_for(location).get(name, ()))
        seen: set[str] = set()
        unique: list[DistFile] = []
        for f in files:
            if f.url not in seen:
                seen.add(f.url)
                unique.append(f)
        return tuple(unique)

    def _warn_once(self, url: str, message: str) -> None:
        with self._lock:
            if url in self._warned:
                return
            self._warned.add(url)
        self._log.warning(message, redact_url(url))

    def _project_page(self, index: str, name: NormalizedName) -> _Page:
        if _is_file_url(index) and not file_url_to_path(index).is_dir():
            self._warn_once(index, "index %s does not exist on disk; skipping it")
            return _Page(404, ())
        page_url = index.rstrip("/") + "/" + name + "/"

        def parse(resp: Response) -> _Parsed:
            ctype = resp.headers.get("content-type", "text/html")
            page = parse_project_page(
                resp.content, content_type=ctype, page_url=resp.url, index=index, name=name
            )
            return page.files, page.status

        return self._load(page_url, index=index, parse=parse)

    def _links_for(self, location: str) -> Mapping[NormalizedName, tuple[DistFile, ...]]:
        return self._once(self._links, location, lambda: self._read_links(location))

    def _read_links(self, location: str) -> Mapping[NormalizedName, tuple[DistFile, ...]]:
        files: tuple[DistFile, ...]
        if _is_file_url(location) and not file_url_to_path(location).is_dir():
            path = file_url_to_path(location)
            if not path.is_file():
                self._warn_once(location, "find-links location %s does not exist; ignoring it")
                return {}
            # A single archive given directly, as pip allows.
            one = DistFile(filename=path.name, url=redact_url(location), index=redact_url(location))
            files = (one,) if one.parsed is not None else ()
        else:

            def parse(resp: Response) -> _Parsed:
                ctype = resp.headers.get("content-type", "text/html")
                listed = parse_links_listing(
                    resp.content, content_type=ctype, page_url=resp.url, index=location
                )
                return listed, None

            page = self._load(location, index=location, parse=parse, listing=True)
            if page.status == 404:
                self._warn_once(location, "find-links location %s was not found; ignoring it")
            files = page.files
        grouped: defaultdict[NormalizedName, list[DistFile]] = defaultdict(list)
        for f in files:
            if f.parsed is not None:
                grouped[f.parsed.name].append(f)
        return {k: tuple(v) for k, v in grouped.items()}

    # -- fetching and caching -------------------------------------------------------------

    def _fetch(self, url: str, headers: Mapping[str, str], *, listing: bool) -> Response:
        with self._lock:
            self._requests += 1
            if not _is_file_url(url):
                self._network_requests += 1
        if listing and _is_file_url(url):
            return read_directory_listing(url)
        return self._fetcher.get(url, headers=headers)

    def _load(
        self,
        url: str,
        *,
        index: str,
        parse: Callable[[Response], _Parsed],
        listing: bool = False,
    ) -> _Page:
        """A page from the cache when fresh, else fetched (conditionally) and cached."""
        key = redact_url(url)
        headers = {"Accept": ACCEPT}
        if _is_file_url(url) and not listing and self._cache is not None:
            return self._load_local(url, key=key, index=index, parse=parse)
        if _is_file_url(url) or self._cache is None:
            if self._offline and not _is_file_url(url):
                raise IndexUnavailable("not in the cache and --offline is set", url=key)
            resp = self._fetch(url, headers, listing=listing)
            return self._page_from(resp, key=key, parse=parse)
        cache = self._cache
        cached = self._read_cache(key)
        if self._offline:
            if cached is None:
                raise IndexUnavailable("not in the cache and --offline is set", url=key)
            return self._page_of(cached)
        if cached is not None and not self._refresh:
            ttl = cached.max_age if cached.max_age is not None else self._ttl
            age = cache.age(_BUCKET, key, now=self._now())
            if age is not None and age < ttl:
                return self._page_of(cached)
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        resp = self._fetch(url, headers, listing=listing)
        if resp.status == 304:
            if cached is not None:
                cache.touch(_BUCKET, key)
                return self._page_of(cached)
            resp = self._fetch(url, {"Accept": ACCEPT}, listing=listing)
        page = self._page_from(resp, key=key, parse=parse)
        max_age, storable = _max_age(resp.headers.get("cache-control"))
        if storable:
            entry = _CachedPage(
                format=_FORMAT,
                status=page.status,
                index=redact_url(index),
                etag=resp.headers.get("etag"),
                last_modified=resp.headers.get("last-modified"),
                max_age=max_age,
                files=tuple(_to_cached(f) for f in page.files),
                marker=_marker(page.project)[0],
                marker_reason=_marker(page.project)[1],
            )
            cache.write(_BUCKET, key, msgspec.msgpack.encode(entry))
        return page

    def _load_local(
        self,
        url: str,
        *,
        key: str,
        index: str,
        parse: Callable[[Response], _Parsed],
    ) -> _Page:
        """A ``file://`` project page, parsed once per change of the file on disk.

        The cached entry's ETag is the page file's modification time and size, so a warm
        run costs one ``stat`` instead of reading and parsing the page again.
        """
        assert self._cache is not None
        stamp = _file_stamp(url)
        if stamp is not None:
            cached = self._read_cache(key)
            if cached is not None and cached.etag == stamp:
                return self._page_of(cached)
        page = self._page_from(
            self._fetch(url, {"Accept": ACCEPT}, listing=False), key=key, parse=parse
        )
        if stamp is not None and page.status == 200:
            entry = _CachedPage(
                format=_FORMAT,
                status=page.status,
                index=redact_url(index),
                etag=stamp,
                last_modified=None,
                max_age=None,
                files=tuple(_to_cached(f) for f in page.files),
                marker=_marker(page.project)[0],
                marker_reason=_marker(page.project)[1],
            )
            self._cache.write(_BUCKET, key, msgspec.msgpack.encode(entry))
        return page

    def _page_from(
        self, resp: Response, *, key: str, parse: Callable[[Response], _Parsed]
    ) -> _Page:
        if resp.status in (404, 410):
            return _Page(404, ())
        if not 200 <= resp.status < 300:
            raise IndexUnavailable(f"HTTP {resp.status}", url=key)
        files, project = parse(resp)
        return _Page(200, files, project)

    def _read_cache(self, key: str) -> _CachedPage | None:
        assert self._cache is not None
        blob = self._cache.read(_BUCKET, key)
        if blob is None:
            return None
        try:
            entry = msgspec.msgpack.decode(blob, type=_CachedPage)
        except (msgspec.DecodeError, msgspec.ValidationError):
            entry = None
        if entry is None or entry.format != _FORMAT:
            self._cache.delete(_BUCKET, key)  # an old layout or garbage: refetch
            return None
        return entry

    @staticmethod
    def _page_of(entry: _CachedPage) -> _Page:
        project = (
            ProjectStatus.parse(entry.marker, entry.marker_reason)
            if entry.marker is not None
            else None
        )
        return _Page(
            entry.status, tuple(_from_cached(f, entry.index) for f in entry.files), project
        )
