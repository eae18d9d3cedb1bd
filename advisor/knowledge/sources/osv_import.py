"""OSV importer: dump zips, folders of OSV JSON/YAML files, and the OSV API → advisories.

Sits between OSV data and the stores (``advisor knowledge import-osv``): reads every record,
turns each into an :class:`~advisor.knowledge.schema.Advisory` with
:func:`advisor.knowledge.osv.parse_osv` and returns them with an :class:`ImportReport`. One
bad record among thousands is a :class:`~advisor.knowledge.sources.Problem` (file and field
path) and is skipped; the import goes on. Only an unreadable source as a whole (no such
file, not a zip, the API unreachable or answering garbage) raises.

The API path speaks the OSV protocol: ``POST {base}/v1/querybatch`` with one query per
package (``version`` omitted: every advisory of the package), following ``next_page_token``,
then ``GET {base}/v1/vulns/{id}`` per advisory found. Network I/O goes through the index
client's :class:`~advisor.index.fetch.Fetcher` (passed in), never through httpx here.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
from packaging.utils import canonicalize_name

from advisor.errors import IndexUnavailable, InputError
from advisor.knowledge.osv import (
    TOOL,
    ParsedRecord,
    default_registry_hosts,
    parse_osv,
    parse_osv_json,
)
from advisor.knowledge.sources import Problem, read_yaml_documents
from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping
    from pathlib import Path

    from advisor.index.fetch import Fetcher
    from advisor.knowledge.schema import Advisory

__all__ = ["ImportReport", "load_osv", "newest_modified", "query_osv_api"]

_SUFFIXES = (".json", ".yaml", ".yml")
_BATCH = 1000  # the OSV API's limit of queries per querybatch
_MAX_PAGES = 1000  # a server that keeps answering next_page_token is broken


@dataclass(frozen=True, slots=True, kw_only=True)
class _Options:
    """What every record of one import is parsed with (see :func:`parse_osv`)."""

    origin: str
    date: str
    tool: str
    hosts: Collection[str]

    def json(self, data: bytes, *, file: str) -> ParsedRecord:
        return parse_osv_json(
            data,
            file=file,
            origin=self.origin,
            date=self.date,
            tool=self.tool,
            registry_hosts=self.hosts,
        )

    def record(self, record: object, *, file: str) -> ParsedRecord:
        return parse_osv(
            record,
            file=file,
            origin=self.origin,
            date=self.date,
            tool=self.tool,
            registry_hosts=self.hosts,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportReport:
    """What an import produced. ``advisories`` are sorted by id, one per id (a duplicate id
    keeps the record modified last, and is reported); ``records`` counts the records read
    (good or bad); ``skipped_git`` the ``GIT`` ranges dropped; ``foreign`` the records about
    other ecosystems only; ``withdrawn`` the withdrawn advisories (kept: they never match,
    and importing them retires an earlier live copy). ``origin`` is the provenance's source
    without ``osv:``."""

    origin: str
    advisories: tuple[Advisory, ...] = ()
    problems: tuple[Problem, ...] = ()
    records: int = 0
    skipped_git: int = 0
    foreign: int = 0

    @property
    def withdrawn(self) -> int:
        return sum(1 for a in self.advisories if a.withdrawn)

    @property
    def newest_modified(self) -> dt.date | None:
        """The day (UTC) of the newest ``modified`` among the advisories: how current the
        data is (OSV requires ``modified``; records without a readable one do not count)."""
        return newest_modified(self.advisories)


def newest_modified(advisories: Iterable[Advisory]) -> dt.date | None:
    """The newest day (UTC) in the advisories' ``modified`` (RFC 3339 timestamps or dates);
    ``None`` when none has a readable one."""
    newest: dt.date | None = None
    for adv in advisories:
        day = _day(adv.modified)
        if day is not None and (newest is None or day > newest):
            newest = day
    return newest


def _day(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        stamp = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC)
    return stamp.date()


def _report(origin: str, parsed: Iterable[tuple[str, ParsedRecord]]) -> ImportReport:
    """Fold per-record results into a report: dedupe ids, sort, count."""
    best: dict[str, tuple[str, Advisory]] = {}
    problems: list[Problem] = []
    records = skipped_git = foreign = 0
    for file, result in parsed:
        records += 1
        problems.extend(result.problems)
        skipped_git += result.skipped_git
        foreign += result.foreign
        adv = result.advisory
        if adv is None:
            continue
        if adv.id in best:
            other_file, other = best[adv.id]
            if (adv.modified or "") > (other.modified or ""):
                best[adv.id] = (file, adv)
            kept = best[adv.id][0]
            message = f"duplicate advisory {adv.id} (also in {other_file}); kept {kept}"
            problems.append(Problem(file=file, field="id", message=message))
        else:
            best[adv.id] = (file, adv)
    return ImportReport(
        origin=origin,
        advisories=tuple(best[k][1] for k in sorted(best)),
        problems=tuple(problems),
        records=records,
        skipped_git=skipped_git,
        foreign=foreign,
    )


def load_osv(
    source: Path,
    *,
    date: str,
    tool: str = TOOL,
    registry_hosts: Collection[str] | None = None,
    origin: str | None = None,
) -> ImportReport:
    """Import an OSV dump zip (one ``<ID>.json`` per advisory, OSV's ``all.zip`` layout) or a
    folder of OSV ``.json``/``.yaml``/``.yml`` files (recursively, hidden folders skipped),
    read in sorted order. ``date`` (ISO 8601) is used when a record has no ``modified``;
    ``registry_hosts`` default to :func:`~advisor.knowledge.osv.default_registry_hosts`.
    The provenance source is ``osv:<origin>``, by default ``osv:<zip or folder name>``; a
    given ``origin`` also names a zip's records in problems (``<origin>/<member>``), for a
    zip that sits in a temporary place. Raises :class:`InputError` when ``source`` is
    neither a readable zip nor a folder."""
    hosts = default_registry_hosts() if registry_hosts is None else registry_hosts
    label = str(source) if origin is None else origin  # how problems name the zip
    origin = source.name if origin is None else origin
    options = _Options(origin=origin, date=date, tool=tool, hosts=hosts)
    if source.is_dir():
        return _report(origin, _from_folder(source, options))
    if not source.is_file():
        raise InputError(f"{source}: no such OSV dump (expected a .zip or a folder)")
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{source}: not a readable zip file ({exc})") from exc
    with archive:
        return _report(origin, _from_zip(archive, label, options))


def _parse_file(data: bytes, *, file: str, options: _Options) -> ParsedRecord:
    if not file.endswith((".yaml", ".yml")):
        return options.json(data, file=file)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem(file=file, message=f"not UTF-8 text (byte {exc.start})")
        return ParsedRecord(advisory=None, problems=(problem,))
    docs, problems = read_yaml_documents(text, file=file)
    if problems or len(docs) != 1:
        if not problems:
            problems = [
                Problem(file=file, message=f"expected one YAML document, found {len(docs)}")
            ]
        return ParsedRecord(advisory=None, problems=tuple(problems))
    result = options.record(docs[0].data, file=file)
    lines = docs[0].lines
    if not any(p.field in lines for p in result.problems):
        return result
    located = tuple(
        Problem(file=p.file, line=_line(lines, p.field), field=p.field, message=p.message)
        for p in result.problems
    )
    return ParsedRecord(
        advisory=result.advisory,
        problems=located,
        skipped_git=result.skipped_git,
        foreign=result.foreign,
    )


def _line(lines: Mapping[str, int], field: str) -> int:
    while field and field not in lines:
        cut = max(field.rfind("."), field.rfind("["))
        field = field[:cut] if cut > 0 else ""
    return lines.get(field, 0)


def _from_folder(folder: Path, options: _Options) -> Iterable[tuple[str, ParsedRecord]]:
    paths = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix in _SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.is_file()
    )
    for path in paths:
        file = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            problem = Problem(file=file, message=f"cannot read: {exc.strerror}")
            yield file, ParsedRecord(advisory=None, problems=(problem,))
            continue
        yield file, _parse_file(data, file=file, options=options)


def _from_zip(
    archive: zipfile.ZipFile, label: str, options: _Options
) -> Iterable[tuple[str, ParsedRecord]]:
    members = sorted(
        (m for m in archive.infolist() if not m.is_dir() and m.filename.endswith(_SUFFIXES)),
        key=lambda m: m.filename,
    )
    for member in members:
        file = f"{label}/{member.filename}"
        try:
            data = archive.read(member)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:  # a corrupt member
            problem = Problem(file=file, message=f"cannot read from the zip: {exc}")
            yield file, ParsedRecord(advisory=None, problems=(problem,))
            continue
        yield file, _parse_file(data, file=file, options=options)


# -- the OSV API ---------------------------------------------------------------------------


class _VulnRef(msgspec.Struct, frozen=True):
    id: str


class _BatchResult(msgspec.Struct, frozen=True):
    vulns: list[_VulnRef] | None = None
    next_page_token: str | None = None


class _BatchAnswer(msgspec.Struct, frozen=True):
    results: list[_BatchResult]


def query_osv_api(
    base_url: str,
    packages: Mapping[str, str | None],
    *,
    fetcher: Fetcher,
    date: str,
    tool: str = TOOL,
    registry_hosts: Collection[str] | None = None,
    workers: int = 8,
) -> ImportReport:
    """The advisories an OSV-compatible API knows for ``packages`` (name → version, or
    ``None`` for every version of the package; names are canonicalised).

    One ``POST /v1/querybatch`` per 1,000 packages (plus one per page of a paginated
    answer), then one ``GET /v1/vulns/{id}`` per distinct advisory, ``workers`` at a time.
    An advisory that cannot be fetched or parsed is a problem (file = its URL); a querybatch
    that fails or answers something else than OSV JSON raises
    :class:`~advisor.errors.IndexUnavailable` (URL without credentials).
    """
    base = base_url.rstrip("/")
    origin = redact_url(base)
    hosts = default_registry_hosts() if registry_hosts is None else registry_hosts
    queries = []
    for name, version in sorted({canonicalize_name(n): v for n, v in packages.items()}.items()):
        query: dict[str, object] = {"package": {"name": name, "ecosystem": "PyPI"}}
        if version:
            query["version"] = version
        queries.append(query)
    ids: dict[str, None] = {}
    url = f"{base}/v1/querybatch"
    for start in range(0, len(queries), _BATCH):
        pending = queries[start : start + _BATCH]
        for _ in range(_MAX_PAGES):
            pending = _querybatch(fetcher, url, pending, ids)
            if not pending:
                break
        else:
            raise IndexUnavailable("querybatch pagination does not end", url=redact_url(url))
    options = _Options(origin=origin, date=date, tool=tool, hosts=hosts)

    def fetch(vuln_id: str) -> tuple[str, ParsedRecord]:
        url = f"{base}/v1/vulns/{urllib.parse.quote(vuln_id, safe='')}"
        file = redact_url(url)
        try:
            resp = fetcher.get(url, headers={"accept": "application/json"})
        except IndexUnavailable as exc:
            return file, ParsedRecord(
                advisory=None, problems=(Problem(file=file, message=str(exc)),)
            )
        if resp.status != 200:
            problem = Problem(file=file, message=f"HTTP {resp.status} for advisory {vuln_id}")
            return file, ParsedRecord(advisory=None, problems=(problem,))
        return file, options.json(resp.content, file=file)

    ordered = sorted(ids)
    if workers <= 1 or len(ordered) <= 1:
        results = [fetch(i) for i in ordered]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(fetch, ordered))
    return _report(origin, results)


def _querybatch(
    fetcher: Fetcher, url: str, queries: list[dict[str, object]], ids: dict[str, None]
) -> list[dict[str, object]]:
    """One querybatch: adds the ids found to ``ids``; returns the queries of next pages."""
    resp = fetcher.post_json(url, {"queries": queries})
    where = redact_url(url)
    if resp.status != 200:
        raise IndexUnavailable(f"the OSV API answered HTTP {resp.status} to querybatch", url=where)
    try:
        answer = msgspec.json.decode(resp.content, type=_BatchAnswer)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise IndexUnavailable(f"not an OSV querybatch answer: {exc}", url=where) from exc
    if len(answer.results) != len(queries):
        raise IndexUnavailable(
            f"not an OSV querybatch answer: {len(answer.results)} results"
            f" for {len(queries)} queries",
            url=where,
        )
    more = []
    for query, result in zip(queries, answer.results, strict=True):
        ids.update((v.id, None) for v in result.vulns or ())
        if result.next_page_token:
            more.append({**query, "page_token": result.next_page_token})
    return more
