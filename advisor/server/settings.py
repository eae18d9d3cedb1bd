"""How one ``advisor serve`` runs: one frozen value, built by the composition root.

Sits at the bottom of the server package: :class:`ServeOptions` is what the command takes,
and :meth:`ServerSettings.from_options` makes the settings of them once the composition root
has found the store, the cache and the curated folder of this process; the runner binds and
starts uvicorn with the settings, the app reads its limits and its store from them. It
round-trips through JSON (``to_json`` /
``from_json``) because with ``--workers N`` uvicorn starts each worker in a fresh
interpreter, which rebuilds the app from this value. ``store_url`` may hold a password (it is
needed to connect), so it is left out of ``repr`` and shown only through :attr:`shown_url`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.urls import redact_url

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "DEFAULT_JOBS",
    "DEFAULT_JOB_QUEUE",
    "DEFAULT_JOB_TIMEOUT",
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_POOL_SIZE",
    "DEFAULT_PORT",
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_SWEEP_LIFETIME",
    "ServeOptions",
    "ServerSettings",
]

DEFAULT_PORT = 8000
DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
DEFAULT_RATE_LIMIT = 1200  # requests per minute per token (a CI fleet's checks fit easily)
DEFAULT_POOL_SIZE = 8  # PostgreSQL connections per worker process
DEFAULT_JOBS = 2  # advice jobs (lock, advise, check) run at once per worker process
DEFAULT_JOB_QUEUE = 8  # advice jobs that may wait for a slot before the server says 429
DEFAULT_JOB_TIMEOUT = 120.0  # seconds an advice request may take before a 503
DEFAULT_SWEEP_LIFETIME = 24 * 3600.0  # seconds a done sweep is kept on the scheduler


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeOptions:
    """``advisor serve``'s options; ``knowledge_url`` ``None``: the default store."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    knowledge_url: str | None = None
    workers: int = 1
    allow_anonymous_reads: bool = False
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    rate_limit: int = DEFAULT_RATE_LIMIT
    #: the advice endpoints' indexes (``()``: pip's configuration of the server)
    index_urls: tuple[str, ...] = ()
    jobs: int = DEFAULT_JOBS
    job_timeout: float = DEFAULT_JOB_TIMEOUT
    #: what POST /v1/knowledge/sync loads (``()``: the curated knowledge shipped)
    knowledge_dirs: tuple[Path, ...] = ()
    #: the Dask scheduler ``POST /v1/sweeps`` dispatches to (``None``: no sweeps)
    dask_scheduler: str | None = None
    #: the URL sweep workers upload to (``None``: the URL the sweep was posted to)
    public_url: str | None = None
    #: seconds a done sweep is kept on the scheduler after its last news
    sweep_lifetime: float = DEFAULT_SWEEP_LIFETIME


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSettings:
    """Everything one server process needs.

    ``rate_limit``: requests per minute per token (per client address for anonymous reads
    and failed authentications), in bursts of up to that many; 0 switches it off. It is
    counted in each worker process: N processes let N times as much through.
    ``max_request_bytes``: the largest request body accepted. ``pool_size``: PostgreSQL
    connections per worker process (SQLite has one). ``index_urls``: the indexes the advice
    endpoints resolve from (``()``: the server's pip configuration), never the client's;
    they may hold credentials, so they are left out of ``repr``. ``cache_dir``: the index
    cache every client's request shares (``None``: the default one). ``jobs`` advice jobs
    run at once, ``job_queue`` more may wait (429 beyond), each for ``job_timeout`` seconds
    at most (503 beyond). ``knowledge_dirs``: the curated folders ``POST
    /v1/knowledge/sync`` loads into the store. ``dask_scheduler``: the Dask scheduler ``POST
    /v1/sweeps`` dispatches sweep jobs to (``None``: sweeps answer 503); ``public_url``:
    the URL those jobs' workers upload their observations to (``None``: the URL the sweep
    was posted to); ``sweep_lifetime``: the seconds a sweep is kept on the scheduler after
    its last news (:func:`advisor.server.dispatch.is_stale`).
    """

    store_url: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    allow_anonymous_reads: bool = False
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    rate_limit: int = DEFAULT_RATE_LIMIT
    pool_size: int = DEFAULT_POOL_SIZE
    log_level: str = "info"
    index_urls: tuple[str, ...] = field(default=(), repr=False)
    cache_dir: str | None = None
    jobs: int = DEFAULT_JOBS
    job_queue: int = DEFAULT_JOB_QUEUE
    job_timeout: float = DEFAULT_JOB_TIMEOUT
    knowledge_dirs: tuple[str, ...] = ()
    dask_scheduler: str | None = None
    public_url: str | None = None
    sweep_lifetime: float = DEFAULT_SWEEP_LIFETIME

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise InputError(f"--port {self.port}: not a port number (0-65535)")
        if self.workers < 1:
            raise InputError(f"--workers {self.workers}: at least 1")
        if self.max_request_bytes < 1024:
            raise InputError(f"--max-request-bytes {self.max_request_bytes}: at least 1024")
        if self.rate_limit < 0:
            raise InputError(f"--rate-limit {self.rate_limit}: 0 (no limit) or more")
        if self.pool_size < 1:
            raise InputError(f"pool size {self.pool_size}: at least 1")
        if self.jobs < 1 or self.job_queue < 0:
            raise InputError(f"--jobs {self.jobs}: at least 1 (and a queue of 0 or more)")
        if not self.job_timeout > 0:
            raise InputError(f"--job-timeout {self.job_timeout}: more than 0 seconds")
        if self.dask_scheduler is not None and "://" not in self.dask_scheduler:
            raise InputError(
                f"--dask-scheduler {self.dask_scheduler}: an address such as tcp://HOST:8786"
            )
        if self.public_url is not None and not self.public_url.startswith(("http://", "https://")):
            raise InputError(f"--public-url {self.public_url}: an http:// or https:// URL")
        if not self.sweep_lifetime > 0:
            raise InputError(f"--sweep-lifetime {self.sweep_lifetime}: more than 0 seconds")
        # JSON gives a list back (to_json/from_json): keep the value a tuple
        object.__setattr__(self, "index_urls", tuple(self.index_urls))
        object.__setattr__(self, "knowledge_dirs", tuple(self.knowledge_dirs))

    @classmethod
    def from_options(
        cls, options: ServeOptions, *, store_url: str, cache_dir: str, curated: Path | None
    ) -> ServerSettings:
        """The settings of ``options`` over the store at ``store_url`` (``options``' own
        URL, resolved), sharing the index cache ``cache_dir``; ``curated``, the curated
        folder shipped, is what sync loads when ``options`` names no folder. Raises
        :class:`InputError` for a value out of range."""
        folders = options.knowledge_dirs or ((curated,) if curated is not None else ())
        return cls(
            store_url=store_url,
            host=options.host,
            port=options.port,
            workers=options.workers,
            allow_anonymous_reads=options.allow_anonymous_reads,
            max_request_bytes=options.max_request_bytes,
            rate_limit=options.rate_limit,
            index_urls=options.index_urls,
            cache_dir=cache_dir,
            jobs=options.jobs,
            job_timeout=options.job_timeout,
            # absolute: the workers of --workers N may start elsewhere
            knowledge_dirs=tuple(str(f.resolve()) for f in folders),
            dask_scheduler=options.dask_scheduler,
            public_url=options.public_url,
            sweep_lifetime=options.sweep_lifetime,
        )

    @property
    def shown_url(self) -> str:
        """The store's URL without credentials."""
        return redact_url(self.store_url)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ServerSettings:
        """Inverse of :meth:`to_json`; raises :class:`InputError` for anything else."""
        try:
            data = json.loads(text)
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise InputError(f"not server settings: {exc}") from exc
