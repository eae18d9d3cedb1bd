"""One record of the ``knowledge/`` folder decoded: a rule, an image recipe or a shared
observation, as a value with the line of every field, or the problems that keep it out.

Sits under the folder loader (:mod:`advisor.knowledge.sources.folder`), which reads the
files and splits them into records (YAML documents, TOML tables, JSON lines) with a map of
field lines; this module decodes each record into its :mod:`advisor.knowledge.schema` type
(:func:`decode_record`): keys the type does not have are reported (:func:`unknown_keys`,
since a typo would widen a rule), the provenance is set from the file, and package names are
made canonical. The validator reads the :class:`Entry` values it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
from packaging.utils import canonicalize_name

from advisor.knowledge.schema import (
    BuildObservation,
    Observation,
    PerformanceObservation,
    Prescription,
    Provenance,
)
from advisor.knowledge.sources import Problem, problem_from_error

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Entry", "canonical", "decode_record", "join_path", "line_of", "unknown_keys"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One loaded fact and where it was written: ``line`` of the record, ``lines`` maps a
    dotted field path (``match.specifier``, ``match.co_installed[0].package``) to a line."""

    observation: Observation
    line: int = 0
    lines: Mapping[str, int] = field(default_factory=dict)

    def line_of(self, path: str) -> int:
        """The line of ``path``, else of its nearest written parent, else of the record."""
        return line_of(self.lines, path, default=self.line)


def line_of(lines: Mapping[str, int], path: str, *, default: int) -> int:
    """The line of the dotted ``path`` in ``lines``, else of its nearest parent there, else
    ``default``."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return default


def join_path(path: str, key: str) -> str:
    """``path.key``, or ``key`` at the top level."""
    return f"{path}.{key}" if path else key


def unknown_keys(data: object, cls: type[msgspec.Struct] | Any) -> list[str]:
    """Dotted paths of the keys of ``data`` (decoded JSON/YAML/TOML) that ``cls`` (a struct
    type or a union of tagged structs) does not have, nested structs included; free-form
    mappings (``env``, ``labels``) accept any key. Tag fields (``type``) are not unknown."""
    out: list[str] = []
    _unknown(data, msgspec.inspect.type_info(cls), "", out)
    return out


def _unknown(data: object, info: msgspec.inspect.Type, path: str, out: list[str]) -> None:
    ins = msgspec.inspect
    if isinstance(info, ins.UnionType):
        structs = [t for t in info.types if isinstance(t, ins.StructType)]
        if isinstance(data, dict) and structs:
            tagged = [t for t in structs if t.tag is not None and data.get(t.tag_field) == t.tag]
            chosen = tagged or (structs if len(structs) == 1 else [])
            for struct in chosen:
                _unknown(data, struct, path, out)
        for member in info.types:
            if isinstance(member, (ins.ListType, ins.VarTupleType)) and isinstance(data, list):
                _unknown(data, member, path, out)
    elif isinstance(info, ins.StructType) and isinstance(data, dict):
        fields = {f.encode_name: f for f in info.fields}
        for key, value in data.items():
            sub = join_path(path, str(key))
            if key == info.tag_field:
                continue
            if key not in fields:
                out.append(sub)
            else:
                _unknown(value, fields[key].type, sub, out)
    elif isinstance(info, (ins.ListType, ins.VarTupleType)) and isinstance(data, list):
        for i, item in enumerate(data):
            _unknown(item, info.item_type, f"{path}[{i}]", out)


def decode_record(
    data: object,
    cls: Any,
    *,
    path: str,
    line: int,
    lines: Mapping[str, int],
    provenance: Provenance,
    curated: bool,
) -> Entry | list[Problem]:
    """Decode one record of file ``path`` into an :class:`Entry` (package names made
    canonical, ``provenance`` filled in), or the problems that kept it out (unknown keys, a
    wrong type or value), each with its line from ``lines``. Curated records (YAML, TOML)
    may not carry a provenance; a shared observation's own date and tool are kept."""

    def where(field_path: str) -> int:
        return line_of(lines, field_path, default=line)

    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        return [Problem(file=path, line=line, message=f"expected a mapping, got {kind}")]
    problems = [
        Problem(file=path, line=where(key), field=key, message="unknown key")
        for key in unknown_keys(data, cls)
    ]
    if curated and "provenance" in data:
        problems.append(
            Problem(
                file=path,
                line=where("provenance"),
                field="provenance",
                message="set by the loader from the file; remove it",
            )
        )
    if problems:
        return problems
    record = dict(data)
    given = record.get("provenance")
    if isinstance(given, dict):
        # a shared measurement keeps its own date and tool; the file is its source
        record["provenance"] = {
            "date": provenance.date,
            "tool": provenance.tool,
            **given,
            "source": provenance.source,
        }
    else:
        record["provenance"] = msgspec.to_builtins(provenance)
    try:
        obs = msgspec.convert(record, cls)
    except msgspec.ValidationError as exc:
        problem = problem_from_error(exc, file=path)
        return [
            Problem(
                file=path, line=where(problem.field), field=problem.field, message=problem.message
            )
        ]
    return Entry(observation=canonical(obs), line=line, lines=lines)


def canonical(obs: Observation) -> Observation:
    """Package names in canonical (PEP 503) form, as everywhere else in the advisor."""
    replace = msgspec.structs.replace
    if isinstance(obs, Prescription):
        match = replace(
            obs.match,
            package=canonicalize_name(obs.match.package),
            co_installed=tuple(
                replace(c, package=canonicalize_name(c.package)) for c in obs.match.co_installed
            ),
        )
        return replace(obs, match=match)
    if isinstance(obs, BuildObservation) and obs.package:
        return replace(obs, package=canonicalize_name(obs.package))
    if isinstance(obs, PerformanceObservation) and obs.package:
        return replace(obs, package=canonicalize_name(obs.package))
    return obs
