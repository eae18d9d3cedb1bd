"""A client's files on the server: checked, then written into a fresh folder for one job.

Sits between the advice routes and the jobs: :func:`vet_files` refuses what a client may not
send (a path that leaves the folder, too many files, an index option, a requirement fetched
from a URL or a local path, index settings in ``[tool.advisor]``), so the server only ever
fetches from its own index; :func:`write_files` then writes what passed. Refusals are
:class:`~advisor.server.problems.ApiError` 400 naming the file and the line.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from advisor.server.problems import ApiError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["MAX_FILES", "check_path", "vet_files", "write_files"]

MAX_FILES = 64
# requirements-file options that only shape what is resolved: anything else (indexes,
# find-links, trusted hosts, editables) is the server's business or needs a local path
_ALLOWED_OPTIONS = frozenset(
    {"-r", "--requirement", "-c", "--constraint", "--pre", "--only-binary", "--prefer-binary"}
    | {"--no-binary", "--hash"}
)
# [tool.advisor] keys (and advisor.toml's top level) that name where packages come from
_INDEX_KEYS = ("index-url", "extra-index-urls", "find-links", "pinned-indexes")
_URL = re.compile(r"^\s*[A-Za-z0-9._-]+(\[[^\]]*\])?\s*@|://|^\s*(\.{1,2}/|/|~)")


def _refuse(path: str, message: str) -> ApiError:
    return ApiError(400, "invalid-request", f"{path}: {message}")


def check_path(path: str) -> None:
    """Raises :class:`ApiError` 400 unless ``path`` is relative and stays inside the folder."""
    pure = PurePosixPath(path)
    if (
        not path
        or "\\" in path
        or "\x00" in path
        or pure.is_absolute()
        or any(part in ("..", "") for part in path.split("/"))
    ):
        raise _refuse(path or "''", "not a relative path inside the project's folder")


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Lines with their continuations joined and comments dropped, numbered from 1."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, (pending + line).strip()
        pending = ""
    if pending.strip():
        yield start, pending.strip()


def _vet_requirements(path: str, text: str) -> None:
    for number, line in _logical_lines(text):
        if not line:
            continue
        if line.startswith("-"):
            option = re.split(r"[\s=]", line, maxsplit=1)[0]
            if option not in _ALLOWED_OPTIONS:
                raise _refuse(
                    f"{path}:{number}",
                    f"{option} is not accepted by the server (it resolves from its own index)",
                )
            if "://" in line:
                raise _refuse(f"{path}:{number}", "a file included by URL is not accepted")
            continue
        if _URL.search(line.split(";")[0]):
            raise _refuse(
                f"{path}:{number}",
                "a requirement from a URL or a local path is not accepted by the server"
                " (it resolves from its own index)",
            )


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _vet_toml(path: str, text: str) -> None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _refuse(path, f"not TOML: {exc}") from None
    if path.rsplit("/", 1)[-1] == "advisor.toml":
        table: Any = data
    else:
        table = data.get("tool", {}).get("advisor", {}) if isinstance(data, dict) else {}
    if isinstance(table, dict):
        named = [k for k in _INDEX_KEYS if k in table]
        if named:
            raise _refuse(
                path,
                f"{', '.join(named)}: index settings are the server's (it resolves from"
                " its own index); leave them out when asking a server",
            )
    project = data.get("project", {})
    lists = [project.get("dependencies"), project.get("optional-dependencies")]
    lists.append(data.get("dependency-groups"))
    for requirement in (s for value in lists for s in _strings(value)):
        if _URL.search(requirement.split(";")[0]):
            raise _refuse(
                path,
                f"{requirement!r}: a requirement from a URL or a local path is not accepted"
                " by the server",
            )


def vet_files(
    files: Mapping[str, str], *, named: Iterable[str], unread: Iterable[str] | None = ()
) -> None:
    """Refuse ``files`` (relative POSIX path → text) unless every path stays inside the
    folder, every name in ``named`` is among them, and no file names an index or a URL.
    The contents of ``unread`` (a lock being replaced: only its pins are read) are not
    looked into; ``unread=None``: no content is (a check fetches nothing). Raises
    :class:`ApiError` 400."""
    if len(files) > MAX_FILES:
        raise ApiError(400, "invalid-request", f"{len(files)} files: at most {MAX_FILES}")
    skipped = None if unread is None else frozenset(unread)
    for path, text in files.items():
        check_path(path)
        if skipped is None or path in skipped:
            continue
        if path.endswith(".toml"):
            if not path.rsplit("/", 1)[-1].startswith("pylock"):
                _vet_toml(path, text)
        else:
            _vet_requirements(path, text)
    for name in named:
        check_path(name)
        if name not in files:
            raise _refuse(name, "named but not sent")


def write_files(files: Mapping[str, str], folder: Path) -> None:
    """Write ``files`` (already vetted) under ``folder``."""
    for path, text in files.items():
        target = folder.joinpath(*path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
