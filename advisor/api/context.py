"""What every resolving command shares: options, index configuration, targets, the session.

Part of the composition root: reads pip's configuration and the process environment (passed
in as ``environ``), builds the target runtime environments and opens the index session
(fetcher, finder, metadata) that the resolver uses.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.index.fetch import Fetcher
    from advisor.index.finder import PackageFinder
    from advisor.index.metadata import MetadataFetcher
    from advisor.request import AdviceRequest

__all__ = [
    "IndexConfig",
    "ResolveOptions",
    "Session",
    "build_targets",
    "default_cache_dir",
    "index_config",
    "open_session",
    "target_table",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexConfig:
    """Where packages come from. ``indexes`` keep credentials (used, never written)."""

    indexes: tuple[str, ...]
    find_links: tuple[str, ...] = ()
    strategy: str = "first-index"
    pinned: Mapping[str, str] = dc_field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The configuration as written to a lock or digest: no credentials."""
        from advisor.index.fetch import redact_url

        return {
            "indexes": [redact_url(u) for u in self.indexes],
            "find-links": [redact_url(u) for u in self.find_links],
            "strategy": self.strategy,
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
    index_strategy: str | None = None
    pre: bool = False
    pre_packages: tuple[str, ...] = ()
    exclude_newer: datetime | None = None
    offline: bool = False
    no_cache: bool = False
    refresh: bool = False
    cache_dir: Path | None = None
    only_binary: tuple[str, ...] = ()
    no_build: bool = False
    build_timeout: float = 300.0  # seconds per sdist metadata build
    recommendation: str = "latest"
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
) -> tuple[IndexConfig, Any]:
    from advisor.index.settings import default_index_url, load_pip_settings

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
    strategy = opts.index_strategy or config.index_strategy or "first-index"
    return (
        IndexConfig(
            indexes=indexes,
            find_links=find_links,
            strategy=strategy,
            pinned=dict(config.pinned_indexes),
        ),
        pip,
    )


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
    fetcher: Fetcher
    finder: PackageFinder
    metadata: MetadataFetcher

    def cancel(self) -> None:
        """Stop every running sdist build now (an interrupt or an error): kill its process
        group and remove its folder. Call :meth:`close` after."""
        self.metadata.cancel()

    def close(self) -> None:
        self.metadata.close()
        self.fetcher.close()


def open_session(
    opts: ResolveOptions,
    index: IndexConfig,
    pip: Any,
    environ: Mapping[str, str],
    *,
    deadline: float | None = None,
) -> Session:
    """The index session of one command. ``deadline`` (a ``time.monotonic()`` instant, from
    a command's time limit) stops sdist builds that would run past it."""
    from advisor.index.builds import BuildSettings, host_interpreter
    from advisor.index.cache import Cache
    from advisor.index.fetch import Fetcher, NetworkSettings
    from advisor.index.finder import IndexStrategy, PackageFinder
    from advisor.index.metadata import MetadataFetcher

    cache = None if opts.no_cache else Cache(opts.cache_dir or default_cache_dir(environ))
    credentials = list(pip.credentials) if getattr(pip, "credentials", None) else []
    settings = NetworkSettings(
        timeout=float(pip.timeout or 15.0),
        retries=int(pip.retries if pip.retries is not None else 5),
        cert=pip.cert,
        client_cert=pip.client_cert,
        trusted_hosts=tuple(pip.trusted_hosts),
        credentials=tuple(credentials),
    )
    fetcher = Fetcher(settings)
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
    metadata = MetadataFetcher(fetcher=fetcher, cache=cache, builds=builds)
    return Session(fetcher=fetcher, finder=finder, metadata=metadata)


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
