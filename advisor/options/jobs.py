"""The options of the lock, advise and fix jobs, beside :class:`~advisor.options.ResolveOptions`.

Just below the composition root: values the CLI and Python callers build
(:class:`LockOptions`: where a lock goes; :class:`AdviseOptions`: how an advice searches and
what it knows; :class:`FixOptions`; :class:`ReportOptions`: how and where ``advise`` reports)
and the jobs of :mod:`advisor.api` take. Values only: nothing here reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.models import LockFormat
from advisor.report import ReportFormat

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["AdviseOptions", "FixOptions", "LockOptions", "ReportOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOptions:
    """Where a lock goes and how it is written.

    ``output``: the lock's path (``None``: ``pylock.toml`` or ``requirements.txt`` beside the
    first input; ``Path("-")``: written nowhere, the text is in the outcome); ``format``:
    the lock format; ``dry_run``: render, write nothing; ``command``: the command line a
    requirements lock names in its header.
    """

    output: Path | None = None  # None: next to the first input; Path("-"): stdout
    format: LockFormat = LockFormat.PYLOCK
    dry_run: bool = False
    command: str = "advisor lock"
    #: requirements format: the index options (pip-compile style); an image context that
    #: installs from its vendored wheels/ leaves them out (the build cannot reach them)
    index_lines: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviseOptions:
    """How an advice searches (``count`` stacks kept, ``budget`` resolutions, ``time_limit``
    seconds, ``seed``), what it knows, and what it compares with."""

    count: int = 3
    budget: int = 12
    time_limit: float = 30.0
    seed: int = 0
    knowledge: str | None = None  # store URL (None: ADVISOR_KNOWLEDGE or the default store)
    knowledge_dirs: tuple[Path, ...] = ()  # curated folders read directly (no sync needed)
    osv: Path | None = None  # an OSV dump to use instead of the store's advisories
    baseline: Path | None = None  # the lock to compare with (default: the output path)
    allow_sdist: bool = False  # --allow-sdist: testing may pick direct versions without wheels
    strict: bool = False  # --strict: an advisory no release fixes fails the advice
    verify: bool = False  # install and import each accepted stack here first (--verify)


@dataclass(frozen=True, slots=True, kw_only=True)
class FixOptions:
    """``allow_major``: a fix may be a new major version; ``dry_run``: write nothing;
    ``knowledge``/``osv``: where advisories come from (as for ``advise``); ``inputs``: what
    a requirements lock was made from (default: its ``.in`` sibling)."""

    allow_major: bool = False
    dry_run: bool = False
    knowledge: str | None = None
    osv: Path | None = None
    inputs: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportOptions:
    """How ``advise`` reports: ``format``, ``verbose`` (text: every pin with all its terms),
    and ``path``, a file the report is written to (atomically) instead of being returned
    only (``None`` or ``Path("-")``: not written)."""

    format: ReportFormat = ReportFormat.TEXT
    verbose: bool = False
    path: Path | None = None

    @property
    def to_file(self) -> bool:
        """Whether the report goes to a file (not to stdout)."""
        return self.path is not None and str(self.path) != "-"
