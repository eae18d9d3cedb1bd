"""The server's tokens in the knowledge stores (both backends), and the pooled PostgreSQL store
the server reads them through.

Stored rows are read back through a raw connection of their own (as another program would),
to check that a secret is never stored, only its digest.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from advisor.errors import InputError
from advisor.knowledge.migrations import MIGRATIONS, latest_version
from advisor.knowledge.schema import BuildObservation, Provenance
from advisor.knowledge.team_store import open_team_store
from advisor.knowledge.tokens import (
    SECRET_PREFIX,
    Scope,
    TokenNameTaken,
    UnknownToken,
    check_token_name,
    issue_token,
    parse_scope,
    revoke_token,
    secret_digest,
)
from tests.test_store import open_with, raw

if TYPE_CHECKING:
    from collections.abc import Iterator

    from advisor.knowledge.team_store import TeamStore


@pytest.fixture
def store(knowledge_store_url: str) -> Iterator[TeamStore]:
    with open_team_store(knowledge_store_url) as opened:
        yield opened


def test_a_token_is_stored_as_the_digest_of_its_secret(
    store: TeamStore, knowledge_store_url: str
) -> None:
    issued = issue_token(store, "ci-runner", Scope.WRITE, created="2026-01-02T03:04:05Z")
    assert issued.secret.startswith(SECRET_PREFIX)
    assert len(issued.secret) > 40
    assert issued.secret not in repr(issued)
    rows = raw(knowledge_store_url, "SELECT name, scope, digest, created, revoked FROM tokens")
    assert rows == [
        ("ci-runner", "write", secret_digest(issued.secret), "2026-01-02T03:04:05Z", None)
    ]
    assert all(issued.secret not in str(cell) for row in rows for cell in row)
    found = store.token_for_digest(secret_digest(issued.secret))
    assert found == issued.token
    assert found is not None and found.active and found.scope is Scope.WRITE
    assert store.token_for_digest(secret_digest(issued.secret + "x")) is None
    other = issue_token(store, "alice", Scope.READ, created="2026-01-02T03:04:06Z")
    assert other.secret != issued.secret
    assert [t.name for t in store.list_tokens()] == ["alice", "ci-runner"]


def test_names_are_never_reused(store: TeamStore) -> None:
    issue_token(store, "alice", Scope.READ, created="2026-01-01T00:00:00Z")
    with pytest.raises(TokenNameTaken) as taken:
        issue_token(store, "alice", Scope.ADMIN, created="2026-01-01T00:00:01Z")
    assert taken.value.revoked is None
    revoke_token(store, "alice", when="2026-01-02T00:00:00Z")
    with pytest.raises(TokenNameTaken, match="revoked on 2026-01-02") as again:
        issue_token(store, "alice", Scope.READ, created="2026-01-03T00:00:00Z")
    assert again.value.exit_code == 2
    assert [(t.name, t.scope) for t in store.list_tokens()] == [("alice", Scope.READ)]


def test_revoking_keeps_the_first_date_and_refuses_unknown_names(store: TeamStore) -> None:
    issued = issue_token(store, "bob", Scope.ADMIN, created="2026-01-01T00:00:00Z")
    first = revoke_token(store, "bob", when="2026-02-01T00:00:00Z")
    assert (first.active, first.revoked) == (False, "2026-02-01T00:00:00Z")
    second = revoke_token(store, "bob", when="2026-03-01T00:00:00Z")
    assert second.revoked == "2026-02-01T00:00:00Z"
    looked_up = store.token_for_digest(secret_digest(issued.secret))
    assert looked_up is not None and not looked_up.active
    with pytest.raises(UnknownToken, match="nobody"):
        revoke_token(store, "nobody", when="2026-03-01T00:00:00Z")


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 65, "ü", "a/b", "a:b"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="invalid token name"):
        check_token_name(name)


def test_scopes() -> None:
    assert parse_scope(" Write ") is Scope.WRITE
    with pytest.raises(InputError, match="read, write, admin"):
        parse_scope("root")
    assert Scope.ADMIN.allows(Scope.WRITE) and Scope.WRITE.allows(Scope.READ)
    assert not Scope.READ.allows(Scope.WRITE) and not Scope.WRITE.allows(Scope.ADMIN)


def test_a_store_of_the_first_schema_gains_the_token_table(knowledge_store_url: str) -> None:
    with open_with(knowledge_store_url, MIGRATIONS[:1]):
        pass
    assert raw(knowledge_store_url, "SELECT MAX(version) FROM schema_version") == [(1,)]
    with open_team_store(knowledge_store_url) as store:
        assert store.stats().schema_version == latest_version() >= 2
        issue_token(store, "alice", Scope.READ, created="2026-01-01T00:00:00Z")
        assert [t.name for t in store.list_tokens()] == ["alice"]


def _build(i: int) -> BuildObservation:
    return BuildObservation(
        package=f"pkg{i % 7}",
        version=f"1.{i}",
        outcome="ok",
        provenance=Provenance(source="test", date="2026-01-01"),
    )


def test_a_pooled_store_serves_threads_at_once(knowledge_store_url: str) -> None:
    """What the server does: many threads on one store object, each PostgreSQL call on a
    pooled connection (SQLite's one connection serialises them); every write lands."""
    with open_team_store(knowledge_store_url, pool_size=4) as store:
        issue_token(store, "pool-test", Scope.READ, created="2026-01-01T00:00:00Z")
        errors: list[BaseException] = []

        def work(k: int) -> None:
            try:
                for i in range(k * 20, k * 20 + 20):
                    store.put([_build(i)])
                    assert store.get_token("pool-test") is not None
                    store.for_packages([f"pkg{j}" for j in range(7)], kinds=["build"])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        found = store.for_packages([f"pkg{j}" for j in range(7)], kinds=["build"])
        assert sum(len(v) for v in found.values()) == 160
        assert store.stats().total >= 160
    with pytest.raises(Exception, match="closed"):
        store.stats()
