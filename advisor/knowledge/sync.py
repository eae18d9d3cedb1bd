"""Syncing a ``knowledge/`` folder into a store: only what changed since the last sync.

Sits between the folder's loader (:mod:`advisor.knowledge.sources.folder`, with the
validator's file checks) and a :class:`~advisor.knowledge.store.KnowledgeStore` the caller
opened: ``advisor knowledge sync``, and ``lock``/``advise``/``check`` before they read the
curated rules. What the last sync saw (the folder's digest, each file's digest) is kept in
the store's meta, beside the facts it describes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Iterable

    from advisor.knowledge.sources import Problem
    from advisor.knowledge.store import KnowledgeStore, PutResult

__all__ = ["SyncReport", "sync_folder", "sync_folders"]

_log = logging.getLogger(__name__)

_DIGEST_META = "sync-digest:"  # + folder: the content digest of the last clean sync
_FILES_META = "sync-files:"  # + folder: JSON {source: sha256 of the file, "" if it had problems}


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncReport:
    """What :func:`sync_folder` did. ``skipped``: the folder's digest matched the last clean
    sync, nothing was read. ``changed`` are the sources (``knowledge/…``) written again,
    ``removed`` those whose file is gone (their facts deleted). Counts are observations."""

    folder: str
    digest: str
    store: str = ""  # the store's URL, when the caller names it
    skipped: bool = False
    files: int = 0
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    deleted: int = 0
    problems: tuple[Problem, ...] = ()

    @property
    def shown_store(self) -> str:
        """``store`` without credentials (:func:`advisor.urls.redact_url`), to show."""
        return redact_url(self.store)


def sync_folders(
    store: KnowledgeStore,
    folders: Iterable[tuple[Path, str]],
    *,
    today: str,
) -> tuple[SyncReport, ...]:
    """:func:`sync_folder` of each ``(folder, source prefix)`` of ``folders``, in order."""
    return tuple(sync_folder(store, f, today=today, source_prefix=p) for f, p in folders)


def sync_folder(
    store: KnowledgeStore,
    folder: Path,
    *,
    today: str,
    source_prefix: str = "knowledge",
) -> SyncReport:
    """Load ``folder`` (a ``knowledge/`` folder) into ``store``.

    When the folder's content digest equals the one recorded by the last clean sync of the
    same folder (meta ``sync-digest:<absolute folder>``), nothing else is read. Otherwise
    each file whose bytes changed is written with ``replace_source`` = its source, so
    records removed from a file leave the store; files gone since the last sync have their
    facts deleted. Problems are the loader's and the validator's
    (:func:`~advisor.knowledge.validate.check_files`). A file with problems is reported and
    its good records are upserted without removing anything (a typo never wipes a file's
    rules); its digest is not recorded, so the next sync reads it again, and the folder
    digest is recorded only when there were no problems. ``today`` (ISO date) goes into the
    provenance of new facts. Cost: one folder digest when nothing changed.
    """
    from advisor.knowledge.sources.folder import content_digest, load_knowledge_folder
    from advisor.knowledge.validate import check_files

    key = str(folder.resolve())
    _log.debug("syncing curated folder %s", key)
    digest = content_digest(folder)
    if store.get_meta(_DIGEST_META + key) == digest:
        return SyncReport(folder=str(folder), digest=digest, skipped=True)
    loaded = load_knowledge_folder(folder, date=today, source_prefix=source_prefix)
    problems = sorted(
        {*loaded.problems, *check_files(loaded.files)},
        key=lambda p: (p.file, p.line, p.field, p.message),
    )
    troubled = {p.file for p in problems}
    previous = _json_map(store.get_meta(_FILES_META + key))
    current: dict[str, str] = {}
    changed: list[str] = []
    totals = [0, 0, 0, 0]  # added, replaced, unchanged, deleted
    for file in loaded.files:
        clean = file.path not in troubled
        file_digest = _file_digest(Path(file.path)) if clean else ""
        current[file.source] = file_digest
        if file_digest and previous.get(file.source) == file_digest:
            continue
        replace = file.source if clean else None
        _add(totals, store.put(file.observations, replace_source=replace))
        changed.append(file.source)
    removed = sorted(set(previous) - set(current))
    for source in removed:
        totals[3] += store.delete_source(source)
    store.set_meta(_FILES_META + key, json.dumps(current, sort_keys=True))
    store.set_meta(_DIGEST_META + key, "" if problems else digest)
    return SyncReport(
        folder=str(folder),
        digest=digest,
        files=len(loaded.files),
        changed=tuple(changed),
        removed=tuple(removed),
        added=totals[0],
        replaced=totals[1],
        unchanged=totals[2],
        deleted=totals[3],
        problems=tuple(problems),
    )


def _json_map(text: str | None) -> dict[str, str]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}  # unreadable bookkeeping: treat every file as changed
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def _add(totals: list[int], result: PutResult) -> None:
    totals[0] += result.added
    totals[1] += result.replaced
    totals[2] += result.unchanged
    totals[3] += result.removed
