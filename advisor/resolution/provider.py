"""The resolvelib provider: a thin adapter between resolvelib and the index.

It delegates: what the index offers the target (files per version from a :class:`Finder`,
the usable ones chosen by :class:`~advisor.resolution.candidates.FileFilter`, core metadata
from a :class:`MetadataSource`) to its :class:`~advisor.resolution.lookup.TargetLookup`, the
request's overrides, extras and constraints to its
:class:`~advisor.resolution.requirements.RequirementRules`; it keeps resolvelib's contract,
the order of candidates, the recommendation's filter and the build-free probe.
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
from typing import TYPE_CHECKING, Any

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from resolvelib import AbstractProvider

from advisor.resolution.candidates import (
    Candidate,
    FileFilter,
    Requirement,
    identifier_for,
    pinned_version,
    split_identifier,
)
from advisor.resolution.lookup import TargetLookup
from advisor.resolution.options import (
    CandidateOrder,
    CandidateScorer,
    Finder,
    MetadataSource,
    ProviderCache,
    ProviderOptions,
)
from advisor.resolution.requirements import RequirementRules

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from packaging.version import Version
    from resolvelib.structs import RequirementInformation

    from advisor.models import DistFile

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
        #: what the index offers the target (files, metadata, markers), memoised in ``cache``
        self.lookup = TargetLookup(
            finder=finder,
            metadata=metadata,
            markers=markers,
            files=files,
            options=options,
            cache=shared,
        )
        #: the request's overrides, extras, constraints and pre-release rules for the target
        self.rules = RequirementRules(options=options, lookup=self.lookup)
        self._scorer = scorer
        self._scores: dict[tuple[NormalizedName, Version], tuple[str | None, float]] = {}
        self._options = options
        self._wrap_file = wrap_file
        self._order_seen: dict[str, int] = {}
        #: identifier -> the requirements last seen for it (for conflict explanations)
        self.seen: dict[str, list[Requirement]] = {}
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
        specifier = self.rules.combined(name, reqs)
        grouped = self.lookup.versions(name)
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
            self.rules.allow_prereleases(name, specifier),
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
        meta = self.lookup.metadata(candidate)
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
            req = self.lookup.parse(text)
            if isinstance(req, str):
                continue  # _iter_valid rejected candidates with unparseable Requires-Dist
            if req.marker is not None and not self.lookup.evaluate(req.marker, extra):
                continue
            if candidate.extra is not None and req.marker is None:
                continue  # already a dependency of the base candidate
            deps.extend(self.rules.expand(req, parent=candidate))
        if self._options.warm and self.lookup.network_requests > 0:
            # only worth threads when pages come over the wire: a warm cache is faster serial
            self.lookup.prefetch({d.name for d in deps})
        return deps

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
        return cand.needs_build and not self.lookup.is_read(cand.name, cand.version, cand.url)

    def _next_is_costly(
        self, name: NormalizedName, versions: Sequence[Version], bad: set[Version]
    ) -> bool:
        """Whether the first version resolvelib would try needs a build (an estimate: the
        first one with files for the target that is not excluded)."""
        banned = self._options.bans.get(name, frozenset())
        for v in versions:
            if v in bad or v in banned:
                continue
            choice = self.lookup.choice(name, v)
            if choice.files:
                return choice.needs_build and not self.lookup.is_read(name, v, None)
        return False

    def _iter_checked(self, candidates: Sequence[Candidate]) -> Iterator[Candidate]:
        for cand in candidates:
            if self._deferred_check(cand) is None:
                yield cand

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
                final_seen = final_seen or bool(self.lookup.choice(name, v).files)
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
        choice = self.lookup.choice(name, version)
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
        if self._deferred_check(cand) is not None:  # the lookup keeps why, for explanations
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
        return self.lookup.check(cand)

    # -- helpers -------------------------------------------------------------------------

    def ban_reason(self, name: NormalizedName, version: Version) -> str | None:
        """Why ``version`` of ``name`` is banned from this resolution, in the words of whoever
        banned it (``None``: not banned, or banned without words). Cheap: no I/O."""
        if version not in self._options.bans.get(name, frozenset()):
            return None
        why = self._options.ban_reason
        return None if why is None else why(name, version)

    def score(self, name: NormalizedName, version: Version) -> tuple[str | None, float]:
        """The recommendation's verdict on one version: (filter reason or None, score)."""
        key = (name, version)
        hit = self._scores.get(key)
        if hit is None:
            if self._scorer is None:
                hit = (None, 0.0)
            else:
                choice = self.lookup.choice(name, version)
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
            usable = [v for v in versions if self.lookup.choice(name, v).files]
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
        spec = self.rules.combined(name, [r for r in reqs if not r.url])
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
        """Start fetching pages and likely metadata of ``names`` in the background (see
        :meth:`TargetLookup.warm`)."""
        self.lookup.warm(names)

    def close(self) -> None:
        """Stop the warm-up threads; the provider is done with."""
        self.lookup.close()
