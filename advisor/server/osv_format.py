"""OSV's API shapes: the queries it takes, and stored advisories written back as OSV records.

Sits between the OSV routes (:mod:`advisor.server.routes.osv`) and the knowledge layer: a
query (``{"package": {"name", "ecosystem"} | {"purl"}, "version"}``) becomes a
:class:`PackageQuery` (a canonical PyPI name and an optional version); the advisories the
store holds for it are filtered with the OSV rules of :mod:`advisor.knowledge.osv` and
written out as OSV records (:func:`osv_record`) or, for a batch, as ``{"id", "modified"}``.
Pure: no I/O.

What this server answers: PyPI packages only (a query about another ecosystem or purl type
finds nothing); no commit queries (the store keeps no git ranges: 400
``unsupported-query``); every answer in one page (a ``page_token`` is refused). As in OSV,
a query with a version finds the advisories affecting that version, one without a version
every advisory naming the package; withdrawn advisories are found only by id.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from packaging.utils import InvalidName, canonicalize_name

from advisor.knowledge.osv import is_affected
from advisor.server.problems import ApiError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from advisor.knowledge.schema import Advisory

__all__ = [
    "MAX_BATCH",
    "OsvBatch",
    "OsvPackage",
    "OsvQuery",
    "PackageQuery",
    "affecting",
    "batch_entry",
    "osv_record",
    "osv_timestamp",
    "resolve_query",
]

MAX_BATCH = 1000  # queries per querybatch, as OSV's own API
_ECOSYSTEM = "PyPI"
_SEVERITY_TYPES = frozenset({"CVSS_V2", "CVSS_V3", "CVSS_V4", "Ubuntu"})  # OSV's enumeration
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class OsvPackage(msgspec.Struct, frozen=True):
    name: str | None = None
    ecosystem: str | None = None
    purl: str | None = None


class OsvQuery(msgspec.Struct, frozen=True):
    """One OSV query; unknown fields are ignored, as OSV's own API does."""

    package: OsvPackage | None = None
    version: str | None = None
    commit: str | None = None
    page_token: str | None = None


class OsvBatch(msgspec.Struct, frozen=True):
    queries: list[OsvQuery]


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageQuery:
    """What a query asks: ``name`` (canonical; ``None`` for another ecosystem, which this
    server knows nothing about) at ``version`` (``None``: any version)."""

    name: str | None
    version: str | None


def _invalid(where: str, message: str) -> ApiError:
    return ApiError(400, "invalid-request", f"{where}: {message}")


def _purl(text: str, *, where: str) -> tuple[str | None, str | None]:
    """``(name, version)`` of a ``pkg:pypi/NAME@VERSION`` purl (``(None, None)`` for another
    type); qualifiers and subpath are ignored."""
    if not text.startswith("pkg:"):
        raise _invalid(where, f"package.purl {text!r} is not a purl (pkg:pypi/NAME@VERSION)")
    body = text[4:].split("#", 1)[0].split("?", 1)[0].lstrip("/")
    kind, _, path = body.partition("/")
    if kind.lower() != "pypi":
        return None, None
    name, at, version = path.partition("@")
    name, version = urllib.parse.unquote(name), urllib.parse.unquote(version)
    if not name or "/" in name or (at and not version):
        raise _invalid(where, f"package.purl {text!r} is not pkg:pypi/NAME[@VERSION]")
    return name, version or None


def resolve_query(query: OsvQuery, *, where: str = "query") -> PackageQuery:
    """The package and version ``query`` asks about. Raises :class:`ApiError` 400
    (``where`` names the query in the message) for a query OSV would refuse, a commit query
    (``unsupported-query``) and a ``page_token`` (this server never issues one)."""
    if query.commit is not None:
        raise ApiError(
            400,
            "unsupported-query",
            f"{where}: commit queries are not supported (this server keeps PyPI version"
            " ranges only)",
        )
    if query.page_token:
        raise _invalid(where, "unknown page_token (this server answers in one page)")
    package = query.package
    if package is None:
        raise _invalid(where, "a query needs a package")
    version = query.version
    if package.purl is not None:
        if package.name is not None or package.ecosystem is not None:
            raise _invalid(where, "package.purl goes without package.name and package.ecosystem")
        name, purl_version = _purl(package.purl, where=where)
        if purl_version is not None and version is not None:
            raise _invalid(where, "give the version in the purl or in version, not both")
        if name is None:
            return PackageQuery(name=None, version=None)
        version = purl_version or version
    else:
        if not package.name or not package.ecosystem:
            raise _invalid(where, "a package needs a name and an ecosystem (or a purl)")
        if package.ecosystem != _ECOSYSTEM:
            if package.ecosystem.lower() == _ECOSYSTEM.lower():
                raise _invalid(where, f"ecosystem names are case-sensitive: use {_ECOSYSTEM!r}")
            return PackageQuery(name=None, version=None)
        name = package.name
    try:
        canonical = canonicalize_name(name, validate=True)
    except InvalidName:
        raise _invalid(where, f"{name!r} is not a valid package name") from None
    return PackageQuery(name=canonical, version=version or None)


def affecting(advisories: Iterable[Advisory], query: PackageQuery) -> list[Advisory]:
    """The advisories that answer ``query``, by id: those affecting its version, or, without
    one, every advisory naming the package; withdrawn ones never."""
    name = query.name
    if name is None:
        return []
    if query.version is None:
        found = [a for a in advisories if not a.withdrawn]
    else:
        found = [a for a in advisories if is_affected(a, name, query.version)]
    return sorted(found, key=lambda a: a.id)


def osv_timestamp(text: str) -> str:
    """An RFC 3339 timestamp as OSV requires: a bare day becomes its midnight UTC."""
    text = text.strip()
    return f"{text}T00:00:00Z" if _DAY.fullmatch(text) else text


def _modified(advisory: Advisory) -> str:
    return osv_timestamp(advisory.modified or advisory.provenance.date)


def batch_entry(advisory: Advisory) -> dict[str, str]:
    """What a querybatch answers per advisory: its id and when it was last modified."""
    return {"id": advisory.id, "modified": _modified(advisory)}


def osv_record(advisory: Advisory) -> dict[str, Any]:
    """``advisory`` as an OSV record: what OSV's ``/v1/vulns/{id}`` would answer for the
    facts the store keeps (the summary, not the details; the PyPI entries only; severity
    types outside OSV's enumeration moved to ``database_specific``). Empty fields are
    omitted; ``database_specific.provenance`` says where the store got it."""
    record: dict[str, Any] = {"id": advisory.id, "modified": _modified(advisory)}
    if advisory.published:
        record["published"] = osv_timestamp(advisory.published)
    if advisory.withdrawn:
        record["withdrawn"] = osv_timestamp(advisory.withdrawn)
    if advisory.aliases:
        record["aliases"] = list(advisory.aliases)
    if advisory.summary:
        record["summary"] = advisory.summary
    affected = []
    for entry in advisory.affected:
        item: dict[str, Any] = {
            "package": {
                "ecosystem": _ECOSYSTEM,
                "name": entry.package,
                "purl": f"pkg:pypi/{entry.package}",
            }
        }
        if entry.ranges:
            item["ranges"] = [
                {"type": r.type, "events": [msgspec.to_builtins(e) for e in r.events]}
                for r in entry.ranges
            ]
        if entry.versions:
            item["versions"] = list(entry.versions)
        affected.append(item)
    record["affected"] = affected
    severity = [{"type": s.type, "score": s.score} for s in advisory.severity]
    known = [s for s in severity if s["type"] in _SEVERITY_TYPES]
    if known:
        record["severity"] = known
    if advisory.references:
        record["references"] = [{"type": "WEB", "url": url} for url in advisory.references]
    extra: dict[str, Any] = {
        "provenance": {"source": advisory.provenance.source, "date": advisory.provenance.date}
    }
    if len(known) < len(severity):
        extra["severity"] = [s for s in severity if s["type"] not in _SEVERITY_TYPES]
    record["database_specific"] = extra
    return record
