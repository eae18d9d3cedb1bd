"""Loaders of knowledge: the repository's ``knowledge/`` folder and OSV advisories.

Sits between the raw sources (files, dumps, an OSV-compatible API) and the stores: a loader
turns text into :mod:`advisor.knowledge.schema` values and a list of :class:`Problem` (one
per bad record or field, with file and line), never raising for one bad record among many.

* :mod:`advisor.knowledge.sources.folder`: ``prescriptions/*.yaml``, ``images/*.toml``,
  ``observations/*.jsonl`` and the folder's content digest.
* :mod:`advisor.knowledge.sources.osv_import`: OSV dump zips, folders of OSV JSON/YAML files,
  and the OSV API (``/v1/querybatch`` then ``/v1/vulns/{id}``).

This package module holds what both loaders share: the :class:`Problem` value, msgspec error
translation and YAML reading with line numbers. It imports nothing heavy at import time
(PyYAML loads on first use), so the OSV rules can use it cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    import yaml

__all__ = ["Problem", "YamlDocument", "line_of_offset", "problem_from_error", "read_yaml_documents"]

# msgspec's messages: "<what> - at `$.a.b[0]`" (no path for the top level).
_AT = re.compile(r"^(?P<what>.*?) - at `\$(?P<path>[^`]*)`$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")
_MAX_NODES = 100_000  # values in one YAML document, aliases expanded
_BYTE = re.compile(r"\(byte (?P<offset>\d+)\)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing wrong in a knowledge source.

    ``file`` is the path as given (or a URL without credentials, for the API), ``line`` the
    1-based line (``0``: unknown, e.g. a record inside a zip or a whole-file failure),
    ``field`` the dotted path of the bad field (``match.specifier``,
    ``affected[0].ranges[1].events[2].fixed``; empty for the record as a whole).
    """

    file: str
    line: int = 0
    field: str = ""
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


def line_of_offset(data: bytes, offset: int) -> int:
    """The 1-based line holding byte ``offset`` of ``data``."""
    return data.count(b"\n", 0, max(0, offset)) + 1


def problem_from_error(
    exc: Exception, *, file: str, line: int = 0, data: bytes | None = None
) -> Problem:
    """A :class:`Problem` from a msgspec decode/validation error.

    The error's JSON path (`` - at `$.match.specifier` ``) becomes ``field``; a missing
    required field names the field itself; ``JSON is malformed … (byte N)`` becomes a line
    of ``data`` when the raw bytes are given.
    """
    text = str(exc).strip()
    path = ""
    if (m := _AT.match(text)) is not None:
        text, path = m["what"], m["path"].lstrip(".")
    if (m := _MISSING.match(text)) is not None:
        path = f"{path}.{m['name']}" if path else m["name"]
        text = "required field is missing"
    if data is not None and (m := _BYTE.search(text)) is not None:
        line = line_of_offset(data, int(m["offset"]))
        text = text[: m.start()].rstrip()
    return Problem(file=file, line=line, field=path, message=text)


# -- YAML (both loaders read it; PyYAML is imported on first use) ---------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class YamlDocument:
    """One YAML document: its data, its first line and the line of each field path."""

    data: Any
    line: int
    lines: Mapping[str, int]


def _loader_class() -> type[yaml.SafeLoader]:
    """A safe loader that keeps timestamps as text (OSV dates, ISO dates in rules)."""
    import yaml

    class _TextDatesLoader(yaml.SafeLoader):
        pass

    _TextDatesLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return _TextDatesLoader


def read_yaml_documents(text: str, *, file: str) -> tuple[list[YamlDocument], list[Problem]]:
    """Every document of a YAML stream (safe loading, timestamps kept as text), with lines;
    a syntax error is one problem at its line (documents before it are kept); a key written
    twice in one mapping is a problem (YAML would silently keep the last)."""
    import yaml

    docs: list[YamlDocument] = []
    problems: list[Problem] = []
    loader = _loader_class()(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            if (why := _too_big(node)) is not None:
                line = node.start_mark.line + 1
                problems.append(Problem(file=file, line=line, message=f"document skipped: {why}"))
                continue
            lines: dict[str, int] = {}
            _index(node, "", lines, problems, file)
            data = loader.construct_document(node)
            docs.append(YamlDocument(data=data, line=node.start_mark.line + 1, lines=lines))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(file=file, line=line, message=f"invalid YAML: {reason}"))
    finally:
        loader.dispose()
    return docs, problems


def _too_big(root: yaml.Node) -> str | None:
    """Why a document cannot be used as data: an alias cycle, or more than
    :data:`_MAX_NODES` values once aliases are expanded (a "billion laughs" document).
    Linear in the number of distinct nodes."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise RecursionError
        active.add(key)
        children: list[yaml.Node] = []
        if isinstance(node.value, list):
            for item in node.value:
                children.extend(item if isinstance(item, tuple) else (item,))
        total = 1 + sum(size(child) for child in children)
        active.discard(key)
        sizes[key] = min(total, _MAX_NODES + 1)
        return sizes[key]

    try:
        if size(root) > _MAX_NODES:
            return f"more than {_MAX_NODES} values once its aliases are expanded"
    except RecursionError:
        return "an alias refers to a value that contains it (or it is nested too deeply)"
    return None


def _index(
    node: yaml.Node, path: str, lines: dict[str, int], problems: list[Problem], file: str
) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            sub = f"{path}.{key}" if path else key
            line = key_node.start_mark.line + 1
            if key in seen and key != "<<":
                problems.append(
                    Problem(file=file, line=line, field=sub, message="key written twice")
                )
            seen.add(key)
            lines.setdefault(sub, line)
            _index(value_node, sub, lines, problems, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = f"{path}[{i}]"
            lines.setdefault(sub, item.start_mark.line + 1)
            _index(item, sub, lines, problems, file)
