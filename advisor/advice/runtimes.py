"""The advised runtime: the same inputs advised for several runtimes, compared, one chosen.

Top of the decide layer, beside the advice engine. ``advisor advise INPUTS --compare-env
py311 --compare-env py312`` names runtimes (a named environment of the project's
configuration, a curated image recipe's runtime: ``image:datascience``, or a Python version:
``py312``, ``3.12``); :func:`parse_runtime` turns each
into a :class:`RuntimeChoice`, the composition root runs one advice per runtime
(:func:`advisor.api.runtimes.compare_runtimes`) and :func:`compare_runtimes` here judges the
results.

**Comparable scores.** A measured observation holds where it was measured (its Python, its
platform), so a pin "installed cleanly" on 3.11 earns a bonus there and nothing on 3.12,
where it was never tried: unknown, not zero. Comparing totals would reward the runtime that
happened to be measured. The compared score is therefore the weighted terms of the packages
*every* runtime pins (plus the stack terms), where a bonus from a measured unit
(:data:`MEASURED_UNITS`) counts only when every runtime has a term of that unit for that
package; the bonuses set aside are listed as one-sided evidence. A penalty always counts (a
failure measured there is a fact about that runtime). Each side says how much evidence it
had: its pins with measured terms that apply to it, its pins checked against advisories. A
package only some runtimes pin is listed, not scored.

**The choice**: the highest compared score; on a tie (to 1e-9) the side with more evidence,
then the first named. A runtime with no acceptable stack is never chosen; its reason is
kept. **What each runtime loses** against the chosen one: the pins it has to take at
another version (or cannot pin), its warnings and errors (an advisory, a missing wheel, a
rejected pair), and the packages nothing is known about there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from advisor.errors import InputError, NoViableStack

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

    from advisor.scoring.advice import Advice
    from advisor.scoring.base import Scorer

__all__ = [
    "MEASURED_UNITS",
    "RuntimeChoice",
    "RuntimeComparison",
    "RuntimeOutcome",
    "RuntimeRow",
    "RuntimeSource",
    "advise_runtimes",
    "check_runtime_names",
    "compare_runtimes",
    "image_runtimes",
    "parse_runtime",
    "parse_runtimes",
]

#: Units whose terms come from measurements that hold only where they were made: without
#: one for a runtime, nothing is known there (see the module docstring).
MEASURED_UNITS = frozenset({"build_risk", "performance", "compatibility"})

_PYTHON = re.compile(r"^(?:py|python|cp)?(?P<major>3)\.?(?P<minor>\d{1,2})$", re.I)


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeChoice:
    """One runtime to advise for: ``label`` as the user wrote it; ``env`` the configured
    environment's name, or ``python`` a Python version (``"3.12"``) with, for an image
    recipe, its ``platform``, ``implementation`` and ``cuda``."""

    label: str
    env: str | None = None
    python: str | None = None
    platform: str | None = None
    implementation: str | None = None
    cuda: str | None = None


def parse_runtime(
    text: str, *, known: Collection[str], images: Mapping[str, RuntimeChoice] | None = None
) -> RuntimeChoice:
    """``text`` as a runtime: a name in ``known`` (the configured environments) first, then
    ``image:NAME`` (``images``: recipe name → its runtime), else a Python version (``py312``,
    ``python3.12``, ``3.12``). Raises :class:`InputError` naming the accepted forms
    otherwise."""
    name = text.strip()
    if name in known:
        return RuntimeChoice(label=name, env=name)
    if name.startswith("image:"):
        recipes = images or {}
        recipe = recipes.get(name.removeprefix("image:"))
        if recipe is None:
            listed = ", ".join(sorted(recipes)) or "none found"
            raise InputError(f"--compare-env {text!r}: no such image recipe ({listed})")
        return recipe
    found = _PYTHON.match(name)
    if found is None:
        names = ", ".join(sorted(known)) or "none are configured"
        raise InputError(
            f"--compare-env {text!r}: not a configured environment ({names}), an image recipe "
            "(image:NAME) nor a Python version (py312, 3.12)"
        )
    return RuntimeChoice(label=name, python=f"{found['major']}.{int(found['minor'])}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeOutcome:
    """What one runtime's advice gave: the ``advice``, or ``error`` (no acceptable stack)."""

    choice: RuntimeChoice
    advice: Advice | None = None
    error: str = ""


class RuntimeSource(Protocol):
    """What an image recipe tells of its runtime (:class:`~advisor.knowledge.schema.ImageRecipe`
    meets it)."""

    @property
    def name(self) -> str: ...
    @property
    def python(self) -> str: ...
    @property
    def platform(self) -> str: ...
    @property
    def implementation(self) -> str: ...
    @property
    def cuda(self) -> str | None: ...


def image_runtimes(recipes: Iterable[RuntimeSource]) -> dict[str, RuntimeChoice]:
    """Recipe name → its runtime (``image:NAME``: Python, platform, implementation, CUDA)."""
    return {
        r.name: RuntimeChoice(
            label=f"image:{r.name}",
            python=r.python,
            platform=r.platform,
            implementation=r.implementation,
            cuda=r.cuda,
        )
        for r in recipes
    }


def check_runtime_names(texts: Iterable[str]) -> None:
    """Refuse a comparison of fewer than two runtimes, or of one runtime named twice (a
    runtime's label is its text, spaces aside): cheap, so the composition root asks it
    before preparing or advising anything. Raises :class:`InputError`."""
    labels = [t.strip() for t in texts]
    if len(labels) < 2:
        raise InputError("--compare-env: name at least two runtimes to compare")
    if len(set(labels)) != len(labels):
        raise InputError(f"--compare-env: a runtime is named twice ({', '.join(labels)})")


def parse_runtimes(
    texts: Iterable[str], *, known: Collection[str], recipes: Callable[[], Iterable[RuntimeSource]]
) -> tuple[RuntimeChoice, ...]:
    """Each of ``texts`` as a runtime (:func:`parse_runtime`), in order. ``recipes`` (the
    image recipes) is called once, and only when a text names one (``image:NAME``):
    reading them is a folder of files to decode. Raises :class:`InputError` first for
    fewer than two runtimes or one named twice (:func:`check_runtime_names`)."""
    texts = tuple(texts)
    check_runtime_names(texts)
    images = image_runtimes(recipes()) if any(t.startswith("image:") for t in texts) else {}
    return tuple(parse_runtime(t, known=known, images=images) for t in texts)


def advise_runtimes(
    choices: Iterable[RuntimeChoice], advise: Callable[[RuntimeChoice], Advice]
) -> list[RuntimeOutcome]:
    """Each runtime's outcome, in order: ``advise(choice)`` (the first target's advice), or
    the first line of its :class:`~advisor.errors.NoViableStack` (a row of the comparison,
    not an error)."""
    outcomes = []
    for choice in choices:
        try:
            outcomes.append(RuntimeOutcome(choice=choice, advice=advise(choice)))
        except NoViableStack as exc:
            outcomes.append(RuntimeOutcome(choice=choice, error=str(exc).splitlines()[0]))
    return outcomes


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeRow:
    """One runtime in the comparison: its compared ``score`` (``None``: no stack), its own
    total, its evidence, and what it loses against the chosen runtime."""

    label: str
    score: float | None
    total: float | None
    packages: int
    observed: int  # pins with measured observations
    advisories: int  # pins checked against advisories
    unknown: tuple[str, ...]
    pins: tuple[tuple[str, str], ...]
    losses: tuple[str, ...]
    one_sided: tuple[str, ...] = ()  # bonuses not compared: no such evidence elsewhere
    error: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeComparison:
    """The runtimes compared (in the order named), the one ``recommended`` (``None`` when
    none has a stack) and why, and the packages the compared score counts."""

    recommendation: str
    rows: tuple[RuntimeRow, ...]
    recommended: str | None
    reasons: tuple[str, ...]
    compared: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of the comparison (``docs/advise.md`` shows it; the report
        layer renders text and Markdown from it)."""
        return {
            "recommendation": self.recommendation,
            "recommended": self.recommended,
            "reasons": list(self.reasons),
            "compared-packages": list(self.compared),
            "runtimes": [
                {
                    "runtime": r.label,
                    "score": None if r.score is None else round(r.score, 4),
                    "total": None if r.total is None else round(r.total, 4),
                    "evidence": {
                        "packages": r.packages,
                        "observed": r.observed,
                        "advisories-checked": r.advisories,
                        "unknown": list(r.unknown),
                    },
                    "pins": [{"name": n, "version": v} for n, v in r.pins],
                    "losses": list(r.losses),
                    "one-sided-evidence": list(r.one_sided),
                    "error": r.error or None,
                }
                for r in self.rows
            ],
        }


def _measured_units(advice: Advice) -> dict[str, frozenset[str]]:
    """Package → the measured units with a term for its pin in ``advice``'s best stack."""
    return {
        p.name: frozenset(t.unit for t in p.terms if t.unit in MEASURED_UNITS)
        for p in advice.best.pins
    }


def _compared_score(
    advice: Advice,
    shared: frozenset[str],
    *,
    everywhere: Mapping[str, frozenset[str]],
    weights: Mapping[str, float],
) -> tuple[float, tuple[str, ...]]:
    """The compared score of ``advice`` (see the module docstring) and the bonuses set
    aside (``everywhere``: package → the measured units every runtime has a term of)."""
    total = sum(t.value for t in advice.best.stack_terms)
    aside: list[str] = []
    for pin in advice.best.pins:
        if pin.name not in shared:
            continue
        score = pin.score
        for term in pin.terms:
            one_sided = term.unit in MEASURED_UNITS and term.unit not in everywhere[pin.name]
            if one_sided and term.value > 0:
                score -= weights.get(term.unit, 1.0) * term.value
                aside.append(f"{pin.name} {pin.version}: {term.reason} ({term.unit})")
        total += score
    return total, tuple(aside)


def _evidence(advice: Advice) -> tuple[int, int, int]:
    """(pins, pins with a measured term that applies here, pins checked against advisories)."""
    counts = advice.knowledge
    measured = sum(1 for units in _measured_units(advice).values() if units)
    return len(advice.best.pins), measured, counts.advisories if counts else 0


def _losses(
    advice: Advice | None, error: str, chosen: Advice | None, *, label: str | None
) -> tuple[str, ...]:
    """What a runtime's stack holds that the chosen one's (named ``label``) does not: pins
    at another version or not pinned, warnings and errors, packages nothing is known about."""
    if advice is None:
        return (f"no acceptable stack: {error}",)
    out: list[str] = []
    if chosen is not None and chosen is not advice:
        mine = {p.name: p.version for p in advice.best.pins}
        for pin in chosen.best.pins:
            have = mine.get(pin.name)
            if have is None:
                out.append(f"{pin.name}: not pinned ({label}: {pin.version})")
            elif have != pin.version:
                out.append(f"{pin.name} {have} ({label}: {pin.version})")
    seen: set[str] = set()
    for pin in advice.best.pins:
        for j in pin.justifications:
            if j.level in ("warning", "error") and j.message not in seen:
                seen.add(j.message)
                out.append(f"{pin.name}: {j.message}")
    for j in advice.best.justifications:
        if j.level in ("warning", "error") and j.message not in seen:
            seen.add(j.message)
            out.append(j.message)
    if advice.unknown:
        out.append(f"no knowledge about {', '.join(advice.unknown)}")
    return tuple(out)


def compare_runtimes(
    outcomes: Sequence[RuntimeOutcome], *, recommendation: str
) -> RuntimeComparison:
    """Compare the advices of ``outcomes`` (one per runtime, in the order named) as the
    module docstring says. Raises :class:`InputError` for fewer than two runtimes or a
    runtime named twice (:func:`check_runtime_names`)."""
    labels = [o.choice.label for o in outcomes]
    check_runtime_names(labels)
    done = [o for o in outcomes if o.advice is not None]
    shared = frozenset.intersection(
        *(frozenset(p.name for p in o.advice.best.pins) for o in done if o.advice is not None)
    ) if done else frozenset()  # fmt: skip
    units = [_measured_units(o.advice) for o in done if o.advice is not None]
    everywhere = {
        name: frozenset.intersection(*(u.get(name, frozenset()) for u in units)) for name in shared
    }
    weights = {unit.name: weight for unit, weight in _weights(recommendation)}
    scored: dict[str, float] = {}
    aside: dict[str, tuple[str, ...]] = {}
    for o in done:
        assert o.advice is not None
        scored[o.choice.label], aside[o.choice.label] = _compared_score(
            o.advice, shared, everywhere=everywhere, weights=weights
        )

    def rank(o: RuntimeOutcome) -> tuple[float, int, int]:
        assert o.advice is not None
        _, observed, advised = _evidence(o.advice)
        return (
            -round(scored[o.choice.label], 9),
            -(observed + advised),
            labels.index(o.choice.label),
        )

    best = min(done, key=rank) if done else None
    chosen = best.advice if best is not None else None
    rows = []
    for o in outcomes:
        advice = o.advice
        packages, observed, advised = _evidence(advice) if advice else (0, 0, 0)
        rows.append(
            RuntimeRow(
                label=o.choice.label,
                score=scored.get(o.choice.label),
                total=advice.best.score if advice else None,
                packages=packages,
                observed=observed,
                advisories=advised,
                unknown=advice.unknown if advice else (),
                pins=tuple((p.name, p.version) for p in advice.best.pins) if advice else (),
                losses=_losses(advice, o.error, chosen, label=best.choice.label if best else None),
                one_sided=aside.get(o.choice.label, ()),
                error=o.error,
            )
        )
    return RuntimeComparison(
        recommendation=recommendation,
        rows=tuple(rows),
        recommended=best.choice.label if best else None,
        reasons=_reasons(best, rows, shared),
        compared=tuple(sorted(shared)),
    )


def _weights(name: str) -> tuple[tuple[Scorer, float], ...]:
    from advisor.scoring.types import recommendation

    try:
        return recommendation(name).scorers
    except InputError:  # a type assembled by the caller: its units weigh 1
        return ()


def _reasons(
    best: RuntimeOutcome | None, rows: Sequence[RuntimeRow], shared: frozenset[str]
) -> tuple[str, ...]:
    if best is None:
        return ("no runtime has an acceptable stack",)
    me = next(r for r in rows if r.label == best.choice.label)
    out = [
        f"{me.label} scores best: {me.score:+.3f} over the {len(shared)} packages every "
        "runtime pins (a bonus measured on one runtime only is not compared)"
    ]
    for row in rows:
        if row is me:
            continue
        if row.score is None:
            out.append(f"{row.label} has no acceptable stack")
            continue
        gap = (me.score or 0.0) - row.score
        why = "ties, with less evidence or named later" if gap <= 1e-9 else f"scores {gap:.3f} less"
        out.append(f"{row.label} {why}")
    for row in rows:
        if row.score is not None:
            out.append(
                f"evidence on {row.label}: measured terms on {row.observed} of {row.packages} "
                f"pins, {row.advisories} checked against advisories"
            )
    return tuple(out)
