"""The steps every resolving job shares: the indexes, the targets, the session, the planner.

Part of the composition root: :class:`~advisor.options.ResolveOptions` (defined one layer
below, :mod:`advisor.options.resolve`, and re-exported here) derives the small value each
layer takes; the functions here add what only the root holds (pip's configuration, the
process environment, the clock, the knowledge store) and pass them on to the index session
(:mod:`advisor.index.session`), the targets (:mod:`advisor.environment.targets`) and the
planner (:mod:`advisor.advice.planner`). No lower layer sees a ``ResolveOptions``.
"""

from __future__ import annotations

import dataclasses
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from advisor.config import load_config
from advisor.environment.targets import lock_table as target_table
from advisor.events import SILENT
from advisor.index.session import IndexConfig, Session
from advisor.index.session import default_cache_dir as default_cache_dir
from advisor.models import IndexStrategy, RecommendationType
from advisor.options.resolve import ResolveOptions, index_choices

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from advisor.advice.planner import Planner
    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.index.settings import PipSettings
    from advisor.options.prepared import Prepared
    from advisor.request import AdviceRequest
    from advisor.scoring.base import KnowledgeView

__all__ = [
    "IndexConfig",
    "IndexStrategy",
    "RecommendationType",
    "ResolveOptions",
    "Session",
    "build_targets",
    "default_cache_dir",
    "index_config",
    "load_config",
    "open_session",
    "planning",
    "target_table",
]


def index_config(
    opts: ResolveOptions,
    request: AdviceRequest,
    config: AdvisorConfig,
    environ: Mapping[str, str],
    cwd: Path,
    *,
    pip: PipSettings | None = None,
) -> tuple[IndexConfig, PipSettings]:
    """Where packages come from, by priority: the command line, the inputs' own options,
    ``[tool.advisor]``, pip's configuration (``pip``, read here when not given)."""
    from advisor.index.session import choose_indexes
    from advisor.index.settings import default_index_url, load_pip_settings

    pip = pip or load_pip_settings(environ=environ, cwd=cwd)
    choices = index_choices(opts, request.index_options, config, pip)
    strategy = opts.index_strategy or config.index_strategy
    index = choose_indexes(
        choices, default_index=default_index_url(), strategy=strategy, pinned=config.pinned_indexes
    )
    return index, pip


def build_targets(
    opts: ResolveOptions, config: AdvisorConfig, host: RuntimeEnvironment
) -> tuple[RuntimeEnvironment, ...]:
    """The target environments: named ``--env`` entries, else one from --python/--platform."""
    from advisor.environment.targets import build_targets as targets_of

    spec = opts.target_spec()
    return targets_of(spec, named=config.environments, where=config.source, host=host)


def open_session(
    opts: ResolveOptions,
    index: IndexConfig,
    pip: PipSettings,
    environ: Mapping[str, str],
    *,
    deadline: float | None = None,
    events: ProgressEvents = SILENT,
) -> Session:
    """The index session of one command over ``index``, with its cache (none with
    ``--no-cache``), reporting to ``events``; ``deadline`` (a ``time.monotonic()`` instant)
    stops sdist builds that would run past it."""
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
    """The planner of ``prep``'s request over one index session (:func:`open_session`), and
    the session: the step every resolving job takes. With a cooldown, its advisories (what
    lets a security fix through) come from ``knowledge`` (advise's view), else from the
    knowledge store (``ADVISOR_KNOWLEDGE`` or the default one) when it exists: it is never
    created here (without one, the cooldown says that no fix is let through). On the way
    out the session is closed (its builds stopped first on an error), then the store."""
    from advisor.advice.cooldown import build_cooldown
    from advisor.advice.planner import Planner
    from advisor.knowledge.store import default_store_url
    from advisor.scoring.knowledge_view import advisory_view

    with ExitStack() as stack:
        cooldown = None
        if opts.cooldown_days is not None:
            view = knowledge or stack.enter_context(advisory_view(default_store_url(prep.environ)))
            cooldown = build_cooldown(
                opts.cooldown_days,
                now=now or datetime.now(UTC),
                policy=prep.config.policy,
                knowledge=view,
                env=prep.targets[0],
            )
        session = stack.enter_context(
            open_session(opts, prep.index, prep.pip, prep.environ, deadline=deadline, events=events)
        )
        options = dataclasses.replace(opts.plan_options(), cooldown=cooldown)
        planner = Planner(
            prep.resolvable, finder=session.finder, metadata=session.metadata, options=options
        )
        yield planner, session
