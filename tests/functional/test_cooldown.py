"""``--cooldown DAYS`` and a relative ``--exclude-newer``: a hard filter on young releases,
with its exemptions, end to end on a fixture index whose JSON pages carry upload times
(PEP 700) relative to now, served over HTTP (a file:// index is HTML).

* ``fresh`` 1.0 is 100 days old, 1.1 two days old: the cooldown keeps 1.0;
* ``patched`` 1.0 (old) is affected by an advisory that 1.1 (young) fixes: every older
  release is affected, so 1.1 gets through, with a warning saying why;
* ``careful`` 1.0 (old) is affected, 1.1 (60 days) is not, 1.2 (young) too: an older release
  is safe, so the cooldown holds 1.2 back;
* ``hotfix`` 1.0 (old) is affected, fixed in 1.1 (five days old), and 1.2 (two days) exists:
  the exemption lets in the oldest fix, 1.1, and 1.2 waits;
* ``rollback`` 1.1 is affected (from 1.1, fixed in 1.2, which is young): ``fix`` under the
  cooldown goes back to the safe 1.0;
* ``[tool.advisor.policy] cooldown-exemptions`` lets ``fresh`` through until its end date; an
  expired exemption is a warning and no longer applies.

Advisories reach ``lock`` through the knowledge store (``ADVISOR_KNOWLEDGE``, filled with
``advisor knowledge import-osv``) and ``advise`` through ``--osv`` as well.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.functional.helpers import CliResult, clean_environ, lock_pins, read_lock, run_cli
from tests.support import IndexServer, Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PATCHED = "GHSA-ptch-0001-aaaa"
CAREFUL = "GHSA-care-0001-aaaa"
ROLLBACK = "GHSA-roll-0001-aaaa"
HOTFIX = "GHSA-hotf-0001-aaaa"
NOW = datetime.now(UTC)


def _ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def _projects() -> list[Project]:
    return [
        Project(
            name="fresh",
            files=[*release("1.0", upload_time=_ago(100)), *release("1.1", upload_time=_ago(2))],
        ),
        Project(
            name="patched",
            files=[*release("1.0", upload_time=_ago(100)), *release("1.1", upload_time=_ago(2))],
        ),
        Project(
            name="careful",
            files=[
                *release("1.0", upload_time=_ago(100)),
                *release("1.1", upload_time=_ago(60)),
                *release("1.2", upload_time=_ago(2)),
            ],
        ),
        Project(
            name="hotfix",
            files=[
                *release("1.0", upload_time=_ago(100)),
                *release("1.1", upload_time=_ago(5)),
                *release("1.2", upload_time=_ago(2)),
            ],
        ),
        Project(
            name="rollback",
            files=[
                *release("1.0", upload_time=_ago(100)),
                *release("1.1", upload_time=_ago(50)),
                *release("1.2", upload_time=_ago(2)),
            ],
        ),
    ]


def _record(adv_id: str, package: str, fixed: str, introduced: str = "0") -> dict[str, Any]:
    return {
        "schema_version": "1.6.0",
        "id": adv_id,
        "modified": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "summary": f"a flaw in {package}",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": introduced}, {"fixed": fixed}]}
                ],
            }
        ],
    }


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """Served over HTTP: upload times are in the JSON pages (a file:// index is HTML)."""
    built = build_index(tmp_path_factory.mktemp("cooldown") / "index", _projects())
    with IndexServer(built) as server:
        yield server


@pytest.fixture(scope="module")
def osv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("osv")
    for record in (
        _record(PATCHED, "patched", "1.1"),
        _record(CAREFUL, "careful", "1.1"),
        _record(ROLLBACK, "rollback", "1.2", introduced="1.1"),
        _record(HOTFIX, "hotfix", "1.1"),
    ):
        (folder / f"{record['id']}.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


@pytest.fixture
def env(tmp_path: Path, osv: Path) -> dict[str, str]:
    """A clean environment whose default knowledge store holds the advisories."""
    environ = clean_environ(
        tmp_path / "home", ADVISOR_KNOWLEDGE=f"sqlite:///{tmp_path / 'knowledge.db'}"
    )
    imported = run_cli(["knowledge", "import-osv", osv], env=environ)
    assert imported.exit_code == 0, imported.output
    return environ


def _project(tmp_path: Path, requirements: str, policy: str = "") -> Path:
    root = tmp_path / "app"
    root.mkdir(exist_ok=True)
    (root / "requirements.in").write_text(requirements, encoding="utf-8")
    if policy:
        (root / "advisor.toml").write_text(f"[policy]\n{policy}", encoding="utf-8")
    return root / "requirements.in"


def _lock(index: IndexServer, env: dict[str, str], req: Path, *args: object) -> CliResult:
    result = run_cli(["lock", req, "--index-url", index.url, *args], env=env)
    assert result.exit_code == 0, result.output
    return result


def _pins(req: Path) -> dict[str, str]:
    return lock_pins(read_lock(req.parent / "pylock.toml"))


def test_cooldown_leaves_out_young_releases_and_is_recorded(
    tmp_path: Path, index: IndexServer, env: dict[str, str]
) -> None:
    req = _project(tmp_path, "fresh\n")
    _lock(index, env, req)
    assert _pins(req) == {"fresh": "1.1"}
    _lock(index, env, req, "--cooldown", "7", "--upgrade")
    assert _pins(req) == {"fresh": "1.0"}
    options = read_lock(req.parent / "pylock.toml")["tool"]["advisor"]["options"]
    assert options["cooldown-days"] == 7
    # a span given to --exclude-newer is the same cooldown, recorded the same way
    _lock(index, env, req, "--exclude-newer", "1 week", "--upgrade", "-o", tmp_path / "w.toml")
    week = read_lock(tmp_path / "w.toml")
    assert lock_pins(week) == {"fresh": "1.0"}
    assert week["tool"]["advisor"]["options"]["cooldown-days"] == 7
    assert "exclude-newer" not in week["tool"]["advisor"]["options"]
    # a cooldown shorter than the release's age lets it through
    _lock(index, env, req, "--cooldown", "1", "--upgrade", "-o", tmp_path / "one.toml")
    assert lock_pins(read_lock(tmp_path / "one.toml")) == {"fresh": "1.1"}


def test_check_freshness_takes_the_cooldown_into_account(
    tmp_path: Path, index: IndexServer, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    req = _project(tmp_path, "fresh\n")
    _lock(index, env, req, "--cooldown", "7")
    monkeypatch.chdir(req.parent)
    lock = req.parent / "pylock.toml"
    checked = run_cli(["check", "--only", "freshness"], env=env)
    assert checked.exit_code == 0, checked.output
    # the recorded cooldown is part of the digest: another one is a stale lock
    text = lock.read_text(encoding="utf-8")
    lock.write_text(text.replace("cooldown-days = 7", "cooldown-days = 3"), encoding="utf-8")
    stale = run_cli(["check", "--only", "freshness"], env=env)
    assert stale.exit_code == 1, stale.output
    assert "lock-stale" in stale.output
    # check --fix re-locks with the recorded cooldown (3 days: 1.1 is still too young)
    fixed = run_cli(["check", "--only", "freshness", "--fix"], env=env)
    assert "re-locked" in fixed.output, fixed.output
    assert read_lock(lock)["tool"]["advisor"]["options"]["cooldown-days"] == 3
    assert _pins(req) == {"fresh": "1.0"}
    assert run_cli(["check", "--only", "freshness"], env=env).exit_code == 0


def test_a_young_security_fix_gets_through_when_every_older_release_is_affected(
    tmp_path: Path, index: IndexServer, env: dict[str, str]
) -> None:
    req = _project(tmp_path, "patched\ncareful\n")
    result = _lock(index, env, req, "--cooldown", "7")
    # patched 1.1 fixes the advisory that affects 1.0, the only older release
    assert _pins(req)["patched"] == "1.1"
    assert f"patched 1.1 is younger than the 7-day cooldown, used because it fixes {PATCHED}" in (
        " ".join(result.stderr.split())
    )
    # careful 1.1 is old enough and safe: the young 1.2 is held back
    assert _pins(req)["careful"] == "1.1"


def test_the_exemption_lets_in_only_the_oldest_young_fix(
    tmp_path: Path, index: IndexServer, env: dict[str, str]
) -> None:
    req = _project(tmp_path, "hotfix\n")
    result = _lock(index, env, req, "--cooldown", "7")
    # 1.1 fixes what affects 1.0; 1.2, younger still, fixes nothing 1.1 does not: it waits
    assert _pins(req) == {"hotfix": "1.1"}
    said = " ".join(result.stderr.split())
    assert f"hotfix 1.1 is younger than the 7-day cooldown, used because it fixes {HOTFIX}" in said
    assert "hotfix 1.2" not in said


def test_without_the_advisory_the_young_fix_is_held_back(
    tmp_path: Path, index: IndexServer
) -> None:
    empty = clean_environ(tmp_path / "home", ADVISOR_KNOWLEDGE=f"sqlite:///{tmp_path / 'e.db'}")
    req = _project(tmp_path, "patched\n")
    result = _lock(index, empty, req, "--cooldown", "7")
    assert _pins(req) == {"patched": "1.0"}
    assert "the 7-day cooldown lets no security fix through" in " ".join(result.stderr.split())
    assert not (tmp_path / "e.db").exists()  # a lock never creates a knowledge store


def test_advise_applies_the_cooldown_with_osv(
    tmp_path: Path, index: IndexServer, osv: Path
) -> None:
    environ = clean_environ(tmp_path / "home")
    req = _project(tmp_path, "fresh\npatched\n")
    result = run_cli(
        [
            "advise",
            req,
            "--index-url",
            index.url,
            "--knowledge",
            f"sqlite:///{tmp_path / 'k.db'}",
            "--osv",
            osv,
            "--cooldown",
            "7",
        ],
        env=environ,
    )
    assert result.exit_code == 0, result.output
    assert _pins(req) == {"fresh": "1.0", "patched": "1.1"}


def test_policy_exemption_until_its_end_date(
    tmp_path: Path, index: IndexServer, env: dict[str, str]
) -> None:
    until = (NOW + timedelta(days=30)).date().isoformat()
    policy = (
        f'cooldown-exemptions = [{{ package = "Fresh", reason = "we ship its releases at once",'
        f" until = {until} }}]\n"
    )
    req = _project(tmp_path, "fresh\n", policy)
    _lock(index, env, req, "--cooldown", "7")
    assert _pins(req) == {"fresh": "1.1"}
    expired = (NOW - timedelta(days=3)).date().isoformat()
    (req.parent / "advisor.toml").write_text(
        f"[policy]\n{policy.replace(until, expired)}", encoding="utf-8"
    )
    result = _lock(index, env, req, "--cooldown", "7", "--upgrade")
    assert _pins(req) == {"fresh": "1.0"}
    assert f"the cooldown exemption of fresh expired on {expired}" in " ".join(
        result.stderr.split()
    )


def test_bad_cooldowns_are_usage_errors(tmp_path: Path, index: IndexServer) -> None:
    environ = clean_environ(tmp_path / "home")
    req = _project(tmp_path, "fresh\n")
    for args in (
        ["--cooldown", "-1"],
        ["--exclude-newer", "7 parsecs"],
        ["--exclude-newer", "7 days", "--cooldown", "3"],
    ):
        result = run_cli(["lock", req, "--index-url", index.url, *args], env=environ)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    (req.parent / "advisor.toml").write_text(
        '[policy]\ncooldown-exemptions = [{ package = "fresh", reason = "r" }]\n',
        encoding="utf-8",
    )
    missing = run_cli(["lock", req, "--index-url", index.url, "--cooldown", "7"], env=environ)
    assert missing.exit_code == 2, missing.output
    assert "cooldown-exemptions[0].until is required" in missing.output
    assert not (req.parent / "pylock.toml").exists()


def test_fix_follows_the_recorded_cooldown(
    tmp_path: Path, index: IndexServer, env: dict[str, str], osv: Path
) -> None:
    req = _project(tmp_path, "patched\ncareful\nfresh\nrollback\n")
    (req.parent / "old.txt").write_text(
        "patched==1.0\ncareful==1.0\nrollback==1.1\n", encoding="utf-8"
    )
    _lock(index, env, req, "--cooldown", "7", "-c", req.parent / "old.txt")
    _lock(index, env, req, "--cooldown", "7")  # keeps the old pins, records no constraint
    assert _pins(req) == {"patched": "1.0", "careful": "1.0", "fresh": "1.0", "rollback": "1.1"}
    result = run_cli(["fix", req.parent / "pylock.toml", "--osv", osv], env=env)
    assert result.exit_code == 0, result.output
    # the young patched 1.1 fixes what affects every older release; careful 1.1 is old
    # enough and safe, so its young 1.2 waits; fresh is not affected and keeps its pin;
    # rollback's fix 1.2 is young and 1.0 is safe: back to 1.0
    assert _pins(req) == {"patched": "1.1", "careful": "1.1", "fresh": "1.0", "rollback": "1.0"}
    assert read_lock(req.parent / "pylock.toml")["tool"]["advisor"]["options"]["cooldown-days"] == 7
