"""A lock of either format: where it goes, its text with its record, what it changed, and the
pins of the lock it replaces.

The output layer's one entry point for the lock and advise jobs (and an image's lock): the
composition root gives the resolution, the :class:`~advisor.lockfile.record.LockRecord` and
the format; the format modules (:mod:`.pylock`, :mod:`.requirements`) do the rendering.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.lockfile.pylock import LockMeta, read_pylock, render_pylock
from advisor.lockfile.requirements import (
    read_requirements_lock,
    render_requirements,
    requirements_header,
)
from advisor.models import LockFormat

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.lockfile.record import LockRecord
    from advisor.models import Resolution

__all__ = [
    "LockText",
    "baseline_pins",
    "changed_pins",
    "default_lock_path",
    "previous_pins",
    "render_lock",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockText:
    """What a lock's text says besides its pins: its ``format``; the PEP 508 ``environments``
    markers of its targets and the inputs' ``requires_python`` (pylock); the ``command`` its
    header names and, when ``index_lines``, the ``indexes`` and ``find_links`` (without
    credentials) written as pip options after it (requirements)."""

    format: LockFormat = LockFormat.PYLOCK
    environments: tuple[str, ...] = ()
    requires_python: str | None = None
    command: str = "advisor lock"
    index_lines: bool = True
    indexes: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()


def default_lock_path(first_input: Path, lock_format: LockFormat) -> Path:
    """Where a lock goes when not told: ``pylock.toml`` or ``requirements.txt`` beside the
    first input."""
    name = "pylock.toml" if lock_format == LockFormat.PYLOCK else "requirements.txt"
    return Path(first_input).resolve().parent / name


def render_lock(resolution: Resolution, record: LockRecord, *, text: LockText) -> str:
    """The lock of ``resolution`` with ``record`` (its ``input_digest`` set). Raises
    :class:`~advisor.errors.InputError` for an unknown format."""
    digest = record.input_digest or ""
    if text.format == "pylock":
        meta = LockMeta(
            environments=text.environments,
            requires_python=text.requires_python,
            input_digest=digest,
            tool=record.to_table(),
        )
        return render_pylock(resolution, meta)
    if text.format == "requirements":
        rendered = render_requirements(resolution, header=requirements_header(text.command, record))
        return _with_index_lines(rendered, text) if text.index_lines else rendered
    raise InputError(f"unknown lock format {text.format!r}: use pylock or requirements")


def _with_index_lines(rendered: str, text: LockText) -> str:
    """Index options after the header comment of a requirements lock, as pip-compile writes
    them: installing and re-locking it then use the same indexes."""
    lines = [
        f"{'--index-url' if i == 0 else '--extra-index-url'} {url}"
        for i, url in enumerate(text.indexes)
    ]
    if not text.indexes:
        lines.append("--no-index")
    lines.extend(f"--find-links {url}" for url in text.find_links)
    head, body = [], rendered.splitlines(keepends=True)
    while body and body[0].startswith("#"):
        head.append(body.pop(0))
    return "".join(head) + "\n".join(lines) + "\n\n" + "".join(body)


def changed_pins(
    previous: Mapping[NormalizedName, Version], resolution: Resolution
) -> tuple[tuple[str, str | None, str | None], ...]:
    """The pins of ``resolution`` that differ from ``previous`` (none without one):
    (name, old version or ``None``, new version)."""
    return tuple(
        (str(p.name), str(previous[p.name]) if p.name in previous else None, str(p.version))
        for p in resolution.pins
        if previous and previous.get(p.name) != p.version
    )


def previous_pins(existing: Path | None) -> dict[NormalizedName, Version]:
    """The pins of the lock being replaced, of either format (``{}`` when there is none)."""
    if existing is None or not existing.is_file():
        return {}
    if existing.name.endswith(".toml"):
        return dict(read_pylock(existing).pins)
    return dict(read_requirements_lock(existing))


def baseline_pins(candidates: Sequence[Path | None]) -> dict[NormalizedName, Version] | None:
    """The pins of the first of ``candidates`` given, when it is a ``pylock.toml`` file
    (an advice's baseline: the lock it is compared with); ``None`` otherwise."""
    path = next((Path(c) for c in candidates if c is not None), None)
    if path is None or not path.is_file() or path.suffix != ".toml":
        return None
    return {p.name: p.version for p in read_pylock(path).packages if p.version is not None}
