"""What the index offers one target, memoised: the provider's facts, with no resolvelib.

Sits under :mod:`advisor.resolution.provider`, which asks it while resolvelib runs: a
project's files grouped by version (from the :class:`Finder`), the usable files of one
version (from the :class:`~advisor.resolution.candidates.FileFilter`), a candidate's core
metadata (from the :class:`MetadataSource`) and whether that metadata makes it unusable for
the target, markers evaluated for the target, ``Requires-Dist`` lines parsed, and pages
fetched ahead in background threads. Everything is kept in the :class:`ProviderCache` that
the resolutions of one target share, so what one resolution of the stack search learnt the
next one reads for free. The request's own rules (constraints, overrides, bans, scores) stay
in the provider.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement as PepInvalidRequirement
from packaging.requirements import Requirement as PepRequirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

from advisor.errors import AdvisorError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from packaging.markers import Marker
    from packaging.version import Version

    from advisor.models import CoreMetadata, DistFile
    from advisor.resolution.candidates import Candidate, FileFilter, VersionChoice
    from advisor.resolution.options import Finder, MetadataSource, ProviderCache, ProviderOptions

__all__ = ["TargetLookup"]


class TargetLookup:
    """The index as one target sees it, memoised in a shared :class:`ProviderCache`.

    Cost notes: :meth:`versions` fetches a project page once per cache; :meth:`choice` picks
    a version's files once; :meth:`metadata` reads a candidate's metadata once (a remote
    range read or an sdist build the first time). :meth:`versions` and :meth:`choice` are
    thread-safe, since the warm-up threads call them too.
    """

    def __init__(
        self,
        *,
        finder: Finder,
        metadata: MetadataSource,
        markers: Mapping[str, str],
        files: FileFilter,
        options: ProviderOptions,
        cache: ProviderCache,
    ) -> None:
        self._finder = finder
        self._metadata = metadata
        self._markers = dict(markers)
        self._files = files
        self._options = options
        self._versions = cache.versions
        self._choice = cache.choice
        self._parsed = cache.parsed
        self._marker_cache = cache.markers
        self._meta = cache.meta
        self._rejected = cache.rejected
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._warmed: set[NormalizedName] = set()

    @property
    def python(self) -> Version:
        """The target interpreter's version."""
        return self._files.python

    @property
    def network_requests(self) -> int:
        """The finder's fetches over the network so far (0: every page came from disk)."""
        return self._finder.network_requests

    def versions(self, name: NormalizedName) -> dict[Version, list[DistFile]]:
        """The project's files grouped by version (memoised; thread-safe)."""
        with self._lock:
            cached = self._versions.get(name)
        if cached is None:
            cached = self._files.group(name, self._finder.find(name))
            with self._lock:
                self._versions[name] = cached
        return cached

    def choice(self, name: NormalizedName, version: Version) -> VersionChoice:
        """The usable files of one version for the target (memoised)."""
        key = (name, version)
        with self._lock:
            hit = self._choice.get(key)
        if hit is None:
            project = self.versions(name)
            hit = self._files.choose_version(name, version, project[version], project=project)
            with self._lock:
                self._choice[key] = hit
        return hit

    def choices(self, name: NormalizedName) -> list[VersionChoice]:
        """Every version's choice, newest first (for explanations; not used when resolving)."""
        return [self.choice(name, v) for v in sorted(self.versions(name), reverse=True)]

    def metadata(self, candidate: Candidate) -> CoreMetadata | str:
        """Core metadata of ``candidate``'s version, or why it cannot be had (memoised)."""
        key = (candidate.name, candidate.version, candidate.url)
        hit = self._meta.get(key)
        if hit is None:
            dist = candidate.metadata_file
            if dist is None:
                hit = "no file to read metadata from"
            else:
                try:
                    hit = self._metadata.get(dist)
                except AdvisorError as exc:
                    hit = f"metadata unavailable: {exc}"
            self._meta[key] = hit
        return hit

    def is_read(self, name: NormalizedName, version: Version, url: str | None) -> bool:
        """Whether the metadata of that candidate is known already (cheap: no I/O)."""
        return (name, version, url) in self._meta

    def check(self, candidate: Candidate) -> str | None:
        """Why ``candidate`` is unusable for the target once its metadata is read (unreadable
        metadata, a ``Requires-Python`` that excludes the target, an unparseable
        ``Requires-Dist``), kept for :meth:`rejection`; ``None`` when it is usable."""
        reason = self._check(candidate)
        if reason is not None:
            self._rejected[(candidate.name, candidate.version)] = reason
        return reason

    def rejection(self, name: NormalizedName, version: Version) -> str | None:
        """Why a version that the index offers was found unusable once its metadata was read."""
        return self._rejected.get((name, version))

    def evaluate(self, marker: Marker, extra: str = "") -> bool:
        """The marker for the target with ``extra`` (memoised); an undefined or malformed
        term never matches."""
        key = (str(marker), extra)
        hit = self._marker_cache.get(key)
        if hit is None:
            env = dict(self._markers)
            env["extra"] = extra
            try:
                hit = marker.evaluate(env)
            except Exception:  # an undefined or malformed marker term never matches
                hit = False
            self._marker_cache[key] = hit
        return hit

    def parse(self, text: str) -> PepRequirement | str:
        """A ``Requires-Dist`` line parsed, or why it cannot be (memoised)."""
        hit = self._parsed.get(text)
        if hit is None:
            try:
                hit = PepRequirement(text)
            except (PepInvalidRequirement, InvalidMarker) as exc:
                hit = str(exc)
            self._parsed[text] = hit
        return hit

    def warm(self, names: Iterable[str]) -> None:
        """Start fetching pages and likely metadata of ``names`` in the background.

        Worth it only when the index is read over the network: one lookup tells a cold
        cache from a warm one, and on a warm cache this returns without starting threads.
        """
        todo = sorted({canonicalize_name(n) for n in names})
        if not todo or not self._options.warm:
            return
        if self._finder.network_requests == 0:
            with contextlib.suppress(AdvisorError):
                self.versions(todo[0])
            if self._finder.network_requests == 0:
                return
        self.prefetch(set(todo))

    def prefetch(self, names: set[NormalizedName]) -> None:
        """Fetch pages and the likely first candidate's metadata of ``names`` in background
        (each project once per lookup)."""
        with self._lock:
            fresh = names - self._warmed
            self._warmed |= fresh
            if not fresh:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="advisor-warm")
            pool = self._pool
        for n in sorted(fresh):
            pool.submit(self._warm_one, n)

    def close(self) -> None:
        """Stop the warm-up threads (waiting for the running ones, dropping the queued)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _check(self, cand: Candidate) -> str | None:
        meta = self.metadata(cand)
        if isinstance(meta, str):
            return meta
        if meta.requires_python:
            try:
                spec = SpecifierSet(meta.requires_python)
            except ValueError:
                spec = SpecifierSet()
            if not spec.contains(self.python, prereleases=True):
                return f"requires Python {meta.requires_python}, the target has {self.python}"
        for text in meta.requires_dist:
            req = self.parse(text)
            if isinstance(req, str):
                return f"invalid Requires-Dist {text!r}: {req}"
        return None

    def _warm_one(self, name: NormalizedName) -> None:
        try:
            allow = self._options.prereleases or name in self._options.prerelease_packages
            for v in sorted(self.versions(name), reverse=True)[:3]:
                c = self.choice(name, v)
                if c.files and not c.yanked and (allow or not v.is_prerelease):
                    if not c.needs_build:  # a build runs only when the resolver needs it
                        self._metadata.get(c.files[0])
                    return
        except Exception:  # errors resurface when the resolver asks for real
            return
