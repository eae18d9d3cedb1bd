"""``advisor serve`` and ``advisor server token`` end to end: real processes, real clients.

The server runs as ``advisor serve --port 0`` in its own process (its first stderr line names
the address it bound); clients are the advisor's own ``knowledge import-osv --api``, httpx,
and uv's ``audit --service-url`` (installed into a throwaway venv: skipped with the reason
when it cannot be installed, failed under ``CI=true``). Two servers, one with two workers,
share one PostgreSQL as N replicas behind a load balancer would.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.functional.helpers import CliResult, clean_environ, run_cli
from tests.functional.serving import make_token, ok, running, upload_observations, uv_binary
from tests.support import Project, build_index, release
from tests.support.uv import uv_environ

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_environ(tmp_path / "home", COLUMNS="200")


def _osv_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "id": "GHSA-test-urll-0001",
        "modified": "2026-01-05T00:00:00Z",
        "summary": "urllib3 forwards a header it should drop",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "urllib3"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.2.2"}]}
                ],
            }
        ],
    }
    (folder / "GHSA-test-urll-0001.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


TEAM_ADVISORY = {
    "type": "advisory",
    "id": "TEAM-2026-7",
    "summary": "teamlib 1.x leaks the team's credentials",
    "affected": [
        {
            "package": "teamlib",
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}],
        }
    ],
}


def _add_team_advisory(url: str, admin: str) -> None:
    answer = upload_observations(url, admin, [TEAM_ADVISORY])
    assert answer["source"] == "upload:security-team"


# -- tokens ---------------------------------------------------------------------------------


def test_token_commands(env: dict[str, str], tmp_path: Path) -> None:
    from advisor.api.serving import SCOPES
    from advisor.cli import cli

    token_create = cli.commands["server"].commands["token"].commands["create"]  # type: ignore[attr-defined]
    scope_choices = next(p for p in token_create.params if p.name == "scope").type.choices
    assert tuple(scope_choices) == SCOPES

    store = f"sqlite:///{tmp_path / 'k.db'}"

    def advisor(*args: str) -> CliResult:
        return run_cli(["server", "token", *args, "--knowledge", store], env=env)

    created = ok(advisor("create", "ci", "--scope", "write"))
    secret = created.stdout.strip()
    assert created.stdout == secret + "\n"  # only the secret on stdout: TOKEN=$(advisor …)
    assert secret.startswith("adv_")
    assert "shown only this once" in created.stderr
    as_json = json.loads(ok(advisor("create", "alice", "--json")).stdout)
    assert as_json["scope"] == "read" and as_json["secret"].startswith("adv_")
    listed = ok(advisor("list"))
    assert "ci" in listed.stdout and "alice" in listed.stdout
    assert secret not in listed.output and as_json["secret"] not in listed.output
    ok(advisor("revoke", "ci"))
    rows = json.loads(ok(advisor("list", "--json")).stdout)
    assert [(r["name"], r["scope"], r["revoked"] is not None) for r in rows] == [
        ("alice", "read", False),
        ("ci", "write", True),
    ]
    assert all("secret" not in r for r in rows)
    for args, words in (
        (("create", "ci"), "never reused"),
        (("revoke", "nobody"), "no token named"),
        (("create", "bad name"), "invalid token name"),
        (("create", "x", "--scope", "root"), "root"),
    ):
        refused = advisor(*args)
        assert refused.exit_code == 2, refused.output
        assert words in refused.stderr
        assert "Traceback" not in refused.output


def test_server_refusal_names_the_options_as_typed(env: dict[str, str], tmp_path: Path) -> None:
    """With --server the options the server decides are refused before any request (the URL
    listens nowhere), each named as the command line spells it, not as its field."""
    (tmp_path / "requirements.in").write_text("app\n", encoding="utf-8")
    (tmp_path / "curated").mkdir()
    nowhere = "http://127.0.0.1:9"  # the discard port: nothing answers there
    refused = run_cli(
        [
            "advise",
            tmp_path / "requirements.in",
            "--server",
            nowhere,
            "--extra-index-url",
            f"{nowhere}/extra",
            "--cooldown",
            "7",
            "--prerelease-package",
            "app",
            "--knowledge-dir",
            tmp_path / "curated",
        ],
        env=env,
    )
    assert refused.exit_code == 2, refused.output
    assert "Traceback" not in refused.output
    message = " ".join(refused.stderr.split())
    for typed in ("--extra-index-url,", "--prerelease-package,", "--cooldown ", "--knowledge-dir "):
        assert typed in message, message
    for field in ("--extra-index-urls", "--cooldown-days", "--pre-packages", "--knowledge-dirs"):
        assert field not in message, message
    locked = run_cli(
        ["lock", tmp_path / "requirements.in", "--server", nowhere, "--exclude-newer", "3 days"],
        env=env,
    )
    assert locked.exit_code == 2, locked.output
    assert "--exclude-newer" in " ".join(locked.stderr.split()), locked.stderr
    assert not (tmp_path / "pylock.toml").exists()


# -- one server on SQLite ------------------------------------------------------------------------


def test_serve_answers_the_advisors_own_osv_client(env: dict[str, str], tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'team.db'}"
    ok(
        run_cli(
            ["knowledge", "import-osv", _osv_folder(tmp_path / "osv"), "--knowledge", store],
            env=env,
        )
    )
    admin = make_token(store, "security-team", "admin", env=env)
    reader = make_token(store, "laptop", "read", env=env)
    mine = f"sqlite:///{tmp_path / 'mine.db'}"
    with running(["--knowledge", store], env=env, folder=tmp_path / "server") as server:
        _add_team_advisory(server.url, admin)
        # the project's client, with the token as URL credentials, as pip takes them
        with_token = server.url.replace("http://", f"http://token:{reader}@")
        imported = ok(
            run_cli(
                [
                    "knowledge",
                    "import-osv",
                    "--api",
                    with_token,
                    "--package",
                    "urllib3==2.2.1",
                    "--package",
                    "teamlib",
                    "--knowledge",
                    mine,
                    "--json",
                ],
                env=env,
            )
        )
        outcome = json.loads(imported.stdout)
        assert (outcome["advisories"], outcome["added"]) == (2, 2)
        assert reader not in imported.output
        shown = json.loads(
            ok(
                run_cli(
                    ["knowledge", "show", "teamlib==1.0", "--knowledge", mine, "--json"], env=env
                )
            ).stdout
        )
        assert [f["applies"] for f in shown["kinds"]["advisory"]] == [True]
        assert shown["kinds"]["advisory"][0]["observation"]["id"] == "TEAM-2026-7"
        # without the token: refused, and said so
        refused = run_cli(
            [
                "knowledge",
                "import-osv",
                "--api",
                server.url,
                "--package",
                "urllib3",
                "--knowledge",
                mine,
            ],
            env=env,
        )
        assert refused.exit_code == 3, refused.output
        assert "401" in refused.stderr
        # keep-alive: one connection answers request after request (TCP_NODELAY on accepted
        # sockets, which avoids a ~40 ms stall each, is checked in tests/test_server.py)
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {reader}"}) as c:
            assert {c.get("/v1/stats").status_code for _ in range(5)} == {200}
        assert server.stop() == 143  # SIGTERM: stopped cleanly, as every command reports it
    log = server.output()
    assert "POST /v1/querybatch" in log  # uvicorn's access log
    for secret in (admin, reader):
        assert secret not in log


def test_serve_refuses_bad_settings_before_listening(env: dict[str, str], tmp_path: Path) -> None:
    bad_url = run_cli(["serve", "--knowledge", "ftp://example.invalid/k"], env=env)
    assert bad_url.exit_code == 2, bad_url.output
    assert "unsupported URL" in bad_url.stderr
    store = f"sqlite:///{tmp_path / 'k.db'}"
    with running(["--knowledge", store], env=env, folder=tmp_path / "first") as first:
        port = first.url.rsplit(":", 1)[1]
        taken = run_cli(["serve", "--knowledge", store, "--port", port], env=env)
    assert taken.exit_code == 3, taken.output
    assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr
    assert "Traceback" not in taken.output


# -- uv audit --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def uv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """uv, installed from the package index into a throwaway venv (with the machine's pip
    configuration: this is the one test that needs the index)."""
    return uv_binary(tmp_path_factory)


@pytest.mark.slow
def test_uv_audit_reads_the_teams_advisories(env: dict[str, str], tmp_path: Path, uv: Path) -> None:
    index = build_index(
        tmp_path / "index",
        [
            Project(name="urllib3", files=release("2.2.1", sdist=False)),
            Project(name="teamlib", files=release("1.0", sdist=False)),
        ],
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.11"\n'
        'dependencies = ["urllib3", "teamlib"]\n',
        encoding="utf-8",
    )
    uv_env = uv_environ(env, cache=tmp_path / "uv-cache")

    def run_uv(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(uv), *args],
            cwd=project,
            env=uv_env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    locked = run_uv("lock", "--default-index", (index.root / "simple").as_uri())
    assert locked.returncode == 0, locked.stderr
    store = f"sqlite:///{tmp_path / 'team.db'}"
    ok(
        run_cli(
            ["knowledge", "import-osv", _osv_folder(tmp_path / "osv"), "--knowledge", store],
            env=env,
        )
    )
    admin = make_token(store, "security-team", "admin", env=env)
    reader = make_token(store, "uv", "read", env=env)
    with running(["--knowledge", store], env=env, folder=tmp_path / "server") as server:
        _add_team_advisory(server.url, admin)
        audit = ["audit", "--frozen", "--preview-features", "audit-command", "--service-url"]
        found = run_uv(*audit, server.url.replace("http://", f"http://token:{reader}@"))
        refused = run_uv(*audit, server.url)  # no token, no anonymous reads
    log = server.output()
    assert found.returncode != 0, found.stdout + found.stderr  # vulnerabilities found
    assert "GHSA-test-urll-0001" in found.stdout, found.stdout + found.stderr
    assert "TEAM-2026-7" in found.stdout, found.stdout + found.stderr
    assert "TEAM-2026-7" not in refused.stdout and refused.returncode != 0
    assert re.search(r'"POST /v1/querybatch HTTP/1.1" 200', log), log
    assert re.search(r'"POST /v1/querybatch HTTP/1.1" 401', log), log
    assert reader not in log and admin not in log


# -- N servers on one PostgreSQL ---------------------------------------------------------------


def _get(url: str, path: str, token: str, **kw: Any) -> httpx.Response:
    return httpx.get(f"{url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30, **kw)


@pytest.mark.slow
def test_servers_behind_a_load_balancer_share_one_postgres(
    env: dict[str, str], tmp_path: Path, pg_store: str
) -> None:
    writer = make_token(pg_store, "ci", "write", env=env)
    with (
        running(["--knowledge", pg_store, "--workers", "2"], env=env, folder=tmp_path / "a") as a,
        running(["--knowledge", pg_store], env=env, folder=tmp_path / "b") as b,
    ):
        measured = {
            "type": "build",
            "package": "numpy",
            "version": "2.1.0",
            "outcome": "ok",
            "provenance": {"source": "anything", "date": "2026-05-05"},
        }
        stored = httpx.post(
            f"{a.url}/v1/observations",
            json={"observations": [measured]},
            headers={"Authorization": f"Bearer {writer}"},
            timeout=30,
        )
        assert stored.status_code == 200, stored.text
        # what one replica stored, the other answers (nothing is kept in a process)
        seen = _get(b.url, "/v1/packages/numpy", writer).json()
        [fact] = seen["kinds"]["build"]
        assert fact["observation"]["provenance"]["source"] == "upload:ci"
        assert {_get(a.url, "/v1/stats", writer).status_code for _ in range(10)} == {200}
        # a revocation holds at once on every replica and every worker
        ok(run_cli(["server", "token", "revoke", "ci", "--knowledge", pg_store], env=env))
        for url in (a.url, a.url, a.url, b.url):
            assert _get(url, "/v1/stats", writer).status_code == 401
    output = a.output()
    assert output.count("Started server process") == 2, output
    assert writer not in output + b.output()
