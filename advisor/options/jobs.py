"""The options of the lock, advise and fix jobs, beside :class:`~advisor.options.ResolveOptions`.

Just below the composition root: values the CLI, the server and Python callers build
(:class:`LockOptions`: where a lock goes; :class:`AdviseOptions`: how an advice searches and
what it knows; :class:`FixOptions`; :class:`ReportOptions`: how and where ``advise`` reports)
and the jobs of :mod:`advisor.api` take. Each is checked when it is made (one rule for all
three callers: a bad value raises :class:`~advisor.errors.InputError`, which the CLI names by
its flag), and derives the small values the layers below take. Nothing here reads a file;
:meth:`ReportOptions.publish` writes the report a job rendered.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.errors import InputError, InvalidOption
from advisor.models import LockFormat, RecommendationType

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime
    from pathlib import Path

    from advisor.advice.engine import AdviceSettings
    from advisor.advice.remedy import RemedyOptions
    from advisor.advice.verification import StackVerifier
    from advisor.config import AdvisorConfig
    from advisor.knowledge.store import KnowledgeStore
    from advisor.report import ReportFormat
    from advisor.resolution.search import SearchOptions
    from advisor.scoring.advice import Advice
    from advisor.scoring.base import KnowledgeView, Recommendation

__all__ = ["AdviseOptions", "FixOptions", "LockOptions", "ReportOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOptions:
    """Where a lock goes and how it is written.

    ``output``: the lock's path (``None``: ``pylock.toml`` or ``requirements.txt`` beside the
    first input; ``Path("-")``: written nowhere, the text is in the outcome); ``format``:
    the lock format (a :class:`~advisor.models.LockFormat`, or its name: any other raises
    :class:`~advisor.errors.InputError`); ``dry_run``: render, write nothing; ``command``:
    the command line a requirements lock names in its header.
    """

    output: Path | None = None  # None: next to the first input; Path("-"): stdout
    format: LockFormat = LockFormat.PYLOCK
    dry_run: bool = False
    command: str = "advisor lock"
    #: requirements format: the index options (pip-compile style); an image context that
    #: installs from its vendored wheels/ leaves them out (the build cannot reach them)
    index_lines: bool = True

    def __post_init__(self) -> None:
        try:
            fmt = LockFormat(self.format)
        except ValueError:
            known = ", ".join(LockFormat)
            raise InputError(f"unknown lock format {self.format!r}; known: {known}") from None
        object.__setattr__(self, "format", fmt)  # a name given from Python becomes the enum


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviseOptions:
    """How an advice searches (``count`` stacks kept, ``budget`` resolutions, ``time_limit``
    seconds, ``seed``), for which ``recommendation`` (``None``: the options' type unless
    ``latest``, else the project's, else ``stable``:
    :func:`advisor.options.resolve.advised_recommendation`), what it knows, and what it
    compares with.

    Raises :class:`~advisor.errors.InvalidOption` for a search that could keep no stack, run
    no resolution or take no time (``count`` or ``budget`` below 1, ``time_limit`` not above
    0), and :class:`~advisor.errors.InputError` for an unknown recommendation type.
    """

    count: int = 3
    budget: int = 12
    time_limit: float = 30.0
    seed: int = 0
    recommendation: RecommendationType | None = None  # a name is parsed (case ignored)
    knowledge: str | None = None  # store URL (None: ADVISOR_KNOWLEDGE or the default store)
    knowledge_dirs: tuple[Path, ...] = ()  # curated folders read directly (no sync needed)
    osv: Path | None = None  # an OSV dump to use instead of the store's advisories
    baseline: Path | None = None  # the lock to compare with (default: the output path)
    allow_sdist: bool = False  # --allow-sdist: testing may pick direct versions without wheels
    strict: bool = False  # --strict: an advisory no release fixes fails the advice
    verify: bool = False  # install and import each accepted stack here first (--verify)
    #: an open store read instead of ``knowledge``'s: the team server's, shared by its jobs
    #: (never closed by the advice; no curated folder synced into it: its owner does that)
    shared_store: KnowledgeStore | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        # the one rule of the search's bounds: the CLI and the server build this value too
        if self.count < 1:
            raise InvalidOption(option="count", value=self.count, expected="at least 1")
        if self.budget < 1:
            raise InvalidOption(option="budget", value=self.budget, expected="at least 1")
        if not self.time_limit > 0:  # NaN too
            raise InvalidOption(
                option="time_limit", value=self.time_limit, expected="more than 0 seconds"
            )
        if self.recommendation is not None:
            kind = RecommendationType.parse(self.recommendation)
            object.__setattr__(self, "recommendation", kind)

    def settings(
        self,
        kind: Recommendation,
        *,
        knowledge: KnowledgeView,
        config: AdvisorConfig,
        now: datetime,
        advisories_as_of: str | None,
        verifier: StackVerifier | None,
    ) -> AdviceSettings:
        """What every target of this advice of ``kind`` is judged by
        (:class:`advisor.advice.engine.AdviceSettings`): the search's bounds, ``strict``, the
        project's policy (``config``)."""
        from advisor.advice.engine import AdviceSettings

        return AdviceSettings(
            recommendation=kind,
            knowledge=knowledge,
            policy=config.policy,
            now=now,
            strict=self.strict,
            search=self.search_options(),
            advisories_as_of=advisories_as_of,
            verifier=verifier,
        )

    def search_options(self) -> SearchOptions:
        """The stack search's bounds (:class:`advisor.resolution.search.SearchOptions`)."""
        from advisor.resolution.search import SearchOptions

        return SearchOptions(
            count=self.count, budget=self.budget, time_limit=self.time_limit, seed=self.seed
        )

    def searched(self, kind: Recommendation) -> Recommendation:
        """``kind`` as this advice searches it: with sdists allowed under ``allow_sdist``."""
        from advisor.scoring.types import with_sdists

        return with_sdists(kind) if self.allow_sdist else kind

    def curated_folders(self, bundled: Path | None) -> tuple[tuple[Path, str], ...]:
        """The curated folders an advice syncs into its store first, each with the source
        prefix its facts get: ``knowledge_dirs``, then the checkout's ``bundled`` folder
        (:data:`~advisor.knowledge.bundled.CURATED_PREFIX`); none into a
        :attr:`shared_store`, which its owner keeps synced."""
        from advisor.knowledge.bundled import CURATED_PREFIX

        if self.shared_store is not None:
            return ()
        folders = dict.fromkeys([*self.knowledge_dirs, *([bundled] if bundled else [])])
        return tuple((f, CURATED_PREFIX if f == bundled else "knowledge") for f in folders)


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

    def lock_options(self, path: Path, fmt: LockFormat) -> LockOptions:
        """How the fixed lock is written: over ``path``, in its own format ``fmt``."""
        return LockOptions(output=path, format=fmt, dry_run=self.dry_run, command="advisor fix")

    def knowledge_options(self) -> AdviseOptions:
        """Where the advisories come from, as ``advise`` reads them."""
        return AdviseOptions(knowledge=self.knowledge, osv=self.osv)

    def remedy_options(self, recommendation: RecommendationType) -> RemedyOptions:
        """What the remedy may change, ordered by the lock's ``recommendation``."""
        from advisor.advice.remedy import RemedyOptions

        return RemedyOptions(allow_major=self.allow_major, recommendation=recommendation)


def _text() -> ReportFormat:
    # the report layer is loaded only when a report is asked for (not by a plain lock)
    from advisor.report import ReportFormat

    return ReportFormat.TEXT


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportOptions:
    """How ``advise`` reports: ``format``, ``verbose`` (text: every pin with all its terms),
    and ``path``, a file the report is written to (atomically) instead of being returned
    only (``None`` or ``Path("-")``: not written)."""

    format: ReportFormat = dataclasses.field(default_factory=_text)
    verbose: bool = False
    path: Path | None = None

    @property
    def to_file(self) -> bool:
        """Whether the report goes to a file (not to stdout)."""
        return self.path is not None and str(self.path) != "-"

    def render(self, advices: Iterable[Advice]) -> str:
        """``advices`` rendered as asked (:func:`advisor.report.render_advices`)."""
        from advisor.report import render_advices

        return render_advices(advices, fmt=self.format, verbose=self.verbose)

    def publish(self, text: str) -> str:
        """``text`` (a rendered report: an advice's or a runtime comparison's) written to
        :attr:`path` when it goes to a file (atomically, with a final newline); returns
        ``text``. The one place a report is written. Raises
        :class:`~advisor.errors.UnwritableOutput`."""
        from advisor.lockfile.write import write_output

        if self.to_file and self.path is not None:
            write_output(self.path, text + "\n")
        return text
