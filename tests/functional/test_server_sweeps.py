"""Sweeps dispatched by the team server to Dask distributed (``POST /v1/sweeps``).

The end-to-end test starts a real ``distributed.LocalCluster`` (two worker processes of this
venv, one thread each), a real ``advisor serve --dask-scheduler`` process and a fixture index
on 127.0.0.1 with two versions of a tiny package; the workers run ``advisor observe run-job
--upload`` and the observations land in the server's store under the requester's token. The
refusals run the real app in a thread (tests.support.asgi) with the composition root's jobs.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from advisor.api.server_jobs import ServerJobs
from advisor.errors import InputError
from advisor.knowledge.schema import BuildObservation, PerformanceObservation
from advisor.knowledge.store import open_store
from advisor.knowledge.team_store import open_team_store
from advisor.knowledge.tokens import Scope, issue_token
from advisor.server.app import create_app
from advisor.server.settings import ServerSettings
from tests.functional.helpers import clean_environ, run_cli
from tests.functional.serving import make_token, running
from tests.support.asgi import serve_in_thread
from tests.support.dists import make_wheel
from tests.support.index import FileSpec, FixtureIndex, IndexedFile, write_pages
from tests.support.server import IndexServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_PACKAGE = "hare"
_VERSIONS = ("1.0", "2.0")
_GONE = "0.5"
_SWEEP_DEADLINE = 150.0  # seconds: two locks, two venvs, two short benches on 2 workers


def _indexed(path: Path, version: str) -> IndexedFile:
    data = path.read_bytes()
    return IndexedFile(
        project=_PACKAGE,
        filename=path.name,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        spec=FileSpec(
            version=version, kind="py3-none-any", upload_time=datetime(2025, 1, 1, tzinfo=UTC)
        ),
    )


@pytest.fixture(scope="module")
def index_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An index with ``hare`` 1.0 and 2.0 (pure-Python wheels that import at once), and 0.5,
    listed but whose wheel is gone (404): a job that cannot lock."""
    root = tmp_path_factory.mktemp("sweep-index")
    built = []
    for version in (_GONE, *_VERSIONS):
        source = f"__version__ = {version!r}\n".encode()
        wheel = make_wheel(
            root / "files", name=_PACKAGE, version=version, files={"hare/__init__.py": source}
        )
        built.append(_indexed(wheel, version))
    write_pages(root, built, {_PACKAGE: _PACKAGE})
    built[0].path.unlink()
    with IndexServer(FixtureIndex(root=root, files=tuple(built))) as server:
        yield server.url


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _sweep_body(**extra: Any) -> dict[str, Any]:
    return {
        "requirements": [_PACKAGE],
        "versions": 2,
        "probes": ["json.roundtrip-stdlib"],
        "repeat": 2,
        "timeout": 120,
        **extra,
    }


# -- end to end on a LocalCluster ---------------------------------------------------------------


def _worker_environ(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """The workers inherit this process's environment: no pip or advisor settings of the
    machine (the spec names the fixture index), a home of the test's own."""
    for key in list(os.environ):
        if key.upper().startswith(("PIP_", "ADVISOR_")) or key.upper() == "NETRC":
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Two worker processes of this venv, one thread each, shared by the module's tests."""
    distributed = pytest.importorskip("distributed")
    root = tmp_path_factory.mktemp("dask")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _worker_environ(monkeypatch, root / "worker-home")
        with distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            # the scheduler's HTTP routes on a free port: 8787 may be another cluster's
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            local_directory=str(root / "space"),
        ) as local:
            yield local


def _poll(url: str, token: str, *, deadline: float) -> tuple[dict[str, Any], set[str]]:
    """The sweep once done (or at ``deadline``), and every job state seen on the way."""
    seen: set[str] = set()
    while True:
        answer = httpx.get(url, headers=_auth(token), timeout=30)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        seen.update(j["state"] for j in found["jobs"])
        if found["done"] or time.monotonic() > deadline:
            return found, seen
        time.sleep(0.5)


@pytest.mark.slow
def test_a_sweep_runs_on_a_local_cluster_and_its_observations_land_in_the_store(
    cluster: Any, index_url: str, tmp_path: Path
) -> None:
    env = clean_environ(tmp_path / "home")
    store = f"sqlite:///{tmp_path / 'team.db'}"
    writer = make_token(store, "bench-farm", "write", env=env)
    args = ["--knowledge", store, "--index-url", index_url]
    args += ["--dask-scheduler", cluster.scheduler_address]
    with running(args, env=env, folder=tmp_path / "server") as server:
        posted = httpx.post(
            f"{server.url}/v1/sweeps", json=_sweep_body(), headers=_auth(writer), timeout=60
        )
        assert posted.status_code == 202, posted.text
        sweep = posted.json()
        assert [j["requirement"] for j in sweep["jobs"]] == ["hare==2.0", "hare==1.0"]
        assert sweep["owner"] == "bench-farm"
        found, seen = _poll(
            f"{server.url}{sweep['url']}", writer, deadline=time.monotonic() + _SWEEP_DEADLINE
        )
        unknown = httpx.get(f"{server.url}/v1/sweeps/{'0' * 32}", headers=_auth(writer))
    log = server.output()
    assert found["done"], found
    assert [j["state"] for j in found["jobs"]] == ["finished", "finished"], found
    assert "running" in seen  # a job takes seconds (a lock, a venv, a bench): it was seen
    workers = set(cluster.scheduler_info["workers"])
    assert {j["worker"] for j in found["jobs"]} <= workers
    assert unknown.status_code == 404 and unknown.json()["code"] == "not-found"

    with open_store(store) as opened:
        builds = [o for o in opened.iter_kind("build") if isinstance(o, BuildObservation)]
        measured = [
            o for o in opened.iter_kind("performance") if isinstance(o, PerformanceObservation)
        ]
    hares = {o.version for o in builds if o.package == _PACKAGE and o.outcome == "ok"}
    assert hares == set(_VERSIONS)
    imports = {o.version: o for o in measured if o.probe == f"import:{_PACKAGE}"}
    assert set(imports) == set(_VERSIONS)
    landed = [*builds, *measured]
    assert found["observations"] == sum(j["observations"] for j in found["jobs"]) == len(landed)
    # provenance is the token's owner (whatever the worker claims); the runtime the worker's
    assert {o.provenance.source for o in landed} == {"upload:bench-farm"}
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert all(o.environment.python.startswith(here) for o in measured)
    assert all(o.environment.threads == 1 for o in imports.values())
    assert writer not in log


@pytest.mark.slow
def test_a_job_that_fails_is_told_with_its_error(
    cluster: Any, index_url: str, tmp_path: Path
) -> None:
    env = clean_environ(tmp_path / "home")
    store = f"sqlite:///{tmp_path / 'team.db'}"
    writer = make_token(store, "bench-farm", "write", env=env)
    args = ["--knowledge", store, "--index-url", index_url]
    args += ["--dask-scheduler", cluster.scheduler_address]
    with running(args, env=env, folder=tmp_path / "server") as server:
        # through the CLI's client this time: it posts, follows and prints the sweep
        result = run_cli(
            [
                "observe", "sweep", f"hare<{_VERSIONS[0]}", "--versions", "1", "--repeat", "2",
                "--probe", "json.roundtrip-stdlib", "--dispatch", "--server", server.url,
                "--json",
            ],
            env={**env, "ADVISOR_SERVER_TOKEN": writer},
        )  # fmt: skip
    assert result.exit_code == 1, result.output  # a job failed
    assert "Traceback" not in result.output
    found = json.loads(result.stdout)
    ((job,),) = [found["jobs"]]
    assert job["requirement"] == f"hare=={_GONE}" and job["state"] == "failed", found
    assert "404" in job["error"] and job["observations"] is None
    assert found["done"] and found["observations"] == 0
    assert writer not in result.output and writer not in server.output()
    with open_store(store) as opened:
        assert list(opened.iter_kind("build")) == []


# -- refusals -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Team:
    """A store with a write and a read token (secrets by scope) and the server's home."""

    store: str
    secrets: dict[str, str]
    home: Path


@pytest.fixture
def team(tmp_path: Path) -> Team:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    with open_team_store(url) as store:
        secrets = {
            scope.value: issue_token(store, scope.value, scope, created="2026-12-01").secret
            for scope in (Scope.WRITE, Scope.READ)
        }
    return Team(store=url, secrets=secrets, home=tmp_path / "home")


def _serve(team: Team, index_url: str, **settings: Any) -> Any:
    """The real app in a thread, with the composition root's jobs, over ``team``'s store."""
    chosen = ServerSettings(store_url=team.store, index_urls=(index_url,), **settings)
    jobs = ServerJobs(chosen, environ=clean_environ(team.home))
    return serve_in_thread(create_app(chosen, jobs=jobs, sweeps=jobs))


def _problem(resp: httpx.Response, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["code"] == code, body
    return str(body["message"])


def test_without_a_scheduler_a_sweep_is_refused(team: Team, index_url: str) -> None:
    secrets = team.secrets
    with _serve(team, index_url) as url:
        resp = httpx.post(f"{url}/v1/sweeps", json=_sweep_body(), headers=_auth(secrets["write"]))
        shown = httpx.get(f"{url}/v1/sweeps/{'a' * 32}", headers=_auth(secrets["read"]))
    assert "no Dask scheduler configured" in _problem(resp, 503, "not-configured")
    _problem(shown, 503, "not-configured")


def test_a_read_token_cannot_start_a_sweep(team: Team, index_url: str) -> None:
    secrets = team.secrets
    with _serve(team, index_url, dask_scheduler="tcp://127.0.0.1:9") as url:
        resp = httpx.post(f"{url}/v1/sweeps", json=_sweep_body(), headers=_auth(secrets["read"]))
        anonymous = httpx.post(f"{url}/v1/sweeps", json=_sweep_body())
    assert "needs write" in _problem(resp, 403, "forbidden")
    _problem(anonymous, 401, "unauthorized")


@pytest.mark.parametrize(
    ("body", "code", "said"),
    [
        (b"{not json", "malformed-json", "not JSON"),
        (b'{"versions": 2}', "invalid-request", "requirements"),
        (b'{"requirements": ["hare"], "versions": 0}', "invalid-request", "versions"),
        (b'{"requirements": ["hare"], "python": "three"}', "invalid-request", "python"),
        (b'{"requirements": ["hare"], "store": "x"}', "invalid-request", "store"),
        (b'{"requirements": ["tortoise"]}', "invalid-input", "no version has a wheel"),
        (b'{"requirements": ["hare ==="]}', "invalid-input", "not a requirement"),
    ],
)
def test_a_malformed_sweep_is_a_problem_with_a_code(
    team: Team, index_url: str, body: bytes, code: str, said: str
) -> None:
    secrets = team.secrets
    with _serve(team, index_url, dask_scheduler="tcp://127.0.0.1:9") as url:
        resp = httpx.post(f"{url}/v1/sweeps", content=body, headers=_auth(secrets["write"]))
    assert said in _problem(resp, 400, code)


@pytest.mark.slow  # the client waits out its connect timeout (10 s)
def test_an_unreachable_scheduler_is_named(team: Team, index_url: str) -> None:
    secrets = team.secrets
    pytest.importorskip("distributed")
    with _serve(team, index_url, dask_scheduler="tcp://127.0.0.1:9") as url:
        resp = httpx.post(
            f"{url}/v1/sweeps", json=_sweep_body(), headers=_auth(secrets["write"]), timeout=60
        )
    message = _problem(resp, 503, "scheduler-unavailable")
    assert "tcp://127.0.0.1:9" in message
    assert secrets["write"] not in resp.text


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--dispatch"], "--dispatch needs a server"),
        (["--dispatch", "--server", "http://127.0.0.1:9", "--jobs", "2"], "--jobs: not used"),
        (["--dispatch", "--server", "http://127.0.0.1:9", "-o", "x.jsonl"], "--output: not used"),
    ],
)
def test_a_dispatched_sweep_refuses_what_the_server_decides(
    args: list[str], said: str, tmp_path: Path
) -> None:
    result = run_cli(["observe", "sweep", "hare", *args], env=clean_environ(tmp_path))
    assert result.exit_code == 2, result.output
    assert said in result.output and "Traceback" not in result.output


def test_a_dispatched_sweep_ignores_the_store_named_by_the_environment(tmp_path: Path) -> None:
    """ADVISOR_KNOWLEDGE sets up this machine: a dispatched sweep goes on to the server (none
    listens here: exit 3, not a refusal); a --knowledge typed on the command line is refused."""
    env = {**clean_environ(tmp_path), "ADVISOR_KNOWLEDGE": f"sqlite:///{tmp_path / 'k.db'}"}
    args = ["observe", "sweep", "hare", "--dispatch", "--server", "http://127.0.0.1:9", "-q"]
    sent = run_cli(args, env=env)
    assert sent.exit_code == 3 and "not used" not in sent.output, sent.output
    typed = run_cli([*args, "--knowledge", f"sqlite:///{tmp_path / 'k.db'}"], env=env)
    assert typed.exit_code == 2 and "--knowledge: not used" in typed.output, typed.output


def test_run_job_upload_needs_a_server(tmp_path: Path) -> None:
    spec = tmp_path / "job.json"
    spec.write_text("{}\n")
    result = run_cli(["observe", "run-job", spec, "--upload"], env=clean_environ(tmp_path))
    assert result.exit_code == 2, result.output
    assert "--upload needs a server" in result.output


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"dask_scheduler": "dask-scheduler:8786"}, "an address such as tcp://HOST:8786"),
        ({"public_url": "advisor.internal:8000"}, "an http:// or https:// URL"),
        ({"sweep_lifetime": 0}, "more than 0 seconds"),
    ],
)
def test_the_sweep_settings_are_checked(given: dict[str, object], said: str) -> None:
    with pytest.raises(InputError, match=said):
        ServerSettings(store_url="sqlite:///k.db", **given)


# -- how long a sweep is kept ---------------------------------------------------------------------


def _summary(created: float, jobs: int, **extra: object) -> dict[str, object]:
    stamp = datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z")
    return {"requirements": [f"hare=={n}" for n in range(jobs)], "created": stamp, **extra}


def test_a_sweep_is_stale_a_lifetime_after_its_last_news() -> None:
    from advisor.server.dispatch import is_stale

    done = [(1000.0, {"job": 0, "state": "running"}), (1500.0, {"job": 0, "state": "failed"})]
    summary = _summary(900.0, 1, **{"job-timeout": 300.0})
    assert not is_stale(summary, done, now=1500.0 + 100.0, lifetime=100.0)
    assert is_stale(summary, done, now=1500.0 + 101.0, lifetime=100.0)
    running = done[:1]  # not done: kept one job's time bound more after its last news
    assert not is_stale(summary, running, now=1000.0 + 400.0, lifetime=100.0)
    assert is_stale(summary, running, now=1000.0 + 401.0, lifetime=100.0)
    quiet = _summary(900.0, 2)  # no job ever started; no time bound recorded (older server)
    assert not is_stale(quiet, [], now=1000.0, lifetime=100.0)
    assert is_stale(quiet, [], now=1001.0, lifetime=100.0)
    assert not is_stale(_summary(900.0, 0), [], now=1000.0, lifetime=100.0)


def test_the_scheduler_forgets_sweeps_past_their_lifetime(tmp_path: Path) -> None:
    """On a real scheduler (no worker: the jobs stay pending): a done sweep is forgotten a
    lifetime after its last news (GET answers nothing), one still pending a job's time bound
    later, when the next sweep is submitted; the server's option reaches the dispatcher."""
    distributed = pytest.importorskip("distributed")
    from advisor.server.dispatch import SweepDispatcher, UploadTarget
    from advisor.server.sweep_calls import PlannedJob

    now = [time.time()]
    upload = UploadTarget(server="http://127.0.0.1:9", secret="s")

    def submit(dispatcher: SweepDispatcher, jobs: list[PlannedJob]) -> str:
        created = datetime.fromtimestamp(now[0], UTC).isoformat().replace("+00:00", "Z")
        return dispatcher.submit(jobs, upload=upload, owner="o", created=created, job_timeout=50.0)

    with distributed.LocalCluster(
        n_workers=0,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # 8787 may be taken
    ) as local:
        dispatcher = SweepDispatcher(local.scheduler_address, lifetime=100.0, clock=lambda: now[0])
        try:
            done = submit(dispatcher, [])  # no job: done at once
            pending = submit(dispatcher, [PlannedJob(requirement="hare==1.0", spec="{}")])
            now[0] += 101.0
            assert dispatcher.status(done) is None
            found = dispatcher.status(pending)
            assert found is not None and found.jobs[0].state == "pending"
            now[0] += 50.0
            newer = submit(dispatcher, [])  # forgets the pending one, past its bound
            with distributed.Client(local.scheduler_address, set_as_default=False) as client:
                names = set(client.list_datasets())
            assert names == {f"advisor-sweep-{newer}"}
            assert dispatcher.status(pending) is None
        finally:
            dispatcher.close()
    settings = ServerSettings(
        store_url=f"sqlite:///{tmp_path / 'k.db'}",
        dask_scheduler="tcp://127.0.0.1:9",
        sweep_lifetime=5.0,
    )
    app = create_app(settings)
    try:
        assert app.state.advisor.dispatcher.lifetime == 5.0
    finally:
        app.state.advisor.store.close()


def test_a_followed_sweep_is_one_progress_step_renamed_as_it_goes() -> None:
    from advisor.events import SilentProgress
    from advisor.server.sweep_client import SweepProgress

    class Seen(SilentProgress):
        def __init__(self) -> None:
            self.said: list[tuple[str, str]] = []

        def working(self, what: str) -> None:
            self.said.append(("start", what))

        def work_finished(self, what: str) -> None:
            self.said.append(("end", what))

    seen = Seen()
    progress = SweepProgress(seen)
    one = {"id": "3f0c1a2b99", "jobs": [{"state": "running"}, {"state": "pending"}]}
    progress.poll(one)
    progress.poll(one)  # the same line: nothing new
    progress.poll({**one, "jobs": [{"state": "finished"}, {"state": "running"}]})
    progress.close()
    progress.close()
    assert seen.said == [
        ("start", "sweep 3f0c1a2b: 1 running, 0/2 done"),
        ("end", "sweep 3f0c1a2b: 1 running, 0/2 done"),
        ("start", "sweep 3f0c1a2b: 1 running, 1/2 done"),
        ("end", "sweep 3f0c1a2b: 1 running, 1/2 done"),
    ]
