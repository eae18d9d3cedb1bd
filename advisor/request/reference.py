"""Turn one requirement's text into a :class:`~packaging.requirements.Requirement`.

Used by both input parsers (requirements files and pyproject.toml), below them in the data
flow. Handles what PEP 508 alone does not: direct references to local files (relative paths
become absolute ``file://`` URLs, the project name read from the filename when not written),
and the forms we refuse on purpose (VCS URLs, local source directories). Also the one place
that strips credentials from URLs before they reach a message.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path
from typing import Protocol

from packaging.requirements import InvalidRequirement as PackagingInvalidRequirement
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from advisor.errors import InvalidRequirement, UnsupportedRequirement
from advisor.models import parse_dist_filename
from advisor.urls import redact_text

__all__ = [
    "ARCHIVE_EXTENSIONS",
    "is_url",
    "local_url",
    "parse_requirement_text",
    "split_url",
    "url_path",
]

ARCHIVE_EXTENSIONS = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".zip")
_VCS_SCHEMES = frozenset({"git", "hg", "svn", "bzr"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_URL_START = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^file:", re.IGNORECASE)
# ``name [extras] @`` at the start: a PEP 508 direct reference.
_NAMED_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@")
_MARKER_SPLIT = re.compile(r"\s;|;\s")
# Specifier and marker characters: their presence means PEP 508, not a file name.
_NOT_A_PATH = re.compile(r"[<>=!;\"']")
_EXTRAS_SUFFIX = re.compile(r"^(.*?)(\[[^\[\]]*\])$", re.DOTALL)


def is_url(text: str) -> bool:
    """True for ``scheme://...`` and ``file:...`` (not for a Windows drive like ``C:\\``)."""
    return bool(_URL_START.match(text))


def local_url(value: str, *, base_dir: Path) -> str:
    """``value`` itself when it is a URL, else the ``file://`` URL of a path under ``base_dir``."""
    if is_url(value):
        return value
    return (base_dir / value).absolute().as_uri()


def parse_requirement_text(text: str, *, base_dir: Path, path: str, line: int) -> Requirement:
    """Parse one requirement written in ``path`` at ``line`` (0 when unknown).

    ``text`` is PEP 508 (``name[extras] specifier ; marker`` or ``name @ URL ; marker``), or
    pip's bare forms: a URL or a path to a wheel or source archive, optionally followed by
    ``[extras]`` and ``; marker``. Relative paths are resolved against ``base_dir`` (the
    directory of the file that names them) and become absolute ``file://`` URLs.

    Raises :class:`~advisor.errors.UnsupportedRequirement` for VCS URLs and local
    directories, :class:`~advisor.errors.InvalidRequirement` for anything else that is
    wrong (syntax, a missing local file, a URL that is not an archive, a name we cannot tell).
    Cost: a regex match and one packaging parse; a ``stat`` only for local files.
    """
    text = text.strip()

    def fail(reason: str, *, unsupported: bool = False) -> InvalidRequirement:
        cls = UnsupportedRequirement if unsupported else InvalidRequirement
        return cls(redact_text(reason), path=path, line=line, text=redact_text(text))

    if _NAMED_REFERENCE.match(text):
        req = _parse_pep508(text, fail)
        if req.url is None:  # not reached: packaging requires a URL after "@"
            raise fail("expected a URL after '@'")
        req.url = _check_reference(req.url, name=req.name, base_dir=base_dir, fail=fail)
        return req
    head = _MARKER_SPLIT.split(text, maxsplit=1)[0].strip()
    if is_url(head) or _looks_like_path(head, base_dir=base_dir):
        return _parse_bare_reference(text, base_dir=base_dir, fail=fail)
    return _parse_pep508(text, fail)


def _parse_pep508(text: str, fail: _Fail) -> Requirement:
    try:
        return Requirement(text)
    except PackagingInvalidRequirement as exc:
        raise fail(_first_line(str(exc))) from exc


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "cannot be parsed"


def _looks_like_path(head: str, *, base_dir: Path) -> bool:
    if _NOT_A_PATH.search(head):
        return False
    if head.startswith((".", "/", "\\", "~")) or "/" in head or "\\" in head:
        return True
    # ``foo-1.0-py3-none-any.whl`` alone is a file in the directory when it exists there
    # (a project may legally be called ``foo.zip``, so the name alone does not decide).
    if head.lower().endswith(ARCHIVE_EXTENSIONS):
        try:
            return (base_dir / head).exists()
        except (OSError, ValueError):
            return False
    return False


def _parse_bare_reference(text: str, *, base_dir: Path, fail: _Fail) -> Requirement:
    parts = _MARKER_SPLIT.split(text, maxsplit=1)
    reference = parts[0].strip()
    marker = parts[1].strip() if len(parts) > 1 else ""
    extras = ""
    match = _EXTRAS_SUFFIX.match(reference)
    if match:
        reference, extras = match.group(1).strip(), match.group(2)
    _reject_vcs(reference, fail)
    url = _check_reference(reference, name=None, base_dir=base_dir, fail=fail)
    filename = _url_filename(url, fail)
    parsed = parse_dist_filename(filename)
    if parsed is None:
        raise fail(
            f"cannot read a project name from {filename!r}; write it as 'name @ {redact_text(url)}'"
        )
    pep508 = f"{parsed.name}{extras} @ {url}"
    if marker:
        pep508 += f" ; {marker}"
    return _parse_pep508(pep508, fail)


def _reject_vcs(url: str, fail: _Fail) -> None:
    match = _SCHEME.match(url)
    if match is None:
        return
    scheme = match.group(1).lower()
    if scheme in _VCS_SCHEMES or scheme.split("+", 1)[0] in _VCS_SCHEMES:
        raise fail(
            "VCS references are not supported; build a wheel or sdist and refer to that "
            "archive, or depend on a released version",
            unsupported=True,
        )


def _check_reference(url: str, *, name: str | None, base_dir: Path, fail: _Fail) -> str:
    """Validate a direct reference and return it as an absolute URL."""
    _reject_vcs(url, fail)
    scheme_match = _SCHEME.match(url)
    scheme = scheme_match.group(1).lower() if scheme_match else ""
    if scheme == "file" or not is_url(url):
        local = _file_url_path(url, fail) if scheme == "file" else base_dir / url
        local = local.absolute()
        try:
            is_dir, is_file = local.is_dir(), local.is_file()
        except (OSError, ValueError) as exc:
            raise fail(f"cannot read local path: {exc}") from exc
        if is_dir:
            raise fail(
                "local directories (source trees) are not supported; build a wheel or "
                "sdist and refer to the archive",
                unsupported=True,
            )
        if not is_file:
            raise fail(f"no such file: {local.as_posix()}")
        url = local.as_uri()
    elif scheme not in ("http", "https"):
        raise fail(f"unsupported URL scheme {scheme!r} (use https://, http:// or file://)")
    filename = _url_filename(url, fail)
    if not filename.lower().endswith(ARCHIVE_EXTENSIONS):
        raise fail(
            f"a direct reference must point to a wheel or a source archive "
            f"({', '.join(ARCHIVE_EXTENSIONS)}), not {filename!r}"
        )
    if name is not None:
        parsed = parse_dist_filename(filename)
        if parsed is not None and parsed.name != canonicalize_name(name):
            raise fail(f"the file {filename!r} is a distribution of {parsed.name!r}, not {name!r}")
    return url


def url_path(path: str) -> str:
    """The local path of a ``file:`` URL's path part (``urllib.request.url2pathname``
    without importing ``urllib.request``, which costs more than all our parsing)."""
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import nturl2path

        return nturl2path.url2pathname(path)
    return urllib.parse.unquote(path)


def split_url(url: str) -> urllib.parse.SplitResult | None:
    """``urlsplit(url)``, or ``None`` for a URL it refuses (a bad IPv6 host, ...)."""
    try:
        return urllib.parse.urlsplit(url)
    except ValueError:
        return None


def _split(url: str, fail: _Fail) -> urllib.parse.SplitResult:
    parts = split_url(url)
    if parts is None:
        raise fail(f"malformed URL {redact_text(url)!r}")
    return parts


def _file_url_path(url: str, fail: _Fail) -> Path:
    parts = _split(url, fail)
    if parts.netloc not in ("", "localhost"):
        raise fail(f"file URLs with a host ({parts.netloc!r}) are not supported")
    if not parts.path:
        raise fail("file URL without a path")
    return Path(url_path(parts.path))


def _url_filename(url: str, fail: _Fail) -> str:
    path = _split(url, fail).path
    return urllib.parse.unquote(path.rstrip("/").rsplit("/", 1)[-1])


class _Fail(Protocol):
    """Type of the local ``fail`` closure (builds the error for the current line)."""

    def __call__(self, reason: str, *, unsupported: bool = False) -> InvalidRequirement: ...
