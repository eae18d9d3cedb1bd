"""Which locks the paths given to ``advisor check`` name.

The first step of :func:`advisor.check.run.run_check`: the CLI (and through it the pre-commit
hooks, which pass the changed files) hands over paths as the user or pre-commit wrote them,
relative to the current folder; this module decides, for each one, which lock it stands for.
Nothing is passed over in silence: a path is a lock (by its name, else by its content), or an
input whose locks sit beside it (an input without one is reported as such), or it is refused
with :class:`NotALock` (exit 2).

By name: ``pylock.toml`` and ``pylock.<name>.toml`` (PEP 751) are pylocks; a ``.txt`` whose
name holds ``requirements`` is a requirements lock; ``*.in``, ``pyproject.toml`` and
``advisor.toml`` are inputs (or configuration). By content: a TOML file with a top-level
``lock-version`` is a pylock (``deps.pylock.toml``:
:func:`~advisor.lockfile.pylock.is_pylock_text`); a text file whose requirements are all
pinned is a requirements lock (:func:`~advisor.lockfile.requirements.is_requirements_lock`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["LockKind", "LockPath", "LockSelection", "NotALock", "lock_kind", "select_locks"]

_PYLOCK_NAME = re.compile(r"^pylock(\.[^/]+)?\.toml$")
_INPUT_NAMES = frozenset({"pyproject.toml", "advisor.toml"})
_MAX_SNIFF = 64 << 20  # a "lock" larger than this is not read to find out


class LockKind(enum.Enum):
    PYLOCK = "pylock"
    REQUIREMENTS = "requirements"


@dataclass(frozen=True, slots=True, kw_only=True)
class LockPath:
    """One lock to check: ``path`` as given (or beside the input that named it)."""

    path: Path
    kind: LockKind


@dataclass(frozen=True, slots=True, kw_only=True)
class LockSelection:
    """The locks the paths name, each once, in the order first named; ``lockless`` are the
    inputs given that have no lock beside them (nothing to check for them)."""

    locks: tuple[LockPath, ...]
    lockless: tuple[Path, ...] = ()


class NotALock(InputError):
    """A path that is neither a lock (by name or content) nor an input advisor knows; exit 2.
    ``path`` is as given; ``reason`` says what it was found to be."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"{path}: not a lock ({reason}); a lock is pylock.toml, pylock.<name>.toml, a TOML"
            " file with lock-version, or a requirements file of pinned versions"
        )
        self.path = path
        self.reason = reason


def lock_kind(path: Path) -> LockKind:
    """The kind of lock ``path`` is: by its name, else by its content (a TOML document with
    a top-level ``lock-version``; a requirements file of pins). Raises :class:`NotALock`,
    or :class:`InputError` when it cannot be read. Cost: a read only when the name does
    not tell."""
    name = path.name
    if _PYLOCK_NAME.match(name):
        return LockKind.PYLOCK
    if name.endswith(".txt") and "requirements" in name:
        return LockKind.REQUIREMENTS
    return _kind_by_content(path)


def _kind_by_content(path: Path) -> LockKind:
    from advisor.lockfile.pylock import InvalidLockToml, is_pylock_text
    from advisor.lockfile.requirements import is_requirements_lock

    try:
        if path.stat().st_size > _MAX_SNIFF:
            raise NotALock(path, "too large to be one")
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotALock(path, "not UTF-8 text") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        pylock = is_pylock_text(text, source=str(path))
    except InvalidLockToml as exc:
        if path.suffix == ".toml":
            raise NotALock(path, f"not valid TOML: {exc.reason}") from exc
    else:
        if pylock:
            return LockKind.PYLOCK
        if path.suffix == ".toml":
            raise NotALock(path, "a TOML file without lock-version")
    if is_requirements_lock(text):
        return LockKind.REQUIREMENTS
    raise NotALock(path, "not a requirements file in which every requirement is pinned")


def _beside(path: Path) -> list[LockPath]:
    """The locks an input (or configuration file) feeds: every ``pylock.toml`` and
    ``pylock.<name>.toml`` in its folder; without one, ``NAME.txt`` for ``NAME.in``, else
    ``requirements.txt``."""
    folder = path.parent
    pylocks = sorted(
        (p for p in folder.glob("pylock*.toml") if _PYLOCK_NAME.match(p.name) and p.is_file()),
        key=lambda p: (p.name != "pylock.toml", p.name),
    )
    if pylocks:
        return [LockPath(path=p, kind=LockKind.PYLOCK) for p in pylocks]
    for candidate in (path.with_suffix(".txt") if path.suffix == ".in" else None,
                      folder / "requirements.txt"):  # fmt: skip
        if candidate is not None and candidate.is_file():
            return [LockPath(path=candidate, kind=LockKind.REQUIREMENTS)]
    return []


def select_locks(paths: Sequence[Path], *, cwd: Path | None = None) -> LockSelection:
    """The locks ``paths`` name (relative paths are relative to ``cwd``, default the current
    folder, and kept as given). A path that does not exist raises :class:`InputError`; a
    file that is no lock and no known input raises :class:`NotALock`. Without ``paths``,
    ``./pylock.toml`` or else ``./requirements.txt``; neither raises :class:`InputError`.
    Cost: a ``stat`` per path and folder listing per input; a file is read only when its
    name does not tell."""
    base = Path.cwd() if cwd is None else cwd

    def exists(path: Path) -> bool:
        return (base / path).is_file()

    if not paths:
        for name, kind in (("pylock.toml", LockKind.PYLOCK),
                           ("requirements.txt", LockKind.REQUIREMENTS)):  # fmt: skip
            if exists(Path(name)):
                return LockSelection(locks=(LockPath(path=Path(name), kind=kind),))
        raise InputError("no lock given, and no pylock.toml or requirements.txt here")
    locks: dict[Path, LockPath] = {}
    lockless: list[Path] = []
    for path in paths:
        full = base / path
        if not full.exists():
            raise InputError(f"{path}: no such file")
        if full.is_dir():
            raise NotALock(path, "a folder; name the lock file")
        found: list[LockPath]
        if path.suffix == ".in" or path.name in _INPUT_NAMES:
            found = [LockPath(path=_as_given(p.path, path), kind=p.kind) for p in _beside(full)]
            if not found:
                lockless.append(path)
        else:
            try:
                found = [LockPath(path=path, kind=lock_kind(full))]
            except NotALock as exc:
                raise NotALock(path, exc.reason) from None  # named as the user wrote it
        for lock in found:
            locks.setdefault((base / lock.path).resolve(), lock)
    return LockSelection(locks=tuple(locks.values()), lockless=tuple(lockless))


def _as_given(found: Path, given: Path) -> Path:
    """A lock found beside ``given``, written the way ``given`` was (relative or not)."""
    return found if given.is_absolute() else given.parent / found.name
