"""The team server's advice jobs read the server's own store, shared across its job threads.

``advisor serve`` opens its store once (``create_app``: one SQLite connection, or a
PostgreSQL pool); its ``check``, ``advise`` and ``explain`` jobs get that store from the
route (``AdviceJobs``) instead of opening one per request, never close it, and the
shipped curated folder is synced into it once per process, by the first job that scores.
Real HTTP on 127.0.0.1 (uvicorn in a thread, a fixture index served over HTTP), real
concurrent requests, both store backends; openings are counted by the store's own debug
line ("opening knowledge store"), which every :func:`~advisor.knowledge.store.open_store`
writes, and syncs by the sync's ("syncing curated folder").
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx

from tests.functional.helpers import clean_environ
from tests.support import IndexServer, Project, build_index, release

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

_OPENING = "opening knowledge store"
_SYNCING = "syncing curated folder"


def _projects() -> list[Project]:
    return [
        Project(name="app", files=[*release("1.0", requires_dist=["lib"])]),
        Project(name="lib", files=[*release("1.0"), *release("1.5")]),
    ]


def _osv(folder: Path) -> Path:
    """An OSV folder with one advisory: lib before 1.5."""
    folder.mkdir(parents=True)
    record = {
        "schema_version": "1.6.0",
        "id": "GHSA-lib0-0000-0001",
        "modified": "2026-12-01T00:00:00Z",
        "summary": "lib leaks",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "lib"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.5"}]}
                ],
            }
        ],
    }
    (folder / "GHSA-lib0-0000-0001.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


def test_server_jobs_share_the_servers_store_under_concurrent_requests(
    tmp_path: Path, knowledge_store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Checks and advice searches sent at once (more than the job slots, so they overlap
    on the pool's threads) open no store: each reads the one the app opened, and their
    answers are those of the store (the advisory it holds). An explanation's advice reads
    it too. The store stays open and usable after them, and the shipped curated folder was
    synced into it once (an offline run syncs it into its own store each time)."""
    from advisor.api import CheckOptions, ResolveOptions, import_osv, lock
    from advisor.api.inputs import LockOptions
    from advisor.api.server_jobs import ServerJobs
    from advisor.knowledge.bundled import CURATED_PREFIX
    from advisor.knowledge.store import open_store
    from advisor.knowledge.team_store import open_team_store
    from advisor.knowledge.tokens import Scope, issue_token
    from advisor.server.app import create_app
    from advisor.server.settings import ServerSettings
    from tests.support.asgi import serve_in_thread

    env = clean_environ(tmp_path / "home")
    import_osv(_osv(tmp_path / "osv"), store_url=knowledge_store_url, today="2026-12-02")
    with open_team_store(knowledge_store_url) as opened:
        secret = issue_token(opened, "laptop", Scope.READ, created="2026-12-01").secret
    project = tmp_path / "proj"
    project.mkdir()
    (project / "requirements.in").write_text("app\nlib==1.0\n", encoding="utf-8")
    index = build_index(tmp_path / "index", _projects())
    with IndexServer(index) as served:
        lock([project / "requirements.in"], opts=ResolveOptions(index_url=served.url),
             out=LockOptions(), environ=env, cwd=project)  # fmt: skip
        lock_text = (project / "pylock.toml").read_text(encoding="utf-8")
        files = {"requirements.in": "app\nlib==1.0\n", "pylock.toml": lock_text}
        settings = ServerSettings(store_url=knowledge_store_url, index_urls=(served.url,),
                                  cache_dir=str(tmp_path / "server-cache"), jobs=3)  # fmt: skip
        app = create_app(settings, jobs=ServerJobs(settings, environ=env))
        headers = {"Authorization": f"Bearer {secret}"}
        check = {"files": files, "paths": ["pylock.toml"]}
        advise = {"files": files, "inputs": ["requirements.in"], "search": {"budget": 2}}
        calls: list[tuple[str, dict[str, Any]]] = [("check", check)] * 4 + [("advise", advise)] * 2
        why = {"files": files, "lock": "pylock.toml", "name": "lib"}
        with serve_in_thread(app) as url, caplog.at_level(logging.DEBUG, "advisor.knowledge"):
            caplog.clear()

            def send(call: tuple[str, dict[str, Any]]) -> httpx.Response:
                path, body = call
                return httpx.post(f"{url}/v1/{path}", json=body, headers=headers, timeout=120)

            with ThreadPoolExecutor(max_workers=len(calls)) as pool:
                answers = list(pool.map(send, calls))
            opened = [r.getMessage() for r in caplog.records if _OPENING in r.getMessage()]
            synced = [r.getMessage() for r in caplog.records if _SYNCING in r.getMessage()]
            caplog.clear()
            explained = send(("explain", why))
            # its advice reads the shared store; the lock's graph is still read at the URL
            explained_opened = sum(_OPENING in r.getMessage() for r in caplog.records)
            synced += [r.getMessage() for r in caplog.records if _SYNCING in r.getMessage()]
            health = httpx.get(f"{url}/v1/health", timeout=30)
    assert opened == []
    assert explained.status_code == 200, explained.text
    assert explained_opened <= 1 and explained.json()["version"] == "1.0"
    for (path, _), answer in zip(calls, answers, strict=True):
        assert answer.status_code == 200, (path, answer.text)
    for answer in answers[:4]:
        findings = answer.json()["findings"]
        assert {f["id"] for f in findings} >= {"advisory"}, findings
    for answer in answers[4:6]:
        assert "lib" in answer.json()["lock"]
    assert health.status_code == 200  # no job closed the shared store
    # the shipped curated knowledge was synced into it once, by the first job, as an offline
    # run syncs it into its own store (the later jobs, the explanation included, did not)
    assert len(synced) == 1, synced
    with open_store(knowledge_store_url) as store:
        sources = {s.source for s in store.stats().sources}
    assert any(s.startswith(f"{CURATED_PREFIX}/") for s in sources), sources
    # the check's options over the server's store sync nothing into it (its owner does)
    assert CheckOptions(shared_store=object()).curated_folder(tmp_path) is None  # type: ignore[arg-type]
    assert CheckOptions().curated_folder(tmp_path) == tmp_path


def test_a_server_lock_under_a_recommendation_reads_the_servers_store(
    tmp_path: Path, knowledge_store_url: str
) -> None:
    """``/v1/lock`` under another type than ``latest`` runs the advice search: it scores
    with the server's store (an advisory against the newest ``lib``, which ``security``
    then avoids), not with the store the server process would open by default (here an
    empty one named by ``ADVISOR_KNOWLEDGE``, which the old lock job read)."""
    import tomllib

    from advisor.api import import_osv
    from advisor.api.server_jobs import ServerJobs
    from advisor.knowledge.team_store import open_team_store
    from advisor.knowledge.tokens import Scope, issue_token
    from advisor.server.app import create_app
    from advisor.server.settings import ServerSettings
    from tests.support.asgi import serve_in_thread

    osv = tmp_path / "osv"
    osv.mkdir()
    record = {
        "schema_version": "1.6.0",
        "id": "GHSA-lib0-0000-0002",
        "modified": "2026-12-01T00:00:00Z",
        "summary": "lib 1.5 leaks",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "lib"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.5"}]}],
            }
        ],
    }
    (osv / "GHSA-lib0-0000-0002.json").write_text(json.dumps(record), encoding="utf-8")
    import_osv(osv, store_url=knowledge_store_url, today="2026-12-02")
    with open_team_store(knowledge_store_url) as opened:
        secret = issue_token(opened, "laptop", Scope.READ, created="2026-12-01").secret
    other = f"sqlite:///{tmp_path / 'process-default.db'}"
    env = clean_environ(tmp_path / "home", ADVISOR_KNOWLEDGE=other)
    index = build_index(tmp_path / "index", _projects())
    with IndexServer(index) as served:
        settings = ServerSettings(store_url=knowledge_store_url, index_urls=(served.url,),
                                  cache_dir=str(tmp_path / "server-cache"), jobs=1)  # fmt: skip
        app = create_app(settings, jobs=ServerJobs(settings, environ=env))
        body = {"files": {"requirements.in": "app\n"}, "inputs": ["requirements.in"]}
        headers = {"Authorization": f"Bearer {secret}"}
        with serve_in_thread(app) as url:
            answers = {
                kind: httpx.post(
                    f"{url}/v1/lock",
                    json={**body, "recommendation": kind},
                    headers=headers,
                    timeout=120,
                )
                for kind in ("latest", "security")
            }
    pins = {}
    for kind, answer in answers.items():
        assert answer.status_code == 200, (kind, answer.text)
        packages = tomllib.loads(answer.json()["lock"])["packages"]
        pins[kind] = {p["name"]: p["version"] for p in packages}
    assert pins["latest"]["lib"] == "1.5"  # pip's choice: no knowledge read
    assert pins["security"]["lib"] == "1.0", pins
