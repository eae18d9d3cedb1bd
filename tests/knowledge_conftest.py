"""Fixtures for the knowledge stores: a real PostgreSQL server, and a store URL per backend.

* ``postgres_url`` (session): URL of a fresh database on a PostgreSQL server started for this
  test session (see :mod:`tests.pg`) and stopped at its end. Without the server binaries the
  tests that need it are skipped with the reason, except under ``CI=true``, where they fail.
* ``knowledge_store_url`` (parametrised ``sqlite``/``postgres``): an empty store location:
  a file under ``tmp_path``, or a fresh schema (dropped afterwards) in the session database,
  selected with ``options=-csearch_path=…`` in the URL. A test taking it runs on both stores.
"""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest

from tests.pg import PostgresServer, PostgresUnavailable, find_pg_bin

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["knowledge_store_url", "pg_store", "postgres_url", "skip_or_fail"]

_SCHEMAS = itertools.count()


def skip_or_fail(reason: str) -> None:
    """Skip the test, or fail it when running in CI (``CI=true``)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: a missing PostgreSQL is a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    bindir = find_pg_bin()
    if bindir is None:
        skip_or_fail(
            "PostgreSQL server binaries (initdb, pg_ctl, createdb) not found on PATH "
            "nor in /usr/lib/postgresql/*/bin"
        )
        return
    server = PostgresServer(bindir)
    try:
        server.start()
        url = server.create_database("advisor_test")
    except PostgresUnavailable as exc:
        server.stop()
        skip_or_fail(f"could not start a PostgreSQL server: {exc}")
        return
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def knowledge_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'knowledge.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    try:
        import psycopg
    except ImportError:
        skip_or_fail("psycopg is not installed (the advisor's 'postgres' extra)")
        return
    yield from _schema(base, psycopg)


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[str]:
    """A fresh schema of the session's PostgreSQL database, as a store URL (dropped after)."""
    import psycopg

    yield from _schema(postgres_url, psycopg)


def _schema(base: str, psycopg: Any) -> Iterator[str]:
    schema = f"t{os.getpid()}_{next(_SCHEMAS)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}?{urlencode({'options': f'-csearch_path={schema}'})}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
