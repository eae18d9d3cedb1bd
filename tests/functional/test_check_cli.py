"""End to end through ``advisor check``: locks made by ``advisor lock`` against a real index
on 127.0.0.1, then checked for freshness, hashes, advisories (an OSV folder or a knowledge
store), waivers, output formats and exit codes.

The fixture packages have real-looking names (``tinyhttp`` and ``jsonkit``) so the OSV
records written here look like the ones a dump holds. Most tests run the CLI in-process
(:func:`tests.functional.helpers.run_cli`) from the project's folder, so paths in messages
are the short relative ones a user sees; the timing test runs real processes.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.functional.helpers import (
    CliResult,
    clean_environ,
    lock_pins,
    read_lock,
    run_advisor,
    run_cli,
)
from tests.support import FixtureIndex, IndexServer, Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path

ADVISORY = "GHSA-4x7q-2m9v-h3c8"  # tinyhttp < 1.3
ALIAS = "CVE-2025-31337"


def _projects(*, yank_jsonkit: bool = False) -> list[Project]:
    return [
        Project(
            name="tinyhttp",
            files=[
                *release("1.0"),
                *release("1.2", requires_dist=["jsonkit>=1"]),
                *release("1.3", requires_dist=["jsonkit>=1"]),
            ],
        ),
        Project(
            name="jsonkit",
            files=[
                *release("1.0"),
                *release("2.0", yanked="broken wheel" if yank_jsonkit else False),
            ],
        ),
        Project(name="colorlog-lite", files=[*release("0.9")]),
    ]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FixtureIndex:
    return build_index(tmp_path_factory.mktemp("check") / "index", _projects())


@pytest.fixture(scope="module")
def server(index: FixtureIndex) -> Iterator[IndexServer]:
    with IndexServer(index) as srv:
        yield srv


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_environ(tmp_path / "home")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_osv(folder: Path, *records: dict[str, Any]) -> Path:
    """A folder of OSV JSON files, one per record (``<id>.json``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for record in records:
        (folder / f"{record['id']}.json").write_text(json.dumps(record, indent=2))
    return folder


def days_ago(days: int) -> str:
    """An RFC 3339 timestamp ``days`` days before now (UTC), as OSV writes ``modified``."""
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def osv_record(
    adv_id: str = ADVISORY,
    package: str = "tinyhttp",
    *,
    fixed: str = "1.3",
    aliases: Sequence[str] = (ALIAS,),
    modified: str | None = None,
) -> dict[str, Any]:
    """An OSV record; ``modified`` defaults to yesterday (fresh data: the age check uses it)."""
    return {
        "schema_version": "1.6.0",
        "id": adv_id,
        "modified": modified or days_ago(1),
        "published": "2025-04-01T10:00:00Z",
        "aliases": list(aliases),
        "summary": "CRLF injection in header parsing",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
            }
        ],
    }


class App:
    """A project folder with a lock made by ``advisor lock``; ``check()`` runs from it."""

    def __init__(self, root: Path, env: dict[str, str], server: IndexServer) -> None:
        self.root = root
        self.env = env
        self.server = server
        self.osv = write_osv(root.parent / "osv", osv_record())

    @property
    def lock_path(self) -> Path:
        return self.root / "pylock.toml"

    def lock(self, *args: object, requirements: str | None = None) -> CliResult:
        if requirements is not None:
            _write(self.root / "requirements.in", requirements)
        result = run_cli(
            ["lock", self.root / "requirements.in", "--index-url", self.server.url, *args],
            env=self.env,
        )
        assert result.exit_code == 0, result.output
        return result

    def check(self, *args: object, osv: bool = True) -> CliResult:
        extra = ["--osv", self.osv] if osv and "--knowledge" not in args else []
        return run_cli(["check", *args, *extra], env=self.env)


@pytest.fixture
def project(
    tmp_path: Path, env: dict[str, str], server: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> App:
    """``requirements.in`` = ``tinyhttp`` locked to tinyhttp 1.3 + jsonkit 2.0 (clean)."""
    proj = App(tmp_path / "app", env, server)
    proj.lock(requirements="tinyhttp\n")
    monkeypatch.chdir(proj.root)
    return proj


def _clean(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def _findings(result: CliResult) -> CliResult:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result


def _usage_error(result: CliResult) -> CliResult:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    return result


# --- freshness ------------------------------------------------------------------------------


def test_fresh_lock_is_clean(project: App) -> None:
    assert lock_pins(read_lock(project.lock_path)) == {"tinyhttp": "1.3", "jsonkit": "2.0"}
    result = _clean(project.check())
    assert result.stdout == ""
    assert "ok: pylock.toml" in result.stderr
    # without arguments it finds ./pylock.toml; naming it, or its input, checks the same
    _clean(project.check("pylock.toml"))
    _clean(project.check(project.lock_path))


def test_check_is_offline(project: App) -> None:
    project.server.reset()
    _clean(project.check())
    assert project.server.requests == []


def test_changed_specifier_is_stale_naming_it(project: App) -> None:
    _write(project.root / "requirements.in", "tinyhttp<1.3\n")
    result = _findings(project.check())
    assert "[lock-stale]" in result.stdout
    assert "requirements.in" in result.stdout
    assert "+ tinyhttp<1.3" in result.stdout
    assert "- tinyhttp" in result.stdout
    assert "advisor lock" in result.stdout  # the hint


def test_added_requirement_is_stale_naming_it(project: App) -> None:
    _write(project.root / "requirements.in", "tinyhttp\ncolorlog-lite>=0.5\n")
    result = _findings(project.check())
    assert "[lock-stale]" in result.stdout
    assert "requirements.in changed (+ colorlog-lite>=0.5)\n" in result.stdout


def test_comment_and_blank_line_edits_stay_fresh(project: App) -> None:
    _write(project.root / "requirements.in", "# the web app\n\ntinyhttp   # HTTP client\n")
    _clean(project.check())


def test_fix_relocks_a_stale_lock(project: App) -> None:
    _write(project.root / "requirements.in", "tinyhttp\ncolorlog-lite\n")
    before = project.lock_path.read_text()
    result = _findings(project.check("--fix"))
    assert "re-locked pylock.toml" in result.stderr
    assert project.lock_path.read_text() != before
    lock = read_lock(project.lock_path)
    assert lock_pins(lock)["colorlog-lite"] == "0.9"
    # the re-lock keeps the index the lock recorded
    assert lock["tool"]["advisor"]["index"]["indexes"] == [project.server.url]
    assert "colorlog-lite" in lock["tool"]["advisor"]["inputs"]["requirements"]
    _clean(project.check())


def test_fix_keeps_the_recorded_exclude_newer(project: App) -> None:
    project.lock("--exclude-newer", "2030-01-01T00:00:00Z")
    recorded = read_lock(project.lock_path)["tool"]["advisor"]["options"]["exclude-newer"]
    _write(project.root / "requirements.in", "tinyhttp\ncolorlog-lite\n")
    result = _findings(project.check("--fix"))
    assert "re-locked pylock.toml" in result.stderr
    # the re-lock is made with the cut-off the lock recorded, so it records it again
    options = read_lock(project.lock_path)["tool"]["advisor"]["options"]
    assert options["exclude-newer"] == recorded
    _clean(project.check())


def test_fix_keeps_the_recorded_implementation(project: App) -> None:
    # a lock made for the other Python implementation than the host's is re-locked for it
    # again, not for the host (its target, and so its environment marker, stay as they were)
    other = "pp" if sys.implementation.name == "cpython" else "cp"
    project.lock("--implementation", other)
    before = read_lock(project.lock_path)
    assert [t["implementation"] for t in before["tool"]["advisor"]["targets"]] == [other]
    _write(project.root / "requirements.in", "tinyhttp\ncolorlog-lite\n")
    result = _findings(project.check("--fix"))
    assert "re-locked pylock.toml" in result.stderr
    after = read_lock(project.lock_path)
    assert lock_pins(after)["colorlog-lite"] == "0.9"
    assert after["tool"]["advisor"]["targets"] == before["tool"]["advisor"]["targets"]
    assert after["environments"] == before["environments"]
    _clean(project.check())


def test_fix_does_not_relock_for_other_findings(project: App) -> None:
    project.lock(requirements="tinyhttp<1.3\n")
    _write(project.root / "requirements.in", "tinyhttp<1.3\ncolorlog-lite\n")
    before = project.lock_path.read_text()
    result = _findings(project.check("--fix"))
    # stale and vulnerable: re-locking would not make the check pass, so it is left alone
    assert "[lock-stale]" in result.stdout and ADVISORY in result.stdout
    assert project.lock_path.read_text() == before
    assert "re-locked" not in result.stderr


def test_input_named_on_the_command_line_maps_to_its_lock(project: App) -> None:
    result = _clean(project.check("requirements.in"))
    assert "ok: pylock.toml" in result.stderr
    _write(project.root / "requirements.in", "tinyhttp>=1.2\n")
    result = _findings(project.check(project.root / "requirements.in"))
    assert "pylock.toml" in result.stdout and "+ tinyhttp>=1.2" in result.stdout
    # the lock named twice (itself and through its input) is checked once
    result = _findings(project.check("requirements.in", "pylock.toml"))
    assert result.stdout.count("[lock-stale]") == 1


def test_lock_in_another_folder_is_shown_relative(
    project: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.root.parent)
    _write(project.root / "requirements.in", "tinyhttp>=1.2\n")
    result = _findings(project.check("app/requirements.in"))
    assert result.stdout.startswith("app/pylock.toml: error: [lock-stale]")


def test_only_freshness_skips_advisories(project: App) -> None:
    project.lock(requirements="tinyhttp<1.3\n")
    assert ADVISORY in _findings(project.check()).stdout
    _clean(project.check("--only", "freshness"))
    # and needs no advisory data at all
    _clean(project.check("--only", "freshness", osv=False))
    _write(project.root / "requirements.in", "tinyhttp<1.2\n")
    result = _findings(project.check("--only", "freshness"))
    assert "[lock-stale]" in result.stdout and ADVISORY not in result.stdout


def test_missing_input_of_the_lock_is_a_clear_error(project: App) -> None:
    (project.root / "requirements.in").unlink()
    result = _usage_error(project.check())
    assert "requirements.in" in result.stderr


# --- advisories -----------------------------------------------------------------------------


def test_vulnerable_pin_names_the_advisory(project: App) -> None:
    project.lock(requirements="tinyhttp<1.3\n")
    assert lock_pins(read_lock(project.lock_path))["tinyhttp"] == "1.2"
    result = _findings(project.check())
    assert result.stdout.splitlines() == [
        f"pylock.toml: error: [advisory] tinyhttp==1.2 is affected by {ADVISORY}: "
        "CRLF injection in header parsing",
        f"  hint: upgrade tinyhttp (fixed in: 1.3) or waive {ADVISORY} in "
        "[tool.advisor.policy] allow-advisories with a reason and a date",
    ]


def _policy(project: App, *entries: str, extra: str = "") -> None:
    body = ",\n".join(entries)
    _write(
        project.root / "pyproject.toml",
        f"[tool.advisor.policy]\n{extra}allow-advisories = [\n{body}\n]\n",
    )


def test_waiver_until_a_future_date_passes(project: App) -> None:
    project.lock(requirements="tinyhttp<1.3\n")
    until = (date.today() + timedelta(days=90)).isoformat()
    _policy(project, f'{{id = "{ADVISORY}", reason = "no untrusted headers", until = {until}}}')
    _clean(project.check())
    # a waiver written with the alias, the date as a string, holds too
    _policy(project, f'{{id = "{ALIAS}", reason = "no untrusted headers", until = "{until}"}}')
    _clean(project.check())


def test_expired_waiver_fails_naming_the_expiry(project: App) -> None:
    project.lock(requirements="tinyhttp<1.3\n")
    _policy(project, f'{{id = "{ADVISORY}", reason = "no untrusted headers", until = 2025-01-31}}')
    result = _findings(project.check())
    assert ADVISORY in result.stdout
    assert "the waiver expired on 2025-01-31" in result.stdout


def test_waiver_in_the_pyproject_that_feeds_the_lock(project: App) -> None:
    pyproject = _write(
        project.root / "pyproject.toml",
        '[project]\nname = "web"\nversion = "1"\ndependencies = ["tinyhttp<1.3"]\n',
    )
    (project.root / "requirements.in").unlink()
    project.lock_path.unlink()
    locked = run_cli(["lock", pyproject, "--index-url", project.server.url], env=project.env)
    assert locked.exit_code == 0, locked.output
    result = _findings(project.check("pyproject.toml"))
    assert ADVISORY in result.stdout
    until = (date.today() + timedelta(days=30)).isoformat()
    with pyproject.open("a", encoding="utf-8") as f:
        f.write(
            "\n[tool.advisor.policy]\n"
            f'allow-advisories = [{{id = "{ADVISORY}", reason = "r", until = {until}}}]\n'
        )
    # the policy is not an input of the lock: adding it keeps the lock fresh
    _clean(project.check("pyproject.toml"))


def test_bad_policy_is_a_usage_error_naming_the_key(project: App) -> None:
    _policy(project, f'{{id = "{ADVISORY}"}}')
    result = _usage_error(project.check())
    assert "pyproject.toml" in result.stderr
    assert "allow-advisories[0]" in result.stderr and "reason" in result.stderr


def test_policy_in_advisor_toml(project: App) -> None:
    project.lock(requirements="tinyhttp<1.3\n")
    until = (date.today() + timedelta(days=30)).isoformat()
    _write(
        project.root / "advisor.toml",
        f'[policy]\nallow-advisories = [{{id = "{ADVISORY}", reason = "r", until = {until}}}]\n',
    )
    _clean(project.check())


def test_no_advisory_data_is_a_finding(project: App, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'empty.db'}"
    result = _findings(project.check("--knowledge", store))
    assert "[advisory-data-missing]" in result.stdout
    assert "hint: run `advisor knowledge update`" in result.stdout  # how to get data
    # the same through ADVISOR_KNOWLEDGE, and for an empty OSV folder
    result = run_cli(["check"], env={**project.env, "ADVISOR_KNOWLEDGE": store})
    assert "[advisory-data-missing]" in _findings(result).stdout
    empty = tmp_path / "empty-osv"
    empty.mkdir()
    result = _findings(run_cli(["check", "--osv", empty], env=project.env))
    assert "[advisory-data-missing]" in result.stdout


def _uploaded_store(path: Path, *, uploaded: date) -> str:
    """A store holding only a team's own advisory, as the team server stores an upload
    (source ``upload:<token>``, the upload's date), and no OSV import."""
    import msgspec

    from advisor.knowledge.osv import parse_osv
    from advisor.knowledge.store import open_store

    day = uploaded.isoformat()
    parsed = parse_osv(osv_record("TEAM-2026-7"), file="team.json", origin="team", date=day)
    assert parsed.advisory is not None
    provenance = msgspec.structs.replace(
        parsed.advisory.provenance, source="upload:security", date=day
    )
    url = f"sqlite:///{path}"
    with open_store(url) as store:
        store.put([msgspec.structs.replace(parsed.advisory, provenance=provenance)])
    return url


def test_uploaded_advisories_alone_are_advisory_data(project: App, tmp_path: Path) -> None:
    """A store with only uploaded advisories (a team's own, no OSV import) has advisory
    data: the pins are checked against it, and it is as current as its newest upload."""
    project.lock(requirements="tinyhttp<1.3\n")
    fresh = _uploaded_store(tmp_path / "fresh.db", uploaded=date.today() - timedelta(days=2))
    result = _findings(project.check("--knowledge", fresh))
    assert "tinyhttp==1.2 is affected by TEAM-2026-7" in result.stdout
    assert "advisory-data" not in result.stdout
    old = _uploaded_store(tmp_path / "old.db", uploaded=date.today() - timedelta(days=60))
    result = _findings(project.check("--knowledge", old))
    assert "[advisory-data-old] the advisory data is 60 days old" in result.stdout
    assert "advisory-data-missing" not in result.stdout


def test_old_advisory_data_is_a_finding(project: App) -> None:
    # a dump written (or downloaded) just now whose newest record is 60 days old is old
    write_osv(project.osv, osv_record(modified=days_ago(60)))
    result = _findings(project.check())
    assert "[advisory-data-old]" in result.stdout
    assert "60 days old" in result.stdout
    assert f"modified on {days_ago(60)[:10]}" in result.stdout
    assert "advisor knowledge update" in result.stdout  # the hint
    _write(project.root / "advisor.toml", "[policy]\nmax-advisory-age-days = 90\n")
    _clean(project.check())
    # a dump without any `modified` falls back to the file's own date
    record = osv_record()
    del record["modified"]
    write_osv(project.osv, record)
    old = time.time() - 120 * 86400
    os.utime(project.osv, (old, old))
    assert "120 days old" in _findings(project.check()).stdout


def test_a_fresh_import_of_old_data_is_old(project: App, tmp_path: Path) -> None:
    two_years = 2 * 365
    write_osv(project.osv, osv_record(modified=days_ago(two_years)))
    url = _imported_store(project, tmp_path)  # imported today
    result = _findings(project.check("--knowledge", url))
    assert "[advisory-data-old]" in result.stdout
    assert f"{two_years} days old" in result.stdout
    # re-importing the same data does not make it fresh; fresher data does
    url = _imported_store(project, tmp_path)
    assert "[advisory-data-old]" in _findings(project.check("--knowledge", url)).stdout
    write_osv(project.osv, osv_record(modified=days_ago(3)))
    _clean(project.check("--knowledge", _imported_store(project, tmp_path)))


def test_one_check_opens_the_store_once(
    project: App, knowledge_store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A check of two locks reads advisories and rules for each (and syncs the curated
    folder) over one opening of the store: each opening connects and checks the
    migrations, which made a check over PostgreSQL slow. A check that needs no store
    never opens one."""
    import logging

    from advisor.api.checking import CheckOptions, run_check

    imported = run_cli(
        ["knowledge", "import-osv", project.osv, "--knowledge", knowledge_store_url],
        env=project.env,
    )
    assert imported.exit_code == 0, imported.output
    other = project.root / "deps.pylock.toml"
    project.lock("-o", other, requirements="tinyhttp<1.3\n")

    def openings(only: frozenset[str] = frozenset()) -> int:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="advisor.knowledge.store"):
            report = run_check(
                [project.lock_path, other],
                opts=CheckOptions(knowledge=knowledge_store_url, only=only),
                environ=project.env,
                cwd=project.root,
            )
        assert len(report.checked) == 2
        found = {f.path for f in report.findings if f.id == "advisory"}
        assert found == ({"deps.pylock.toml"} if not only or "advisories" in only else set())
        return sum("opening knowledge store" in r.getMessage() for r in caplog.records)

    assert openings() == 1
    assert openings(frozenset({"advisories", "prescriptions"})) == 1
    assert openings(frozenset({"hashes"})) == 0


def _imported_store(app: App, tmp_path: Path) -> str:
    """A SQLite store holding the app's OSV folder, imported by ``advisor knowledge``."""
    url = f"sqlite:///{tmp_path / 'knowledge.db'}"
    imported = run_cli(["knowledge", "import-osv", app.osv, "--knowledge", url], env=app.env)
    assert imported.exit_code == 0, imported.output
    return url


def test_advisories_from_the_knowledge_store(project: App, tmp_path: Path) -> None:
    url = _imported_store(project, tmp_path)
    # the import records when it ran and how many advisories it holds: data is present
    _clean(project.check("--knowledge", url))
    project.lock(requirements="tinyhttp<1.3\n")
    result = _findings(project.check("--knowledge", url))
    assert f"tinyhttp==1.2 is affected by {ADVISORY}" in result.stdout
    assert "advisory-data" not in result.stdout
    assert result.stdout.count("[advisory]") == 1
    # ADVISOR_KNOWLEDGE names the store too
    result = _findings(run_cli(["check"], env={**project.env, "ADVISOR_KNOWLEDGE": url}))
    assert ADVISORY in result.stdout


def test_advisory_with_two_affected_entries_is_reported_once(project: App) -> None:
    record = osv_record()
    second = json.loads(json.dumps(record["affected"][0]))
    second["ranges"][0]["events"] = [{"introduced": "2.0"}, {"fixed": "2.1"}]
    record["affected"].append(second)
    write_osv(project.osv, record)
    project.lock(requirements="tinyhttp<1.3\n")
    result = _findings(project.check())
    assert result.stdout.count(f"is affected by {ADVISORY}") == 1


def test_osv_zip(project: App, tmp_path: Path) -> None:
    import zipfile

    project.lock(requirements="tinyhttp<1.3\n")
    dump = tmp_path / "all.zip"
    with zipfile.ZipFile(dump, "w") as archive:
        archive.writestr(f"{ADVISORY}.json", json.dumps(osv_record()))
    result = _findings(run_cli(["check", "--osv", dump], env=project.env))
    assert ADVISORY in result.stdout
    bad = _write(tmp_path / "bad.zip", "not a zip")
    result = _usage_error(run_cli(["check", "--osv", bad], env=project.env))
    assert "bad.zip" in result.stderr


# --- output formats -------------------------------------------------------------------------


def test_json_format(project: App) -> None:
    assert json.loads(_clean(project.check("--format", "json")).stdout) == []
    project.lock(requirements="tinyhttp<1.3\n")
    _write(project.root / "requirements.in", "tinyhttp<1.3\ncolorlog-lite\n")
    findings = json.loads(_findings(project.check("--format", "json")).stdout)
    assert [(f["id"], f["package"], f["path"]) for f in findings] == [
        ("lock-stale", None, "pylock.toml"),
        ("advisory", "tinyhttp", "pylock.toml"),
    ]
    assert "+ colorlog-lite" in findings[0]["message"]
    assert ADVISORY in findings[1]["message"]
    assert all(f["level"] == "error" and f["hint"] for f in findings)


def test_github_format(project: App) -> None:
    project.lock(requirements="tinyhttp<1.3\n")
    result = _findings(project.check("--format", "github"))
    assert result.stdout.splitlines() == [
        f"::error file=pylock.toml,title=advisor advisory::tinyhttp==1.2 is affected by "
        f"{ADVISORY}: CRLF injection in header parsing. upgrade tinyhttp (fixed in: 1.3) or "
        f"waive {ADVISORY} in [tool.advisor.policy] allow-advisories with a reason and a date"
    ]


# --- hashes, indexes, lock errors -----------------------------------------------------------


def test_lock_with_a_hash_removed_is_a_clear_error(project: App) -> None:
    text = project.lock_path.read_text()
    start = text.index("[packages.wheels.hashes]")
    end = text.index("\n\n", start)
    project.lock_path.write_text(text[:start] + text[end + 2 :])
    result = project.check()
    # the pylock.toml reader refuses a file without a hash (PEP 751 requires them): exit 2
    # naming the file and the field; a [missing-hash] finding (exit 1) would do as well
    if result.exit_code == 1:
        assert "[missing-hash]" in result.stdout
    else:
        _usage_error(result)
        assert "pylock.toml" in result.stderr and "hashes" in result.stderr


def test_lock_that_is_not_toml(project: App) -> None:
    project.lock_path.write_text("lock-version = \n")
    result = _usage_error(project.check())
    assert "pylock.toml" in result.stderr and "TOML" in result.stderr


def test_missing_lock_file_is_exit_2(
    project: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _usage_error(project.check(tmp_path / "nowhere" / "pylock.toml"))
    assert "pylock.toml" in result.stderr
    result = _usage_error(project.check("requirements-missing.txt"))
    assert "requirements-missing.txt" in result.stderr
    # no argument and no lock in the current folder
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    result = _usage_error(project.check())
    assert "no lock" in result.stderr


def test_missing_input_path_is_exit_2(project: App, tmp_path: Path) -> None:
    result = _usage_error(project.check(tmp_path / "nowhere" / "requirements.in"))
    assert "requirements.in" in result.stderr


def test_index_not_allowed_by_policy(project: App) -> None:
    _write(
        project.root / "pyproject.toml",
        '[tool.advisor.policy]\nallowed-indexes = ["http://127.0.0.1:9/simple"]\n',
    )
    result = _findings(project.check())
    assert "[index-not-allowed]" in result.stdout
    assert "jsonkit" in result.stdout and "tinyhttp" in result.stdout
    assert project.server.url in result.stdout
    _write(
        project.root / "pyproject.toml",
        f'[tool.advisor.policy]\nallowed-indexes = ["{project.server.url}/"]\n',
    )
    _clean(project.check())


# --- requirements.txt locks -----------------------------------------------------------------


@pytest.fixture
def txt_project(project: App) -> App:
    """The same project, locked to requirements.txt (the pylock.toml is removed)."""
    project.lock_path.unlink()
    project.lock("-o", project.root / "requirements.txt")
    assert "--hash=sha256:" in (project.root / "requirements.txt").read_text()
    return project


def test_requirements_lock_fresh_via_sibling_in(txt_project: App) -> None:
    result = _clean(txt_project.check("requirements.txt"))
    assert "ok: requirements.txt" in result.stderr
    _clean(txt_project.check())  # found without arguments


def test_requirements_lock_stale_via_sibling_in(txt_project: App) -> None:
    _write(txt_project.root / "requirements.in", "tinyhttp\ncolorlog-lite\n")
    result = _findings(txt_project.check("requirements.txt"))
    assert "[lock-stale]" in result.stdout
    assert "colorlog-lite" in result.stdout and "requirements.in:2" in result.stdout
    _write(txt_project.root / "requirements.in", "tinyhttp<1.3\n")
    result = _findings(txt_project.check("requirements.txt"))
    assert "tinyhttp==1.3 does not satisfy tinyhttp<1.3" in result.stdout


def test_requirements_lock_with_explicit_inputs(txt_project: App) -> None:
    root = txt_project.root
    (root / "requirements.in").rename(root / "web.in")
    _clean(txt_project.check("requirements.txt", "--inputs", "web.in"))
    _write(root / "web.in", "tinyhttp\njsonkit<2\n")
    result = _findings(txt_project.check("requirements.txt", "--inputs", "web.in"))
    assert "jsonkit==2.0 does not satisfy jsonkit<2 (web.in:2)" in result.stdout


def test_requirements_lock_advisories_and_hashes(txt_project: App) -> None:
    txt = txt_project.root / "requirements.txt"
    txt_project.lock("-o", txt, requirements="tinyhttp<1.3\n")
    result = _findings(txt_project.check("requirements.txt"))
    assert f"tinyhttp==1.2 is affected by {ADVISORY}" in result.stdout
    assert result.stdout.startswith("requirements.txt: error: [advisory]")
    # a pin whose hashes were dropped
    lines = txt.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("jsonkit=="))
    kept = [lines[start].split(" ")[0]]
    end = start + 1
    while end < len(lines) and lines[end].lstrip().startswith("--hash"):
        end += 1
    txt.write_text("\n".join([*lines[:start], *kept, *lines[end:]]) + "\n")
    result = _findings(txt_project.check("requirements.txt", "--only", "hashes"))
    assert "[missing-hash]" in result.stdout and "jsonkit==2.0" in result.stdout


def test_requirements_in_maps_to_the_requirements_txt_lock(txt_project: App) -> None:
    _write(txt_project.root / "requirements.in", "tinyhttp\ncolorlog-lite\n")
    result = txt_project.check("requirements.in")
    assert "colorlog-lite" in result.stdout
    _findings(result)


def test_fix_on_a_stale_requirements_lock_is_no_internal_error(txt_project: App) -> None:
    _write(txt_project.root / "requirements.in", "tinyhttp\ncolorlog-lite\n")
    result = txt_project.check("requirements.txt", "--fix")
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert result.exit_code in (1, 2), result.output
    assert "requirements.txt" in result.output


def test_fix_relocks_a_stale_requirements_lock(txt_project: App) -> None:
    _write(txt_project.root / "requirements.in", "tinyhttp\ncolorlog-lite\n")
    result = _findings(txt_project.check("requirements.txt", "--fix"))
    assert "re-locked requirements.txt" in result.stderr
    assert "colorlog-lite==0.9" in (txt_project.root / "requirements.txt").read_text()


# --- environments, yanked -------------------------------------------------------------------


def test_configured_environments_must_be_covered(project: App) -> None:
    _write(
        project.root / "pyproject.toml",
        """\
[tool.advisor.environments.linux]
python = "3.12"
platform = "manylinux_2_28_x86_64"

[tool.advisor.environments.mac]
python = "3.12"
platform = "macosx_14_0_arm64"
""",
    )
    result = _findings(project.check())  # locked for the host only
    assert result.stdout.count("[environment-missing]") == 2
    assert 'sys_platform == "darwin"' in result.stdout
    project.lock("--env", "linux", "--env", "mac")
    _clean(project.check())


def test_online_reports_a_yanked_pin(
    tmp_path: Path,
    env: dict[str, str],
    index_server: Callable[..., IndexServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "yank-index"
    srv = index_server(build_index(root, _projects()))
    proj = App(tmp_path / "app", env, srv)
    proj.lock(requirements="jsonkit\n")
    monkeypatch.chdir(proj.root)
    _clean(proj.check("--online"))
    build_index(root, _projects(yank_jsonkit=True))  # the server reads the tree per request
    srv.reset()
    _clean(proj.check())  # offline by default: it cannot know
    assert srv.requests == []
    result = _findings(proj.check("--online"))
    assert "[yanked]" in result.stdout
    assert "jsonkit==2.0 has been yanked (broken wheel)" in result.stdout
    assert srv.requests


# --- timing ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_check_time_on_a_150_package_lock(tmp_path: Path, env: dict[str, str]) -> None:
    """Measures (does not assert) warm ``advisor check --osv`` wall time, in real processes."""
    names = [f"pkg{i:03d}" for i in range(150)]
    index = build_index(
        tmp_path / "index",
        [Project(name=n, files=[*release("1.0", sdist=False)]) for n in names],
    )
    req = _write(tmp_path / "app" / "requirements.in", "".join(f"{n}\n" for n in names))
    locked = run_cli(["lock", req, "--index-url", index.file_url, "--no-cache"], env=env)
    assert locked.exit_code == 0, locked.output
    assert len(read_lock(req.parent / "pylock.toml")["packages"]) == 150
    # one advisory per package, none covering the pins (every one is fixed before 1.0)
    osv = write_osv(
        tmp_path / "osv",
        *(osv_record(f"PYSEC-2025-{i}", n, fixed="0.5", aliases=()) for i, n in enumerate(names)),
    )
    args = ["check", "--osv", osv]
    times: list[float] = []
    for _ in range(6):  # the first run warms the file system and the bytecode caches
        start = time.perf_counter()
        proc = run_advisor(args, env=env, cwd=req.parent)
        times.append(time.perf_counter() - start)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    median = statistics.median(times[1:])
    print(f"\nadvisor check, 150-package lock, warm: median {median:.3f} s over 5 runs")


# --- curated rules ---------------------------------------------------------------------------

REJECT_RULE = """\
- id: tinyhttp-jsonkit-2-broken
  summary: tinyhttp 1.3 breaks with jsonkit 2
  link: https://example.org/tinyhttp/issues/1
  quote: "jsonkit 2 removed the API tinyhttp 1.3 calls"
  match:
    package: tinyhttp
    specifier: ">=1.3"
    co_installed:
      - package: jsonkit
        specifier: ">=2"
  action:
    kind: reject-stack
    message: tinyhttp 1.3 cannot run with jsonkit 2
"""


def test_a_curated_rule_that_rejects_the_stack_is_a_finding(project: App, tmp_path: Path) -> None:
    _write(tmp_path / "rules" / "prescriptions" / "stack.yaml", REJECT_RULE)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    synced = run_cli(["knowledge", "sync", tmp_path / "rules", "--knowledge", url], env=project.env)
    assert synced.exit_code == 0, synced.output
    result = _findings(project.check("--knowledge", url, "--only", "prescriptions"))
    assert "[prescription]" in result.stdout
    assert "tinyhttp-jsonkit-2-broken" in result.stdout and "example.org" in result.stdout
    # the same lock without the co-installed condition met is clean
    project.lock(requirements="tinyhttp\njsonkit<2\n")
    _clean(project.check("--knowledge", url, "--only", "prescriptions"))
