"""Prescription units: curated rules from ``knowledge/prescriptions`` applied to candidates
and stacks.

Sits between the knowledge layer (:class:`~advisor.knowledge.schema.Prescription` values,
matched by :mod:`advisor.knowledge.rules`) and the recommendation bundles. The rules of a
candidate are those ``ctx.knowledge.for_package(name)`` returns; for a stack, those of every
pinned package (one rule counted once). Per action kind:

* ``filter`` — :class:`PrescriptionFilter` removes a matching candidate (reason: the rule's
  message and id). A filter rule with ``co_installed`` conditions cannot be judged on one
  candidate, so :class:`PrescriptionCheck` rejects a stack it matches instead.
* ``score`` — :class:`PrescriptionScorer` gives a matching candidate the rule's score
  (clamped to [-1, 1]; reason: the rule's summary; evidence: its link). A rule with
  ``co_installed`` conditions scores the stack instead, through :class:`PrescriptionCheck`.
* ``reject-stack`` — :class:`PrescriptionCheck` rejects a stack the rule matches.
* ``justify`` — :class:`PrescriptionAnnotator` adds the rule's message (its level, its link,
  and its environment-variable advice) for a matching stack. With ``all_kinds=True`` (the
  ``latest`` and ``testing`` types, which neither filter nor check) it also reports what the
  other kinds would have done, so a stack that breaks a rule is never silent.

A rule whose specifier or environment predicate is invalid is skipped (``advisor knowledge
validate`` reports it); the annotator says so once per rule. Rules restricted to some
recommendation types only apply under those (``ctx.recommendation``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from packaging.utils import canonicalize_name

from advisor.errors import InputError
from advisor.knowledge.rules import candidate_matches, evaluate_stack, parse_specifier
from advisor.knowledge.schema import Prescription
from advisor.scoring.base import Justification, ScoreTerm, StackVerdict, clamp
from advisor.scoring.units._common import of_kind

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.knowledge.rules import RuleHit
    from advisor.models import Edge
    from advisor.scoring.base import CandidateInfo, Level, ScoringContext

__all__ = [
    "PrescriptionAnnotator",
    "PrescriptionCheck",
    "PrescriptionFilter",
    "PrescriptionScorer",
    "rule_problem",
]

UNIT = "prescriptions"


def rule_problem(rule: Prescription) -> str | None:
    """Why ``rule`` cannot be evaluated (an invalid specifier or predicate), or ``None``."""
    texts = [("specifier", rule.match.specifier)]
    texts += [
        (f"co_installed[{i}].specifier", co.specifier)
        for i, co in enumerate(rule.match.co_installed)
    ]
    env = rule.match.environment
    texts += [("environment.python", env.python or ""), ("environment.cuda", env.cuda or "")]
    for field, text in texts:
        try:
            parse_specifier(text, rule_id=rule.id, field=field)
        except InputError as exc:
            return str(exc)
    return None


def _candidate_rules(
    candidate: CandidateInfo, ctx: ScoringContext, kind: str
) -> list[Prescription]:
    """Valid rules of ``kind`` without co-installed conditions matching ``candidate``."""
    return [
        rule
        for rule in of_kind(ctx, candidate.name, Prescription)
        if rule.action.kind == kind
        and not rule.match.co_installed
        and rule_problem(rule) is None
        and candidate_matches(
            rule,
            candidate.name,
            candidate.version,
            env=ctx.env,
            recommendation=ctx.recommendation,
        )
    ]


def _stack_rules(names: Iterable[str], ctx: ScoringContext) -> dict[str, Prescription]:
    """Every rule about a pinned package, by id (each once)."""
    rules: dict[str, Prescription] = {}
    for name in sorted(names):
        for rule in of_kind(ctx, name, Prescription):
            rules.setdefault(rule.id, rule)
    return rules


def _hits(pins: Mapping[NormalizedName, Version], ctx: ScoringContext) -> list[RuleHit]:
    valid = [r for r in _stack_rules(pins, ctx).values() if rule_problem(r) is None]
    stack = cast("Mapping[str, Version | str]", pins)
    return evaluate_stack(valid, stack, env=ctx.env, recommendation=ctx.recommendation)


def _package(rule: Prescription) -> str:
    return canonicalize_name(rule.match.package)


class PrescriptionFilter:
    """Removes a candidate a ``filter`` rule (without co-installed conditions) matches."""

    name = UNIT

    def reject(self, candidate: CandidateInfo, ctx: ScoringContext) -> str | None:
        rules = _candidate_rules(candidate, ctx, "filter")
        if not rules:
            return None
        return "; ".join(f"{r.action.message} [{r.id}, {r.link}]" for r in rules)


class PrescriptionScorer:
    """The score of every ``score`` rule (without co-installed conditions) matching the
    candidate, one term per rule."""

    name = UNIT

    def score(self, candidate: CandidateInfo, ctx: ScoringContext) -> Sequence[ScoreTerm]:
        return tuple(
            ScoreTerm(
                unit=UNIT,
                value=clamp(rule.action.score or 0.0),
                reason=f"{rule.summary} [{rule.id}]",
                evidence=rule.link,
            )
            for rule in _candidate_rules(candidate, ctx, "score")
            if rule.action.score is not None
        )


class PrescriptionCheck:
    """Rejects a stack a ``reject-stack`` rule (or a co-installed ``filter`` rule) matches;
    scores a stack a co-installed ``score`` rule matches."""

    name = UNIT

    def check(
        self,
        pins: Mapping[NormalizedName, Version],
        ctx: ScoringContext,
        *,
        edges: Sequence[Edge] = (),
    ) -> Sequence[StackVerdict]:
        del edges  # a rule names its packages: what brought them in does not change it
        verdicts: list[StackVerdict] = []
        for hit in _hits(pins, ctx):
            rule = hit.rule
            co = bool(rule.match.co_installed)
            if hit.kind == "reject-stack" or (hit.kind == "filter" and co):
                verdicts.append(
                    StackVerdict(
                        reject=f"{hit.message} [{rule.id}, {rule.link}]",
                        package=_package(rule),
                        justifications=(_justification(hit, level="error"),),
                        nogood=_nogood(rule),
                    )
                )
            elif hit.kind == "score" and co and hit.score is not None:
                verdicts.append(
                    StackVerdict(
                        terms=(
                            ScoreTerm(
                                unit=UNIT,
                                value=hit.score,
                                reason=f"{rule.summary} [{rule.id}]",
                                evidence=rule.link,
                            ),
                        ),
                        package=_package(rule),
                    )
                )
        return tuple(verdicts)


def _nogood(rule: Prescription) -> tuple[tuple[str, str], ...]:
    """What a stack rule matched, for the search to learn: the rule's package within its
    specifier and each co-installed package within its own."""
    parts = [(_package(rule), rule.match.specifier.strip())]
    parts += [
        (canonicalize_name(co.package), co.specifier.strip()) for co in rule.match.co_installed
    ]
    return tuple(parts)


def _justification(hit: RuleHit, *, level: Level | None = None, prefix: str = "") -> Justification:
    rule = hit.rule
    message = f"{prefix}{hit.message}"
    if rule.env_advice:
        advice = ", ".join(f"{k}={v}" for k, v in sorted(rule.env_advice.items()))
        message += f" (environment: {advice})"
    return Justification(
        level=hit.level if level is None else level,
        message=f"{message} [{rule.id}]",
        unit=UNIT,
        package=_package(rule),
        link=rule.link,
    )


_WOULD = {
    "filter": "this version is ruled out by a curated rule: ",
    "reject-stack": "this combination is ruled out by a curated rule: ",
    "score": "a curated rule advises against this: ",
}


class PrescriptionAnnotator:
    """Justifications of the ``justify`` rules matching the stack; with ``all_kinds``, also
    of every other matching rule (for types that do not filter, score or check)."""

    name = UNIT

    def __init__(self, *, all_kinds: bool = False) -> None:
        self.all_kinds = all_kinds

    def annotate(
        self, pins: Mapping[NormalizedName, Version], ctx: ScoringContext
    ) -> Sequence[Justification]:
        out: list[Justification] = []
        rules = _stack_rules(pins, ctx)
        for rule_id in sorted(rules):
            problem = rule_problem(rules[rule_id])
            if problem is not None:
                out.append(
                    Justification(
                        level="warning",
                        message=f"curated rule skipped: {problem}",
                        unit=UNIT,
                        package=_package(rules[rule_id]),
                        link=rules[rule_id].link,
                    )
                )
        for hit in _hits(pins, ctx):
            if hit.kind == "justify":
                out.append(_justification(hit))
            elif self.all_kinds:
                level: Level = "error" if hit.kind in ("filter", "reject-stack") else hit.level
                out.append(_justification(hit, level=level, prefix=_WOULD[hit.kind]))
        return tuple(out)
