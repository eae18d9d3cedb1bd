"""Generate a static package index on disk from project specs (test support).

Layout under ``root``::

    files/<filename>                 wheels and sdists built by :mod:`tests.support.dists`
    files/<filename>.metadata        PEP 658 core metadata (wheels, when metadata_files=True)
    simple/index.html, index.json    the project list (PEP 503 / PEP 691)
    simple/<project>/index.html      PEP 503 page: #sha256= fragments, data-requires-python,
                                     data-yanked, data-dist-info-metadata/data-core-metadata;
                                     pypi:project-status(-reason) meta tags (PEP 792)
    simple/<project>/index.json      PEP 691 JSON v1.1: hashes, requires-python, yanked,
                                     core-metadata, size, upload-time (PEP 700), versions;
                                     optional keys omitted rather than null; v1.4 with a
                                     project-status object when the project has a status

Hrefs are relative (``../../files/x.whl#sha256=...``), so the same tree works as a
``file://`` index and behind :class:`tests.support.server.IndexServer`. Output is
deterministic (files sorted by version, then filename).
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.dists import extras_to_requires, make_sdist, make_wheel, render_metadata

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

__all__ = [
    "FileSpec",
    "FixtureIndex",
    "IndexedFile",
    "Project",
    "add_files",
    "build_index",
    "release",
]

SDIST = "sdist"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSpec:
    """One file of one version. ``kind`` is a wheel tag (possibly compressed) or ``"sdist"``.

    ``yanked``: ``False``, ``True`` (no reason) or a reason string. ``upload_time``: omitted
    from the JSON page when ``None``; naive datetimes are taken as UTC. ``extras`` maps an
    extra to its requirements (turned into Provides-Extra and ``extra == ...`` markers).
    ``dynamic`` (sdists) marks Requires-Dist dynamic in PKG-INFO; ``build_seconds`` (sdists)
    makes the backend's metadata hook sleep that long. ``metadata_file=False`` withholds the
    PEP 658 file for this wheel even when the index writes them. ``files`` (wheels) maps
    archive paths to contents that replace the default module (a module that misbehaves).
    """

    version: str
    kind: str = "py3-none-any"
    requires_dist: Sequence[str] = ()
    requires_python: str | None = None
    yanked: bool | str = False
    upload_time: datetime | None = None
    extras: Mapping[str, Sequence[str]] = field(default_factory=dict)
    extra_size: int = 0
    dynamic: bool = False
    build_seconds: float = 0.0
    metadata_file: bool = True
    files: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def is_sdist(self) -> bool:
        return self.kind == SDIST

    @property
    def yanked_reason(self) -> str | None:
        """``None`` when not yanked, else the reason (``""`` for a bare yank)."""
        if self.yanked is False:
            return None
        return "" if self.yanked is True else str(self.yanked)


def release(
    version: str,
    *,
    wheel_tags: Iterable[str] = ("py3-none-any",),
    sdist: bool = True,
    **options: object,
) -> tuple[FileSpec, ...]:
    """All files of one version: a wheel per tag (set) and, unless ``sdist=False``, an sdist.

    ``options`` are the other :class:`FileSpec` fields, shared by every file.
    """
    kinds = [*wheel_tags, *([SDIST] if sdist else [])]
    return tuple(FileSpec(version=version, kind=kind, **options) for kind in kinds)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """A project and its files; ``name`` may be unnormalised (it is the display name).
    ``status`` is its PEP 792 status marker (``archived``, ``quarantined`` …; ``None``:
    none on the pages) and ``status_reason`` the reason given with it."""

    name: str
    files: Sequence[FileSpec] = ()
    status: str | None = None
    status_reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexedFile:
    project: str  # normalised name
    filename: str
    path: Path
    sha256: str
    size: int
    spec: FileSpec
    metadata_path: Path | None = None
    metadata_sha256: str | None = None

    @property
    def href(self) -> str:
        """Relative to a project page: ``../../files/<quoted name>#sha256=<hex>``."""
        return f"../../files/{quote(self.filename)}#sha256={self.sha256}"


@dataclass(frozen=True, slots=True, kw_only=True)
class FixtureIndex:
    root: Path
    files: tuple[IndexedFile, ...]
    #: normalised name → (status, reason) of the projects with a PEP 792 marker
    statuses: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)

    @property
    def simple_dir(self) -> Path:
        return self.root / "simple"

    @property
    def files_dir(self) -> Path:
        """A flat directory of every file: usable as ``--find-links``."""
        return self.root / "files"

    @property
    def file_url(self) -> str:
        """``file:///.../simple`` (no trailing slash), an index URL."""
        return self.simple_dir.as_uri()

    @property
    def projects(self) -> tuple[str, ...]:
        return tuple(sorted({f.project for f in self.files}))

    def file(self, filename: str) -> IndexedFile:
        for f in self.files:
            if f.filename == filename:
                return f
        raise KeyError(filename)

    def project_files(self, name: str) -> tuple[IndexedFile, ...]:
        norm = canonicalize_name(name)
        return tuple(f for f in self.files if f.project == norm)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _iso(ts: datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _build_file(files_dir: Path, name: str, spec: FileSpec, *, metadata_files: bool) -> IndexedFile:
    extra_reqs, provides = extras_to_requires(spec.extras)
    requires = (*spec.requires_dist, *extra_reqs)
    common = {
        "name": name,
        "version": spec.version,
        "requires_dist": requires,
        "requires_python": spec.requires_python,
        "provides_extra": provides,
    }
    meta_path: Path | None = None
    meta_sha: str | None = None
    if spec.is_sdist:
        path = make_sdist(
            files_dir,
            dynamic=spec.dynamic,
            build_seconds=spec.build_seconds,
            **common,  # type: ignore[arg-type]
        )
    else:
        path = make_wheel(
            files_dir,
            tag=spec.kind,
            extra_size=spec.extra_size,
            files=spec.files or None,
            **common,  # type: ignore[arg-type]
        )
        if metadata_files and spec.metadata_file:
            text = render_metadata(**common).encode()  # type: ignore[arg-type]
            meta_path = path.with_name(path.name + ".metadata")
            meta_path.write_bytes(text)
            meta_sha = _sha256(text)
    data = path.read_bytes()
    return IndexedFile(
        project=canonicalize_name(name),
        filename=path.name,
        path=path,
        sha256=_sha256(data),
        size=len(data),
        spec=spec,
        metadata_path=meta_path,
        metadata_sha256=meta_sha,
    )


def _html_page(
    title: str, anchors: Iterable[str], status: tuple[str, str | None] | None = None
) -> str:
    body = "\n".join(f"    {a}<br/>" for a in anchors)
    head = '    <meta name="pypi:repository-version" content="1.1">\n'
    if status is not None:
        head = '    <meta name="pypi:repository-version" content="1.4">\n'
        head += f'    <meta name="pypi:project-status" content="{html.escape(status[0])}">\n'
        if status[1] is not None:
            reason = html.escape(status[1])
            head += f'    <meta name="pypi:project-status-reason" content="{reason}">\n'
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        + head
        + f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{html.escape(title)}</h1>\n{body}\n  </body>\n</html>\n"
    )


def _anchor(f: IndexedFile) -> str:
    attrs = [f'href="{html.escape(f.href)}"']
    if f.spec.requires_python is not None:
        attrs.append(f'data-requires-python="{html.escape(f.spec.requires_python)}"')
    if (reason := f.spec.yanked_reason) is not None:
        attrs.append(f'data-yanked="{html.escape(reason)}"')
    if f.metadata_sha256 is not None:
        value = f"sha256={f.metadata_sha256}"
        attrs += [f'data-dist-info-metadata="{value}"', f'data-core-metadata="{value}"']
    return f"<a {' '.join(attrs)}>{html.escape(f.filename)}</a>"


def _json_file(f: IndexedFile) -> dict[str, object]:
    core: object = {"sha256": f.metadata_sha256} if f.metadata_sha256 else False
    reason = f.spec.yanked_reason
    entry: dict[str, object] = {
        "filename": f.filename,
        "url": f.href.split("#", 1)[0],
        "hashes": {"sha256": f.sha256},
        "yanked": reason if reason else reason is not None,
        "core-metadata": core,
        "dist-info-metadata": core,
        "size": f.size,
    }
    if f.spec.requires_python is not None:
        entry["requires-python"] = f.spec.requires_python
    if f.spec.upload_time is not None:
        entry["upload-time"] = _iso(f.spec.upload_time)
    return entry


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_pages(
    root: Path,
    files: Sequence[IndexedFile],
    names: Mapping[str, str],
    statuses: Mapping[str, tuple[str, str | None]] | None = None,
) -> None:
    """(Re)write every page under ``root/simple`` for ``files``; ``names`` = norm → display,
    ``statuses`` = norm → (PEP 792 status, reason) for the projects that have one."""
    simple = root / "simple"
    simple.mkdir(parents=True, exist_ok=True)
    meta = {"api-version": "1.1"}
    statuses = statuses or {}
    for norm in sorted(names):
        mine = [f for f in files if f.project == norm]
        page = simple / norm
        page.mkdir(exist_ok=True)
        status = statuses.get(norm)
        (page / "index.html").write_text(
            _html_page(f"Links for {names[norm]}", (_anchor(f) for f in mine), status),
            encoding="utf-8",
        )
        versions = sorted({str(Version(f.spec.version)) for f in mine}, key=Version)
        data: dict[str, object] = {
            "meta": meta,
            "name": norm,
            "versions": versions,
            "files": [_json_file(f) for f in mine],
        }
        if status is not None:
            data["meta"] = {"api-version": "1.4"}
            marker = {"status": status[0]}
            if status[1] is not None:
                marker["reason"] = status[1]
            data["project-status"] = marker
        _write_json(page / "index.json", data)
    anchors = (f'<a href="{norm}/">{html.escape(names[norm])}</a>' for norm in sorted(names))
    (simple / "index.html").write_text(_html_page("Simple index", anchors), encoding="utf-8")
    _write_json(
        simple / "index.json",
        {"meta": meta, "projects": [{"name": names[n]} for n in sorted(names)]},
    )


def build_index(
    root: Path, projects: Iterable[Project], *, metadata_files: bool = True
) -> FixtureIndex:
    """Build every distribution and page of ``projects`` under ``root``.

    Raises ``ValueError`` for two specs that produce the same filename.
    """
    files_dir = root / "files"
    files_dir.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    statuses: dict[str, tuple[str, str | None]] = {}
    built: list[IndexedFile] = []
    seen: set[str] = set()
    for project in projects:
        names[canonicalize_name(project.name)] = project.name
        if project.status is not None:
            statuses[canonicalize_name(project.name)] = (project.status, project.status_reason)
        for spec in project.files:
            f = _build_file(files_dir, project.name, spec, metadata_files=metadata_files)
            if f.filename in seen:
                raise ValueError(f"duplicate file in fixture index: {f.filename}")
            seen.add(f.filename)
            built.append(f)
    built.sort(key=lambda f: (f.project, Version(f.spec.version), f.filename))
    write_pages(root, built, names, statuses)
    return FixtureIndex(root=root, files=tuple(built), statuses=statuses)


def add_files(index: FixtureIndex, paths: Iterable[Path]) -> FixtureIndex:
    """``index`` plus files made elsewhere (say :func:`~tests.support.dists.make_backend_sdist`
    into ``index.files_dir``), with every page rewritten. Each name must parse as a wheel or
    sdist file name; new projects are listed under their normalised names."""
    from packaging.utils import parse_sdist_filename, parse_wheel_filename

    added = []
    for path in paths:
        if path.name.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(path.name)
            kind = "py3-none-any"
        else:
            name, version = parse_sdist_filename(path.name)
            kind = SDIST
        data = path.read_bytes()
        added.append(
            IndexedFile(
                project=name,
                filename=path.name,
                path=path,
                sha256=_sha256(data),
                size=len(data),
                spec=FileSpec(version=str(version), kind=kind),
            )
        )
    files = sorted(
        [*index.files, *added], key=lambda f: (f.project, Version(f.spec.version), f.filename)
    )
    write_pages(index.root, files, {f.project: f.project for f in files}, index.statuses)
    return FixtureIndex(root=index.root, files=tuple(files), statuses=index.statuses)
