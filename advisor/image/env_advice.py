"""The environment variables an image is advised to set, from the curated prescriptions.

Sits after the lock step of an image (:mod:`advisor.image.assembly`) and before the
Containerfile (:mod:`advisor.image.containerfile`, which writes them as ``ENV``): the
prescriptions of the knowledge folder that apply to the stack on the image's target
(:func:`advisor.knowledge.rules.evaluate_stack`) and carry ``env_advice`` give each
variable its value and the rule that set it. Reads the knowledge folder it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date
    from pathlib import Path

    from advisor.environment import RuntimeEnvironment
    from advisor.models import RecommendationType, Resolution

__all__ = ["EnvAdvice", "advise_env"]

#: At most this many problems of the prescriptions are repeated as warnings.
_PROBLEMS_SHOWN = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvAdvice:
    """Variable → (value, rule id), and the warnings: prescriptions that could not be
    read (not applied), two rules that disagree on a variable."""

    variables: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def advise_env(
    knowledge: Path,
    resolution: Resolution,
    *,
    target: RuntimeEnvironment,
    recommendation: RecommendationType,
    today: date,
) -> EnvAdvice:
    """The variables the prescriptions of ``knowledge`` advise for the stack on
    ``target``; the first rule (by id) wins a variable two rules set differently, with a
    warning naming both."""
    from advisor.knowledge.rules import evaluate_stack
    from advisor.knowledge.schema import Prescription
    from advisor.knowledge.sources.folder import load_knowledge_folder

    loaded = load_knowledge_folder(knowledge, date=today.isoformat())
    rules = [o for o in loaded.observations if isinstance(o, Prescription) and o.env_advice]
    pins = {str(p.name): p.version for p in resolution.pins}
    hits = evaluate_stack(rules, pins, env=target, recommendation=recommendation)
    advice: dict[str, tuple[str, str]] = {}
    warnings = [
        f"{p.file}:{p.line}: {p.field + ': ' if p.field else ''}{p.message} (not applied)"
        for p in loaded.problems
        if "prescriptions" in p.file
    ][:_PROBLEMS_SHOWN]
    for hit in hits:
        for name, value in sorted(hit.rule.env_advice.items()):
            if name not in advice:
                advice[name] = (value, hit.rule.id)
            elif advice[name][0] != value:
                kept, by = advice[name]
                warnings.append(
                    f"prescriptions disagree on {name}: {by} advises {kept!r} (kept),"
                    f" {hit.rule.id} advises {value!r}"
                )
    return EnvAdvice(variables=advice, warnings=tuple(warnings))
