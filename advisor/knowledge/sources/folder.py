"""Loader of the repository's ``knowledge/`` folder: curated rules, image recipes and shared
observations, with the file and line of every value.

Sits between the reviewed text files and the stores (``advisor knowledge sync``) and the
validator (:mod:`advisor.knowledge.validate`, which adds the checks that need more than the
types). Layout, relative to the folder:

* ``prescriptions/*.yaml``: a rule per YAML document, or a list of rules per document;
* ``images/*.toml``: one recipe per file (top-level keys), or several as ``[[image]]`` tables;
* ``observations/*.jsonl``: one build, performance or compatibility observation (JSON with
  its ``type``) per line; a line's ``provenance`` (its date and the tool that measured it)
  is optional.

Every fact gets ``Provenance(source="knowledge/<relative path>", date=<date passed in>,
tool=...)``: the source of one file never changes, so the store can replace a file's facts
when the file changes (``put(..., replace_source=source)``). A record that cannot be decoded
(wrong type, missing field, unknown key — usually a typo that would widen a rule) is skipped
with a :class:`~advisor.knowledge.sources.Problem` naming the file, line and field; the rest
of the folder loads (each record is decoded by :mod:`advisor.knowledge.sources.records`).
``content_digest`` lets ``sync`` skip an unchanged folder.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from advisor.errors import InputError
from advisor.knowledge.osv import TOOL
from advisor.knowledge.schema import (
    BuildObservation,
    CompatibilityObservation,
    ImageRecipe,
    Observation,
    PerformanceObservation,
    Prescription,
    Provenance,
)
from advisor.knowledge.sources import Problem, read_yaml_documents
from advisor.knowledge.sources.records import Entry, decode_record, join_path

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

__all__ = [
    "Kind",
    "KnowledgeFile",
    "KnowledgeFolder",
    "content_digest",
    "load_knowledge_file",
    "load_knowledge_folder",
]

Kind = Literal["prescriptions", "images", "observations"]
_SUFFIXES: dict[Kind, tuple[str, ...]] = {
    "prescriptions": (".yaml", ".yml"),
    "images": (".toml",),
    "observations": (".jsonl",),
}
_IGNORED = re.compile(r"(?i)^(readme|license|notice)(\.\w+)?$")
_ITEM = re.compile(r"^\[\d+\]\.")
_TOML_AT = re.compile(r"\(at line (?P<line>\d+), column \d+\)")
_TOML_TABLE = re.compile(r"^\s*(?P<open>\[\[?)\s*(?P<name>[^\]]+?)\s*\]\]?")
_TOML_KEY = re.compile(r"""^\s*(?P<key>[A-Za-z0-9_\-."' ]+?)\s*=""")


@dataclass(frozen=True, slots=True, kw_only=True)
class KnowledgeFile:
    """One file: ``path`` as found on disk (for messages), ``source`` as stored in the
    provenance of its facts (``knowledge/prescriptions/numpy.yaml``)."""

    path: str
    source: str
    kind: Kind
    entries: tuple[Entry, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def observations(self) -> tuple[Observation, ...]:
        return tuple(e.observation for e in self.entries)


@dataclass(frozen=True, slots=True, kw_only=True)
class KnowledgeFolder:
    """Every loaded file (sorted by source), plus problems not tied to one file's content
    (unexpected files), and the folder's :func:`content_digest`."""

    files: tuple[KnowledgeFile, ...]
    digest: str
    folder_problems: tuple[Problem, ...] = ()

    @property
    def observations(self) -> tuple[Observation, ...]:
        return tuple(o for f in self.files for o in f.observations)

    @property
    def problems(self) -> tuple[Problem, ...]:
        return (*self.folder_problems, *(p for f in self.files for p in f.problems))


# -- the folder ----------------------------------------------------------------------------


def _walk(folder: Path) -> Iterator[tuple[str, Path]]:
    """``(relative posix path, path)`` of every regular, non-hidden file, sorted."""
    found = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if path.is_file():
            found.append((rel.as_posix(), path))
    return iter(sorted(found))


def _digest(items: Iterator[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for rel, data in items:
        h.update(rel.encode() + b"\0" + str(len(data)).encode() + b"\0")
        h.update(data)
    return h.hexdigest()


def _kind_named(name: str) -> Kind | None:
    return next((k for k in _SUFFIXES if k == name), None)


def content_digest(folder: Path) -> str:
    """sha256 (hex) over every regular, non-hidden file of ``folder``: sorted relative paths
    and their bytes. Unchanged folder ↔ same digest (paths and content only, not mtimes)."""
    if not folder.is_dir():
        raise InputError(f"{folder}: not a knowledge folder (no such directory)")
    return _digest((rel, path.read_bytes()) for rel, path in _walk(folder))


def load_knowledge_folder(
    folder: Path, *, date: str, tool: str = TOOL, source_prefix: str = "knowledge"
) -> KnowledgeFolder:
    """Load ``prescriptions/``, ``images/`` and ``observations/`` of ``folder`` (recursively,
    sorted); other top-level entries (``schema/``, a README) are ignored. ``date`` (ISO 8601,
    from the caller's clock) goes into every provenance. Raises :class:`InputError` only when
    ``folder`` is not a directory; everything else is a problem in the result.
    ``source_prefix`` starts every fact's provenance source (``knowledge/<relative path>`` by
    default), so two folders with the same layout do not replace each other's facts."""
    if not folder.is_dir():
        raise InputError(f"{folder}: not a knowledge folder (no such directory)")
    files: list[KnowledgeFile] = []
    problems: list[Problem] = []
    contents: list[tuple[str, bytes]] = []
    for rel, path in _walk(folder):
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(Problem(file=str(path), message=f"cannot read: {exc.strerror}"))
            continue
        contents.append((rel, data))
        kind = _kind_named(rel.split("/", 1)[0])
        if kind is None or "/" not in rel:
            continue
        if not rel.endswith(_SUFFIXES[kind]):
            if not _IGNORED.match(path.name):
                want = " or ".join(f"*{s}" for s in _SUFFIXES[kind])
                problems.append(Problem(file=str(path), message=f"not loaded: expected {want}"))
            continue
        files.append(
            _load(
                data,
                path=str(path),
                source=f"{source_prefix}/{rel}",
                kind=kind,
                date=date,
                tool=tool,
            )
        )
    return KnowledgeFolder(
        files=tuple(files), digest=_digest(iter(contents)), folder_problems=tuple(problems)
    )


def load_knowledge_file(
    path: Path, *, kind: Kind | None = None, date: str, tool: str = TOOL
) -> KnowledgeFile:
    """Load one file (for ``validate FILE`` and pre-commit hooks). ``kind`` defaults to its
    parent folder's name, else to its suffix; the source is ``knowledge/<kind>/<name>``.
    Raises :class:`InputError` when the file cannot be read or its kind is unknown."""
    if kind is None:
        kind = _kind_named(path.parent.name) or next(
            (k for k, suffixes in _SUFFIXES.items() if path.suffix in suffixes), None
        )
    if kind is None:
        raise InputError(f"{path}: not a knowledge file (expected *.yaml, *.toml or *.jsonl)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    return _load(
        data,
        path=str(path),
        source=f"knowledge/{kind}/{path.name}",
        kind=kind,
        date=date,
        tool=tool,
    )


def _load(
    data: bytes, *, path: str, source: str, kind: Kind, date: str, tool: str
) -> KnowledgeFile:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem(file=path, message=f"not UTF-8 text (byte {exc.start})")
        return KnowledgeFile(path=path, source=source, kind=kind, problems=(problem,))
    provenance = Provenance(source=source, date=date, tool=tool)
    loader = {"prescriptions": _prescriptions, "images": _images, "observations": _observations}
    entries, problems = loader[kind](text, path=path, provenance=provenance)
    return KnowledgeFile(
        path=path, source=source, kind=kind, entries=tuple(entries), problems=tuple(problems)
    )


# -- YAML ----------------------------------------------------------------------------------


def _sub_lines(lines: Mapping[str, int], prefix: str) -> dict[str, int]:
    """The part of a line map under ``prefix`` (``[3]`` or ``image[1]``), re-rooted."""
    out = {}
    for key, line in lines.items():
        if key.startswith(prefix + "."):
            out[key[len(prefix) + 1 :]] = line
    return out


def _prescriptions(
    text: str, *, path: str, provenance: Provenance
) -> tuple[list[Entry], list[Problem]]:
    docs, problems = read_yaml_documents(text, file=path)
    # fields are named relative to their rule, also when a document lists several rules
    problems = [
        Problem(file=p.file, line=p.line, field=_ITEM.sub("", p.field), message=p.message)
        for p in problems
    ]
    entries: list[Entry] = []
    for doc in docs:
        if doc.data is None:
            continue  # an empty document (a trailing ``---``)
        items: list[tuple[Any, int, Mapping[str, int]]]
        if isinstance(doc.data, list):
            items = [
                (item, doc.lines.get(f"[{i}]", doc.line), _sub_lines(doc.lines, f"[{i}]"))
                for i, item in enumerate(doc.data)
            ]
        else:
            items = [(doc.data, doc.line, doc.lines)]
        for data, line, lines in items:
            found = decode_record(
                data, Prescription, path=path, line=line, lines=lines,
                provenance=provenance, curated=True,
            )  # fmt: skip
            if isinstance(found, Entry):
                entries.append(found)
            else:
                problems.extend(found)
    return entries, problems


# -- TOML ----------------------------------------------------------------------------------


def _toml_lines(text: str) -> dict[str, int]:
    """Best-effort line of each key (``tomllib`` keeps none): table headers set the prefix,
    ``[[name]]`` counts its items, ``key =`` lines record ``prefix.key``."""
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}
    prefix = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        if (m := _TOML_TABLE.match(raw)) is not None:
            name = m["name"].replace('"', "").replace("'", "").replace(" ", "")
            head, _, rest = name.partition(".")
            if m["open"] == "[[":
                counts[name] = counts.get(name, -1) + 1
                prefix = f"{name}[{counts[name]}]"
            elif head in counts:  # a sub-table of the last item of an array of tables
                prefix = f"{head}[{counts[head]}].{rest}"
            else:
                prefix = name
            lines.setdefault(prefix, number)
        elif (m := _TOML_KEY.match(raw)) is not None:
            key = m["key"].replace('"', "").replace("'", "").replace(" ", "")
            lines.setdefault(join_path(prefix, key), number)
    return lines


def _images(text: str, *, path: str, provenance: Provenance) -> tuple[list[Entry], list[Problem]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_AT.search(str(exc))
        line = int(m["line"]) if m else 0
        message = _TOML_AT.sub("", str(exc)).strip()
        return [], [Problem(file=path, line=line, message=f"invalid TOML: {message}")]
    lines = _toml_lines(text)
    if isinstance(data.get("image"), list):
        extra = sorted(k for k in data if k != "image")
        problems = [
            Problem(file=path, line=lines.get(k, 0), field=k, message="unknown key") for k in extra
        ]
        items = [
            (item, lines.get(f"image[{i}]", 0), _sub_lines(lines, f"image[{i}]"))
            for i, item in enumerate(data["image"])
        ]
    else:
        problems, items = [], [(data, 1, lines)]
    entries: list[Entry] = []
    for item, line, sub_lines in items:  # fields are named relative to their recipe
        found = decode_record(
            item, ImageRecipe, path=path, line=line, lines=sub_lines,
            provenance=provenance, curated=True,
        )  # fmt: skip
        if isinstance(found, Entry):
            entries.append(found)
        else:
            problems.extend(found)
    return entries, problems


# -- JSON lines ----------------------------------------------------------------------------

_SHARED = BuildObservation | PerformanceObservation | CompatibilityObservation


def _observations(
    text: str, *, path: str, provenance: Provenance
) -> tuple[list[Entry], list[Problem]]:
    entries: list[Entry] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            problems.append(Problem(file=path, line=number, message=f"invalid JSON: {exc}"))
            continue
        kind = data.get("type") if isinstance(data, dict) else None
        if kind not in ("build", "performance", "compatibility"):
            what = f"unknown type {kind!r}" if kind is not None else "no type"
            problems.append(
                Problem(
                    file=path,
                    line=number,
                    field="type",
                    message=f"{what}: a line holds a build, performance or compatibility"
                    " observation",
                )
            )
            continue
        found = decode_record(
            data, _SHARED, path=path, line=number, lines={},
            provenance=provenance, curated=False,
        )  # fmt: skip
        if isinstance(found, Entry):
            entries.append(found)
        else:
            problems.extend(found)
    return entries, problems
