"""The team server's view of a knowledge store: the store, with its table of access tokens.

Beside :mod:`advisor.knowledge.tokens` (the tokens' values and the SQL both backends share)
and :mod:`advisor.knowledge.store` (which opens a backend): ``advisor serve`` and ``advisor
server token`` open their store here, so that neither of those two modules imports the other.
"""

from __future__ import annotations

from typing import Protocol

from advisor.knowledge.store import KnowledgeStore, open_store
from advisor.knowledge.tokens import TokenStore, TokenTable

__all__ = ["TeamStore", "open_team_store"]


class TeamStore(KnowledgeStore, TokenStore, Protocol):
    """A knowledge store that also keeps the server's tokens: either backend."""


def open_team_store(url: str, *, pool_size: int | None = None) -> TeamStore:
    """:func:`~advisor.knowledge.store.open_store` for the server: the same store, seen with
    its token table; ``pool_size`` connections for PostgreSQL (see ``open_store``)."""
    store = open_store(url, pool_size=pool_size)
    if not isinstance(store, TokenTable):  # pragma: no cover - both backends are
        store.close()
        raise TypeError(f"{type(store).__name__} keeps no tokens")
    return store
