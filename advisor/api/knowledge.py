"""Knowledge commands: validate and sync ``knowledge/``, import OSV, show, stats, lock graphs.

Part of the composition root: it opens the store a URL names, runs the loaders of
:mod:`advisor.knowledge.sources` (passing in today's date and, for the OSV API, a fetcher
built from pip's network settings), writes what they produced, and reads it back for
``show``, ``stats`` and the graph of a lock. The CLI calls only this module for the
``knowledge`` commands; later ``lock``/``advise`` call :func:`sync` implicitly (it costs one
folder digest when nothing changed) and ``explain`` calls :func:`stack_graph_for_lock`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from advisor.errors import InputError
from advisor.knowledge.package_facts import KnownFact, PackageKnowledge

if TYPE_CHECKING:
    from collections.abc import Mapping

    from advisor.knowledge.sources import Problem
    from advisor.knowledge.sources.osv_import import ImportReport
    from advisor.knowledge.store import KnowledgeStore, PutResult, StoreStats

__all__ = [
    "ImportOutcome",
    "KnownFact",
    "PackageKnowledge",
    "SyncReport",
    "advisory_data",
    "import_osv",
    "lock_packages",
    "parse_package_spec",
    "record_advisory_data",
    "show",
    "stats",
    "store_url",
    "sync",
    "this_recorder",
    "validate",
]

_DIGEST_META = "sync-digest:"  # + folder: the content digest of the last clean sync
_FILES_META = "sync-files:"  # + folder: JSON {source: sha256 of the file, "" if it had problems}


def store_url(url: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The store to use: ``url`` when given, else ``ADVISOR_KNOWLEDGE``, else ``knowledge.db``
    in the user data directory."""
    from advisor.knowledge.store import default_store_url

    if url and url.strip():
        return url.strip()
    return default_store_url(os.environ if environ is None else environ)


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _open(url: str) -> KnowledgeStore:
    from advisor.knowledge.store import open_store

    return open_store(url)


# --------------------------------------------------------------------------- validate


def validate(path: Path) -> list[Problem]:
    """Every problem in the knowledge folder (or one file) at ``path``, in file and line
    order; ``[]`` when it is clean. Raises :class:`InputError` when ``path`` does not exist."""
    from advisor.knowledge.validate import validate_knowledge

    if not path.exists():
        raise InputError(f"{path}: no such knowledge folder or file")
    return list(validate_knowledge(path))


# --------------------------------------------------------------------------- sync


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncReport:
    """What :func:`sync` did. ``skipped``: the folder's digest matched the last clean sync,
    nothing was read. ``changed`` are the sources (``knowledge/…``) written again,
    ``removed`` those whose file is gone (their facts deleted). Counts are observations."""

    folder: str
    digest: str
    skipped: bool = False
    files: int = 0
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    deleted: int = 0
    problems: tuple[Problem, ...] = ()


def sync(
    folder: Path, *, store_url: str, today: str | None = None, source_prefix: str = "knowledge"
) -> SyncReport:
    """Load ``folder`` (a ``knowledge/`` folder) into the store at ``store_url``.

    When the folder's content digest equals the one recorded by the last clean sync of the
    same folder (meta ``sync-digest:<absolute folder>``), nothing else is read. Otherwise
    each file whose bytes changed is written with ``replace_source`` = its source, so
    records removed from a file leave the store; files gone since the last sync have their
    facts deleted. Problems are the loader's and the validator's (:func:`check_files`). A
    file with problems is reported and its good records are upserted
    without removing anything (a typo never wipes a file's rules); its digest is not
    recorded, so the next sync reads it again, and the folder digest is recorded only when
    there were no problems. ``today`` (ISO date) goes into the provenance of new facts.
    """
    from advisor.knowledge.sources.folder import content_digest, load_knowledge_folder
    from advisor.knowledge.validate import check_files

    key = str(folder.resolve())
    digest = content_digest(folder)
    with _open(store_url) as store:
        if store.get_meta(_DIGEST_META + key) == digest:
            return SyncReport(folder=str(folder), digest=digest, skipped=True)
        loaded = load_knowledge_folder(folder, date=today or _today(), source_prefix=source_prefix)
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


# --------------------------------------------------------------------------- OSV


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportOutcome:
    """An OSV import: what the loader read (``report``: advisories, problems, counts) and
    what the store did with it (``added`` … ``removed``, in advisories). ``source`` is the
    dump's path or the API's URL without credentials."""

    source: str
    report: ImportReport
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0


def import_osv(
    source: Path | str,
    *,
    store_url: str,
    packages: Mapping[str, str | None] | None = None,
    today: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ImportOutcome:
    """Import OSV advisories into the store at ``store_url``.

    ``source`` is an OSV dump zip or a folder of OSV JSON/YAML files (a :class:`Path`, or a
    string without ``http(s)://``): the import replaces everything earlier imports of the
    same dump name stored (so advisories that left the dump leave the store). A string
    starting with ``http://`` or ``https://`` is the base URL of an OSV-compatible API,
    queried for ``packages`` (name → version, or ``None`` for all versions; required
    then); an API import only adds and updates. The API is reached with pip's network
    settings (certificates, trusted hosts, retries, credentials) from ``environ``/``cwd``.
    Raises :class:`InputError` for a missing source or an API import without packages,
    :class:`~advisor.errors.IndexUnavailable` when the API cannot be used.
    """
    from advisor.urls import redact_url

    date = today or _today()
    text = str(source)
    if isinstance(source, str) and text.lower().startswith(("http://", "https://")):
        if not packages:
            raise InputError(
                f"{redact_url(text)}: an OSV API import needs packages (--package or --lock)"
            )
        report = _query_api(text, packages, date=date, environ=environ, cwd=cwd)
        shown, replace = redact_url(text), None
        as_of = dt.date.fromisoformat(date[:10])  # the API answers with what it knows now
    else:
        from advisor.knowledge.sources.osv_import import load_osv

        path = Path(source)
        report = load_osv(path, date=date)
        shown, replace = str(path), f"osv:{report.origin}"
        as_of = report.newest_modified or dt.date.fromisoformat(date[:10])
    with _open(store_url) as store:
        result = store.put(report.advisories, replace_source=replace)
        record_advisory_data(store, as_of=as_of, today=date)
    return ImportOutcome(
        source=shown,
        report=report,
        added=result.added,
        replaced=result.replaced,
        unchanged=result.unchanged,
        removed=result.removed,
    )


# what `advisor check` reads to tell "no advisory data" and "data too old" apart
_IMPORTED_AT = "osv-imported-at"  # the day of the last import
_COUNT = "osv-advisories"  # how many advisories the store holds after it
_AS_OF = "osv-data-as-of"  # how current the data of the last import is (see below)


def record_advisory_data(store: KnowledgeStore, *, as_of: dt.date, today: str) -> None:
    """Record, after an import has stored its advisories, how many the store holds and how
    current the imported data is: ``as_of`` is a dump's newest ``modified`` day (an old
    dump imported today is old), or the day of an API query (the API answers with what it
    knows then). Written after the data, so a crash in between only makes it look older."""
    count = sum(k.count for k in store.stats().kinds if k.kind == "advisory")
    store.set_meta(_IMPORTED_AT, today)
    store.set_meta(_COUNT, str(count))
    store.set_meta(_AS_OF, as_of.isoformat())


def advisory_data(store: KnowledgeStore) -> tuple[int, dt.date | None]:
    """How many advisories the store holds and how current they are (``None``: never
    imported). A store imported by an older advisor has no recorded age: the newest
    provenance date of its advisories (a record's ``modified``) stands in for it."""
    count = int(store.get_meta(_COUNT) or 0)
    if not count or not store.get_meta(_IMPORTED_AT):
        return count, None
    text = store.get_meta(_AS_OF)
    if not text:
        newest = next((k.newest for k in store.stats().kinds if k.kind == "advisory"), None)
        text = newest or store.get_meta(_IMPORTED_AT)
    try:
        return count, dt.date.fromisoformat((text or "")[:10])
    except ValueError:
        return count, None


def _query_api(
    base_url: str,
    packages: Mapping[str, str | None],
    *,
    date: str,
    environ: Mapping[str, str] | None,
    cwd: Path | None,
) -> ImportReport:
    from advisor.index.fetch import Fetcher
    from advisor.index.settings import load_pip_settings
    from advisor.knowledge.sources.osv_import import query_osv_api

    pip = load_pip_settings(
        environ=os.environ if environ is None else environ, cwd=cwd or Path.cwd()
    )
    with Fetcher(pip.network_settings()) as fetcher:
        return query_osv_api(base_url, packages, fetcher=fetcher, date=date)


def parse_package_spec(text: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME==VERSION`` → ``(canonical name, version or None)``.
    Raises :class:`InputError` for anything else."""
    name, sep, version = text.strip().partition("==")
    name, version = name.strip(), version.strip()
    from packaging.utils import InvalidName

    try:
        canonical = canonicalize_name(name, validate=True)
    except InvalidName:
        canonical = None
    if canonical is None or (sep and not version) or any(c in version for c in "<>=!~,; "):
        raise InputError(f"{text!r}: expected NAME or NAME==VERSION")
    return canonical, (version or None)


def lock_packages(lock_path: Path) -> dict[str, str | None]:
    """Name → version of every package of a ``pylock.toml`` (for an OSV API query); a name
    locked at several versions is asked for all versions."""
    from advisor.lockfile import read_pylock

    found: dict[str, str | None] = {}
    for pkg in read_pylock(lock_path).packages:
        version = str(pkg.version) if pkg.version is not None else None
        if pkg.name in found and found[pkg.name] != version:
            found[pkg.name] = None
        else:
            found[pkg.name] = version
    return dict(sorted(found.items()))


# --------------------------------------------------------------------------- show, stats


def show(
    name: str,
    version: str | None = None,
    *,
    store_url: str,
    source: str | None = None,
    recorder: str | None = None,
    server: str | None = None,
) -> PackageKnowledge:
    """What the store at ``store_url`` knows about ``name`` (optionally at ``version``); only
    the facts whose provenance source matches the ``source`` pattern (``image-build:*``; see
    :func:`~advisor.knowledge.store.source_matches`) and whose recorder is ``recorder``, when
    given. With ``server``, what that team server's store knows
    (:func:`advisor.api.remote_knowledge.remote_show`)."""
    from advisor.knowledge.package_facts import package_knowledge

    if server:
        from advisor.api.remote_knowledge import remote_show

        return remote_show(server, name, version, source=source, recorder=recorder)

    with _open(store_url) as store:
        return package_knowledge(store, name, version, source=source, recorder=recorder)


def stats(store_url: str, *, source: str | None = None, recorder: str | None = None) -> StoreStats:
    """Counts per kind, per source and per recorder of the store at ``store_url``; of the
    observations whose source matches the ``source`` pattern and whose recorder is
    ``recorder``, when given."""
    with _open(store_url) as store:
        return store.stats(source=source, recorder=recorder)


def this_recorder(environ: Mapping[str, str] | None = None) -> str:
    """The recorder id this machine's observations carry (``""`` when it has none yet);
    reading it never creates one."""
    from advisor.observe.recorder import detect_recorder

    return detect_recorder(os.environ if environ is None else environ, create=False)
