"""A stable fingerprint of an advice request (inputs layer; the lockfile stores it).

``request_digest`` lets ``advisor check`` tell, offline and fast, whether a lock still
matches its inputs: it changes when what was asked changes and only then.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from advisor.request.reference import split_url, url_path
from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from packaging.requirements import Requirement

    from advisor.request.model import AdviceRequest, IndexOptions, RequirementLine

__all__ = ["DIGEST_FORMAT", "normalize_requirement", "request_digest"]

DIGEST_FORMAT = "advisor-request/1"


def request_digest(request: AdviceRequest, *, extra: Mapping[str, Any]) -> str:
    """SHA-256 (64 hex digits) of a canonical JSON document describing ``request``.

    What goes in, and nothing else:

    * ``format``: :data:`DIGEST_FORMAT` (bumped when this list changes);
    * ``requirements``, ``constraints``, ``overrides``: per role, the sorted, de-duplicated
      list of ``[requirement, hashes]`` where ``requirement`` is
      :func:`normalize_requirement` of the line and ``hashes`` its sorted
      ``[algorithm, hexdigest]`` pairs. Origins (file and line numbers) are left out, so
      comments, blank lines, whitespace, continuations and line order do not count;
    * ``index-options``: every field of :class:`IndexOptions`, URL lists in their order
      (it matters for index priority), through :func:`portable_url`;
    * ``files``: the sorted ``[role, path]`` pairs of every file read;
    * ``requires-python`` (normalised specifier), ``project-name`` (canonical),
      ``extras`` and ``groups`` (canonical, sorted);
    * ``extra``: the caller's mapping as given (index configuration, target
      environments...), which must be JSON-serialisable (else :class:`TypeError`).

    URLs lose their ``user:password@`` (so a token rotation or a CI credential does not
    change the digest). When ``request.root`` is known, file paths and ``file://`` URLs are
    written relative to the *anchor*, the directory of the first file read (``./x`` or
    ``../x``), so the digest depends neither on where the checkout lives nor on the
    directory the command ran in; without a root they stay as they are. Keys are sorted
    and the JSON compact, so the digest is byte-stable across runs and machines.
    """
    anchor = _anchor(request)
    files = sorted([f.role, _portable_path(f.path, request.root, anchor)] for f in request.files)
    document = {
        "format": DIGEST_FORMAT,
        "requirements": _lines(request.requirements, anchor),
        "constraints": _lines(request.constraints, anchor),
        "overrides": _lines(request.overrides, anchor),
        "index-options": _index_options(request.index_options, anchor),
        "files": files,
        "requires-python": request.requires_python,
        "project-name": canonicalize_name(request.project_name) if request.project_name else None,
        "extras": sorted(canonicalize_name(e) for e in request.extras),
        "groups": sorted(canonicalize_name(g) for g in request.groups),
        "extra": extra,
    }
    blob = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def normalize_requirement(requirement: Requirement, *, root: str | None = None) -> str:
    """``name[extras] specifiers ; marker`` in one canonical spelling.

    Canonical name, sorted canonical extras, packaging's normalised (sorted) specifier set
    or ``@ URL`` (via :func:`portable_url` with ``root``), packaging's normalised marker.
    """
    text: str = canonicalize_name(requirement.name)
    if requirement.extras:
        text += "[" + ",".join(sorted({canonicalize_name(e) for e in requirement.extras})) + "]"
    if requirement.url:
        text += " @ " + portable_url(requirement.url, root=root)
    else:
        text += str(requirement.specifier)
    if requirement.marker is not None:
        text += " ; " + str(requirement.marker)
    return text


def portable_url(url: str, *, root: str | None) -> str:
    """``url`` without credentials; with a ``root``, a ``file://`` URL becomes the path
    relative to it (``./dist/x.whl``, ``../wheels``)."""
    url = redact_url(url)
    if root is None or not url.lower().startswith("file:"):
        return url
    parts = split_url(url)
    if parts is None:
        return url
    path = url_path(parts.path).replace("\\", "/")
    relative = _relative(path, root)
    return relative + (f"#{parts.fragment}" if parts.fragment else "")


def _anchor(request: AdviceRequest) -> str | None:
    """The directory of the first file read, absolute (``None`` without a root)."""
    if request.root is None or not request.files:
        return None
    first = posixpath.normpath(posixpath.join(request.root, request.files[0].path))
    return posixpath.dirname(first)


def _portable_path(path: str, root: str | None, anchor: str | None) -> str:
    if root is None or anchor is None:
        return path
    return _relative(posixpath.normpath(posixpath.join(root, path)), anchor)


def _relative(path: str, anchor: str) -> str:
    if not posixpath.isabs(path) or not posixpath.isabs(anchor):
        return path
    relative = posixpath.relpath(path, anchor)
    return relative if relative.startswith("../") or relative == ".." else "./" + relative


def _lines(lines: Iterable[RequirementLine], root: str | None) -> list[list[Any]]:
    entries = {
        (normalize_requirement(line.requirement, root=root), tuple(sorted(line.hashes)))
        for line in lines
    }
    return [[text, [list(h) for h in hashes]] for text, hashes in sorted(entries)]


def _index_options(options: IndexOptions, root: str | None) -> dict[str, Any]:
    return {
        "index-url": portable_url(options.index_url, root=root) if options.index_url else None,
        "extra-index-urls": [portable_url(u, root=root) for u in options.extra_index_urls],
        "find-links": [portable_url(u, root=root) for u in options.find_links],
        "no-index": options.no_index,
        "trusted-hosts": list(options.trusted_hosts),
        "pre": options.pre,
        "only-binary": list(options.only_binary),
        "no-binary": list(options.no_binary),
    }
