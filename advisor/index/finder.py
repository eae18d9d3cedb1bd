"""Find every file of a project across indexes and find-links locations.

Sits between the fetcher/page parser (below) and the resolution layer (above): the
provider asks :meth:`PackageFinder.find` for a project's files and gets
:class:`~advisor.models.DistFile` values, already filtered to the project and stripped of
credentials. Index policy lives here: first-index (default, safe against dependency
confusion) or pip's merge of every index, per-project index pinning, and find-links merged
as pip merges them.

Project pages (and find-links pages over http) are cached already parsed, with their
validators (:mod:`advisor.index.page_cache` keeps them): a warm run within the TTL makes no
request and parses no HTML, a stale page is revalidated with a conditional GET. A ``file://``
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
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from packaging.utils import InvalidName, canonicalize_name

from advisor.errors import AdvisorError, IndexUnavailable, InputError
from advisor.index.fetch import file_url_to_path, read_directory_listing
from advisor.index.page_cache import Page, PageCache, cache_directives, file_stamp
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
_MAX_WORKERS = 16
_T = TypeVar("_T")
_K = TypeVar("_K", bound=str)


#: what a page parser returns: the files and the project's status (project pages only)
_Parsed = tuple[tuple[DistFile, ...], ProjectStatus | None]


def _as_url(location: str) -> str:
    """A URL for an index or find-links location; a bare local path becomes ``file://``."""
    scheme = urllib.parse.urlsplit(location).scheme
    if len(scheme) > 1:  # one letter is a Windows drive, not a scheme
        return location
    return Path(location).expanduser().absolute().as_uri()


def _is_file_url(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme.lower() == "file"


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
        self._pages = PageCache(cache) if cache is not None else None
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

    def _project_page(self, index: str, name: NormalizedName) -> Page:
        if _is_file_url(index) and not file_url_to_path(index).is_dir():
            self._warn_once(index, "index %s does not exist on disk; skipping it")
            return Page(404, ())
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
    ) -> Page:
        """A page from the cache when fresh, else fetched (conditionally) and cached."""
        key = redact_url(url)
        headers = {"Accept": ACCEPT}
        if _is_file_url(url) and not listing and self._pages is not None:
            return self._load_local(url, key=key, index=index, parse=parse)
        if _is_file_url(url) or self._pages is None:
            if self._offline and not _is_file_url(url):
                raise IndexUnavailable("not in the cache and --offline is set", url=key)
            resp = self._fetch(url, headers, listing=listing)
            return self._page_from(resp, key=key, parse=parse)
        pages = self._pages
        cached = pages.read(key)
        if self._offline:
            if cached is None:
                raise IndexUnavailable("not in the cache and --offline is set", url=key)
            return cached.page()
        if cached is not None and not self._refresh:
            ttl = cached.max_age if cached.max_age is not None else self._ttl
            age = pages.age(key, now=self._now())
            if age is not None and age < ttl:
                return cached.page()
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        resp = self._fetch(url, headers, listing=listing)
        if resp.status == 304:
            if cached is not None:
                pages.touch(key)
                return cached.page()
            resp = self._fetch(url, {"Accept": ACCEPT}, listing=listing)
        page = self._page_from(resp, key=key, parse=parse)
        max_age, storable = cache_directives(resp.headers.get("cache-control"))
        if storable:
            pages.write(
                key,
                page,
                index=index,
                etag=resp.headers.get("etag"),
                last_modified=resp.headers.get("last-modified"),
                max_age=max_age,
            )
        return page

    def _load_local(
        self,
        url: str,
        *,
        key: str,
        index: str,
        parse: Callable[[Response], _Parsed],
    ) -> Page:
        """A ``file://`` project page, parsed once per change of the file on disk.

        The cached entry's ETag is the page file's modification time and size, so a warm
        run costs one ``stat`` instead of reading and parsing the page again.
        """
        assert self._pages is not None
        stamp = file_stamp(url)
        if stamp is not None:
            cached = self._pages.read(key)
            if cached is not None and cached.etag == stamp:
                return cached.page()
        page = self._page_from(
            self._fetch(url, {"Accept": ACCEPT}, listing=False), key=key, parse=parse
        )
        if stamp is not None and page.status == 200:
            self._pages.write(key, page, index=index, etag=stamp, last_modified=None, max_age=None)
        return page

    def _page_from(self, resp: Response, *, key: str, parse: Callable[[Response], _Parsed]) -> Page:
        if resp.status in (404, 410):
            return Page(404, ())
        if not 200 <= resp.status < 300:
            raise IndexUnavailable(f"HTTP {resp.status}", url=key)
        files, project = parse(resp)
        return Page(200, files, project)
