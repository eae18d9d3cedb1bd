"""Parse pip-format requirements files (inputs layer, first stop of the data flow).

Our own reading of pip's format: ``#`` comments (at line start or after whitespace), blank
lines, trailing-backslash continuations, ``${VAR}`` expansion from an explicit mapping only,
nested ``-r``/``-c`` files (relative to the including file, cycles refused), pip's per-file
index options and per-requirement ``--hash``. Each file is read once per role. The result is
collected in a :class:`RequirementsReader`, which :mod:`advisor.request.load` turns into an
:class:`~advisor.request.model.AdviceRequest`.

Differences from pip, on purpose: a relative path on a requirement line is resolved against
the file's directory (pip uses the working directory); ``-r`` inside a constraints or
overrides file includes more of the same role (``-c`` always means constraints); two files
that set different ``--index-url`` values are an error rather than "last one wins".
"""

from __future__ import annotations

import difflib
import os
import posixpath
import re
import shlex
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from packaging.utils import InvalidName, canonicalize_name

from advisor.errors import InputError, InvalidRequirement, UnsupportedRequirement
from advisor.request.model import IndexOptions, InputFile, RequirementLine
from advisor.request.reference import (
    is_url,
    local_url,
    parse_requirement_text,
    split_url,
    url_path,
)
from advisor.urls import redact_text

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

__all__ = ["RequirementsReader", "display_path", "iter_logical_lines", "read_text"]

_COMMENT = re.compile(r"(^|\s)#.*$", re.DOTALL)
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_OPTIONS_START = re.compile(r"(^|\s)-")
_HASH_LENGTHS: Final = {"sha256": 64, "sha384": 96, "sha512": 128}

# spelling -> (canonical option, takes a value)
_OPTIONS: Final = {
    "-r": ("--requirement", True),
    "--requirement": ("--requirement", True),
    "-c": ("--constraint", True),
    "--constraint": ("--constraint", True),
    "-i": ("--index-url", True),
    "--index-url": ("--index-url", True),
    "--extra-index-url": ("--extra-index-url", True),
    "-f": ("--find-links", True),
    "--find-links": ("--find-links", True),
    "--no-index": ("--no-index", False),
    "--trusted-host": ("--trusted-host", True),
    "--pre": ("--pre", False),
    "--only-binary": ("--only-binary", True),
    "--no-binary": ("--no-binary", True),
    "--hash": ("--hash", True),
    "-e": ("--editable", True),
    "--editable": ("--editable", True),
}


def read_text(path: Path, *, display: str) -> str:
    """The text of ``path`` (UTF-8, BOM tolerated), or :class:`InputError` naming ``display``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{display}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{display}: is a directory, not a file") from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"{display}: cannot read: {exc}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{display}: not UTF-8 text (byte {exc.start})") from exc


def display_path(value: str, *, relative_to: str | None = None) -> str:
    """Posix display form of ``value``, joined to the directory of ``relative_to``."""
    value = value.replace(os.sep, "/")
    if relative_to is not None and not posixpath.isabs(value):
        value = posixpath.join(posixpath.dirname(relative_to), value)
    return posixpath.normpath(value) if value else value


def iter_logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(first physical line number, logical line)`` with continuations joined.

    A line ending in a backslash continues on the next one, unless the line is a comment
    (then the backslash belongs to the comment). Comments are not stripped here.
    """
    parts: list[str] = []
    start = 1
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        if raw.endswith("\\") and not raw.lstrip().startswith("#"):
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        yield start, "".join(parts)
        parts = []
    if parts:
        yield start, "".join(parts)


@dataclass(slots=True)
class _Options:
    """Mutable accumulator for :class:`IndexOptions` across all files of one request."""

    index_url: str | None = None
    index_url_origin: str = ""
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    no_index: bool = False
    trusted_hosts: list[str] = field(default_factory=list)
    pre: bool = False
    only_binary: list[str] = field(default_factory=list)
    no_binary: list[str] = field(default_factory=list)

    def freeze(self) -> IndexOptions:
        return IndexOptions(
            index_url=self.index_url,
            extra_index_urls=_unique(self.extra_index_urls),
            find_links=_unique(self.find_links),
            no_index=self.no_index,
            trusted_hosts=_unique(self.trusted_hosts),
            pre=self.pre,
            only_binary=tuple(self.only_binary),
            no_binary=tuple(self.no_binary),
        )


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(slots=True, kw_only=True)
class _Context:
    """Where a line is: the file (absolute and display forms), its role, the line number."""

    path: Path
    display: str
    role: str
    line: int = 0

    def fail(self, reason: str, text: str, *, unsupported: bool = False) -> InvalidRequirement:
        cls = UnsupportedRequirement if unsupported else InvalidRequirement
        return cls(redact_text(reason), path=self.display, line=self.line, text=redact_text(text))


@dataclass(slots=True, kw_only=True)
class RequirementsReader:
    """Reads requirements files with their includes into per-role lists and index options.

    One reader serves one request: it remembers which files it read (each file is read once
    per role, so a file included twice contributes once) and merges the index options of all
    of them. ``environ`` is the only source of ``${VAR}`` values; ``None`` expands nothing.
    Cost: linear in the total size of the files read.
    """

    environ: Mapping[str, str] | None = None
    lines: dict[str, list[RequirementLine]] = field(
        default_factory=lambda: {"requirements": [], "constraints": [], "overrides": []}
    )
    files: list[InputFile] = field(default_factory=list)
    options: _Options = field(default_factory=_Options)
    _read: set[tuple[str, str]] = field(default_factory=set)
    _stack: list[tuple[str, str]] = field(default_factory=list)  # (real path, where)

    def read(self, path: Path, *, display: str, role: str) -> None:
        """Read ``path`` (shown as ``display``) and everything it includes, as ``role``."""
        self._read_file(path.absolute(), display=display, role=role, included_at="")

    def index_options(self) -> IndexOptions:
        return self.options.freeze()

    def _read_file(self, path: Path, *, display: str, role: str, included_at: str) -> None:
        try:
            real = os.path.realpath(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"{included_at}{display}: cannot read: {exc}") from exc
        for seen_real, _where in self._stack:
            if seen_real == real:
                chain = " -> ".join(where for _real, where in self._stack)
                raise InputError(f"include cycle: {chain} -> {display}")
        if (real, role) in self._read:
            return
        text = read_text(path, display=f"{included_at}{display}")
        self._read.add((real, role))
        self.files.append(InputFile(path=display, role=role))
        ctx = _Context(path=path, display=display, role=role)
        for number, raw in iter_logical_lines(text):
            ctx.line = number
            self._stack.append((real, f"{display}:{number}"))
            try:
                self._read_line(raw, ctx)
            finally:
                self._stack.pop()

    def _read_line(self, raw: str, ctx: _Context) -> None:
        line = _COMMENT.sub("", raw).strip()
        if not line:
            return
        if self.environ is not None:
            environ = self.environ
            line = _ENV_VAR.sub(lambda m: environ.get(m.group(1), m.group(0)), line)
        match = _OPTIONS_START.search(line)
        requirement_text = line[: match.start()].strip() if match else line
        options = _parse_options(line[match.start() :] if match else "", ctx, text=line)
        hashes = [value for name, value in options if name == "--hash"]
        others = [(name, value) for name, value in options if name != "--hash"]
        if requirement_text:
            if others:
                raise ctx.fail(
                    f"{others[0][0]} cannot follow a requirement on the same line "
                    "(only --hash can)",
                    line,
                )
            self._add_requirement(requirement_text, hashes, ctx, text=line)
            return
        if hashes:
            raise ctx.fail("--hash must follow a requirement on the same line", line)
        for name, value in others:
            self._apply_option(name, value, ctx, text=line)

    def _add_requirement(
        self, req_text: str, hashes: list[str], ctx: _Context, *, text: str
    ) -> None:
        requirement = parse_requirement_text(
            req_text, base_dir=ctx.path.parent, path=ctx.display, line=ctx.line
        )
        if ctx.role == "constraints" and requirement.extras:
            raise ctx.fail(
                "a constraint cannot name extras (pip's rule); constrain the project "
                "alone and request the extras in a requirements file",
                text,
            )
        parsed = tuple(sorted({_parse_hash(h, ctx, text=text) for h in hashes}))
        origin = f"{ctx.display}:{ctx.line}"
        entry = RequirementLine(requirement=requirement, origin=origin, hashes=parsed)
        self.lines[ctx.role].append(entry)

    def _apply_option(self, name: str, value: str, ctx: _Context, *, text: str) -> None:
        base = ctx.path.parent
        if name == "--editable":
            raise ctx.fail(
                "editable installs (-e) are not supported; build a wheel or sdist and refer "
                "to the archive",
                text,
                unsupported=True,
            )
        if name in ("--requirement", "--constraint"):
            role = "constraints" if name == "--constraint" else ctx.role
            self._include(value, role=role, ctx=ctx, text=text)
        elif name == "--index-url":
            url = _location(value, base, ctx, text=text)
            where = f"{ctx.display}:{ctx.line}"
            if self.options.index_url not in (None, url):
                raise InputError(
                    f"{where}: --index-url {redact_text(url)} conflicts with --index-url "
                    f"{redact_text(self.options.index_url or '')} set at "
                    f"{self.options.index_url_origin}; keep one (add others with "
                    "--extra-index-url)"
                )
            if self.options.index_url is None:
                self.options.index_url, self.options.index_url_origin = url, where
        elif name == "--extra-index-url":
            self.options.extra_index_urls.append(_location(value, base, ctx, text=text))
        elif name == "--find-links":
            self.options.find_links.append(_location(value, base, ctx, text=text))
        elif name == "--no-index":
            self.options.no_index = True
        elif name == "--pre":
            self.options.pre = True
        elif name == "--trusted-host":
            if "/" in value or any(c in string.whitespace for c in value):
                raise ctx.fail(
                    f"--trusted-host takes a host[:port], not {redact_text(value)!r}", text
                )
            self.options.trusted_hosts.append(value)
        else:  # --only-binary / --no-binary
            target = self.options.only_binary if name == "--only-binary" else self.options.no_binary
            target.extend(_parse_format_control(name, value, ctx, text=text))

    def _include(self, value: str, *, role: str, ctx: _Context, text: str) -> None:
        option = "-c" if role == "constraints" and ctx.role != "constraints" else "-r"
        if is_url(value):
            parts = split_url(value)
            if parts is None:
                raise ctx.fail(f"malformed URL {redact_text(value)!r}", text)
            if parts.scheme.lower() != "file":
                raise ctx.fail(
                    "remote requirement files are not supported; download the file and "
                    "include the local copy",
                    text,
                    unsupported=True,
                )
            value = url_path(parts.path)
        target = ctx.path.parent / value
        display = display_path(value, relative_to=ctx.display)
        if target.name == "pyproject.toml":
            raise ctx.fail(
                f"{display} cannot be included with {option}; pass it as an input instead", text
            )
        self._read_file(
            target, display=display, role=role, included_at=f"{ctx.display}:{ctx.line}: "
        )


def _location(value: str, base: Path, ctx: _Context, *, text: str) -> str:
    """An index or find-links location: a URL, or a local path made a ``file://`` URL."""
    try:
        url = local_url(value, base_dir=base)
    except (OSError, ValueError) as exc:
        raise ctx.fail(f"bad location {redact_text(value)!r}: {exc}", text) from exc
    parts = split_url(url)
    if parts is None or parts.scheme.lower() not in ("http", "https", "file"):
        raise ctx.fail(
            f"{redact_text(value)!r} is not an http(s):// or file:// URL or a local path", text
        )
    return url


def _parse_options(options: str, ctx: _Context, *, text: str) -> list[tuple[str, str]]:
    """Split the options part of a line into ``(canonical option, value)`` pairs."""
    if not options:
        return []
    try:
        tokens = shlex.split(options)
    except ValueError as exc:
        raise ctx.fail(f"cannot split options: {exc}", text) from exc
    out: list[tuple[str, str]] = []
    position = 0
    while position < len(tokens):
        token = tokens[position]
        position += 1
        if not token.startswith("-") or token in ("-", "--"):
            raise ctx.fail(f"unexpected argument {redact_text(token)!r} after options", text)
        spelled, value = token, None
        if token.startswith("--") and "=" in token:
            spelled, value = token.split("=", 1)
        elif not token.startswith("--") and len(token) > 2:
            spelled, value = token[:2], token[2:]
        known = _OPTIONS.get(spelled)
        if known is None:
            raise ctx.fail(_unknown_option(spelled), text)
        canonical, takes_value = known
        if not takes_value:
            if value is not None:
                raise ctx.fail(f"{spelled} takes no value", text)
            out.append((canonical, ""))
            continue
        if value is None:
            if position >= len(tokens):
                raise ctx.fail(f"{spelled} needs a value", text)
            value = tokens[position]
            position += 1
        if not value:
            raise ctx.fail(f"{spelled} needs a non-empty value", text)
        out.append((canonical, value))
    return out


def _unknown_option(spelled: str) -> str:
    close = difflib.get_close_matches(spelled, [k for k in _OPTIONS if k.startswith("--")], n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    supported = ", ".join(sorted({c for c, _ in _OPTIONS.values()} - {"--editable"}))
    return f"unknown option {spelled}{hint} (supported: {supported})"


def _parse_hash(value: str, ctx: _Context, *, text: str) -> tuple[str, str]:
    algorithm, sep, digest = value.partition(":")
    algorithm, digest = algorithm.lower(), digest.lower()
    if not sep or not digest:
        raise ctx.fail(f"--hash must be <algorithm>:<hex digest>, not {value!r}", text)
    expected = _HASH_LENGTHS.get(algorithm)
    if expected is None:
        raise ctx.fail(
            f"unsupported hash algorithm {algorithm!r} (use {', '.join(_HASH_LENGTHS)})", text
        )
    if len(digest) != expected or any(c not in string.hexdigits for c in digest):
        raise ctx.fail(f"--hash {algorithm} digest must be {expected} hex digits", text)
    return algorithm, digest


def _parse_format_control(name: str, value: str, ctx: _Context, *, text: str) -> list[str]:
    out: list[str] = []
    for item in value.split(","):
        item = item.strip()
        if item in (":all:", ":none:"):
            out.append(item)
            continue
        try:
            out.append(canonicalize_name(item, validate=True))
        except InvalidName as exc:
            raise ctx.fail(
                f"{name} takes project names, :all: or :none:, not {item!r}", text
            ) from exc
    return out
