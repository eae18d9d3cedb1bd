"""The digest the text and Markdown reports share, and the report's shared vocabulary.

Part of the report layer (:mod:`advisor.report`), below its renderers: the formats
(:class:`ReportFormat`), the JSON layout's version, and the :class:`Digest` of an advice:
which pins differ from ``latest`` and the top reasons why, the warnings, the removed
candidates that matter and the comparison with the project's lock. :mod:`advisor.report.text`,
:mod:`~advisor.report.markdown`, :mod:`~advisor.report.json` and
:mod:`~advisor.report.explain` import it; the package re-exports it. Pure and deterministic.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from advisor.scoring.base import Justification

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from advisor.scoring.advice import Advice, PinAdvice, StackAdvice
    from advisor.scoring.base import ScoreTerm

__all__ = [
    "SCHEMA_VERSION",
    "Change",
    "Digest",
    "Reason",
    "Removed",
    "ReportFormat",
    "count_changes",
    "digest_advice",
    "format_score",
    "format_term",
    "is_rejection",
    "is_worse_than_baseline",
    "knowledge_text",
    "stack_differences",
    "summarise_names",
    "top_terms",
]


class ReportFormat(enum.StrEnum):
    """``advisor advise --report`` (``advisor explain``: text or json)."""

    TEXT = "text"  # for a terminal
    MD = "md"  # Markdown, for a pull-request comment
    JSON = "json"  # for machines, in the layout of advice_json_schema()


SCHEMA_VERSION = 1
"""Version of the JSON report's layout (``schema_version``); bumped on incompatible change."""

#: How the search words the note of a stack a stack check rejected (advice/engine.py).
_REJECTED = "a stack was rejected: "


def is_rejection(j: Justification) -> bool:
    """Whether ``j`` is the search's note of a stack a stack check rejected (the reason the
    advice may not be latest's stack)."""
    return j.unit == "search" and j.message.startswith(_REJECTED)


_BUILD_UNITS = frozenset({"build", "build-risk", "build_risk"})


# -- the digest the text and Markdown reports share ------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """One line of "why": a term of ``version`` (the advised or latest's), or a ``note``
    (a filter's reason, "follows from the other pins" ...)."""

    version: str | None = None
    term: ScoreTerm | None = None
    note: str = ""

    def __str__(self) -> str:
        body = format_term(self.term) if self.term is not None else self.note
        return f"{self.version}: {body}" if self.version else body


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """A package whose advised version differs from ``latest``'s: ``version`` is ``None``
    when the advised stack does not contain it, ``latest`` is ``None`` when ``latest``'s
    stack does not. ``reasons`` are the top terms (or a filter's reason) behind the change;
    ``more`` counts the terms left out."""

    name: str
    latest: str | None
    version: str | None
    direct: bool
    reasons: tuple[Reason, ...]
    more: int = 0

    @property
    def direction(self) -> str:
        """``upgrade``, ``downgrade``, ``added``, ``dropped`` or ``changed``."""
        if self.version is None:
            return "dropped"
        if self.latest is None:
            return "added"
        new, old = _version(self.version), _version(self.latest)
        if new is None or old is None:
            return "changed"
        return "upgrade" if new > old else "downgrade"


@dataclass(frozen=True, slots=True, kw_only=True)
class Removed:
    """Versions of ``name`` newer than the advised one that a filter removed, one reason
    (latest's own version is left out: the change from latest already says why)."""

    name: str
    versions: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Digest:
    """What a short report says about an advice (pure data, computed once)."""

    changes: tuple[Change, ...]
    warnings: tuple[Justification, ...]
    removed: tuple[Removed, ...]
    baseline_changes: int | None
    worse_than_baseline: bool


def digest_advice(advice: Advice, *, top: int = 2) -> Digest:
    """The pins that differ from ``latest`` (with up to ``top`` terms per side), warnings
    and errors (justifications, plus pins built from source), removed newer versions, and
    the comparison with the baseline."""
    best, baseline = advice.best, advice.baseline
    return Digest(
        changes=_changes(advice, top=top),
        warnings=_warnings(best),
        removed=_removed(best.pins),
        baseline_changes=None if baseline is None else count_changes(baseline, best),
        worse_than_baseline=is_worse_than_baseline(advice),
    )


def is_worse_than_baseline(advice: Advice) -> bool:
    """The advised stack scores lower than the project's own lock (which must be said)."""
    if advice.baseline is None:
        return False
    return _lower(advice.best.score, advice.baseline.score)


def count_changes(old: StackAdvice, new: StackAdvice) -> int:
    """Pins added, dropped or at another version from ``old`` to ``new``."""
    before = {p.name: p.version for p in old.pins}
    after = {p.name: p.version for p in new.pins}
    return sum(before.get(n) != after.get(n) for n in before.keys() | after.keys())


def stack_differences(
    best: StackAdvice, other: StackAdvice
) -> tuple[tuple[str, str | None, str | None], ...]:
    """How ``other`` differs from ``best``: (name, best's version, other's version) for each
    pin added, dropped or at another version, by name (``None``: not in that stack)."""
    mine = {p.name: p.version for p in best.pins}
    theirs = {p.name: p.version for p in other.pins}
    return tuple(
        (n, mine.get(n), theirs.get(n))
        for n in sorted(mine.keys() | theirs.keys())
        if mine.get(n) != theirs.get(n)
    )


def format_score(value: float | None) -> str:
    """``+1.25`` / ``-0.40``; a rejected stack's ``-inf`` reads ``rejected``."""
    if value is None or math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "rejected" if value < 0 else "+inf"
    return f"{value:+.2f}"


def format_term(term: ScoreTerm, *, evidence: bool = True) -> str:
    """``unit ±value: reason <evidence>`` (the unit names who said it, evidence where)."""
    text = f"{term.unit} {term.value:+.2f}: {term.reason}"
    if evidence and term.evidence:
        text += f" <{term.evidence}>"
    return text


def top_terms(terms: Iterable[ScoreTerm], n: int) -> tuple[list[ScoreTerm], int]:
    """The ``n`` terms weighing most (by magnitude, then unit and reason) and how many of
    the non-zero ones were left out."""
    ranked = sorted(
        (t for t in terms if t.value != 0.0), key=lambda t: (-abs(t.value), t.unit, t.reason)
    )
    return ranked[:n], max(len(ranked) - n, 0)


def knowledge_text(advice: Advice, *, limit: int | None = 5) -> str | None:
    """How much the advice knew, in one line: ``release facts for 110 of 110, advisories
    checked for 110 (data of 2026-12-01), observations for 11``; the pins nothing at all
    was known about after it. ``limit`` bounds the names listed (``None``: all). ``None``
    when the advice says nothing about its knowledge."""
    parts: list[str] = []
    counts = advice.knowledge
    if counts is not None:
        facts = f"release facts for {counts.release_facts} of {counts.packages}"
        details = []
        if counts.upload_times < counts.release_facts:
            details.append(f"upload times for {counts.upload_times}")
        if counts.no_release_facts:
            names = counts.no_release_facts
            shown = ", ".join(names) if limit is None else summarise_names(names, limit=limit)
            details.append(f"none for {shown}")
        if details:
            facts += f" ({'; '.join(details)})"
        advised = f"advisories checked for {counts.advisories}"
        if counts.advisories_as_of is not None:
            advised += f" (data of {counts.advisories_as_of})"
        elif counts.advisories < counts.packages:
            advised += " (no advisory data loaded: advisor knowledge update)"
        parts.append(f"{facts}, {advised}, observations for {counts.observations}")
    if advice.unknown:
        n = len(advice.unknown)
        names = advice.unknown
        shown = ", ".join(names) if limit is None else summarise_names(names, limit=limit)
        parts.append(
            f"nothing known about {n} {'package' if n == 1 else 'packages'} ({shown}): "
            "scored neutral"
        )
    return "; ".join(parts) or None


def summarise_names(names: Sequence[str], *, limit: int = 5) -> str:
    """``a, b, c`` or ``a, b, c, d, e, … (+32)`` for a long list."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown}, … (+{len(names) - limit})"


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _lower(score: float, than: float) -> bool:
    if math.isnan(score) or math.isnan(than):
        return False
    return score < than and not math.isclose(score, than, abs_tol=1e-9)


def _changes(advice: Advice, *, top: int) -> tuple[Change, ...]:
    best_names = {p.name for p in advice.best.pins}
    out = [_change(advice, pin, top=top) for pin in advice.best.pins if pin.differs]
    for pin in advice.latest.pins:
        if pin.name not in best_names:
            out.append(
                Change(
                    name=pin.name,
                    latest=pin.version,
                    version=None,
                    direct=pin.direct,
                    reasons=(Reason(note="not needed by the advised stack"),),
                )
            )
    return tuple(sorted(out, key=lambda c: (not c.direct, c.name)))


def _change(advice: Advice, pin: PinAdvice, *, top: int) -> Change:
    # a constraint the search learned about this pin comes first: it is why the pin moved
    reasons: list[Reason] = [
        Reason(note=j.message)
        for j in advice.best.justifications
        if j.unit == "search" and j.package == pin.name
    ]
    more = 0
    if pin.latest is not None:
        alt = next((a for a in pin.alternatives if a.version == pin.latest), None)
        theirs = advice.latest.pin(pin.name)
        if alt is not None and alt.score is None and alt.reason:
            reasons.append(Reason(version=pin.latest, note=f"removed: {alt.reason}"))
        elif theirs is not None and theirs.version == pin.latest:
            shown, more = top_terms(theirs.terms, top)
            reasons += [Reason(version=pin.latest, term=t) for t in shown]
    shown, left = top_terms(pin.terms, top)
    reasons += [Reason(version=pin.version, term=t) for t in shown]
    more += left
    if not reasons:
        reasons.append(Reason(note="no term of its own: follows from the other pins"))
    return Change(
        name=pin.name,
        latest=pin.latest,
        version=pin.version,
        direct=pin.direct,
        reasons=tuple(reasons),
        more=more,
    )


def _warnings(stack: StackAdvice) -> tuple[Justification, ...]:
    found: list[Justification] = [
        j for j in stack.justifications if j.level in ("warning", "error")
    ]
    for pin in stack.pins:
        mine = [j for j in pin.justifications if j.level in ("warning", "error")]
        found += [j if j.package is not None else _with_package(j, pin.name) for j in mine]
        if pin.needs_build and not any(j.unit in _BUILD_UNITS for j in mine):
            found.append(
                Justification(
                    level="warning",
                    message=f"{pin.version} has no wheel for the target: built from source",
                    unit="build",
                    package=pin.name,
                )
            )
    order = {"error": 0, "warning": 1}
    return tuple(sorted(found, key=lambda j: (order[j.level], j.package or "", j.message)))


def _with_package(j: Justification, name: str) -> Justification:
    return Justification(level=j.level, message=j.message, unit=j.unit, package=name, link=j.link)


def _removed(pins: Iterable[PinAdvice]) -> tuple[Removed, ...]:
    out: list[Removed] = []
    for pin in pins:
        chosen = _version(pin.version)
        groups: dict[str, list[str]] = {}
        for alt in pin.alternatives:
            if alt.score is not None or not alt.reason:
                continue
            if pin.differs and alt.version == pin.latest:
                continue  # said with the change from latest
            other = _version(alt.version)
            if chosen is not None and other is not None and other <= chosen:
                continue  # an older version removed changes nothing about this pin
            groups.setdefault(alt.reason, []).append(alt.version)
        for reason, versions in sorted(groups.items()):
            ordered = sorted(versions, key=lambda v: (_version(v) or Version("0"), v), reverse=True)
            out.append(Removed(name=pin.name, versions=tuple(ordered), reason=reason))
    return tuple(out)
