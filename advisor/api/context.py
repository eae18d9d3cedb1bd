"""What every resolving command shares: options, index configuration, targets, the session.

Part of the composition root: reads pip's configuration and the process environment (passed
in as ``environ``), builds the target runtime environments and opens the index session
(fetcher, finder, metadata) that the resolver uses, with the progress events its caller gave.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from advisor.config import load_config
from advisor.errors import InputError, UnusableCacheDir
from advisor.events import SILENT
from advisor.models import IndexStrategy, RecommendationType

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from advisor.advice.planner import Planner
    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.index.cache import Cache
    from advisor.index.fetch import Fetcher
    from advisor.index.finder import PackageFinder
    from advisor.index.metadata import MetadataFetcher
    from advisor.index.settings import PipSettings
    from advisor.policy import Policy
    from advisor.request import AdviceRequest, RequirementLine
    from advisor.resolution.cooldown import Cooldown
    from advisor.scoring.base import KnowledgeView

__all__ = [
    "IndexConfig",
    "IndexStrategy",
    "RecommendationType",
    "ResolveOptions",
    "Session",
    "build_targets",
    "cooldown_for",
    "default_cache_dir",
    "index_config",
    "load_config",
    "make_planner",
    "open_cache",
    "open_session",
    "pip_constraints",
    "target_table",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexConfig:
    """Where packages come from. ``indexes`` keep credentials (used, never written)."""

    indexes: tuple[str, ...]
    find_links: tuple[str, ...] = ()
    strategy: IndexStrategy = IndexStrategy.FIRST_INDEX
    pinned: Mapping[str, str] = dc_field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The configuration as written to a lock or digest: no credentials."""
        from advisor.urls import redact_url

        return {
            "indexes": [redact_url(u) for u in self.indexes],
            "find-links": [redact_url(u) for u in self.find_links],
            "strategy": str(self.strategy),
            "pinned": {k: redact_url(v) for k, v in sorted(self.pinned.items())},
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveOptions:
    """Options every resolving command takes (``lock``, later ``advise``)."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    constraints: tuple[Path, ...] = ()
    overrides: tuple[Path, ...] = ()
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    python: str | None = None
    platform: str | None = None
    implementation: str | None = None
    cuda: str | None = None  # the target's CUDA (X.Y): decides +cuXYZ variants
    envs: tuple[str, ...] = ()
    index_strategy: IndexStrategy | None = None
    pre: bool = False
    pre_packages: tuple[str, ...] = ()
    exclude_newer: datetime | None = None
    cooldown_days: float | None = None  # --cooldown, or a relative --exclude-newer
    offline: bool = False
    no_cache: bool = False
    refresh: bool = False
    cache_dir: Path | None = None
    only_binary: tuple[str, ...] = ()
    no_build: bool = False
    build_timeout: float = 300.0  # seconds per sdist metadata build
    recommendation: RecommendationType = RecommendationType.LATEST
    workload: str | None = None  # performance: the probes that matter (--workload)
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()
    preferences_from: Path | None = None


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """``ADVISOR_CACHE_DIR`` or the platform's user cache directory."""
    env = environ.get("ADVISOR_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("stack-advisor"))


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
    from advisor.index.settings import default_index_url, load_pip_settings

    if pip is None:
        pip = load_pip_settings(environ=environ, cwd=cwd)
    file_opts = request.index_options
    explicit = bool(opts.index_url or opts.extra_index_urls or opts.no_index)
    if explicit:
        primary = None if opts.no_index else opts.index_url
        extras = () if opts.no_index else opts.extra_index_urls
        if primary is None and not opts.no_index:
            primary = file_opts.index_url or config.index_url or pip.index_url
            primary = primary or default_index_url()
    elif file_opts.index_url or file_opts.extra_index_urls or file_opts.no_index:
        primary = None if file_opts.no_index else file_opts.index_url
        if primary is None and not file_opts.no_index:
            primary = config.index_url or pip.index_url or default_index_url()
        extras = () if file_opts.no_index else file_opts.extra_index_urls
    elif config.index_url or config.extra_index_urls:
        primary = config.index_url or pip.index_url or default_index_url()
        extras = config.extra_index_urls
    else:
        no_index = pip.no_index
        primary = None if no_index else (pip.index_url or default_index_url())
        extras = () if no_index else tuple(pip.extra_index_urls)
    indexes = tuple(dict.fromkeys(([primary] if primary else []) + list(extras)))
    find_links = tuple(
        dict.fromkeys(
            [*opts.find_links, *file_opts.find_links, *config.find_links, *pip.find_links]
        )
    )
    strategy = IndexStrategy(
        opts.index_strategy or config.index_strategy or IndexStrategy.FIRST_INDEX
    )
    return (
        IndexConfig(
            indexes=indexes,
            find_links=find_links,
            strategy=strategy,
            pinned=dict(config.pinned_indexes),
        ),
        pip,
    )


def pip_constraints(
    pip: PipSettings, *, environ: Mapping[str, str], cwd: Path
) -> tuple[RequirementLine, ...]:
    """The requirements of the constraint files pip's configuration names (its
    ``constraint`` setting), in file order; ``()`` when none is configured.

    Raises :class:`~advisor.errors.ConfigError` naming the setting (``PIP_CONSTRAINT`` or
    the configuration file) when a file is missing or invalid (pip refuses to install
    then), or remote (pip would fetch it; the advisor reads local files only).
    """
    from advisor.errors import ConfigError
    from advisor.request import parse_requirements_file
    from advisor.urls import redact_url

    lines: list[RequirementLine] = []
    for path in pip.constraints:
        if "://" in path:
            raise ConfigError(
                f"pip's constraint setting names a remote file, {redact_url(path)} "
                f"({pip.constraint_source}); the advisor reads local constraint files only: "
                "download it and name the copy"
            )
        try:
            parsed = parse_requirements_file(
                Path(path), role="constraints", environ=environ, cwd=cwd
            )
        except InputError as exc:
            raise ConfigError(
                f"{exc} (a constraint file of pip's configuration: {pip.constraint_source})"
            ) from exc
        lines.extend(parsed.constraints)
    return tuple(lines)


def build_targets(
    opts: ResolveOptions, config: AdvisorConfig, host: RuntimeEnvironment
) -> tuple[RuntimeEnvironment, ...]:
    """The target environments: named ``--env`` entries, else one from --python/--platform."""
    from advisor.environment import RuntimeEnvironment

    if opts.envs:
        out = []
        for name in opts.envs:
            spec = config.environments.get(name)
            if spec is None:
                known = ", ".join(sorted(config.environments)) or "none are configured"
                where = config.source or "pyproject.toml [tool.advisor] or advisor.toml"
                raise InputError(f"unknown environment {name!r} (in {where}: {known})")
            out.append(
                RuntimeEnvironment.for_target(
                    host=host,
                    name=name,
                    python=opts.python or spec.python,
                    platform=opts.platform or spec.platform,
                    implementation=opts.implementation or spec.implementation,
                    cuda=opts.cuda or spec.cuda,
                )
            )
        return tuple(out)
    return (
        RuntimeEnvironment.for_target(
            host=host,
            python=opts.python,
            platform=opts.platform,
            implementation=opts.implementation,
            cuda=opts.cuda,
        ),
    )


@dataclass(slots=True)
class Session:
    """The index client of one run; ``events`` is where its parts (and the resolutions run
    over it) report progress."""

    fetcher: Fetcher
    finder: PackageFinder
    metadata: MetadataFetcher
    events: ProgressEvents = SILENT

    def cancel(self) -> None:
        """Stop every running sdist build now (an interrupt or an error): kill its process
        group and remove its folder. Call :meth:`close` after."""
        self.metadata.cancel()

    def close(self) -> None:
        self.metadata.close()
        self.fetcher.close()


def open_cache(opts: ResolveOptions, environ: Mapping[str, str]) -> Cache | None:
    """The on-disk cache of a session (``None`` with ``--no-cache``), its root created.

    A directory the user chose (``opts.cache_dir``, ``ADVISOR_CACHE_DIR``) that cannot hold
    a cache raises :class:`~advisor.errors.UnusableCacheDir` (exit 2); the default one is
    warned about and the run goes on without a cache (it still works, only slower)."""
    from advisor.index.cache import Cache

    if opts.no_cache:
        return None
    chosen = opts.cache_dir or (
        Path(environ["ADVISOR_CACHE_DIR"]) if environ.get("ADVISOR_CACHE_DIR") else None
    )
    cache = Cache(chosen or default_cache_dir(environ))
    reason = cache.prepare_root()
    if reason is None:
        return cache
    if chosen is not None:
        raise UnusableCacheDir(path=str(chosen), reason=reason)
    _log.warning(
        "the cache directory %s cannot be used: %s; running without a cache "
        "(--cache-dir or ADVISOR_CACHE_DIR chooses another)",
        cache.root,
        reason,
    )
    return None


def open_session(
    opts: ResolveOptions,
    index: IndexConfig,
    pip: PipSettings,
    environ: Mapping[str, str],
    *,
    deadline: float | None = None,
    events: ProgressEvents = SILENT,
) -> Session:
    """The index session of one command, reporting to ``events``. ``deadline`` (a
    ``time.monotonic()`` instant, from a command's time limit) stops sdist builds that would
    run past it."""
    from advisor.index.builds import BuildSettings, host_interpreter
    from advisor.index.fetch import Fetcher, NetworkSettings
    from advisor.index.finder import PackageFinder
    from advisor.index.metadata import MetadataFetcher

    cache = open_cache(opts, environ)
    settings = NetworkSettings(
        timeout=float(pip.timeout or 15.0),
        retries=int(pip.retries if pip.retries is not None else 5),
        cert=pip.cert,
        client_cert=pip.client_cert,
        trusted_hosts=tuple(pip.trusted_hosts),
        credentials=pip.credentials,
    )
    fetcher = Fetcher(settings, events=events)
    finder = PackageFinder(
        fetcher=fetcher,
        indexes=index.indexes,
        find_links=index.find_links,
        strategy=IndexStrategy(index.strategy),
        cache=cache,
        offline=opts.offline,
        refresh=opts.refresh,
        pinned={canonicalize_name(k): v for k, v in index.pinned.items()},
    )
    builds = BuildSettings(
        allow=not opts.no_build,
        python=sys.executable,
        interpreter=host_interpreter(),
        timeout=opts.build_timeout,
        env=_build_env(index, environ),
        retry_failed=opts.refresh,
        deadline=deadline,
        temp_dir=Path(environ["TMPDIR"]) if environ.get("TMPDIR") else None,
    )
    metadata = MetadataFetcher(fetcher=fetcher, cache=cache, builds=builds, events=events)
    return Session(fetcher=fetcher, finder=finder, metadata=metadata, events=events)


def cooldown_for(
    opts: ResolveOptions,
    *,
    policy: Policy,
    target: RuntimeEnvironment,
    environ: Mapping[str, str],
    knowledge: KnowledgeView | None = None,
    now: datetime | None = None,
) -> tuple[Cooldown | None, Callable[[], None]]:
    """The cooldown of ``opts`` (``None`` without one) and what closes what it opened:
    advisories come from ``knowledge`` (advise's view), else from the knowledge store
    (``ADVISOR_KNOWLEDGE`` or the default one), opened here only when a cooldown is set and
    never created (without one, no security fix is let through, and the cooldown says so)."""
    if opts.cooldown_days is None:
        return None, lambda: None
    from datetime import UTC
    from datetime import datetime as clock

    from advisor.advice.cooldown import build_cooldown

    close: Callable[[], None] = lambda: None  # noqa: E731 - nothing opened
    if knowledge is None:
        from advisor.knowledge.store import default_store_url, open_store, sqlite_path
        from advisor.scoring.knowledge_view import StoreKnowledge

        url = default_store_url(environ)
        if url.startswith("postgres") or sqlite_path(url).is_file():
            store = open_store(url)
            knowledge, close = StoreKnowledge(store, kinds=["advisory"]), store.close
    cooldown = build_cooldown(
        opts.cooldown_days,
        now=now or clock.now(UTC),
        policy=policy,
        knowledge=knowledge,
        env=target,
    )
    return cooldown, close


def make_planner(
    request: AdviceRequest,
    *,
    opts: ResolveOptions,
    session: Session,
    cooldown: Cooldown | None = None,
) -> Planner:
    """The planner of ``request`` over ``session``'s finder and metadata, with the few
    options of ``opts`` that choose candidates (and ``cooldown``, from :func:`cooldown_for`)."""
    from advisor.advice.planner import Planner, PlanOptions

    options = PlanOptions(
        pre=opts.pre,
        pre_packages=opts.pre_packages,
        only_binary=opts.only_binary,
        no_build=opts.no_build,
        exclude_newer=opts.exclude_newer,
        cooldown=cooldown,
    )
    return Planner(request, finder=session.finder, metadata=session.metadata, options=options)


def _build_env(index: IndexConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of sdist builds: pip (installing build requirements) uses our indexes."""
    env = dict(environ)
    if index.indexes:
        env["PIP_INDEX_URL"] = index.indexes[0]
        env["PIP_EXTRA_INDEX_URL"] = " ".join(index.indexes[1:])
    else:
        env["PIP_NO_INDEX"] = "1"
    if index.find_links:
        env["PIP_FIND_LINKS"] = " ".join(index.find_links)
    return env


def target_table(target: RuntimeEnvironment) -> dict[str, Any]:
    keep = ("name", "python_version", "implementation", "abi", "platform", "libc", "libc_version")
    data = target.to_dict()
    table = {k: data[k] for k in keep if data.get(k) not in (None, "", [], ())}
    if target.cuda_version and target.cuda_source == "user":  # asked for: it shapes the lock
        table["cuda_version"] = target.cuda_version
    return table
