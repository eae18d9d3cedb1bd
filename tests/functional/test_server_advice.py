"""The advice endpoints end to end: ``advisor lock|advise|check --server`` against a real
``advisor serve`` process resolving from a fixture index served over HTTP.

The server is started with ``--index-url`` (its own index; clients never choose one) and its
own cache folder; the client is the real CLI, in-process, with a token from
``ADVISOR_SERVER_TOKEN`` or in the URL. A lock made by the server equals the one made here
offline (byte for byte: same pins, same record, same digest); a second client's lock is
answered from the server's warm cache (no request reaches the fixture index).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.functional.helpers import clean_environ, run_advisor, run_cli
from tests.functional.serving import make_token, ok, running, upload_observations
from tests.support import IndexServer, Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.functional.serving import ServerProcess

pytestmark = pytest.mark.slow


def _projects() -> list[Project]:
    return [
        Project(
            name="app",
            files=[
                *release("1.0", requires_dist=["lib"]),
                *release("2.0", requires_dist=["lib>=1.5"]),
            ],
        ),
        Project(name="lib", files=[*release("1.0"), *release("1.5"), *release("2.0")]),
    ]


RULE = """\
- id: team-lib-1-slow
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


class Team:
    """One server over one store, its index, and the tokens made for it."""

    def __init__(
        self,
        server: ServerProcess,
        index: IndexServer,
        store: str,
        env: dict[str, str],
        *,
        reader: str | None = None,
    ) -> None:
        self.server = server
        self.index = index
        self.store = store
        self.env = env
        self.reader = reader or make_token(store, "laptop", "read", env=env)

    def client_env(self, token: str | None = None) -> dict[str, str]:
        env = dict(self.env)
        env.pop("ADVISOR_CACHE_DIR", None)
        if token is not None:
            env["ADVISOR_SERVER_TOKEN"] = token
        return env


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    index = build_index(tmp_path / "index", _projects())
    env = clean_environ(tmp_path / "home", COLUMNS="200")
    store = f"sqlite:///{tmp_path / 'team.db'}"
    server_env = {**env, "ADVISOR_CACHE_DIR": str(tmp_path / "server-cache")}
    rules = tmp_path / "team-knowledge" / "prescriptions"
    rules.mkdir(parents=True)
    (rules / "lib.yaml").write_text(RULE, encoding="utf-8")
    with IndexServer(index) as served:
        args = ["--knowledge", store, "--index-url", served.url]
        args += ["--knowledge-dir", str(rules.parent)]
        with running(args, env=server_env, folder=tmp_path / "server") as server:
            yield Team(server, served, store, env)


def _project(folder: Path, requirements: str = "app\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.in").write_text(requirements, encoding="utf-8")
    return folder / "requirements.in"


def test_lock_via_server_equals_offline_and_shares_the_cache(team: Team, tmp_path: Path) -> None:
    offline_in = _project(tmp_path / "offline" / "proj")
    remote_in = _project(tmp_path / "remote" / "proj")
    env = clean_environ(tmp_path / "client-home")
    ok(run_cli(["lock", offline_in, "--index-url", team.index.url, "-q"], env=env))
    offline = (offline_in.parent / "pylock.toml").read_text(encoding="utf-8")

    team.index.reset()
    result = ok(
        run_cli(
            ["lock", remote_in, "--server", team.server.url],
            env=team.client_env(team.reader),
        )
    )
    remote = (remote_in.parent / "pylock.toml").read_text(encoding="utf-8")
    assert remote == offline  # same pins, same record (index, inputs, target), same digest
    assert 'name = "lib"' in remote and 'version = "2.0"' in remote
    assert "Locked 2 packages" in result.stderr
    assert team.index.requests, "the server's first lock fetched from its index"

    # a second client, another folder: answered from the server's warm cache
    team.index.reset()
    second_in = _project(tmp_path / "second" / "proj")
    ok(
        run_cli(
            ["lock", second_in, "--json"],
            env={**team.client_env(team.reader), "ADVISOR_SERVER": team.server.url},
        )
    )
    assert team.index.requests == []
    assert (second_in.parent / "pylock.toml").read_text(encoding="utf-8") == offline


def test_tokens_anonymous_refused_and_url_credentials(team: Team, tmp_path: Path) -> None:
    req = _project(tmp_path / "proj")
    refused = run_cli(["lock", req, "--server", team.server.url], env=team.client_env())
    assert refused.exit_code == 2, refused.output
    assert "token" in refused.stderr and "Traceback" not in refused.output
    assert not (req.parent / "pylock.toml").exists()  # nothing partial written
    with_url = team.server.url.replace("http://", f"http://token:{team.reader}@")
    ok(run_cli(["lock", req, "--server", with_url, "-o", "-", "-q"], env=team.client_env()))
    assert not (req.parent / "pylock.toml").exists()


def test_anonymous_locks_when_the_server_allows_anonymous_reads(tmp_path: Path) -> None:
    index = build_index(tmp_path / "index", _projects())
    env = clean_environ(tmp_path / "home")
    store = f"sqlite:///{tmp_path / 'open.db'}"
    with IndexServer(index) as served:
        args = ["--knowledge", store, "--index-url", served.url, "--allow-anonymous-reads"]
        with running(args, env=env, folder=tmp_path / "server") as server:
            req = _project(tmp_path / "proj")
            ok(run_cli(["lock", req, "--server", server.url, "-q"], env=env))
            assert 'name = "app"' in (req.parent / "pylock.toml").read_text()
            # writes never are anonymous
            refused = httpx.post(f"{server.url}/v1/knowledge/sync", timeout=30)
            assert refused.status_code == 401


def test_conflict_explained_as_offline(team: Team, tmp_path: Path) -> None:
    conflict = "app==2.0\nlib<1.5\n"
    offline_in = _project(tmp_path / "offline", conflict)
    remote_in = _project(tmp_path / "remote", conflict)
    env = clean_environ(tmp_path / "client-home")
    offline = run_cli(["lock", offline_in, "--index-url", team.index.url, "-q"], env=env)
    remote = run_cli(
        ["lock", remote_in, "--server", team.server.url, "-q"], env=team.client_env(team.reader)
    )
    assert offline.exit_code == remote.exit_code == 1, remote.output
    assert "lib" in remote.stderr and "Traceback" not in remote.output
    # the same explanation; the server names the input relative to the lock's folder
    assert remote.stderr == offline.stderr.replace(f"{offline_in.parent}/", "")
    assert not (remote_in.parent / "pylock.toml").exists()


def test_index_options_in_inputs_are_refused(team: Team, tmp_path: Path) -> None:
    env = team.client_env(team.reader)
    for text in (
        "--index-url http://127.0.0.1:9/simple\napp\n",
        "--find-links /tmp\napp\n",
        "app @ http://127.0.0.1:9/app-1.0.tar.gz\n",
    ):
        req = _project(tmp_path / "proj", text)
        result = run_cli(["lock", req, "--server", team.server.url], env=env)
        assert result.exit_code == 2, result.output
        assert "server" in result.stderr and "Traceback" not in result.output
    # and a client's index option is refused before anything is sent
    req = _project(tmp_path / "proj")
    result = run_cli(
        ["lock", req, "--server", team.server.url, "--index-url", team.index.url], env=env
    )
    assert result.exit_code == 2 and "--index-url" in result.stderr


def test_advise_report_as_offline(team: Team, tmp_path: Path) -> None:
    offline_in = _project(tmp_path / "offline" / "proj")
    remote_in = _project(tmp_path / "remote" / "proj")
    env = clean_environ(tmp_path / "client-home")
    args = ["--report", "json", "--budget", "3"]
    offline = ok(run_cli(["advise", offline_in, "--index-url", team.index.url, *args], env=env))
    remote = ok(
        run_cli(
            ["advise", remote_in, "--server", team.server.url, *args],
            env=team.client_env(team.reader),
        )
    )
    mine, theirs = json.loads(offline.stdout), json.loads(remote.stdout)
    for report in (mine, theirs):
        report.pop("elapsed")
    assert theirs == mine
    assert theirs["recommendation"] == "stable" and theirs["best"]["pins"]
    assert (remote_in.parent / "pylock.toml").read_text() == (
        offline_in.parent / "pylock.toml"
    ).read_text()
    text = ok(
        run_cli(
            ["advise", remote_in, "--server", team.server.url, "--dry-run", "--budget", "3"],
            env=team.client_env(team.reader),
        )
    )
    # the text report is rendered here from the server's JSON, as an offline advice's is
    assert text.stdout.startswith("stable advice for ") and "2 packages" in text.stdout


def test_explain_via_server_as_offline_from_the_servers_knowledge(
    team: Team, tmp_path: Path
) -> None:
    """``explain --server``: the server explains from its own store (the team's rule about
    lib 1.0, which this machine's store lacks), and prints what an offline explain over that
    store prints, in both formats."""
    req = _project(tmp_path / "proj", "app==1.0\nlib==1.0\n")
    env = clean_environ(tmp_path / "client-home", COLUMNS="200")
    ok(run_cli(["lock", req, "--index-url", team.index.url, "-q"], env=env))
    lock = req.parent / "pylock.toml"
    rules = tmp_path / "team-knowledge"
    ok(run_cli(["knowledge", "sync", rules, "--knowledge", team.store], env=team.env))
    client = {**team.client_env(team.reader), "COLUMNS": "200"}
    for extra in (["--json"], []):
        args = ["explain", "lib", "--lock", lock, "-q", *extra]
        remote = ok(run_cli([*args, "--server", team.server.url], env=client))
        offline = ok(run_cli([*args, "--knowledge", team.store], env=env))
        assert remote.stdout == offline.stdout
        assert "slow on the team's machines" in remote.stdout
        # this machine's own store knows nothing of the rule
        here = ok(run_cli(args, env=env))
        assert "slow on the team's machines" not in here.stdout
    answer = json.loads(
        ok(run_cli([*args, "--json", "--server", team.server.url], env=client)).stdout
    )
    assert answer["version"] == "1.0" and ["app", "lib"] in answer["paths"]

    # with ADVISOR_SERVER too; a name not in the lock is the offline error, exit 2
    missing = run_cli(
        ["explain", "nope", "--lock", lock], env={**client, "ADVISOR_SERVER": team.server.url}
    )
    assert missing.exit_code == 2 and "nope is not in" in missing.stderr, missing.output
    # this machine's knowledge options are refused before anything is sent
    refused = run_cli(
        ["explain", "lib", "--lock", lock, "--server", team.server.url, "--knowledge", team.store],
        env=client,
    )
    assert refused.exit_code == 2 and "--knowledge" in refused.stderr, refused.output
    anonymous = run_cli(["explain", "lib", "--lock", lock, "--server", team.server.url], env=env)
    assert anonymous.exit_code == 2 and "token" in anonymous.stderr, anonymous.output


def _advisory(ident: str, introduced: str, fixed: str) -> dict[str, object]:
    return {
        "type": "advisory",
        "id": ident,
        "summary": f"lib {introduced} leaks",
        "affected": [
            {
                "package": "lib",
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": introduced}, {"fixed": fixed}],
                    }
                ],
            }
        ],
    }


def _upload(team: Team, admin: str, advisory: dict[str, object]) -> None:
    upload_observations(team.server.url, admin, [advisory])


def test_check_uses_the_servers_advisories(team: Team, tmp_path: Path) -> None:
    req = _project(tmp_path / "proj")
    env = team.client_env(team.reader)
    ok(run_cli(["lock", req, "--server", team.server.url, "-q"], env=env))
    lock = req.parent / "pylock.toml"
    osv = tmp_path / "osv"
    osv.mkdir()
    today = datetime.now(UTC).strftime("%Y-%m-%dT00:00:00Z")  # fresh data: no age warning
    events = [{"introduced": "0"}, {"fixed": "1.5"}]
    record = {
        "id": "OSV-0",
        "modified": today,
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "lib"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ],
    }
    (osv / "OSV-0.json").write_text(json.dumps(record), encoding="utf-8")
    ok(run_cli(["knowledge", "import-osv", osv, "--knowledge", team.store], env=team.env))
    admin = make_token(team.store, "security", "admin", env=team.env)
    _upload(team, admin, _advisory("TEAM-2026-0", "0", "1.5"))  # lib 2.0 is not affected
    clean = ok(run_cli(["check", lock, "--server", team.server.url], env=env))
    assert "ok:" in clean.stderr
    # this machine's store has no advisories at all: the same check here finds that
    here = run_cli(["check", lock], env=clean_environ(tmp_path / "h2"))
    assert here.exit_code == 1 and "advisory-data-missing" in here.output

    _upload(team, admin, _advisory("TEAM-2026-1", "2.0", "2.1"))
    found = run_advisor(
        ["check", "--format", "json", "--server", team.server.url], env=env, cwd=req.parent
    )
    assert found.returncode == 1, found.stderr
    findings = json.loads(found.stdout)
    assert [f["path"] for f in findings] == ["pylock.toml"]
    assert any("TEAM-2026-1" in f["message"] for f in findings)
    # --fix and --online need this machine's sources: refused, not half done
    refused = run_cli(["check", lock, "--fix", "--server", team.server.url], env=env)
    assert refused.exit_code == 2 and "--fix" in refused.stderr


def _kinds(store: str, name: str, kind: str) -> list[object]:
    from advisor.knowledge.store import open_store

    with open_store(store) as opened:
        return list(opened.for_packages([name], kinds=[kind])[name])


def test_sync_needs_admin_and_loads_the_servers_folder(team: Team) -> None:
    writer = make_token(team.store, "ci", "write", env=team.env)
    admin = make_token(team.store, "curator", "admin", env=team.env)
    url = f"{team.server.url}/v1/knowledge/sync"
    assert httpx.post(url, timeout=30).status_code == 401
    for token in (team.reader, writer):
        refused = httpx.post(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert _kinds(team.store, "lib", "prescription") == []
    done = httpx.post(url, headers={"Authorization": f"Bearer {admin}"}, timeout=60)
    assert done.status_code == 200, done.text
    assert done.json()["folders"][0]["added"] == 1
    assert [r.id for r in _kinds(team.store, "lib", "prescription")] == ["team-lib-1-slow"]  # type: ignore[attr-defined]
    again = httpx.post(url, headers={"Authorization": f"Bearer {admin}"}, timeout=60)
    assert again.json()["folders"][0]["skipped"] is True

    # knowledge show --server: what the server's store knows, printed as it is printed here
    env = team.client_env(team.reader)
    for extra in (["--json"], []):
        remote = ok(
            run_cli(["knowledge", "show", "lib==1.0", "--server", team.server.url, *extra], env=env)
        )
        local = ok(
            run_cli(
                ["knowledge", "show", "lib==1.0", "--knowledge", team.store, *extra], env=team.env
            )
        )
        assert remote.stdout == local.stdout
        assert "team-lib-1-slow" in remote.stdout
    filtered = ok(
        run_cli(
            ["knowledge", "show", "lib", "--source", "upload:*", "--json"],
            env={**env, "ADVISOR_SERVER": team.server.url},
        )
    )
    assert json.loads(filtered.stdout)["kinds"] == {}


def test_this_machines_environment_does_not_block_server(team: Team, tmp_path: Path) -> None:
    """ADVISOR_KNOWLEDGE and ADVISOR_CACHE_DIR set up this machine, not a request: with
    --server they are ignored (the server uses its own store and cache); only --knowledge or
    --cache-dir typed on the command line is refused."""
    req = _project(tmp_path / "proj")
    mine, cache = tmp_path / "mine.db", tmp_path / "my-cache"
    env = {
        **team.client_env(team.reader),
        "ADVISOR_KNOWLEDGE": f"sqlite:///{mine}",
        "ADVISOR_CACHE_DIR": str(cache),
    }
    url = team.server.url
    ok(run_cli(["lock", req, "--server", url, "-q"], env=env))
    lock = req.parent / "pylock.toml"
    ok(run_cli(["advise", req, "--server", url, "--budget", "2", "--dry-run", "-q"], env=env))
    checked = run_cli(["check", lock, "--server", url, "-q"], env=env)
    assert checked.exit_code in (0, 1) and "--knowledge" not in checked.stderr, checked.output
    ok(run_cli(["explain", "lib", "--lock", lock, "--server", url], env=env))
    assert not mine.exists() and not cache.exists()  # nothing of this machine's was used
    for command in (["check", lock], ["advise", req, "--dry-run"]):
        typed = run_cli([*command, "--server", url, "--knowledge", f"sqlite:///{mine}"], env=env)
        assert typed.exit_code == 2 and "--knowledge" in typed.stderr, typed.output
    typed = run_cli(["lock", req, "--server", url, "--cache-dir", cache], env=env)
    assert typed.exit_code == 2 and "--cache-dir" in typed.stderr, typed.output


def test_observe_upload_lands_with_the_tokens_provenance(team: Team, tmp_path: Path) -> None:
    req = _project(tmp_path / "proj")
    env = team.client_env(team.reader)
    ok(run_cli(["lock", req, "--server", team.server.url, "-q"], env=env))
    lock = req.parent / "pylock.toml"
    # a read token cannot write: refused, and the local record is kept
    refused = run_cli(
        ["observe", "install", lock, "--upload", "--server", team.server.url, "-q"],
        env={**env, "ADVISOR_KNOWLEDGE": f"sqlite:///{tmp_path / 'mine.db'}"},
    )
    assert refused.exit_code == 2 and "forbidden" in refused.stderr, refused.output
    assert _kinds(team.store, "lib", "build") == []
    writer = make_token(team.store, "ci-runner", "write", env=team.env)
    result = ok(
        run_cli(
            ["observe", "install", lock, "--upload", "-q"],
            env={
                **team.client_env(writer),
                "ADVISOR_SERVER": team.server.url,
                "ADVISOR_KNOWLEDGE": f"sqlite:///{tmp_path / 'mine.db'}",
            },
        )
    )
    assert "observations recorded" in result.stdout
    uploaded = _kinds(team.store, "lib", "build")
    assert [o.provenance.source for o in uploaded] == ["upload:ci-runner"]  # type: ignore[attr-defined]
    assert [o.outcome for o in uploaded] == ["ok"]  # type: ignore[attr-defined]
    # the machine that measured is kept: the upload's recorder is the local record's
    recorded = _kinds(f"sqlite:///{tmp_path / 'mine.db'}", "lib", "build")
    (mine,) = {o.provenance.recorder for o in recorded}  # type: ignore[attr-defined]
    assert mine and [o.provenance.recorder for o in uploaded] == [mine]  # type: ignore[attr-defined]
    without = run_cli(["observe", "install", lock, "--upload"], env=team.client_env(writer))
    assert without.exit_code == 2 and "--server" in without.output


def test_advice_over_postgresql_with_two_workers(tmp_path: Path, pg_store: str) -> None:
    """Two worker processes on one PostgreSQL: each answers locks from the one shared cache
    folder, and advise and check read the team's store (an advisory uploaded through one
    worker is seen by the other's jobs)."""
    index = build_index(tmp_path / "index", _projects())
    env = clean_environ(tmp_path / "home", COLUMNS="200")
    server_env = {**env, "ADVISOR_CACHE_DIR": str(tmp_path / "server-cache")}
    reader = make_token(pg_store, "laptop", "read", env=env)
    admin = make_token(pg_store, "security", "admin", env=env)
    with IndexServer(index) as served:
        args = ["--knowledge", pg_store, "--index-url", served.url, "--workers", "2"]
        with running(args, env=server_env, folder=tmp_path / "server") as server:
            team = Team(server, served, pg_store, env, reader=reader)
            client = team.client_env(reader)
            offline_in = _project(tmp_path / "offline" / "proj")
            ok(run_cli(["lock", offline_in, "--index-url", served.url, "-q"], env=env))
            for n in range(3):  # spread over both workers
                req = _project(tmp_path / f"remote{n}" / "proj")
                ok(run_cli(["lock", req, "--server", server.url, "-q"], env=client))
                assert (req.parent / "pylock.toml").read_text() == (
                    offline_in.parent / "pylock.toml"
                ).read_text()
            advised = ok(
                run_cli(
                    ["advise", req, "--server", server.url, "--report", "json", "--budget", "2"],
                    env=client,
                )
            )
            assert json.loads(advised.stdout)["best"]["pins"]
            _upload(team, admin, _advisory("TEAM-PG-1", "2.0", "2.1"))
            found = run_cli(
                ["check", req.parent / "pylock.toml", "--format", "json", "--server", server.url],
                env=client,
            )
            assert found.exit_code == 1, found.output
            assert any("TEAM-PG-1" in f["message"] for f in json.loads(found.stdout))
