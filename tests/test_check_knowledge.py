"""Unit tests of :mod:`advisor.check.knowledge`: one check run's knowledge store.

The store is a real SQLite file holding a real OSV record (imported as ``advisor knowledge
import-osv`` does) and a curated folder's rule; a thin wrapper counts what the run asks of
it, to show that a run of many locks opens the store once, reads its stats once and syncs
the curated folder once.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from advisor.check.knowledge import RunKnowledge
from advisor.knowledge.store import open_store

if TYPE_CHECKING:
    from pathlib import Path

    from advisor.knowledge.store import KnowledgeStore

RULE = """\
- id: team-lib-slow
  summary: lib 1.0 is slow on our machines.
  link: https://example.invalid/team/lib
  quote: lib 1.0 takes twice as long as lib 1.5 in our benchmarks.
  match:
    package: lib
    specifier: "<1.5"
  action:
    kind: justify
    message: lib before 1.5 is slow on the team's machines.
    level: warning
"""


class _Counted:
    """A store that counts the calls of each method it is asked for."""

    def __init__(self, store: KnowledgeStore, calls: dict[str, int]) -> None:
        self._store = store
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._calls[name] = self._calls.get(name, 0) + 1
            return attr(*args, **kwargs)

        return counted


def _store(tmp_path: Path) -> str:
    from advisor.api.knowledge import import_osv

    folder = tmp_path / "osv"
    folder.mkdir()
    record = {
        "id": "GHSA-test-0001",
        "modified": "2026-01-01T00:00:00Z",
        "summary": "lib before 2.0 leaks",
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "lib"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}],
        }],
    }  # fmt: skip
    (folder / "GHSA-test-0001.json").write_text(json.dumps(record), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'k.db'}"
    import_osv(folder, store_url=url, today="2026-01-02")
    return url


def test_a_run_opens_the_store_once_and_reads_its_stats_once(tmp_path: Path) -> None:
    url = _store(tmp_path)
    curated = tmp_path / "curated"
    (curated / "prescriptions").mkdir(parents=True)
    (curated / "prescriptions" / "lib.yaml").write_text(RULE, encoding="utf-8")
    calls: dict[str, int] = {}
    opened: list[str] = []

    def opener() -> Any:
        opened.append(url)
        return contextlib.closing(_Counted(open_store(url), calls))

    knowledge = RunKnowledge(open_store=opener, curated=curated, today="2026-12-07")
    try:
        for _ in range(3):  # three locks
            data = knowledge.advisories(["lib", "other"])
            assert [a.id for a in data.by_package["lib"]] == ["GHSA-test-0001"]
            assert data.count == 1
            rules = knowledge.prescriptions(["lib"])
            assert [r.id for r in rules] == ["team-lib-slow"]
    finally:
        knowledge.close()
    assert opened == [url]
    assert calls["stats"] == 1  # the stats (a grouped count) once, not once per lock
    assert calls["for_packages"] == 6
    assert calls["close"] == 1
    knowledge.close()  # closing again: nothing to close
    assert calls["close"] == 1


def test_a_run_over_a_shared_store_neither_closes_nor_syncs_it(tmp_path: Path) -> None:
    """The team server's store, lent to each check run: read, never closed, no curated
    folder synced into it (the server syncs it)."""
    from advisor.api.checking import CheckOptions
    from advisor.knowledge.store import store_opener

    url = _store(tmp_path)
    curated = tmp_path / "curated"
    (curated / "prescriptions").mkdir(parents=True)
    (curated / "prescriptions" / "lib.yaml").write_text(RULE, encoding="utf-8")
    with open_store(url) as shared:
        opts = CheckOptions(shared_store=shared)
        lent = store_opener("unused", shared=shared)
        folder = opts.curated_folder(curated)
        knowledge = RunKnowledge(open_store=lent, curated=folder, today="2026-12-07")
        for _ in range(2):
            assert [a.id for a in knowledge.advisories(["lib"]).by_package["lib"]] == [
                "GHSA-test-0001"
            ]
            assert knowledge.prescriptions(["lib"]) == []  # nothing synced
            knowledge.close()
        assert shared.stats().total == 1  # still open: its owner closes it


def test_a_run_that_reads_nothing_opens_nothing(tmp_path: Path) -> None:
    def opener() -> KnowledgeStore:
        raise AssertionError("opened")

    RunKnowledge(open_store=opener, today="2026-12-07").close()
