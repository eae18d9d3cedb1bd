"""The JSON Schemas of ``knowledge/schema/``, generated from the msgspec types of
:mod:`advisor.knowledge.schema`, so they cannot drift from what the loader accepts.

Sits beside the validator (:mod:`advisor.knowledge.validate`): the loader and the validator
judge the curated files; these schemas are for editors and reviewers, who get the same
shapes (unknown keys rejected, the curated kinds without ``type`` and ``provenance``, which
the loader adds). ``tests/test_validate.py`` checks that the committed files equal
:func:`json_schemas`; :func:`write_json_schemas` regenerates them.
"""

from __future__ import annotations

import inspect
import json
from typing import TYPE_CHECKING, Any

import msgspec

from advisor.knowledge.schema import (
    BuildObservation,
    CompatibilityObservation,
    ImageRecipe,
    PerformanceObservation,
    Prescription,
)

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["json_schemas", "write_json_schemas"]

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schemas() -> dict[str, str]:
    """File name → JSON text of the schemas of ``knowledge/schema/``, generated from the
    msgspec types: ``prescription`` (a YAML document: one rule or a list of rules; no
    ``type``/``provenance``, the loader adds them), ``image`` (a TOML file: one recipe or
    ``[[image]]`` tables) and ``observation`` (a JSONL line: build or performance, with an
    optional ``provenance``). Unknown keys are rejected, as the loader does."""
    rule = _curated(msgspec.json.schema(Prescription), "Prescription")
    rule_ref = {"$ref": "#/$defs/Prescription"}
    rule_doc = {"anyOf": [rule_ref, {"type": "array", "items": rule_ref}], "$defs": rule["$defs"]}
    image = _curated(msgspec.json.schema(ImageRecipe), "ImageRecipe")
    image_ref = {"$ref": "#/$defs/ImageRecipe"}
    image_doc = {
        "anyOf": [
            image_ref,
            {
                "type": "object",
                "properties": {"image": {"type": "array", "items": image_ref}},
                "required": ["image"],
                "additionalProperties": False,
            },
        ],
        "$defs": image["$defs"],
    }
    shared = msgspec.json.schema(
        BuildObservation | PerformanceObservation | CompatibilityObservation
    )
    for name in ("BuildObservation", "PerformanceObservation", "CompatibilityObservation"):
        body = shared["$defs"][name]
        body["required"] = [r for r in body["required"] if r != "provenance"]
    _close(shared)
    documents = {
        "prescription.schema.json": ("A file of knowledge/prescriptions/", rule_doc),
        "image.schema.json": ("A file of knowledge/images/", image_doc),
        "observation.schema.json": ("A line of knowledge/observations/*.jsonl", shared),
    }
    out = {}
    for file, (title, schema) in documents.items():
        full = {"$schema": _DIALECT, "title": title, **_clean_descriptions(schema)}
        out[file] = json.dumps(full, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return out


def _clean_descriptions(node: Any) -> Any:
    """``node`` with every ``description`` passed through :func:`inspect.cleandoc`.

    msgspec copies docstrings into descriptions, and whether their indentation survives
    depends on the msgspec and Python versions (Python 3.13 strips it at compile time), so
    the schemas are normalised here to read the same everywhere."""
    if isinstance(node, dict):
        return {
            key: inspect.cleandoc(value)
            if key == "description" and isinstance(value, str)
            else _clean_descriptions(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_clean_descriptions(item) for item in node]
    return node


def _curated(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """The authored form of a curated kind: no ``type`` tag and no ``provenance``."""
    body = schema["$defs"][name]
    for key in ("type", "provenance"):
        body["properties"].pop(key, None)
    body["required"] = [r for r in body["required"] if r not in ("type", "provenance")]
    text = json.dumps({k: v for k, v in schema["$defs"].items() if k != "Provenance"})
    if "#/$defs/Provenance" not in text:
        schema["$defs"].pop("Provenance", None)
    _close(schema)
    return schema


def _close(schema: dict[str, Any]) -> None:
    for body in schema.get("$defs", {}).values():
        if body.get("type") == "object" and "properties" in body:
            body["additionalProperties"] = False


def write_json_schemas(folder: Path) -> tuple[Path, ...]:
    """Write :func:`json_schemas` into ``folder`` (created if needed); returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in json_schemas().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return tuple(written)
