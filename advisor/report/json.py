"""The JSON report, for machines: every field of an advice, a stable key order, a schema.

:func:`advice_to_dict` turns an :class:`~advisor.scoring.advice.Advice` into plain JSON
values (full detail, whatever the verbosity), and :func:`advice_from_dict` reads them back;
:mod:`advisor.report.json_schema` describes them as a JSON Schema (draft 2020-12), committed
as ``docs/advice-report.schema.json`` (a test keeps the two equal). Scores that are not
finite numbers (a stack rejected by a stack check scores ``-inf``) are written as ``null``,
so the output is strict JSON. ``schema_version`` changes only on an incompatible change of
the layout.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from advisor.report.digest import (
    SCHEMA_VERSION,
    count_changes,
    is_worse_than_baseline,
    stack_differences,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from advisor.scoring.advice import (
        Advice,
        Alternative,
        KnowledgeCounts,
        PinAdvice,
        StackAdvice,
    )
    from advisor.scoring.base import Justification, ScoreTerm

__all__ = [
    "advice_from_dict",
    "advice_to_dict",
    "dump_json",
    "pin_from_dict",
    "pin_to_dict",
    "render_json",
]

_DIGITS = 6  # scores are sums of floats: rounded so the output does not show float noise


def render_json(advice: Advice) -> str:
    """The JSON report of ``advice`` (indented, keys in schema order, no final newline)."""
    return dump_json(advice_to_dict(advice))


def dump_json(value: object) -> str:
    """``value`` as indented, strict JSON (no NaN/Infinity), non-ASCII kept as is."""
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)


def advice_to_dict(advice: Advice) -> dict[str, object]:
    """Every field of ``advice`` as JSON values, plus a ``summary`` of the comparisons."""
    best, baseline = advice.best, advice.baseline
    differing = [p.name for p in best.pins if p.differs]
    best_names = {p.name for p in best.pins}
    dropped = sorted(p.name for p in advice.latest.pins if p.name not in best_names)
    return {
        "schema_version": SCHEMA_VERSION,
        "recommendation": advice.recommendation,
        "targets": list(advice.targets),
        "summary": {
            "best_score": _score(best.score),
            "latest_score": _score(advice.latest.score),
            "baseline_score": None if baseline is None else _score(baseline.score),
            "packages": len(best.pins),
            "differing_from_latest": sorted([*differing, *dropped]),
            "changed_from_baseline": None if baseline is None else count_changes(baseline, best),
            "worse_than_baseline": is_worse_than_baseline(advice),
            "unknown": len(advice.unknown),
        },
        "best": _stack(best),
        "latest": _stack(advice.latest),
        "others": [_other(best, s) for s in advice.others],
        "baseline": None if baseline is None else _stack(baseline),
        "unknown": list(advice.unknown),
        "knowledge": _knowledge(advice.knowledge),
        "workload": advice.workload,
        "resolutions": advice.resolutions,
        "seed": advice.seed,
        "budget": advice.budget,
        "elapsed": round(advice.elapsed, 3),
        "verified": advice.verified,
        "lessons": list(advice.lessons),
    }


def _knowledge(counts: KnowledgeCounts | None) -> dict[str, object] | None:
    if counts is None:
        return None
    return {
        "packages": counts.packages,
        "release_facts": counts.release_facts,
        "upload_times": counts.upload_times,
        "advisories": counts.advisories,
        "advisories_as_of": counts.advisories_as_of,
        "observations": counts.observations,
        "no_release_facts": list(counts.no_release_facts),
    }


def pin_to_dict(pin: PinAdvice) -> dict[str, object]:
    """One pin with its terms, justifications and alternatives."""
    return {
        "name": pin.name,
        "version": pin.version,
        "latest": pin.latest,
        "differs": pin.differs,
        "direct": pin.direct,
        "needs_build": pin.needs_build,
        "marker": pin.marker,
        "score": _score(pin.score),
        "terms": [_term(t) for t in pin.terms],
        "justifications": [_justification(j) for j in pin.justifications],
        "alternatives": [_alternative(a) for a in pin.alternatives],
    }


def _stack(stack: StackAdvice) -> dict[str, object]:
    return {
        "score": _score(stack.score),
        "pins": [pin_to_dict(p) for p in stack.pins],
        "stack_terms": [_term(t) for t in stack.stack_terms],
        "justifications": [_justification(j) for j in stack.justifications],
    }


def _other(best: StackAdvice, stack: StackAdvice) -> dict[str, object]:
    """Another stack found, with how it differs from the best."""
    return {
        **_stack(stack),
        "score_difference": _score(stack.score - best.score),
        "differences": [
            {"name": n, "best": a, "version": b} for n, a, b in stack_differences(best, stack)
        ],
    }


def _term(term: ScoreTerm) -> dict[str, object]:
    return {
        "unit": term.unit,
        "value": _score(term.value),
        "reason": term.reason,
        "evidence": term.evidence,
        "effect": _score(term.effect),
        "ci": None if term.ci is None else [_score(term.ci[0]), _score(term.ci[1])],
        "n": None if term.n is None else list(term.n),
    }


def _justification(j: Justification) -> dict[str, object]:
    return {
        "level": j.level,
        "message": j.message,
        "unit": j.unit,
        "package": j.package,
        "link": j.link,
    }


def _alternative(a: Alternative) -> dict[str, object]:
    return {"version": a.version, "score": _score(a.score), "reason": a.reason}


def _score(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, _DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0


# -- reading it back (a server's answer) --------------------------------------------------


def advice_from_dict(data: Mapping[str, Any]) -> Advice:
    """The :class:`Advice` that :func:`advice_to_dict` wrote (a team server's answer to
    ``/v1/advise``), so a client renders it in any format as if advised here: scores are
    as rounded in the JSON (``null`` reads back as ``-inf``: the only non-finite score a
    stack gets). Raises :class:`KeyError`/:class:`TypeError`/:class:`ValueError` on another
    shape."""
    from advisor.scoring.advice import Advice

    baseline = data["baseline"]
    return Advice(
        recommendation=str(data["recommendation"]),
        targets=tuple(str(t) for t in data["targets"]),
        best=_stack_from(data["best"]),
        latest=_stack_from(data["latest"]),
        others=tuple(_stack_from(s) for s in data["others"]),
        baseline=None if baseline is None else _stack_from(baseline),
        unknown=tuple(str(u) for u in data["unknown"]),
        knowledge=_knowledge_from(data.get("knowledge")),
        workload=data.get("workload"),
        resolutions=int(data["resolutions"]),
        seed=int(data["seed"]),
        budget=int(data["budget"]),
        elapsed=float(data["elapsed"]),
        verified=data.get("verified"),
        lessons=tuple(str(x) for x in data.get("lessons", ())),
    )


def _knowledge_from(data: Mapping[str, Any] | None) -> KnowledgeCounts | None:
    from advisor.scoring.advice import KnowledgeCounts

    if data is None:
        return None
    return KnowledgeCounts(
        packages=int(data["packages"]),
        release_facts=int(data["release_facts"]),
        upload_times=int(data["upload_times"]),
        advisories=int(data["advisories"]),
        observations=int(data["observations"]),
        advisories_as_of=data.get("advisories_as_of"),
        no_release_facts=tuple(str(n) for n in data.get("no_release_facts", ())),
    )


def _number(value: Any) -> float:
    return -math.inf if value is None else float(value)


def _stack_from(data: Mapping[str, Any]) -> StackAdvice:
    from advisor.scoring.advice import StackAdvice

    return StackAdvice(
        score=_number(data["score"]),
        pins=tuple(pin_from_dict(p) for p in data["pins"]),
        stack_terms=tuple(_term_from(t) for t in data["stack_terms"]),
        justifications=tuple(_justification_from(j) for j in data["justifications"]),
    )


def pin_from_dict(p: Mapping[str, Any]) -> PinAdvice:
    """The :class:`PinAdvice` that :func:`pin_to_dict` wrote (scores as rounded there).
    Raises :class:`KeyError`/:class:`TypeError`/:class:`ValueError` on another shape."""
    from advisor.scoring.advice import Alternative, PinAdvice

    return PinAdvice(
        name=str(p["name"]),
        version=str(p["version"]),
        latest=p["latest"],
        score=_number(p["score"]),
        terms=tuple(_term_from(t) for t in p["terms"]),
        justifications=tuple(_justification_from(j) for j in p["justifications"]),
        alternatives=tuple(
            Alternative(
                version=str(a["version"]),
                score=None if a["score"] is None else float(a["score"]),
                reason=str(a["reason"]),
            )
            for a in p["alternatives"]
        ),
        direct=bool(p["direct"]),
        needs_build=bool(p["needs_build"]),
        marker=p["marker"],
    )


def _term_from(data: Mapping[str, Any]) -> ScoreTerm:
    from advisor.scoring.base import ScoreTerm

    ci, n = data["ci"], data["n"]
    return ScoreTerm(
        unit=str(data["unit"]),
        value=_number(data["value"]),
        reason=str(data["reason"]),
        evidence=str(data["evidence"]),
        effect=None if data["effect"] is None else float(data["effect"]),
        ci=None if ci is None else (_number(ci[0]), _number(ci[1])),
        n=None if n is None else (int(n[0]), int(n[1])),
    )


def _justification_from(data: Mapping[str, Any]) -> Justification:
    from advisor.scoring.base import Justification

    return Justification(
        level=data["level"],
        message=str(data["message"]),
        unit=str(data["unit"]),
        package=data["package"],
        link=str(data["link"]),
    )
