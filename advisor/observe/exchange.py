"""Share observations as JSON lines: one build, performance or compatibility observation per
line.

Sits between the knowledge store and files people exchange (``advisor observe export`` and
``import``; ``knowledge/observations/*.jsonl`` in the repository). Writing is canonical
(:func:`~advisor.knowledge.schema.encode_observation`, lines sorted by
:func:`~advisor.knowledge.schema.observation_key`), so exporting the same facts twice gives
the same bytes. Reading reuses the knowledge folder's loader, so a shared file and an
imported one are checked alike (unknown keys, wrong types: a problem with file and line,
the rest loads); a line's own provenance (source, date, tool) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from advisor.errors import InputError
from advisor.knowledge.schema import (
    BuildObservation,
    CompatibilityObservation,
    PerformanceObservation,
    encode_observation,
    observation_key,
)
from advisor.knowledge.sources.folder import load_knowledge_file

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Sequence
    from pathlib import Path

    from advisor.knowledge.schema import Observation
    from advisor.knowledge.sources import Problem
    from advisor.knowledge.store import KnowledgeStore

__all__ = [
    "SHARED_KINDS",
    "ExportOutcome",
    "ImportOutcome",
    "append_jsonl",
    "check_kinds",
    "export_jsonl",
    "export_store",
    "import_jsonl",
    "keep_observations",
    "read_jsonl",
    "store_observations",
    "write_export",
]

#: The kinds a JSONL file shares.
SHARED_KINDS: tuple[str, ...] = ("build", "performance", "compatibility")
_SHARED = BuildObservation | PerformanceObservation | CompatibilityObservation
_IMPORTED = "import"  # provenance source of a line that names none


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportOutcome:
    """What an export wrote: how many observations, to which file (``None``: to none;
    ``text`` is what the file holds or would hold)."""

    path: Path | None
    count: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportOutcome:
    """What an import read and stored, and the lines it skipped."""

    path: Path
    read: int
    added: int
    replaced: int
    unchanged: int
    problems: tuple[Problem, ...] = ()


def check_kinds(kinds: Collection[str]) -> None:
    """Raises :class:`InputError` naming the kinds of ``kinds`` a JSONL file cannot share."""
    unknown = sorted(set(kinds) - set(SHARED_KINDS))
    if unknown:
        raise InputError(
            f"cannot export {', '.join(unknown)}: only {', '.join(SHARED_KINDS)} observations"
        )


def export_jsonl(observations: Iterable[Observation]) -> str:
    """One canonical JSON object per line, sorted by key; only build, performance
    and compatibility observations (other kinds are skipped: they are shared through their
    own files)."""
    shared = [o for o in observations if isinstance(o, _SHARED)]
    unique = {observation_key(o): o for o in shared}
    return "".join(encode_observation(unique[k]).decode() + "\n" for k in sorted(unique))


def _given_source(raw: str) -> str | None:
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    prov = data.get("provenance") if isinstance(data, dict) else None
    source = prov.get("source") if isinstance(prov, dict) else None
    return source if isinstance(source, str) and source else None


def read_jsonl(path: Path, *, today: str = "") -> tuple[list[Observation], list[Problem]]:
    """The observations of a JSONL file and the problems of its bad lines.

    A line without a provenance gets ``source="import"`` and ``date=today``. Raises
    :class:`InputError` when the file cannot be read.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    loaded = load_knowledge_file(path, kind="observations", date=today)
    lines = path.read_text(encoding="utf-8").splitlines()
    observations: list[Observation] = []
    for entry in loaded.entries:
        raw = lines[entry.line - 1] if 0 < entry.line <= len(lines) else ""
        source = _given_source(raw) or _IMPORTED
        prov = msgspec.structs.replace(entry.observation.provenance, source=source)
        observations.append(msgspec.structs.replace(entry.observation, provenance=prov))
    return observations, list(loaded.problems)


def export_store(kinds: Collection[str], *, store: Callable[[], KnowledgeStore]) -> str:
    """:func:`export_jsonl` of every observation of ``kinds`` in the store ``store()`` opens
    (kinds read in name order). Raises :class:`InputError` for a kind a JSONL file cannot
    share, before any store is opened."""
    check_kinds(kinds)
    with store() as opened:
        return export_jsonl([o for k in sorted(set(kinds)) for o in opened.iter_kind(k)])


def write_export(
    kinds: Collection[str], *, store: Callable[[], KnowledgeStore], path: Path | None
) -> ExportOutcome:
    """:func:`export_store`, written to ``path`` as
    :func:`~advisor.lockfile.write.write_output` writes (atomic) when given. Raises
    :class:`~advisor.errors.UnwritableOutput` when ``path`` cannot be written."""
    from advisor.lockfile.write import write_output

    text = export_store(kinds, store=store)
    if path is not None:
        write_output(path, text)
    return ExportOutcome(path=path, count=text.count("\n"), text=text)


def store_observations(url: str | None, observations: Sequence[Observation]) -> None:
    """Put ``observations`` into the store at ``url``; no store is opened for none, nor
    without a URL (a run that records nowhere)."""
    if url is None or not observations:
        return
    from advisor.knowledge.store import open_store

    with open_store(url) as store:
        store.put(observations)


def keep_observations(
    url: str | None,
    observations: Sequence[Observation],
    *,
    send: Callable[[Sequence[Observation]], object] | None = None,
) -> None:
    """Where a run's observations go: the store at ``url`` (:func:`store_observations`),
    then a team server through ``send`` (the composition root's upload; ``None``: not sent),
    which is called only when there are some. Stored first: a failed upload keeps them."""
    store_observations(url, observations)
    if send is not None and observations:
        send(observations)


def import_jsonl(path: Path, *, today: str, store: Callable[[], KnowledgeStore]) -> ImportOutcome:
    """Store the observations of the JSONL file ``path`` (:func:`read_jsonl`; re-importing
    the same facts is idempotent) in the store ``store()`` opens: what was read and stored,
    and the bad lines skipped. Raises :class:`InputError` when the file cannot be read,
    before any store is opened."""
    observations, problems = read_jsonl(path, today=today)
    with store() as opened:
        result = opened.put(observations)
    return ImportOutcome(
        path=path,
        read=len(observations),
        added=result.added,
        replaced=result.replaced,
        unchanged=result.unchanged,
        problems=tuple(problems),
    )


def append_jsonl(path: Path, observations: Iterable[Observation]) -> None:
    """Append ``observations`` to ``path``, one canonical JSON object per line in the order
    given (the folder is made when missing); nothing is written for none."""
    lines = [encode_observation(o).decode() + "\n" for o in observations]
    if not lines:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.writelines(lines)
