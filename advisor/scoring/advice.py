"""The result of ``advise``: scored stacks with every pin's reasons, ready to report.

Produced by the stack search (``advisor.resolution.search`` with the units of a
:class:`~advisor.scoring.base.Recommendation`), rendered by ``advisor.report``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from advisor.scoring.base import Justification, ScoreTerm

__all__ = ["Advice", "Alternative", "KnowledgeCounts", "PinAdvice", "StackAdvice"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Alternative:
    """Another version of a pinned package that was considered: its score, or why it was
    ruled out (a filter's reason, or "not in any consistent stack found")."""

    version: str
    score: float | None
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PinAdvice:
    """One pin of a scored stack. ``latest`` is the version ``latest`` (pip) picks, or
    ``None`` when that stack does not contain the package. ``score`` is the weighted sum of
    ``terms``; ``direct`` marks a requirement of the inputs."""

    name: str
    version: str
    latest: str | None = None
    score: float = 0.0
    terms: tuple[ScoreTerm, ...] = ()
    justifications: tuple[Justification, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    direct: bool = False
    needs_build: bool = False
    marker: str | None = None

    @property
    def differs(self) -> bool:
        return self.latest != self.version


@dataclass(frozen=True, slots=True, kw_only=True)
class StackAdvice:
    """A complete stack with its total score (pins' weighted terms plus stack terms)."""

    score: float
    pins: tuple[PinAdvice, ...]
    stack_terms: tuple[ScoreTerm, ...] = ()
    justifications: tuple[Justification, ...] = ()

    def pin(self, name: str) -> PinAdvice | None:
        for p in self.pins:
            if p.name == name:
                return p
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class KnowledgeCounts:
    """How much the advice knew about the best stack's ``packages`` pins.

    ``release_facts``: pins whose release facts (files for the target, yanks,
    ``Requires-Python``, the project's status; from the index pages the resolver read, or
    a stored release fact) the units saw; ``upload_times`` the pins among them whose upload
    time the index gave (PEP 700: JSON pages give it, most HTML pages do not).
    ``advisories``: pins checked against advisories: every pin when an advisory database
    is loaded (``advisories_as_of`` is then how current it is, an ISO day), else those an
    advisory is stored about. ``observations``: pins with measured observations (builds,
    installs, performance, compatibility). ``no_release_facts`` names the pins without
    release facts (direct URLs, say).
    """

    packages: int
    release_facts: int
    upload_times: int
    advisories: int
    observations: int
    advisories_as_of: str | None = None
    no_release_facts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Advice:
    """Everything ``advisor advise`` found.

    ``best`` is written to the lock; ``others`` are the next distinct stacks (top-k,
    best first); ``latest`` is pip's choice scored the same way; ``baseline`` is the
    project's existing lock scored the same way (``None`` without one). ``knowledge``
    says how much was known about the best stack's pins (said once, never blocking);
    ``unknown`` lists the pins nothing at all was known about (no release facts, nothing
    stored, not checked against advisories). ``workload`` names the workload a performance
    advice was optimised for. ``resolutions`` counts the resolutions the search ran;
    ``seed`` and ``budget`` make it reproducible. ``verified`` counts the stacks installed
    and imported on this machine (``--verify``; ``None``: not asked) and ``lessons`` says
    what each failure taught.
    """

    recommendation: str
    targets: tuple[str, ...]
    best: StackAdvice
    latest: StackAdvice
    others: tuple[StackAdvice, ...] = ()
    baseline: StackAdvice | None = None
    unknown: tuple[str, ...] = ()
    knowledge: KnowledgeCounts | None = None
    workload: str | None = None
    resolutions: int = 0
    seed: int = 0
    budget: int = 0
    elapsed: float = 0.0
    verified: int | None = None
    lessons: tuple[str, ...] = ()
