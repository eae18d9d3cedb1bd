"""One run's index client: where packages come from, and the session that fetches them.

Sits at the top of the index layer, under the composition root, which derives the small
values taken here from its public options: :func:`choose_indexes` decides the indexes by
priority (the command line, the inputs' own options, ``[tool.advisor]``, pip's
configuration), each given as an :class:`IndexChoice`; :func:`open_session` builds the
fetcher, the finder and the metadata fetcher over them, with the cache :func:`open_cache`
opened and the few :class:`SessionOptions` that shape fetching and building.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from advisor.errors import UnusableCacheDir
from advisor.events import SILENT
from advisor.index.cache import Cache
from advisor.models import IndexStrategy
from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.events import ProgressEvents
    from advisor.index.fetch import Fetcher
    from advisor.index.finder import PackageFinder
    from advisor.index.metadata import MetadataFetcher
    from advisor.index.settings import PipSettings

__all__ = [
    "IndexChoice",
    "IndexConfig",
    "Session",
    "SessionOptions",
    "choose_indexes",
    "default_cache_dir",
    "open_cache",
    "open_session",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexConfig:
    """Where packages come from. ``indexes`` keep credentials (used, never written)."""

    indexes: tuple[str, ...]
    find_links: tuple[str, ...] = ()
    strategy: IndexStrategy = IndexStrategy.FIRST_INDEX
    pinned: Mapping[str, str] = field(default_factory=dict)

    def redacted(self) -> IndexConfig:
        """The configuration as written to a lock or digest: no credentials."""
        return IndexConfig(
            indexes=tuple(redact_url(u) for u in self.indexes),
            find_links=tuple(redact_url(u) for u in self.find_links),
            strategy=self.strategy,
            pinned={k: redact_url(v) for k, v in sorted(self.pinned.items())},
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexChoice:
    """The index options one source gives (the command line, the inputs, the configuration
    or pip's): it is *explicit* when it names an index or ``no_index``."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    @property
    def explicit(self) -> bool:
        return bool(self.index_url or self.extra_index_urls or self.no_index)


def choose_indexes(
    choices: Sequence[IndexChoice],
    *,
    default_index: str,
    strategy: IndexStrategy | None = None,
    pinned: Mapping[str, str] | None = None,
) -> IndexConfig:
    """The indexes of the first explicit choice of ``choices`` (highest priority first; the
    last, pip's, is taken whatever it says). An explicit choice without an index URL of its
    own (extra indexes only) takes the first one a later choice names, else
    ``default_index``; ``no_index`` leaves out every index. The find-links of every choice
    are kept, in order, once."""
    primary: str | None = None
    extras: tuple[str, ...] = ()
    for i, choice in enumerate(choices):
        if not choice.explicit and i < len(choices) - 1:
            continue
        if not choice.no_index:
            later = (c.index_url for c in choices[i:] if c.index_url)
            primary = next(later, None) or default_index
            extras = choice.extra_index_urls
        break
    return IndexConfig(
        indexes=tuple(dict.fromkeys(([primary] if primary else []) + list(extras))),
        find_links=tuple(dict.fromkeys(u for c in choices for u in c.find_links)),
        strategy=IndexStrategy(strategy or IndexStrategy.FIRST_INDEX),
        pinned=dict(pinned or {}),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionOptions:
    """What the command line says about fetching and building: ``offline`` (cached pages
    only), ``refresh`` (revalidate pages, retry failed builds), ``no_build`` (no sdist
    builds), ``build_timeout`` (seconds per sdist metadata build)."""

    offline: bool = False
    refresh: bool = False
    no_build: bool = False
    build_timeout: float = 300.0


@dataclass(slots=True)
class Session:
    """The index client of one run; ``events`` is where its parts (and the resolutions run
    over it) report progress. A context manager: ``with open_session(...) as session``
    cancels the running builds on an error and closes the session."""

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

    def __enter__(self) -> Session:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """Closed on the way out; an error or an interrupt (``kind``) stops the running
        builds first (:meth:`cancel`), so none outlives the run."""
        if kind is not None:
            self.cancel()
        self.close()


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """``ADVISOR_CACHE_DIR`` or the platform's user cache directory."""
    env = environ.get("ADVISOR_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("stack-advisor"))


def open_cache(chosen: Path | None, environ: Mapping[str, str]) -> Cache | None:
    """The on-disk cache at ``chosen`` (else ``ADVISOR_CACHE_DIR``, else the platform's),
    its root created; ``None`` when the default one cannot be used (warned about: the run
    goes on without a cache, only slower). A directory the user chose that cannot hold a
    cache raises :class:`~advisor.errors.UnusableCacheDir` (exit 2)."""
    if chosen is None and environ.get("ADVISOR_CACHE_DIR"):
        chosen = Path(environ["ADVISOR_CACHE_DIR"])
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
    index: IndexConfig,
    pip: PipSettings,
    *,
    options: SessionOptions,
    cache: Cache | None,
    environ: Mapping[str, str],
    deadline: float | None = None,
    events: ProgressEvents = SILENT,
) -> Session:
    """The index session over ``index``, with pip's network settings, reporting to
    ``events``. ``deadline`` (a ``time.monotonic()`` instant, from a command's time limit)
    stops sdist builds that would run past it; ``environ`` is the builds' environment, with
    our indexes for pip (installing build requirements)."""
    from advisor.index.builds import BuildSettings, host_interpreter
    from advisor.index.fetch import Fetcher, NetworkSettings
    from advisor.index.finder import PackageFinder
    from advisor.index.metadata import MetadataFetcher

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
        offline=options.offline,
        refresh=options.refresh,
        pinned={canonicalize_name(k): v for k, v in index.pinned.items()},
    )
    builds = BuildSettings(
        allow=not options.no_build,
        python=sys.executable,
        interpreter=host_interpreter(),
        timeout=options.build_timeout,
        env=_build_env(index, environ),
        retry_failed=options.refresh,
        deadline=deadline,
        temp_dir=Path(environ["TMPDIR"]) if environ.get("TMPDIR") else None,
    )
    metadata = MetadataFetcher(fetcher=fetcher, cache=cache, builds=builds, events=events)
    return Session(fetcher=fetcher, finder=finder, metadata=metadata, events=events)


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
