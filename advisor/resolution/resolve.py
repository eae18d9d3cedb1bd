"""One resolution per target environment, merged into one stack for several targets.

``resolve`` runs resolvelib with :class:`~advisor.resolution.provider.AdvisorProvider` and
turns the result into a :class:`~advisor.models.Resolution` (pins plus dependency edges).
It first runs a build-free probe (cheap facts first, see the provider): a conflict that wheel
metadata proves is reported without building any sdist; when the probe needs a build, the
resolution runs again in pip's order (reusing everything the probe read), so ``latest``
stays pip's choice.
``ResolutionImpossible`` becomes :class:`~advisor.errors.NoViableStack` with a plain-language
explanation (see :mod:`advisor.resolution.explain`). ``merge`` combines per-target results into
one stack whose pins carry markers where the targets disagree. The reporter tells the progress
events how far each resolution got (projects seen, backtracks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName
from resolvelib import BaseReporter, ResolutionImpossible, ResolutionTooDeep, Resolver

from advisor.errors import NoViableStack
from advisor.events import SILENT
from advisor.models import Edge, Pin, Resolution
from advisor.resolution.candidates import Candidate, Requirement
from advisor.resolution.explain import explain_conflict
from advisor.resolution.provider import AdvisorProvider, BuildNeeded
from advisor.resolution.requirements import root_requirements

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from packaging.requirements import Requirement as PepRequirement

    from advisor.events import ProgressEvents

__all__ = ["TargetResult", "merge", "resolve"]

log = logging.getLogger("advisor.resolution")

#: resolvelib's round limit; each round pins one identifier or backtracks once.
MAX_ROUNDS = 200_000


class _TraceReporter(BaseReporter[Requirement, Candidate, str]):
    """Logs resolver progress at DEBUG level (``-vv``) and reports it to the progress events
    once per round and per new project: the projects required so far, the conflicts met
    (each one backtracks)."""

    def __init__(self, events: ProgressEvents, *, target: str) -> None:
        self._events = events
        self._target = target
        self._seen: set[str] = set()
        self._backtracks = 0

    def _report(self) -> None:
        self._events.resolving(self._target, seen=len(self._seen), backtracks=self._backtracks)

    def starting(self) -> None:
        self._report()

    def ending_round(self, index: int, state: Any) -> None:
        self._report()

    def adding_requirement(self, requirement: Requirement, parent: Candidate | None) -> None:
        if requirement.name not in self._seen:
            self._seen.add(requirement.name)
            self._report()

    def resolving_conflicts(self, causes: Any) -> None:
        self._backtracks += 1

    def pinning(self, candidate: Candidate) -> None:
        log.debug("pin %s", candidate)

    def rejecting_candidate(self, criterion: Any, candidate: Candidate) -> None:
        log.debug("reject %s", candidate)


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetResult:
    """The resolution for one target, named after the target's lock marker."""

    marker: str
    resolution: Resolution
    warnings: tuple[str, ...] = ()
    requires_python: dict[NormalizedName, str] = field(default_factory=dict)


def resolve(
    provider: AdvisorProvider,
    roots: Iterable[tuple[PepRequirement, str]],
    *,
    target: str,
    events: ProgressEvents = SILENT,
) -> Resolution:
    """Resolve ``roots`` (requirement, origin) for the provider's target environment,
    reporting each round to ``events`` under the name ``target``.

    Raises :class:`NoViableStack` when no consistent stack exists, explained in plain words.
    """
    reqs = root_requirements(provider.rules, provider.lookup, roots)
    reporter = _TraceReporter(events, target=target)
    try:
        result = _probe(provider, reqs, reporter)
        if result is None:
            log.debug("the build-free probe needs a build: resolving in pip's order")
            result = _resolver(provider, reporter).resolve(reqs, max_rounds=MAX_ROUNDS)
    except ResolutionImpossible as exc:
        causes = list(exc.causes)
        raise explain_conflict(provider, causes, target=target) from None
    except ResolutionTooDeep:
        raise NoViableStack(
            f"gave up after {MAX_ROUNDS} resolution rounds for {target}: "
            "the requirements backtrack too much; add tighter bounds on the packages named in -v",
        ) from None
    finally:
        events.resolve_finished(target)
        provider.close()
    return _to_resolution(provider, result.mapping, result.criteria)


def _resolver(
    provider: AdvisorProvider, reporter: _TraceReporter
) -> Resolver[Requirement, Candidate, str]:
    return Resolver(provider, reporter)


def _probe(provider: AdvisorProvider, reqs: Sequence[Requirement], reporter: _TraceReporter) -> Any:
    """The build-free probe's result, or ``None`` when the real resolution must run.

    Its ``ResolutionImpossible`` propagates: a conflict among candidates whose metadata was
    read, with the unread ones counted as possible, holds whatever those would say. Its
    success stands only when no candidate was offered unread (then its order was pip's).
    """
    with provider.probing():
        try:
            result = _resolver(provider, reporter).resolve(reqs, max_rounds=MAX_ROUNDS)
        except BuildNeeded:
            return None
        except ResolutionTooDeep:
            if provider.deferred:
                return None
            raise
        return None if provider.deferred else result


def _to_resolution(provider: AdvisorProvider, mapping: Any, criteria: Any) -> Resolution:
    base: dict[NormalizedName, Candidate] = {}
    extras: dict[NormalizedName, set[NormalizedName]] = {}
    for cand in mapping.values():
        if cand.extra is None:
            base[cand.name] = cand
        else:
            extras.setdefault(cand.name, set()).add(NormalizedName(cand.extra))
    edges: set[Edge] = set()
    deps: dict[NormalizedName, set[NormalizedName]] = {}
    for identifier, criterion in criteria.items():
        if identifier not in mapping:
            continue
        for info in criterion.information:
            req: Requirement = info.requirement
            parent: Candidate | None = info.parent
            if parent is not None and parent.name == req.name:
                continue  # an extra's candidate depending on its own base
            edges.add(
                Edge(
                    parent=parent.name if parent is not None else None,
                    child=req.name,
                    requirement=req.text,
                    origin=req.origin,
                )
            )
            if parent is not None:
                deps.setdefault(parent.name, set()).add(req.name)
    pins = []
    for name in sorted(base):
        cand = base[name]
        meta = provider.lookup.metadata(cand)
        first = cand.files[0] if cand.files else None
        pins.append(
            Pin(
                name=name,
                version=cand.version,
                files=cand.files,
                extras=frozenset(extras.get(name, ())),
                requires_python=None if isinstance(meta, str) else meta.requires_python,
                dependencies=tuple(sorted(deps.get(name, ()))),
                index=None if cand.url or first is None else first.index,
                direct_url=cand.url,
                needs_build=cand.needs_build,
            )
        )
    return Resolution(
        pins=tuple(pins),
        edges=tuple(sorted(edges, key=lambda e: (e.parent or "", e.child, e.requirement))),
    )


def merge(results: Sequence[TargetResult]) -> Resolution:
    """One stack for several targets: a pin that differs between targets gets a marker.

    A pin present with the same version in every target is unconditional; otherwise it is
    emitted once per distinct version with the ``or`` of the targets' markers. Files are the
    union over the targets that use that version.
    """
    if len(results) == 1:
        return results[0].resolution
    versions: dict[tuple[NormalizedName, str], list[tuple[str, Pin]]] = {}
    for r in results:
        for p in r.resolution.pins:
            versions.setdefault((p.name, str(p.version)), []).append((r.marker, p))
    pins: list[Pin] = []
    for (_, _), entries in sorted(versions.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        first = entries[0][1]
        seen: dict[str, Any] = {}
        for _, p in entries:
            for f in p.files:
                seen.setdefault(f.filename, f)
        markers = [m for m, _ in entries]
        marker = None if len(markers) == len(results) else " or ".join(f"({m})" for m in markers)
        pins.append(
            Pin(
                name=first.name,
                version=first.version,
                files=tuple(seen[k] for k in sorted(seen)),
                extras=frozenset().union(*(p.extras for _, p in entries)),
                requires_python=first.requires_python,
                dependencies=tuple(sorted(set().union(*(p.dependencies for _, p in entries)))),
                marker=marker,
                index=first.index,
                direct_url=first.direct_url,
                needs_build=any(p.needs_build for _, p in entries),
            )
        )
    edges = {e for r in results for e in r.resolution.edges}
    return Resolution(
        pins=tuple(pins),
        edges=tuple(sorted(edges, key=lambda e: (e.parent or "", e.child, e.requirement))),
    )
