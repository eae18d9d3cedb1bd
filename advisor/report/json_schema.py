"""The JSON Schemas of the machine-readable reports: the advice report
(:func:`advice_json_schema`, committed as ``docs/advice-report.schema.json``) and
``advisor explain NAME --json`` (:func:`explanation_json_schema`), draft 2020-12.

Sits beside :mod:`advisor.report.json`, whose output the advice schema describes (a test
keeps the committed file equal to it and validates reports against it); the small builders
(:func:`json_object`, :func:`json_type`, :func:`json_array`, :func:`json_ref`) are shared
with the other report schemas (:mod:`advisor.report.runtimes`). Pure values, no I/O.
"""

from __future__ import annotations

__all__ = [
    "advice_json_schema",
    "explanation_json_schema",
    "json_array",
    "json_object",
    "json_ref",
    "json_type",
]


def json_object(description: str, properties: dict[str, object]) -> dict[str, object]:
    """A closed object: every property required, no other allowed."""
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def json_type(kind: str | list[str], description: str, **extra: object) -> dict[str, object]:
    """A value of JSON type ``kind`` (or one of several), with further keywords."""
    return {"type": kind, "description": description, **extra}


def json_array(of: dict[str, object], description: str) -> dict[str, object]:
    """An array of ``of``."""
    return {"type": "array", "description": description, "items": of}


def json_ref(name: str) -> dict[str, object]:
    """A reference to the shared definition ``name`` (under ``$defs``)."""
    return {"$ref": f"#/$defs/{name}"}


_SCORE = "a score; null when not a finite number (a stack rejected by a stack check)"


def _defs() -> dict[str, object]:
    term = json_object(
        "One reason a candidate or stack scores what it does.",
        {
            "unit": json_type("string", "the scoring unit that made the term"),
            "value": json_type(["number", "null"], "the term's value in [-1, 1]"),
            "reason": json_type("string", "why, in a short sentence"),
            "evidence": json_type("string", "a link or an observation key; empty when none"),
            "effect": json_type(
                ["number", "null"],
                "a measured term's relative difference, positive when this version is better "
                "(0.12: 12 % faster); null for terms not made from measurements",
            ),
            "ci": {
                "description": "the effect's 95 % confidence interval [low, high]; null: none",
                "anyOf": [
                    {
                        "type": "array",
                        "items": {"type": "number"},
                        "minItems": 2,
                        "maxItems": 2,
                    },
                    {"type": "null"},
                ],
            },
            "n": {
                "description": (
                    "samples behind the effect: [this version's, the compared version's]; "
                    "null: none"
                ),
                "anyOf": [
                    {
                        "type": "array",
                        "items": {"type": "integer", "minimum": 1},
                        "minItems": 2,
                        "maxItems": 2,
                    },
                    {"type": "null"},
                ],
            },
        },
    )
    justification = json_object(
        "A typed sentence about a package or the stack, with a link to its evidence.",
        {
            "level": json_type("string", "severity", enum=["info", "warning", "error"]),
            "message": json_type("string", "the sentence"),
            "unit": json_type("string", "the unit that said it"),
            "package": json_type(["string", "null"], "the package it is about; null: the stack"),
            "link": json_type("string", "the evidence; empty when none"),
        },
    )
    alternative = json_object(
        "Another version of a pinned package that was considered.",
        {
            "version": json_type("string", "the version"),
            "score": json_type(["number", "null"], "its score; null when it was ruled out"),
            "reason": json_type("string", "why it was ruled out (a filter's reason), or empty"),
        },
    )
    pin = json_object(
        "One pin of a scored stack, with every reason for it.",
        {
            "name": json_type("string", "normalized package name"),
            "version": json_type("string", "the pinned version"),
            "latest": json_type(
                ["string", "null"], "latest's version; null: not in latest's stack"
            ),
            "differs": json_type("boolean", "the version differs from latest's"),
            "direct": json_type("boolean", "a requirement of the inputs"),
            "needs_build": json_type("boolean", "no wheel for the target: built from source"),
            "marker": json_type(["string", "null"], "the environment marker of the pin, if any"),
            "score": json_type(["number", "null"], "the weighted sum of the pin's terms"),
            "terms": json_array(json_ref("term"), "the terms of this version"),
            "justifications": json_array(json_ref("justification"), "what units said about it"),
            "alternatives": json_array(json_ref("alternative"), "other versions, best first"),
        },
    )
    stack = json_object(
        "A complete stack with its total score.",
        {
            "score": json_type(["number", "null"], _SCORE),
            "pins": json_array(json_ref("pin"), "every pin, by name"),
            "stack_terms": json_array(json_ref("term"), "terms of the stack checks"),
            "justifications": json_array(
                json_ref("justification"), "justifications about the stack"
            ),
        },
    )
    nullable = ["string", "null"]
    difference = json_object(
        "A pin that differs from the best stack's.",
        {
            "name": json_type("string", "the package"),
            "best": json_type(nullable, "its version in the best stack; null: not in it"),
            "version": json_type(nullable, "its version in this stack; null: not in it"),
        },
    )
    other = json_object(
        "Another distinct stack found, with how it differs from the best.",
        {
            **stack["properties"],  # type: ignore[dict-item]
            "score_difference": json_type(["number", "null"], "its score minus the best's"),
            "differences": json_array(difference, "the pins that differ from the best, by name"),
        },
    )
    return {
        "term": term,
        "justification": justification,
        "alternative": alternative,
        "pin": pin,
        "stack": stack,
        "other": other,
    }


def advice_json_schema() -> dict[str, object]:
    """The JSON Schema (draft 2020-12) of :func:`advice_to_dict`'s output."""
    summary = json_object(
        "The comparisons a reader wants first.",
        {
            "best_score": json_type(["number", "null"], "the advised stack's score"),
            "latest_score": json_type(["number", "null"], "latest's stack scored the same way"),
            "baseline_score": json_type(["number", "null"], "the project's lock; null: no lock"),
            "packages": json_type("integer", "pins in the advised stack", minimum=0),
            "differing_from_latest": json_array(
                json_type("string", "a package name"),
                "packages whose version differs from latest's (or that only one has)",
            ),
            "changed_from_baseline": json_type(
                ["integer", "null"], "pins added, dropped or changed from the lock", minimum=0
            ),
            "worse_than_baseline": json_type("boolean", "the advice scores lower than the lock"),
            "unknown": json_type("integer", "packages nothing at all was known about", minimum=0),
        },
    )
    count = "pins of the advised stack "
    knowledge = json_object(
        "How much the advice knew about the advised stack's pins.",
        {
            "packages": json_type("integer", "pins in the advised stack", minimum=0),
            "release_facts": json_type(
                "integer",
                count + "with release facts from the index (files for the target, yanks, "
                "Requires-Python, project status)",
                minimum=0,
            ),
            "upload_times": json_type("integer", count + "whose upload time is known", minimum=0),
            "advisories": json_type("integer", count + "checked against advisories", minimum=0),
            "advisories_as_of": json_type(
                ["string", "null"], "the day of the advisory data; null: none loaded"
            ),
            "observations": json_type("integer", count + "with measured observations", minimum=0),
            "no_release_facts": json_array(
                json_type("string", "a package name"), "pins without release facts (direct URLs)"
            ),
        },
    )
    root = json_object(
        "The report of `advisor advise --report json`.",
        {
            "schema_version": json_type("integer", "layout version of this report", const=1),
            "recommendation": json_type("string", "the recommendation type"),
            "targets": json_array(
                json_type("string", "a target label"), "the runtime environments"
            ),
            "summary": summary,
            "best": json_ref("stack"),
            "latest": json_ref("stack"),
            "others": json_array(json_ref("other"), "the next distinct stacks found, best first"),
            "baseline": {
                "description": "the project's lock scored the same way; null: no lock",
                "anyOf": [json_ref("stack"), {"type": "null"}],
            },
            "unknown": json_array(
                json_type("string", "a package name"), "packages nothing at all was known about"
            ),
            "knowledge": {
                "description": "how much the advice knew; null: not counted",
                "anyOf": [knowledge, {"type": "null"}],
            },
            "workload": json_type(
                ["string", "null"], "the workload a performance advice was optimised for"
            ),
            "resolutions": json_type("integer", "resolutions the search ran", minimum=0),
            "seed": json_type("integer", "the search's seed"),
            "budget": json_type("integer", "the search's budget of resolutions"),
            "elapsed": json_type("number", "seconds the advice took"),
            "verified": json_type(
                ["integer", "null"],
                "stacks installed and imported on this machine (--verify); null: not asked",
                minimum=0,
            ),
            "lessons": json_array(
                json_type("string", "one line"), "what each failed verification taught the search"
            ),
        },
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Stack Advisor advice report",
        **root,
        "$defs": _defs(),
    }


def explanation_json_schema() -> dict[str, object]:
    """The JSON Schema of ``advisor explain NAME --json``."""
    root = json_object(
        "Why a package is in the lock, and why at this version.",
        {
            "schema_version": json_type("integer", "layout version of this output", const=1),
            "name": json_type("string", "normalized package name"),
            "version": json_type("string", "the locked version"),
            "paths": json_array(
                json_array(
                    json_type("string", "a package name"), "one path, from a direct requirement"
                ),
                "every path from the inputs to the package",
            ),
            "pin": {
                "description": "the pin's terms and alternatives; null: not scored",
                "anyOf": [json_ref("pin"), {"type": "null"}],
            },
        },
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Stack Advisor explanation",
        **root,
        "$defs": _defs(),
    }
