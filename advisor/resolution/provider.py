"""The resolvelib provider: a thin adapter between resolvelib and the index.

It delegates: files come from a :class:`Finder`, core metadata from a :class:`MetadataSource`,
the choice of usable files per version from :class:`~advisor.resolution.candidates.FileFilter`.
``get_preference`` is a cheap tuple and never does I/O. Candidates are ordered by a
:class:`CandidateOrder` (newest first for ``latest``; existing lock pins first when re-locking),
which is where later scoring plugs in.

Extras follow the usual scheme: ``name[extra]`` is its own identifier whose candidates depend
on ``name==version``. Candidates are validated lazily as resolvelib iterates them: a version
whose metadata cannot be read, or whose ``Requires-Python`` excludes the target, is skipped
and the reason kept for the conflict explanation (a value, not a crash).

Cheap facts first: in a *build-free probe* (:meth:`AdvisorProvider.probing`, run by
:func:`~advisor.resolution.resolve.resolve` before the real resolution), a candidate whose
metadata needs an sdist build is offered without reading it, identifiers whose next candidate
needs a build are pinned last, and pinning such a candidate stops the probe
(:class:`BuildNeeded`). A conflict the probe finds is proven by wheel (or already known)
metadata alone; otherwise the real resolution runs in pip's order, building as pip would.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement as PepInvalidRequirement
from packaging.requirements import Requirement as PepRequirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from resolvelib import AbstractProvider

from advisor.errors import AdvisorError
from advisor.resolution.candidates import (
    Candidate,
    FileFilter,
    Requirement,
    VersionChoice,
    as_requirement,
    identifier_for,
    pinned_version,
    split_identifier,
)
from advisor.resolution.options import (
    CandidateOrder,
    CandidateScorer,
    Finder,
    MetadataSource,
    ProviderCache,
    ProviderOptions,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from packaging.version import Version
    from resolvelib.structs import RequirementInformation

    from advisor.models import CoreMetadata, DistFile

__all__ = [
    "AdvisorProvider",
    "BuildNeeded",
    "CandidateOrder",
    "CandidateScorer",
    "Finder",
    "MetadataSource",
    "ProviderCache",
    "ProviderOptions",
]


class BuildNeeded(Exception):
    """The build-free probe reached a candidate whose metadata needs an sdist build."""

    def __init__(self, candidate: Candidate) -> None:
        super().__init__(f"{candidate} needs a build")
        self.candidate = candidate


class AdvisorProvider(AbstractProvider[Requirement, Candidate, str]):
    """resolvelib provider for one target environment.

    Cost notes: ``find_matches`` is called O(backtracks) times per identifier; the file
    grouping per project is memoised, so it only filters and sorts. ``get_dependencies`` is
    called once per candidate tried and fetches metadata (memoised by the source).
    """

    def __init__(
        self,
        *,
        finder: Finder,
        metadata: MetadataSource,
        markers: Mapping[str, str],
        files: FileFilter,
        options: ProviderOptions,
        wrap_file: Callable[[str, Sequence[tuple[str, str]]], DistFile] | None = None,
        cache: ProviderCache | None = None,
        scorer: CandidateScorer | None = None,
    ) -> None:
        shared = cache if cache is not None else ProviderCache()
        self.cache = shared
        self._scorer = scorer
        self._scores: dict[tuple[NormalizedName, Version], tuple[str | None, float]] = {}
        self._finder = finder
        self._metadata = metadata
        self._markers = dict(markers)
        self._files = files
        self._options = options
        self._wrap_file = wrap_file
        self._versions = shared.versions
        self._choice = shared.choice
        self._parsed = shared.parsed
        self._marker_cache = shared.markers
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._warmed: set[NormalizedName] = set()
        self._order_seen: dict[str, int] = {}
        #: identifier -> the requirements last seen for it (for conflict explanations)
        self.seen: dict[str, list[Requirement]] = {}
        self._meta = shared.meta
        self._rejected = shared.rejected
        #: versions a filter of the recommendation removed, with the reason (per provider)
        self.filtered: dict[tuple[NormalizedName, Version], str] = {}
        #: identifiers left without a candidate once a filter had removed some: where a
        #: conflict may start although resolvelib reports it elsewhere (in order seen)
        self.emptied_by_filter: dict[str, None] = {}
        #: notes worth telling the user (extras a project does not provide, ...)
        self.warnings: list[str] = list(files.cooldown.warnings) if files.cooldown else []
        self._probe = False  # a build-free probe is running (see ``probing``)
        #: identifier -> whether its next candidate needs a build (probe only)
        self._costly: dict[str, bool] = {}
        #: the probe offered a candidate unread, or ordered identifiers unlike pip
        self.deferred = False

    # -- resolvelib contract -------------------------------------------------------------

    def identify(self, requirement_or_candidate: Requirement | Candidate) -> str:
        return requirement_or_candidate.identifier

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Requirement, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Requirement, Candidate]],
    ) -> Any:
        infos = list(information[identifier])
        direct = any(i.requirement.url for i in infos)
        pinned = any(
            i.requirement.pinned is not None or pinned_version(i.requirement.specifier)
            for i in infos
        )
        upper = any(
            s.operator in {"<", "<=", "~=", "=="} for i in infos for s in i.requirement.specifier
        )
        root_order = min(
            (self._order_seen.get(identifier, 1 << 30) for i in infos if i.parent is None),
            default=1 << 30,
        )
        cause = any(c.requirement.identifier == identifier for c in backtrack_causes)
        if self._probe:  # cheap facts first: identifiers that need a build go last
            costly = self._costly.get(identifier, False)
            return (costly, not direct, not pinned, not cause, not upper, root_order, identifier)
        return (not direct, not pinned, not cause, not upper, root_order, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Requirement]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> Iterable[Candidate] | Callable[[], Iterator[Candidate]]:
        reqs = list(requirements[identifier])
        self.seen[identifier] = reqs
        for r in reqs:
            if r.parent is None:
                self._order_seen.setdefault(identifier, len(self._order_seen))
        bad = {c.version for c in incompatibilities[identifier]}
        name, extra = split_identifier(identifier)
        pinned_base = [r.pinned for r in reqs if r.pinned is not None]
        urls = {r.url for r in reqs if r.url}
        if urls:
            found = self._url_candidates(name, extra, urls, reqs)
            ordered = [c for c in found if c.version not in bad]
            if self._probe:
                self._set_costly(identifier, costly=bool(ordered) and self._unread(ordered[0]))
            return functools.partial(self._iter_checked, ordered)
        specifier = self.combined(name, reqs)
        grouped = self.versions(name)
        matching = [
            v
            for v in sorted(grouped, reverse=True)
            if (not pinned_base or v in pinned_base) and specifier.contains(v, prereleases=True)
        ]
        in_order = self._ordered(name, matching)
        if self._probe:
            self._set_costly(identifier, costly=self._next_is_costly(name, in_order, bad))
        return functools.partial(
            self._iter_matches,
            name,
            extra,
            in_order,
            frozenset(bad),
            self.allow_prereleases(name, specifier),
            pinned_version(specifier),
        )

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        if requirement.pinned is not None:
            return candidate.version == requirement.pinned
        if requirement.url:
            return candidate.url == requirement.url
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> Iterable[Requirement]:
        if self._probe and self._unread(candidate):
            raise BuildNeeded(candidate)
        meta = self.metadata(candidate)
        if isinstance(meta, str):  # _iter_valid never yields such a candidate
            return []
        deps: list[Requirement] = []
        if candidate.extra is not None:
            deps.append(
                Requirement(
                    identifier=candidate.name,
                    name=candidate.name,
                    extra=None,
                    specifier=SpecifierSet(f"=={candidate.version}"),
                    parent=candidate,
                    text=f"{candidate.name}=={candidate.version}",
                    pinned=candidate.version,
                )
            )
            provided = {canonicalize_name(e) for e in meta.provides_extra}
            if provided and canonicalize_name(candidate.extra) not in provided:
                self.warnings.append(
                    f"{candidate.name} {candidate.version} does not provide the extra "
                    f"'{candidate.extra}'"
                )
        extra = candidate.extra or ""
        for text in meta.requires_dist:
            req = self._parse(text)
            if isinstance(req, str):
                continue  # _iter_valid rejected candidates with unparseable Requires-Dist
            if req.marker is not None and not self._evaluate(req.marker, extra):
                continue
            if candidate.extra is not None and req.marker is None:
                continue  # already a dependency of the base candidate
            deps.extend(self.expand(req, parent=candidate))
        if self._options.warm and self._finder.network_requests > 0:
            # only worth threads when pages come over the wire: a warm cache is faster serial
            self._warm({d.name for d in deps})
        return deps

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

    def rejection(self, name: NormalizedName, version: Version) -> str | None:
        """Why a version that the index offers was found unusable once its metadata was read."""
        return self._rejected.get((name, version))

    @contextlib.contextmanager
    def probing(self) -> Iterator[None]:
        """Run the enclosed resolution as a build-free probe (see the module docstring).

        Inside, :attr:`deferred` tells whether a candidate was offered unread or an
        identifier was ranked by its build cost, that is whether the probe may have gone
        another way than pip's order.
        """
        self._probe, self.deferred = True, False
        self._costly.clear()
        try:
            yield
        except BaseException:  # a conflict: its explanation reads what the probe saw
            raise
        else:  # the real resolution starts afresh
            self.seen.clear()
            self._order_seen.clear()
        finally:
            self._probe = False

    def _set_costly(self, identifier: str, *, costly: bool) -> None:
        self._costly[identifier] = costly
        self.deferred = self.deferred or costly

    def _unread(self, cand: Candidate) -> bool:
        """The candidate's metadata needs a build and is not known yet (cheap: no I/O)."""
        return cand.needs_build and (cand.name, cand.version, cand.url) not in self._meta

    def _next_is_costly(
        self, name: NormalizedName, versions: Sequence[Version], bad: set[Version]
    ) -> bool:
        """Whether the first version resolvelib would try needs a build (an estimate: the
        first one with files for the target that is not excluded)."""
        banned = self._options.bans.get(name, frozenset())
        for v in versions:
            if v in bad or v in banned:
                continue
            choice = self.choice(name, v)
            if choice.files:
                return choice.needs_build and (name, v, None) not in self._meta
        return False

    def _iter_checked(self, candidates: Sequence[Candidate]) -> Iterator[Candidate]:
        for cand in candidates:
            reason = self._deferred_check(cand)
            if reason is None:
                yield cand
            else:
                self._rejected[(cand.name, cand.version)] = reason

    def _iter_matches(
        self,
        name: NormalizedName,
        extra: str | None,
        versions: Sequence[Version],
        bad: frozenset[Version],
        allow_pre: bool,
        pinned: Version | None,
    ) -> Iterator[Candidate]:
        """Candidates for ``versions`` in order, validated lazily as resolvelib asks.

        Files are chosen and metadata is read only for the versions resolvelib tries. The
        pre-release rule is pip's: unless allowed, pre-releases are used only when no final
        release in range has a file for the target, counting the ones already backtracked
        over (``bad``), which are not offered again.
        """
        held: list[Version] = []
        final_seen = False
        yielded = False
        banned = self._options.bans.get(name, frozenset())
        for v in versions:
            if v.is_prerelease and not allow_pre:
                held.append(v)
                continue
            if v in bad or v in banned:
                final_seen = final_seen or bool(self.choice(name, v).files)
                continue
            cand, usable = self._candidate(name, extra, v, pinned)
            final_seen = final_seen or (usable and not v.is_prerelease)
            if cand is not None:
                yielded = True
                yield cand
        if held and not final_seen:
            for v in held:
                if v in bad or v in banned:
                    continue
                cand, _ = self._candidate(name, extra, v, pinned)
                if cand is not None:
                    yielded = True
                    yield cand
        if not yielded and any((name, v) in self.filtered for v in versions):
            self.emptied_by_filter.setdefault(identifier_for(name, extra), None)

    def _candidate(
        self, name: NormalizedName, extra: str | None, version: Version, pinned: Version | None
    ) -> tuple[Candidate | None, bool]:
        """(the candidate or None, whether the version has files for the target)."""
        choice = self.choice(name, version)
        if not choice.files:
            return None, False
        if choice.yanked and pinned != version:
            return None, True
        if self._scorer is not None:
            reason, _ = self.score(name, version)
            if reason is not None:
                self.filtered[(name, version)] = reason
                return None, True
        cand = Candidate(
            name=name,
            version=version,
            extra=extra,
            files=choice.files,
            needs_build=choice.needs_build,
            yanked=choice.yanked,
        )
        reason = self._deferred_check(cand)
        if reason is not None:
            self._rejected[(name, version)] = reason
            return None, True
        if choice.note is not None and choice.note not in self.warnings:
            self.warnings.append(choice.note)
        if choice.yanked:
            why = choice.files[0].yanked or "no reason given"
            note = f"{name} {version} is yanked ({why}); used because it is pinned with =="
            if note not in self.warnings:
                self.warnings.append(note)
        return cand, True

    def _deferred_check(self, cand: Candidate) -> str | None:
        """``_check``, except in a probe for a candidate that needs a build (offered unread)."""
        if self._probe and self._unread(cand):
            self.deferred = True
            return None
        return self._check(cand)

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
            req = self._parse(text)
            if isinstance(req, str):
                return f"invalid Requires-Dist {text!r}: {req}"
        return None

    # -- helpers -------------------------------------------------------------------------

    def expand(
        self, req: PepRequirement, *, parent: Candidate | None, origin: str = ""
    ) -> list[Requirement]:
        """One requirement per identifier: the base project plus one per requested extra.

        Overrides replace the requirement (by name) before expansion.
        """
        name = canonicalize_name(req.name)
        replaced = self._options.overrides.get(name)
        reqs: Iterable[PepRequirement] = (req,)
        if replaced is not None:
            reqs = [r for r in replaced if r.marker is None or self._evaluate(r.marker, "")]
        out: list[Requirement] = []
        for r in reqs:
            out.append(as_requirement(r, extra=None, parent=parent, origin=origin))
            for e in sorted(canonicalize_name(x) for x in r.extras):
                out.append(as_requirement(r, extra=e, parent=parent, origin=origin))
        return out

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

    @property
    def python(self) -> Version:
        """The target interpreter's version."""
        return self._files.python

    def evaluate(self, marker: Marker, extra: str = "") -> bool:
        return self._evaluate(marker, extra)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _evaluate(self, marker: Marker, extra: str) -> bool:
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

    def _parse(self, text: str) -> PepRequirement | str:
        hit = self._parsed.get(text)
        if hit is None:
            try:
                hit = PepRequirement(text)
            except (PepInvalidRequirement, InvalidMarker) as exc:
                hit = str(exc)
            self._parsed[text] = hit
        return hit

    def combined(self, name: NormalizedName, reqs: Sequence[Requirement]) -> SpecifierSet:
        spec = SpecifierSet()
        for r in reqs:
            spec &= r.specifier
        for c in self._options.constraints.get(name, ()):
            if c.marker is None or self._evaluate(c.marker, ""):
                spec &= c.specifier
        return spec

    def constraints_on(self, name: NormalizedName) -> list[tuple[PepRequirement, str]]:
        """The constraints on ``name`` that apply to the target, with where each comes from
        (``""`` when unknown); for explanations."""
        return [
            (c, self._options.constraint_origins.get(str(c), ""))
            for c in self._options.constraints.get(name, ())
            if c.marker is None or self._evaluate(c.marker, "")
        ]

    def allow_prereleases(self, name: NormalizedName, spec: SpecifierSet) -> bool:
        if self._options.prereleases or name in self._options.prerelease_packages:
            return True
        return bool(spec.prereleases)

    def score(self, name: NormalizedName, version: Version) -> tuple[str | None, float]:
        """The recommendation's verdict on one version: (filter reason or None, score)."""
        key = (name, version)
        hit = self._scores.get(key)
        if hit is None:
            if self._scorer is None:
                hit = (None, 0.0)
            else:
                choice = self.choice(name, version)
                hit = self._scorer.evaluate(
                    name,
                    version,
                    files=choice.files,
                    needs_build=choice.needs_build,
                    yanked=choice.yanked,
                    direct=name in self._options.direct,
                )
            self._scores[key] = hit
        return hit

    def _ordered(self, name: NormalizedName, versions: list[Version]) -> list[Version]:
        if self._options.order is CandidateOrder.OLDEST_DIRECT and name in self._options.direct:
            versions = sorted(versions)
        elif self._scorer is not None:
            # best score first; ties toward newer versions (the list is newest first and
            # sorting is stable). Only versions with files for the target are scored.
            usable = [v for v in versions if self.choice(name, v).files]
            versions = sorted(usable, key=lambda v: -self.score(name, v)[1])
        preferred = self._options.preferences.get(name)
        if preferred is not None and preferred in versions:
            versions = [preferred] + [v for v in versions if v != preferred]
        return versions

    def _url_candidates(
        self,
        name: NormalizedName,
        extra: str | None,
        urls: set[str],
        reqs: Sequence[Requirement],
    ) -> list[Candidate]:
        if len(urls) > 1 or self._wrap_file is None:
            return []
        url = next(iter(urls))
        dist = self._wrap_file(url, ())
        parsed = dist.parsed
        if parsed is None or parsed.name != name:
            return []
        spec = self.combined(name, [r for r in reqs if not r.url])
        if not spec.contains(parsed.version, prereleases=True):
            return []
        return [
            Candidate(
                name=name,
                version=parsed.version,
                extra=extra,
                files=(dist,),
                url=url,
                needs_build=not dist.filename.endswith(".whl"),
            )
        ]

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
        self._warm(set(todo))

    def _warm(self, names: set[NormalizedName]) -> None:
        """Fetch pages and the likely first candidate's metadata of ``names`` in background."""
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


def root_requirements(
    provider: AdvisorProvider, lines: Iterable[tuple[PepRequirement, str]]
) -> list[Requirement]:
    """Expand input requirements (with their origin) that apply to the target."""
    out: list[Requirement] = []
    for req, origin in lines:
        if req.marker is not None and not provider.evaluate(req.marker):
            continue
        out.extend(provider.expand(req, parent=None, origin=origin))
    return out


def identifier_of(name: str, extra: str | None = None) -> str:
    return identifier_for(canonicalize_name(name), extra)
