"""The advice endpoints' calls as the offline jobs' options: the server's half of the wire.

Sits between the routes' calls (:mod:`.calls`, :mod:`.sweep_calls`) and the composition
root's :class:`~advisor.server.calls.AdviceJobs` (``advisor.api.server_jobs.ServerJobs``),
which runs the offline jobs with what these return; the client's half, the options made into
a call, is :mod:`.requests`. Whatever a call says, the run resolves from the server's own
indexes and cache (:func:`served`) and reads the server's own open store (shared by its
jobs, never one opened per request): a client never makes the server fetch a URL or open
a store of its choice. Values only, but for the spec files a
sweep's planning wrote (:func:`planned_jobs` reads them back).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from advisor.check.run import CheckOptions
    from advisor.knowledge.store import KnowledgeStore
    from advisor.observe.plan import SweepOptions
    from advisor.options.jobs import AdviseOptions, LockOptions
    from advisor.options.resolve import ResolveOptions
    from advisor.server.calls import CheckCall, LockCall
    from advisor.server.settings import ServerSettings
    from advisor.server.sweep_calls import PlannedJob, SweepCall

__all__ = [
    "RENDER_MARGIN",
    "LockRun",
    "check_run",
    "explain_options",
    "lock_run",
    "planned_jobs",
    "search_options",
    "served",
    "sweep_options",
    "time_left",
]

#: seconds kept back from an advice search's time limit: the lock is rendered after it
RENDER_MARGIN = 5.0


def served(settings: ServerSettings, opts: ResolveOptions | None = None) -> ResolveOptions:
    """``opts`` (default: the defaults) resolving from the server's indexes and cache only,
    whatever they named (no find-links, no ``--no-index``)."""
    from advisor.options.resolve import ResolveOptions

    indexes, cache = settings.index_urls, settings.cache_dir
    return dataclasses.replace(
        opts or ResolveOptions(),
        index_url=indexes[0] if indexes else None,
        extra_index_urls=indexes[1:],
        find_links=(),
        no_index=False,
        cache_dir=Path(cache) if cache else None,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class LockRun:
    """A lock or advise call as the offline job's arguments, over the folder its files were
    written to."""

    inputs: tuple[Path, ...]
    opts: ResolveOptions
    out: LockOptions


def lock_run(call: LockCall, *, folder: Path, settings: ServerSettings) -> LockRun:
    """``call``'s inputs, options and output in ``folder``, resolved from the server's
    indexes; a dry run (the lock goes back to the client, nothing stays on the server)."""
    from advisor.models import LockFormat, RecommendationType
    from advisor.options.jobs import LockOptions

    opts = dataclasses.replace(
        served(settings),
        constraints=tuple(folder / c for c in call.constraints),
        overrides=tuple(folder / o for o in call.overrides),
        extras=call.extras,
        groups=call.groups,
        python=call.target.python,
        platform=call.target.platform,
        implementation=call.target.implementation,
        cuda=call.target.cuda,
        envs=call.target.envs,
        pre=call.pre,
        only_binary=call.only_binary,
        recommendation=RecommendationType.parse(call.recommendation or "latest"),
        upgrade=call.upgrade,
        upgrade_packages=call.upgrade_packages,
    )
    output = Path("-") if call.output == "-" else folder / call.output
    out = LockOptions(
        output=output, format=LockFormat(call.format), dry_run=True, command=call.command
    )
    return LockRun(inputs=tuple(folder / i for i in call.inputs), opts=opts, out=out)


def time_left(deadline: float, now: float) -> float:
    """Seconds a search may take before ``deadline`` (``now``: the same clock), the
    rendering's :data:`RENDER_MARGIN` kept back; at least one."""
    return max(1.0, deadline - now - RENDER_MARGIN)


def search_options(call: LockCall, *, left: float, store: KnowledgeStore) -> AdviseOptions:
    """``call``'s search (its bounds and recommendation) over the server's open ``store``,
    its time limit cut to ``left``."""
    from advisor.models import RecommendationType
    from advisor.options.jobs import AdviseOptions

    search, kind = call.search, call.recommendation
    return AdviseOptions(
        count=search.count,
        budget=search.budget,
        time_limit=min(search.time_limit, left),
        seed=search.seed,
        recommendation=RecommendationType.parse(kind) if kind else None,
        shared_store=store,
    )


def explain_options(
    settings: ServerSettings, *, left: float, store: KnowledgeStore
) -> AdviseOptions:
    """An explanation's advice over the server's open ``store`` (the lock's graph reads
    the store at its URL), within ``left`` seconds."""
    from advisor.options.jobs import AdviseOptions

    return AdviseOptions(knowledge=settings.store_url, shared_store=store,
                         time_limit=min(AdviseOptions().time_limit, left))  # fmt: skip


def check_run(call: CheckCall, *, store: KnowledgeStore) -> tuple[tuple[Path, ...], CheckOptions]:
    """The paths a check call names (relative to its folder) and its options, over the
    server's open ``store``."""
    from advisor.check.run import CheckOptions

    opts = CheckOptions(
        shared_store=store, inputs=tuple(Path(i) for i in call.inputs), only=frozenset(call.only)
    )
    return tuple(Path(p) for p in call.paths), opts


def sweep_options(
    call: SweepCall, *, settings: ServerSettings
) -> tuple[SweepOptions, ResolveOptions]:
    """What the sweep measures, as ``advisor observe sweep`` takes it, and the options its
    versions are picked with (the server's indexes, the call's Python)."""
    from advisor.observe.plan import SweepOptions

    sweep = SweepOptions(
        count=call.versions,
        probes=call.probes,
        repeat=call.repeat,
        threads=call.threads,
        timeout=call.timeout,
    )
    return sweep, dataclasses.replace(served(settings), python=call.python)


def planned_jobs(specs: Sequence[Path]) -> tuple[PlannedJob, ...]:
    """The job spec files a sweep's planning wrote, as the jobs sent to the workers (each
    spec's text travels: a worker has no shared filesystem)."""
    from advisor.observe.sweep import read_spec
    from advisor.server.sweep_calls import PlannedJob

    return tuple(
        PlannedJob(requirement=read_spec(p).requirement, spec=p.read_text("utf-8")) for p in specs
    )
