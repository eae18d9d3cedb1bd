"""The advice endpoints' requests and the jobs that answer them: ``/v1/lock``, ``/v1/advise``,
``/v1/check`` and ``/v1/explain`` on the wire.

Sits between the routes (:mod:`.routes.advice`), the client (:mod:`.client`) and the
composition root: a request is a :class:`LockCall`, a :class:`CheckCall` or an
:class:`ExplainCall` (msgspec values, decoded once by the route, encoded by the client); the
work is done by an :class:`AdviceJobs` the composition root passes to
:func:`~advisor.server.app.create_app` (``advisor.api.server_jobs.ServerJobs``), so this
package never imports the api. A call carries the client's files (relative paths → text,
checked by :mod:`.workspace` before anything is written) and what to do with them; it never
names an index: the server resolves from its own (its settings, else its pip
configuration), so a client cannot make it fetch a URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from advisor.options.jobs import AdviseOptions

if TYPE_CHECKING:
    from pathlib import Path

    from advisor.knowledge.store import KnowledgeStore

__all__ = ["AdviceJobs", "CheckCall", "ExplainCall", "LockCall", "SearchSpec", "TargetSpec"]

_SEARCH = AdviseOptions()  # the search's defaults, as offline


class TargetSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The target: named environments of the project's configuration, or one
    Python/platform/implementation/CUDA (all ``None``: the server's host)."""

    envs: tuple[str, ...] = ()
    python: str | None = None
    platform: str | None = None
    implementation: str | None = None
    cuda: str | None = None


class SearchSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The advice search's bounds (``advise`` only), checked by the rule of
    :class:`~advisor.options.jobs.AdviseOptions` as the call is decoded (a search that could
    keep no stack, run no resolution or take no time raises
    :class:`~advisor.errors.InvalidOption`, a 400 naming the field); the server caps
    ``time_limit`` at its own job time limit."""

    count: int = _SEARCH.count
    budget: int = _SEARCH.budget
    time_limit: float = _SEARCH.time_limit
    seed: int = _SEARCH.seed

    def __post_init__(self) -> None:
        AdviseOptions(count=self.count, budget=self.budget, time_limit=self.time_limit)


class LockCall(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A lock or advise request. ``files``: every file the run reads (inputs, constraints,
    overrides, the project's ``pyproject.toml``/``advisor.toml``, the lock being replaced),
    by POSIX path relative to one folder; ``inputs``, ``constraints``, ``overrides`` and
    ``output`` name some of them. The rest are the options of ``advisor lock`` that do not
    touch the index configuration."""

    files: dict[str, str]
    inputs: tuple[str, ...]
    output: str = "pylock.toml"
    format: str = "pylock"
    constraints: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    target: TargetSpec = TargetSpec()
    recommendation: str | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    pre: bool = False
    only_binary: tuple[str, ...] = ()
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()
    command: str = "advisor lock"
    search: SearchSpec = SearchSpec()


class CheckCall(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A check request: ``paths`` (locks, or inputs standing for the locks beside them) among
    ``files``, the ``--only`` groups and a requirements lock's ``--inputs``. Advisories and
    rules come from the server's store."""

    files: dict[str, str]
    paths: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()


class ExplainCall(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An explain request: why ``name`` is in the lock ``lock`` (one of ``files``, which also
    hold the inputs, constraints, overrides and configuration its record names). The lock's
    recorded index is not used: the server explains from its own index and store."""

    files: dict[str, str]
    lock: str
    name: str


class AdviceJobs(Protocol):
    """The work behind the advice endpoints, done by the composition root in a worker thread.

    Each method runs a whole job over ``folder``, where the call's files were written, and
    returns the JSON answer (builtins only). ``store`` is the server's own store, which
    every job of the process shares (the app opened it: one connection for SQLite, a pool
    for PostgreSQL, both safe across the job threads): a job reads and writes it, never
    closes it, and syncs no curated folder into it (``POST /v1/knowledge/sync`` does).
    Errors are :class:`~advisor.errors.AdvisorError` subclasses (a conflict is a
    :class:`~advisor.errors.NoViableStack`); anything else is a bug. ``deadline`` is the
    ``time.monotonic()`` instant the answer is due by. Cost: a whole lock, advice search
    or check (seconds), reading the server's shared cache.
    """

    def lock(
        self, call: LockCall, *, folder: Path, deadline: float, store: KnowledgeStore
    ) -> dict[str, Any]: ...

    def advise(
        self, call: LockCall, *, folder: Path, deadline: float, store: KnowledgeStore
    ) -> dict[str, Any]: ...

    def check(
        self, call: CheckCall, *, folder: Path, deadline: float, store: KnowledgeStore
    ) -> dict[str, Any]: ...

    def explain(
        self, call: ExplainCall, *, folder: Path, deadline: float, store: KnowledgeStore
    ) -> dict[str, Any]:
        """Why ``call.name`` is in the lock: ``advisor explain --json``'s answer."""
        ...
