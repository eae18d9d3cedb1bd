"""Core metadata of one distribution file: index → **metadata** → resolution.

The resolver asks :class:`MetadataFetcher` for the dependencies of a candidate's file. For a
wheel it tries, in order: the PEP 658/714 ``.metadata`` file the index serves next to it (one
small request); an HTTP range read of ``.dist-info/METADATA`` out of the remote zip (one or
two requests of about 64 KiB, whatever the wheel's size: :mod:`advisor.index.remote_zip`);
the whole wheel. For an sdist it downloads the archive and uses its PKG-INFO when PEP 643
says the dependencies are static, else has the project's PEP 517 backend prepare the
metadata (:mod:`advisor.index.builds`: remembered outcomes, time limits, cancellation).

Parsed results go to the on-disk cache (bucket ``metadata``, msgpack) under the file's sha256
when the index gave one (immutable: never fetched again), else under its URL; a warm run
parses nothing. Built metadata is not among them: it depends on the build interpreter, and
:mod:`advisor.index.builds` keeps it per interpreter. Downloaded sdists go to bucket
``files`` under their sha256. All network access goes through
:class:`~advisor.index.fetch.Fetcher`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import struct
import threading
import zipfile
import zlib
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import msgspec
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from advisor.errors import IndexUnavailable, MetadataUnavailable
from advisor.events import SILENT
from advisor.index.builds import BuildSettings, SdistBuilds
from advisor.index.remote_zip import (
    MAX_METADATA,
    TAIL,
    RangeFailed,
    RemoteFile,
    iter_members,
    locate_tail,
    read_central_directory,
    read_member,
)
from advisor.index.sdist import read_static_pkg_info
from advisor.models import CoreMetadata, DistKind, parse_dist_filename

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from types import TracebackType

    from advisor.events import ProgressEvents
    from advisor.index.cache import Cache
    from advisor.index.fetch import Fetcher, Response
    from advisor.models import DistFile

__all__ = ["MetadataFetcher", "parse_core_metadata"]

_METADATA_BUCKET = "metadata"
_FILES_BUCKET = "files"
_CACHE_FORMAT = "core-metadata-v1"
_MAX_BUILDS = 2  # concurrent sdist builds (each one is a venv, a pip run and a backend)


class _Cached(msgspec.Struct, array_like=True, frozen=True):
    """The cached form of a :class:`CoreMetadata` (a msgpack array: compact, fast to load)."""

    name: str
    version: str
    requires_dist: tuple[str, ...]
    requires_python: str | None
    provides_extra: tuple[str, ...]
    source: str


def parse_core_metadata(data: bytes, *, source: str, filename: str) -> CoreMetadata:
    """Parse core metadata (``METADATA``, ``PKG-INFO`` or a PEP 658 file) of ``filename``.

    Lenient on fields the resolver does not read, and on an invalid ``Requires-Python``
    (dropped, as pip ignores it); strict on the rest. Raises :class:`MetadataUnavailable`
    when Name or Version is missing or invalid, when they differ from those in ``filename``
    (names compared canonicalised, versions as versions), or for a ``Requires-Dist`` line
    that is not a valid PEP 508 requirement (quoted in the message). Cost: microseconds.
    """
    from packaging.metadata import parse_email  # lazily: warm runs parse no metadata

    raw, unparsed = parse_email(data)
    name, version_text = raw.get("name"), raw.get("version")
    if not name or not version_text:
        raise MetadataUnavailable("the core metadata has no Name or no Version", filename=filename)
    try:
        version = Version(version_text)
    except InvalidVersion as exc:
        raise MetadataUnavailable(
            f"invalid Version {version_text!r} in the core metadata", filename=filename
        ) from exc
    norm = canonicalize_name(name)
    expected = parse_dist_filename(filename)
    if expected is not None and (norm != expected.name or version != expected.version):
        raise MetadataUnavailable(
            f"the core metadata is for {name} {version_text}, the file name says"
            f" {expected.name} {expected.version}",
            filename=filename,
        )
    if "requires-dist" in unparsed:
        bad = unparsed["requires-dist"][0]
        raise MetadataUnavailable(f"unreadable Requires-Dist {bad!r}", filename=filename)
    requires: list[str] = []
    for line in raw.get("requires_dist", []):
        text = line.strip()
        if not text:
            continue
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise MetadataUnavailable(
                f"invalid Requires-Dist {text!r}: {exc}", filename=filename
            ) from exc
        requires.append(text)
    requires_python = (raw.get("requires_python") or "").strip() or None
    if requires_python is not None:
        try:
            SpecifierSet(requires_python)
        except InvalidSpecifier:
            requires_python = None
    extras = dict.fromkeys(canonicalize_name(e.strip()) for e in raw.get("provides_extra", []))
    return CoreMetadata(
        name=norm,
        version=str(version),
        requires_dist=tuple(requires),
        requires_python=requires_python,
        provides_extra=tuple(e for e in extras if e),
        source=source,
    )


def _hash_mismatch(data: bytes, hashes: Iterable[tuple[str, str]]) -> str | None:
    """Why ``data`` does not match ``hashes`` (those hashlib knows), or ``None`` when it does."""
    for algorithm, expected in hashes:
        if algorithm in hashlib.algorithms_guaranteed:
            actual = hashlib.new(algorithm, data).hexdigest()
            if actual != expected.lower():
                return f"{algorithm} mismatch: the index says {expected}, the file has {actual}"
    return None


def _pick_metadata(names: Iterable[str], *, filename: str) -> str | None:
    """The ``<project>-<version>.dist-info/METADATA`` member of a wheel, when unambiguous."""
    found = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if len(found) <= 1:
        return found[0] if found else None
    parsed = parse_dist_filename(filename)
    if parsed is None:
        return None
    mine = []
    for member in found:
        stem = member.split("/", 1)[0].removesuffix(".dist-info")
        heads = (stem.partition("-")[0], stem.rpartition("-")[0])
        if parsed.name in {canonicalize_name(head) for head in heads}:
            mine.append(member)
    return mine[0] if len(mine) == 1 else None


# -- whole files ----------------------------------------------------------------------------


def _no_metadata(dist: DistFile) -> MetadataUnavailable:
    return MetadataUnavailable(
        "the wheel has no (single) .dist-info/METADATA", filename=dist.filename
    )


def _missing(resp: Response, dist: DistFile) -> MetadataUnavailable:
    return MetadataUnavailable(f"cannot download it (HTTP {resp.status})", filename=dist.filename)


def _checked_body(resp: Response, dist: DistFile) -> bytes:
    """The body of a whole-file answer, checked against the hashes the index gave."""
    if resp.status != 200:
        raise _missing(resp, dist)
    mismatch = _hash_mismatch(resp.content, dist.hashes)
    if mismatch:
        raise MetadataUnavailable(mismatch, filename=dist.filename)
    return resp.content


def _metadata_from_wheel(data: bytes, dist: DistFile) -> CoreMetadata:
    """METADATA out of a whole wheel held in memory."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            name = _pick_metadata(archive.namelist(), filename=dist.filename)
            if name is None:
                raise _no_metadata(dist)
            if archive.getinfo(name).file_size > MAX_METADATA:
                raise MetadataUnavailable("METADATA is too large", filename=dist.filename)
            metadata = archive.read(name)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, OSError) as exc:
        raise MetadataUnavailable(
            f"not a readable wheel (zip) archive: {exc}", filename=dist.filename
        ) from exc
    return parse_core_metadata(metadata, source="wheel", filename=dist.filename)


def _cache_key(dist: DistFile) -> str:
    sha256 = dist.sha256
    if sha256:
        return f"{_CACHE_FORMAT} sha256:{sha256.lower()}"
    return f"{_CACHE_FORMAT} url:{dist.url.split('#', 1)[0]}"


class MetadataFetcher:
    """Core metadata of distribution files, from the cheapest source that has it.

    Thread-safe: :meth:`get` may be called from any thread; concurrent calls for the same
    file share one fetch, and each result (or error) is memoised for the life of the
    instance. Cost of a :meth:`get`: nothing after the first call; a cache read (no parsing)
    when the disk cache has it; else one small request (PEP 658), or about 70 KiB over one
    to three range requests, or the whole wheel, or for an sdist a download plus perhaps a
    PEP 517 build (seconds to minutes, bounded by ``builds.timeout`` and ``builds.deadline``;
    a remembered outcome costs no build). At most two builds run at once. Builds are announced to
    ``events`` (from the worker thread that runs them).

    Use as a context manager, or call :meth:`close`, to stop the prefetch pool; leaving the
    context on an exception, or :meth:`cancel`, also stops every running build.
    """

    def __init__(
        self,
        *,
        fetcher: Fetcher,
        cache: Cache | None,
        builds: BuildSettings | None = None,
        max_workers: int = 8,
        events: ProgressEvents = SILENT,
    ) -> None:
        self._fetcher = fetcher
        self._events = events
        self._cache = cache
        self._sdists = SdistBuilds(builds or BuildSettings(), cache=cache)
        self._max_workers = max(1, max_workers)
        self._lock = threading.Lock()
        self._builds = threading.BoundedSemaphore(_MAX_BUILDS)
        self._memo: dict[str, Future[CoreMetadata]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    # -- public ---------------------------------------------------------------------------

    def get(self, dist: DistFile) -> CoreMetadata:
        """The core metadata of ``dist``, waiting for a prefetch of it when one is running.

        Raises :class:`MetadataUnavailable` (naming the file) when no source yields valid
        metadata, :class:`IndexUnavailable` when the file cannot be fetched at all.
        """
        key = _cache_key(dist)
        while True:
            with self._lock:
                future = self._memo.get(key)
                owner = future is None or future.cancelled()
                if owner:
                    future = Future()
                    self._memo[key] = future
            assert future is not None
            if owner:
                self._run(future, key, dist)
            try:
                return future.result()
            except CancelledError:  # its prefetch was dropped by close(): fetch it here
                continue

    def prefetch(self, dists: Iterable[DistFile]) -> None:
        """Start fetching the metadata of ``dists`` in the background and return at once.

        At most ``max_workers`` files are fetched at a time; files already known or under
        way are skipped. Errors are kept and raised by :meth:`get`. A no-op after
        :meth:`close`.
        """
        with self._lock:
            if self._closed:
                return
            for dist in dists:
                key = _cache_key(dist)
                known = self._memo.get(key)
                if known is not None and not known.cancelled():
                    continue
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=self._max_workers, thread_name_prefix="advisor-metadata"
                    )
                self._memo[key] = self._pool.submit(self._load, dist)

    def close(self) -> None:
        """Drop prefetches not yet started and wait for running ones. :meth:`get` still works."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    @property
    def time_limited(self) -> tuple[str, ...]:
        """The sdists whose build the deadline refused or stopped (file names, in order; one
        not started because its estimate exceeded the time left says so, with the estimate)."""
        skipped = self._sdists.skipped
        return tuple(
            f"{name} ({skipped[name]})" if name in skipped else name
            for name in dict.fromkeys(self._sdists.time_limited)
        )

    def cancel(self) -> None:
        """Stop now: kill every running build's process group and remove its folder, refuse
        new builds, drop prefetches not yet started. For an interrupt; then :meth:`close`."""
        self._sdists.cancel()
        with self._lock:
            self._closed = True
            pool = self._pool
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> MetadataFetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.cancel()
        self.close()

    # -- one file -------------------------------------------------------------------------

    def _run(self, future: Future[CoreMetadata], key: str, dist: DistFile) -> None:
        future.set_running_or_notify_cancel()
        try:
            result = self._load(dist)
        except Exception as exc:
            future.set_exception(exc)
        except BaseException as exc:  # interrupted: forget it so a later call retries
            with self._lock:
                if self._memo.get(key) is future:
                    del self._memo[key]
            future.set_exception(exc)
            raise
        else:
            future.set_result(result)

    def _load(self, dist: DistFile) -> CoreMetadata:
        key = _cache_key(dist)
        cached = self._read_cache(key, dist)
        if cached is not None:
            return cached
        parsed = dist.parsed
        if parsed is None:
            raise MetadataUnavailable("not a wheel or sdist file name", filename=dist.filename)
        if parsed.kind is DistKind.WHEEL:
            meta = self._from_wheel(dist)
        else:
            meta = self._from_sdist(dist)
        if self._cache is not None and meta.source != "sdist-build":
            entry = _Cached(**dataclasses.asdict(meta))
            self._cache.write(_METADATA_BUCKET, key, msgspec.msgpack.encode(entry))
        return meta

    def _read_cache(self, key: str, dist: DistFile) -> CoreMetadata | None:
        if self._cache is None:
            return None
        blob = self._cache.read(_METADATA_BUCKET, key)
        if blob is None:
            return None
        try:
            entry = msgspec.msgpack.decode(blob, type=_Cached)
        except msgspec.DecodeError:
            entry = None
        parsed = dist.parsed
        if entry is None or (
            parsed is not None
            and (entry.name != parsed.name or entry.version != str(parsed.version))
        ):
            self._cache.delete(_METADATA_BUCKET, key)  # unreadable or not this file's
            return None
        return CoreMetadata(**msgspec.structs.asdict(entry))

    # -- wheels ---------------------------------------------------------------------------

    def _from_wheel(self, dist: DistFile) -> CoreMetadata:
        if dist.core_metadata is not None:
            meta = self._from_pep658(dist)
            if meta is not None:
                return meta
        meta = self._from_range(dist)
        if meta is not None:
            return meta
        return _metadata_from_wheel(_checked_body(self._fetcher.get(dist.url), dist), dist)

    def _from_pep658(self, dist: DistFile) -> CoreMetadata | None:
        """The index's ``.metadata`` file, when served, matching its hashes and valid."""
        try:
            resp = self._fetcher.get(dist.metadata_url)
        except IndexUnavailable:
            return None
        if resp.status != 200 or _hash_mismatch(resp.content, dist.core_metadata or ()):
            return None
        try:
            return parse_core_metadata(resp.content, source="pep658", filename=dist.filename)
        except MetadataUnavailable:
            return None  # the wheel's own METADATA is authoritative

    def _from_range(self, dist: DistFile) -> CoreMetadata | None:
        """METADATA read out of the remote zip by ranges; ``None`` to download the wheel."""
        resp = self._fetcher.get(dist.url, headers={"Range": f"bytes=-{TAIL}"})
        if resp.status == 200:  # the server ignores Range: we have the whole wheel anyway
            return _metadata_from_wheel(_checked_body(resp, dist), dist)
        if resp.status in (404, 410):
            raise _missing(resp, dist)
        span = locate_tail(resp, dist) if resp.status == 206 else None
        if span is None:
            return None
        start, size = span
        remote = RemoteFile(self._fetcher, dist.url, size=size, start=start, data=resp.content)
        try:
            members = {
                m.name.decode("utf-8", "replace"): m
                for m in iter_members(read_central_directory(remote))
            }
            name = _pick_metadata(members, filename=dist.filename)
            if name is None:
                raise _no_metadata(dist)
            data = read_member(remote, members[name], filename=dist.filename)
        except (RangeFailed, struct.error, zlib.error):
            return None
        return parse_core_metadata(data, source="range", filename=dist.filename)

    # -- sdists ---------------------------------------------------------------------------

    def _from_sdist(self, dist: DistFile) -> CoreMetadata:
        self._sdists.check_deadline(dist.filename)  # a spent time limit fetches no more sdists
        archive = self._download(dist)
        pkg_info = read_static_pkg_info(archive, filename=dist.filename)
        if pkg_info is not None:
            return parse_core_metadata(pkg_info, source="sdist-pkg-info", filename=dist.filename)
        data = self._sdists.remembered(archive, filename=dist.filename)
        if data is None:
            with self._builds, self._building(dist):
                data = self._sdists.build(archive, filename=dist.filename)
        return parse_core_metadata(data, source="sdist-build", filename=dist.filename)

    @contextlib.contextmanager
    def _building(self, dist: DistFile) -> Iterator[None]:
        """Tells the progress events that ``dist`` is being built, until the block ends."""
        parsed = dist.parsed
        name, version = (parsed.name, str(parsed.version)) if parsed else (dist.filename, "")
        self._events.build_started(name, version, filename=dist.filename)
        try:
            yield
        finally:
            self._events.build_finished(name, version, filename=dist.filename)

    def _download(self, dist: DistFile) -> bytes:
        """The whole file, hash-checked; cached in bucket ``files`` when its sha256 is known."""
        sha256 = dist.sha256
        if sha256 and self._cache is not None:
            data = self._cache.read(_FILES_BUCKET, sha256.lower())
            if data is not None and not _hash_mismatch(data, dist.hashes):
                return data
        data = _checked_body(self._fetcher.get(dist.url), dist)
        if sha256 and self._cache is not None:
            self._cache.write(_FILES_BUCKET, sha256.lower(), data)
        return data
