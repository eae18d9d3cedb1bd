"""What a client sends to the advice endpoints: the files a run reads, by path relative to
one folder, so the server's run records the same paths (and the same input digest).

Sits under the composition root's client jobs (``advisor.api.remote``), beside
:mod:`.client`: :func:`lock_files` gathers a lock or advise run's files (the inputs,
constraints and overrides, the configuration files from the first input's folder up to the
lock's, and the lock being replaced) relative to the lock's folder; :func:`check_files`
gathers a check's (the paths named, and the locks, inputs and configuration beside them)
relative to the current folder. Files outside that folder cannot be sent (a clear
:class:`~advisor.errors.InputError`): the server would record another path.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["MAX_FILE_BYTES", "check_files", "lock_files", "relative_name"]

MAX_FILE_BYTES = 1 << 20  # a requirements file or a lock larger than this is not sent
_CONFIG_NAMES = ("advisor.toml", "pyproject.toml")
_CHECKED_SUFFIXES = (".toml", ".txt", ".in")


def relative_name(path: Path, root: Path) -> str:
    """``path`` as a POSIX path relative to ``root``; raises :class:`InputError` when it is
    not inside it."""
    full = Path(os.path.abspath(path))
    try:
        rel = full.relative_to(Path(os.path.abspath(root)))
    except ValueError:
        raise InputError(
            f"{path}: with --server, every file must be inside {root} (the lock's folder)"
        ) from None
    return PurePosixPath(*rel.parts).as_posix()


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"{path}: larger than {MAX_FILE_BYTES} bytes, not sent")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read: {exc}") from None


def _add(files: dict[str, str], path: Path, root: Path) -> str:
    name = relative_name(path, root)
    if name not in files:
        files[name] = _read(path)
    return name


def lock_files(
    inputs: Sequence[Path],
    *,
    constraints: Iterable[Path] = (),
    overrides: Iterable[Path] = (),
    root: Path,
    output: Path | None,
) -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The files of a lock run rooted at ``root`` (the lock's folder) and the names of the
    inputs, constraints and overrides among them. ``output`` (the lock's path, ``None`` for
    stdout) is sent when it exists: its pins are kept when re-locking, and ``advise``
    compares with it."""
    files: dict[str, str] = {}
    names = tuple(_add(files, p, root) for p in inputs)
    constraint_names = tuple(_add(files, p, root) for p in constraints)
    override_names = tuple(_add(files, p, root) for p in overrides)
    top = Path(os.path.abspath(root))
    folder = Path(os.path.abspath(inputs[0])).parent
    for directory in (folder, *folder.parents):
        for name in _CONFIG_NAMES:
            if (directory / name).is_file():
                _add(files, directory / name, root)
        if directory == top:
            break
    if output is not None and output.is_file():
        _add(files, output, root)
    return files, names, constraint_names, override_names


def check_files(paths: Sequence[Path], *, root: Path) -> tuple[dict[str, str], tuple[str, ...]]:
    """The files of a check rooted at ``root`` (the current folder): the ``paths`` named
    (none: the folder itself) and the locks, inputs and configuration in their folders;
    with the names of ``paths`` among them."""
    files: dict[str, str] = {}
    names = tuple(_add(files, p, root) for p in paths if not Path(p).is_dir())
    folders = {Path(os.path.abspath(p if Path(p).is_dir() else Path(p).parent)) for p in paths}
    for folder in sorted(folders or {Path(os.path.abspath(root))}):
        for entry in sorted(folder.iterdir()):
            if entry.is_file() and entry.suffix in _CHECKED_SUFFIXES:
                if entry.stat().st_size <= MAX_FILE_BYTES:
                    _add(files, entry, root)
    dirs = tuple(relative_name(p, root) for p in paths if Path(p).is_dir())
    return files, (*names, *dirs)
