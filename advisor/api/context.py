"""The steps every job shares: this process (:func:`here`), the index session, the planner:
what only the root holds added to what :class:`~advisor.options.ResolveOptions` decides.
"""

from __future__ import annotations

import os
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.environment.targets import lock_table as target_table
from advisor.events import SILENT
from advisor.index.session import IndexConfig
from advisor.index.session import default_cache_dir as default_cache_dir
from advisor.options.resolve import ResolveOptions, build_targets

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from advisor.advice.planner import Planner
    from advisor.events import ProgressEvents
    from advisor.index.session import Session
    from advisor.index.settings import PipSettings
    from advisor.options.prepared import Prepared
    from advisor.scoring.base import KnowledgeView

__all__ = [
    "Here",
    "IndexConfig",
    "ResolveOptions",
    "build_targets",
    "default_cache_dir",
    "here",
    "open_session",
    "planning",
    "target_table",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Here:
    """What a job reads of this process: its environment (a copy), clock and folder."""

    environ: dict[str, str]
    now: datetime
    folder: Path | None = None

    @property
    def cwd(self) -> Path:
        """The folder given, else this process's (read only when asked: it may be gone)."""
        return Path.cwd() if self.folder is None else self.folder

    @property
    def today(self) -> str:
        """:attr:`now`'s day, ISO (what observations and recipes are dated with)."""
        return self.now.date().isoformat()


def here(
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    now: datetime | None = None,
) -> Here:
    """Each of ``environ``, ``cwd`` and ``now`` as given, else this process's (the one place
    the jobs' defaults are read)."""
    environ = dict(os.environ if environ is None else environ)
    return Here(environ=environ, now=datetime.now(UTC) if now is None else now, folder=cwd)


def _store_url(environ: Mapping[str, str]) -> str:
    from advisor.knowledge.store import default_store_url

    return default_store_url(environ)


def open_session(
    opts: ResolveOptions,
    index: IndexConfig,
    pip: PipSettings,
    environ: Mapping[str, str],
    *,
    deadline: float | None = None,
    events: ProgressEvents = SILENT,
) -> Session:
    """:func:`advisor.index.session.open_session`, with its cache unless ``--no-cache``."""
    from advisor.index.session import open_cache
    from advisor.index.session import open_session as open_index

    cache = None if opts.no_cache else open_cache(opts.cache_dir, environ)
    options = opts.session_options()
    return open_index(
        index, pip, options=options, cache=cache, environ=environ, deadline=deadline, events=events
    )


@contextmanager
def planning(
    prep: Prepared,
    opts: ResolveOptions,
    *,
    knowledge: KnowledgeView | None = None,
    now: datetime | None = None,
    deadline: float | None = None,
    events: ProgressEvents = SILENT,
) -> Iterator[tuple[Planner, Session]]:
    """The planner of ``prep``'s request over one index session, and the session (both
    closed on the way out); :func:`advisor.advice.cooldown.open_cooldown` decides the rest."""
    from advisor.advice.cooldown import open_cooldown
    from advisor.advice.planner import Planner

    with ExitStack() as stack:
        cooldown = stack.enter_context(open_cooldown(
            opts.cooldown_days, now=now or datetime.now(UTC), policy=prep.config.policy,
            knowledge=knowledge, store_url=partial(_store_url, prep.environ), env=prep.targets[0],
        ))  # fmt: skip
        session = stack.enter_context(
            open_session(opts, prep.index, prep.pip, prep.environ, deadline=deadline, events=events)
        )
        options = opts.plan_options(cooldown)
        yield Planner(prep.resolvable, finder=session.finder, metadata=session.metadata,
                      options=options), session  # fmt: skip
