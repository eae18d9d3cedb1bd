"""``advisor advise --compare-env``'s report: the runtimes compared, as text, Markdown or JSON.

Renders the JSON document of :meth:`advisor.advice.runtimes.RuntimeComparison.to_dict` (the
report layer sits beside, not above, the decide layer, so it reads the document rather than
the values). The Markdown is one table that fits a pull request comment. Pure and
deterministic.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["render_runtime_comparison", "runtime_comparison_json_schema"]


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:+.3f}"


def _evidence(row: Mapping[str, Any]) -> str:
    ev = row["evidence"]
    return (
        f"{ev['observed']}/{ev['packages']} measured, "
        f"{ev['advisories-checked']}/{ev['packages']} advisory-checked"
    )


def _text(doc: Mapping[str, Any]) -> str:
    chosen = doc["recommended"]
    head = (
        f"Advised runtime ({doc['recommendation']}): {chosen}"
        if chosen
        else f"No runtime has an acceptable {doc['recommendation']} stack"
    )
    lines = [head]
    lines += [f"  {reason}" for reason in doc["reasons"]]
    for row in doc["runtimes"]:
        mark = "*" if row["runtime"] == chosen else " "
        lines.append(
            f"{mark} {row['runtime']}: score {_score(row['score'])} "
            f"(total {_score(row['total'])}); {_evidence(row)}"
        )
        lines += [f"    loses: {loss}" for loss in row["losses"]]
        lines += [f"    not compared: {e}" for e in row["one-sided-evidence"]]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(doc: Mapping[str, Any]) -> str:
    chosen = doc["recommended"]
    lines = [
        f"### Advised runtime ({doc['recommendation']}): {chosen or 'none'}",
        "",
        "| runtime | score | evidence | what it loses |",
        "|---|---:|---|---|",
    ]
    for row in doc["runtimes"]:
        name = f"**{row['runtime']}**" if row["runtime"] == chosen else row["runtime"]
        losses = "<br>".join(_cell(loss) for loss in row["losses"]) or "—"
        lines.append(f"| {name} | {_score(row['score'])} | {_evidence(row)} | {losses} |")
    lines.append("")
    lines += [f"- {_cell(reason)}" for reason in doc["reasons"]]
    return "\n".join(lines)


def render_runtime_comparison(doc: Mapping[str, Any], *, fmt: str) -> str:
    """``doc`` (a comparison's JSON document) as ``fmt``: ``text``, ``md`` or ``json``."""
    if fmt == "json":
        return json.dumps(doc, indent=2, sort_keys=True)
    if fmt == "md":
        return _markdown(doc)
    return _text(doc)


def runtime_comparison_json_schema() -> dict[str, object]:
    """The JSON Schema (draft 2020-12) of ``advise --compare-env --report json``, committed
    as ``docs/runtime-comparison.schema.json`` (a test keeps the two equal)."""
    from advisor.report.json_schema import json_array as _list
    from advisor.report.json_schema import json_object as _obj
    from advisor.report.json_schema import json_type as _t

    score = "null: the runtime has no acceptable stack"
    evidence = _obj(
        "How much was known on this runtime.",
        {
            "packages": _t("integer", "pins of its stack", minimum=0),
            "observed": _t("integer", "pins with a measured term that applies here", minimum=0),
            "advisories-checked": _t("integer", "pins checked against advisories", minimum=0),
            "unknown": _list(_t("string", "a package name"), "pins nothing was known about"),
        },
    )
    pin = _obj("One pin.", {"name": _t("string", "package"), "version": _t("string", "version")})
    runtime = _obj(
        "One runtime compared.",
        {
            "runtime": _t("string", "as named on the command line"),
            "score": _t(["number", "null"], f"the compared score; {score}"),
            "total": _t(["number", "null"], f"its stack's own total; {score}"),
            "evidence": evidence,
            "pins": _list(pin, "its advised stack"),
            "losses": _list(_t("string", "one line"), "what it loses against the chosen one"),
            "one-sided-evidence": _list(
                _t("string", "one line"), "bonuses measured here only, not compared"
            ),
            "error": _t(["string", "null"], "why it has no acceptable stack"),
        },
    )
    root = _obj(
        "The runtimes compared and the one advised.",
        {
            "recommendation": _t("string", "the recommendation type"),
            "recommended": _t(["string", "null"], "the runtime advised; null: none has a stack"),
            "reasons": _list(_t("string", "one line"), "why"),
            "compared-packages": _list(
                _t("string", "a package name"), "the packages every runtime pins (scored)"
            ),
            "runtimes": _list(runtime, "in the order named"),
        },
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Stack Advisor runtime comparison",
        **root,
    }
