"""End to end through ``advisor fix``: locks made by ``advisor lock`` on a fixture index,
remediated against a folder of OSV records written here.

The locks hold old, affected pins: each is made with a constraints file holding the old
versions, then made again without it (re-locking keeps the previous pins), so it is fresh
and records no constraint. The fixture:

* ``webkit`` (direct) needs ``parser>=1.0``; ``parser`` 1.0 is affected (fixed in 1.1, and
  1.2 exists): the fix moves ``parser`` alone to 1.1, never ``webkit`` (1.1 and 2.0 exist);
* ``cryptolib`` 1.0 and 1.1 are affected by two different advisories: the fix skips 1.1;
* ``pinned-app`` 1.0 pins ``netlib==1.0`` (affected): the direct pin must move too;
* ``yamlish`` 1.0 is fixed only in 2.0: unfixable without ``--allow-major``;
* ``forever`` 1.0 has an advisory no release fixes;
* ``imgkit`` 1.0 is affected; its fix 1.1 brings in ``codec``, whose newest release is
  affected too: the fix takes the older, safe ``codec``;
* ``cabundle`` is calendar-versioned (2022.9.24, 2022.12.7, 2023.7.22), 2022.9.24 and
  2022.12.7 affected: the fix to 2023.7.22 is a new year, not a new major version;
* ``tlslib`` 1.0 (needs ``certs>=1``) is affected, its fix 1.1 needs ``certs>=2``; ``certs``
  1.0 is fixed only in 2.0: without ``--allow-major`` neither can be fixed, and that must not
  keep ``parser``'s fix from being made.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.functional.helpers import CliResult, clean_environ, lock_pins, read_lock, run_cli
from tests.support import FixtureIndex, Project, build_index, release

if TYPE_CHECKING:
    from pathlib import Path

PARSER = "GHSA-pars-0001-aaaa"
CRYPTO_OLD = "GHSA-cryp-0001-aaaa"
CRYPTO_NEW = "GHSA-cryp-0002-bbbb"
NETLIB = "GHSA-netl-0001-aaaa"
YAMLISH = "GHSA-yaml-0001-aaaa"
FOREVER = "GHSA-forv-0001-aaaa"
IMGKIT = "GHSA-imgk-0001-aaaa"
CODEC = "GHSA-codc-0001-aaaa"
CABUNDLE = "GHSA-cabn-0001-aaaa"
TLSLIB = "GHSA-tlsl-0001-aaaa"
CERTS = "GHSA-cert-0001-aaaa"


def _projects() -> list[Project]:
    return [
        Project(
            name="webkit",
            files=[
                *release("1.0", requires_dist=["parser>=1.0"]),
                *release("1.1", requires_dist=["parser>=1.0"]),
                *release("2.0", requires_dist=["parser>=1.0"]),
            ],
        ),
        Project(name="parser", files=[*release("1.0"), *release("1.1"), *release("1.2")]),
        Project(
            name="cryptolib",
            files=[*release("1.0"), *release("1.1"), *release("1.2"), *release("1.3")],
        ),
        Project(
            name="pinned-app",
            files=[
                *release("1.0", requires_dist=["netlib==1.0"]),
                *release("1.1", requires_dist=["netlib>=1.0"]),
            ],
        ),
        Project(name="netlib", files=[*release("1.0"), *release("1.1")]),
        Project(name="yamlish", files=[*release("1.0"), *release("2.0")]),
        Project(name="forever", files=[*release("1.0")]),
        Project(
            name="imgkit",
            files=[*release("1.0"), *release("1.1", requires_dist=["codec>=1"])],
        ),
        Project(name="codec", files=[*release("1.0"), *release("2.0")]),
        Project(
            name="cabundle",
            files=[*release("2022.9.24"), *release("2022.12.7"), *release("2023.7.22")],
        ),
        Project(
            name="tlslib",
            files=[
                *release("1.0", requires_dist=["certs>=1"]),
                *release("1.1", requires_dist=["certs>=2"]),
            ],
        ),
        Project(name="certs", files=[*release("1.0"), *release("2.0")]),
    ]


def _record(adv_id: str, package: str, events: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "schema_version": "1.6.0",
        "id": adv_id,
        "modified": (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "summary": f"a flaw in {package}",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ],
    }


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FixtureIndex:
    return build_index(tmp_path_factory.mktemp("fix") / "index", _projects())


@pytest.fixture(scope="module")
def osv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("osv")
    records = [
        _record(PARSER, "parser", [{"introduced": "0"}, {"fixed": "1.1"}]),
        _record(CRYPTO_OLD, "cryptolib", [{"introduced": "0"}, {"fixed": "1.1"}]),
        _record(CRYPTO_NEW, "cryptolib", [{"introduced": "1.1"}, {"fixed": "1.2"}]),
        _record(NETLIB, "netlib", [{"introduced": "0"}, {"fixed": "1.1"}]),
        _record(YAMLISH, "yamlish", [{"introduced": "0"}, {"fixed": "2.0"}]),
        _record(FOREVER, "forever", [{"introduced": "0"}]),
        _record(IMGKIT, "imgkit", [{"introduced": "0"}, {"fixed": "1.1"}]),
        _record(CODEC, "codec", [{"introduced": "2.0"}]),
        _record(CABUNDLE, "cabundle", [{"introduced": "0"}, {"fixed": "2023.7.22"}]),
        _record(TLSLIB, "tlslib", [{"introduced": "0"}, {"fixed": "1.1"}]),
        _record(CERTS, "certs", [{"introduced": "0"}, {"fixed": "2.0"}]),
    ]
    for record in records:
        (folder / f"{record['id']}.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


class Project_:
    """A project folder whose pylock.toml holds ``old`` pins, fresh against its inputs."""

    def __init__(self, root: Path, index: FixtureIndex, osv: Path, env: dict[str, str]) -> None:
        self.root, self.index, self.osv, self.env = root, index, osv, env
        self.lock_path = root / "pylock.toml"

    def make(self, requirements: str, old: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "requirements.in").write_text(requirements, encoding="utf-8")
        (self.root / "old.txt").write_text(old, encoding="utf-8")
        args = ["lock", self.root / "requirements.in", "--index-url", self.index.file_url]
        first = run_cli([*args, "-c", self.root / "old.txt"], env=self.env)
        assert first.exit_code == 0, first.output
        again = run_cli(args, env=self.env)  # keeps the old pins, records no constraint
        assert again.exit_code == 0, again.output

    def run(self, *args: object) -> CliResult:
        knowledge = f"sqlite:///{self.root.parent / 'k.db'}"
        return run_cli(
            ["fix", self.lock_path, "--osv", self.osv, "--knowledge", knowledge, *args],
            env=self.env,
        )

    def check(self) -> CliResult:
        knowledge = f"sqlite:///{self.root.parent / 'k.db'}"
        return run_cli(
            ["check", self.lock_path, "--osv", self.osv, "--knowledge", knowledge], env=self.env
        )

    @property
    def pins(self) -> dict[str, str]:
        return lock_pins(read_lock(self.lock_path))


@pytest.fixture
def project(
    tmp_path: Path, index: FixtureIndex, osv: Path, monkeypatch: pytest.MonkeyPatch
) -> Project_:
    monkeypatch.chdir(tmp_path)
    return Project_(tmp_path / "app", index, osv, clean_environ(tmp_path / "home"))


def _ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


STACK = "webkit\ncryptolib\npinned-app\n"
OLD = "webkit==1.0\nparser==1.0\ncryptolib==1.0\npinned-app==1.0\nnetlib==1.0\n"


def test_fix_changes_the_fewest_pins_and_check_passes(project: Project_) -> None:
    project.make(STACK, OLD)
    before = project.pins
    assert before == {
        "webkit": "1.0",
        "parser": "1.0",
        "cryptolib": "1.0",
        "pinned-app": "1.0",
        "netlib": "1.0",
    }
    assert project.check().exit_code == 1  # the affected pins are findings
    result = _ok(project.run())
    after = project.pins
    # transitive parser moves alone (the smallest step); webkit keeps its pin
    assert after["webkit"] == "1.0"
    assert after["parser"] == "1.1"
    # 1.1 is affected by another advisory: never chosen
    assert after["cryptolib"] == "1.2"
    # netlib's fix needs its parent's pin released
    assert after["netlib"] == "1.1"
    assert after["pinned-app"] == "1.1"
    out = result.stdout
    assert "- parser==1.0" in out
    assert f"+ parser==1.1  # fixes {PARSER}" in out
    assert f"+ cryptolib==1.2  # fixes {CRYPTO_OLD}" in out
    assert "+ pinned-app==1.1  # needed by the fixes (direct)" in out
    assert "webkit" not in out
    # transitive changes are listed before the direct one
    assert out.index("netlib") < out.index("pinned-app")
    _ok(project.check())  # the lock written is valid, fresh and clean


def test_dry_run_writes_nothing(project: Project_) -> None:
    project.make(STACK, OLD)
    before = project.lock_path.read_bytes()
    result = _ok(project.run("--dry-run"))
    assert f"+ parser==1.1  # fixes {PARSER}" in result.stdout
    assert "not written (dry run)" in result.stdout
    assert project.lock_path.read_bytes() == before


def test_major_bump_only_with_allow_major(project: Project_) -> None:
    project.make("yamlish\nwebkit\n", "yamlish==1.0\nwebkit==1.0\nparser==1.0\n")
    result = project.run()
    assert result.exit_code == 1, result.output
    assert YAMLISH in result.stdout
    assert "--allow-major" in result.stdout
    # the fixable advisory is fixed all the same; yamlish keeps its pin
    assert project.pins["yamlish"] == "1.0"
    assert project.pins["parser"] == "1.1"
    assert project.pins["webkit"] == "1.0"  # no new major of an unaffected pin either
    _ok(project.run("--allow-major"))
    assert project.pins["yamlish"] == "2.0"
    assert project.pins["webkit"] == "1.0"


def test_an_advisory_without_a_fix_exits_1_naming_it(project: Project_) -> None:
    project.make("forever\n", "forever==1.0\n")
    before = project.lock_path.read_bytes()
    result = project.run()
    assert result.exit_code == 1, result.output
    assert f"forever==1.0: {FOREVER} cannot be fixed: no release fixes it" in result.stdout
    assert project.lock_path.read_bytes() == before


def test_nothing_to_fix(project: Project_) -> None:
    project.make("webkit\n", "webkit==1.1\nparser==1.2\n")
    before = project.lock_path.read_bytes()
    result = _ok(project.run())
    assert "nothing to change" in result.stdout
    assert project.lock_path.read_bytes() == before


def test_markdown_and_json_reports(project: Project_) -> None:
    project.make(STACK, OLD)
    md = _ok(project.run("--dry-run", "--report", "md")).stdout
    assert "| package | from | to | fixes |" in md
    assert f"| `parser` | 1.0 | 1.1 | [{PARSER}](https://osv.dev/vulnerability/{PARSER}) |" in md
    assert "| `pinned-app` (direct) | 1.0 | 1.1 | needed by the fixes |" in md
    doc = json.loads(_ok(project.run("--dry-run", "--report", "json")).stdout)
    assert doc["written"] is False
    changes = {
        c["name"]: (c["old"], c["new"], [a["id"] for a in c["fixes"]]) for c in doc["changes"]
    }
    assert changes == {
        "parser": ("1.0", "1.1", [PARSER]),
        "cryptolib": ("1.0", "1.2", [CRYPTO_OLD]),
        "netlib": ("1.0", "1.1", [NETLIB]),
        "pinned-app": ("1.0", "1.1", []),
    }
    assert doc["unfixable"] == []


def test_default_lock_and_bad_input(project: Project_) -> None:
    project.make("webkit\n", "webkit==1.0\nparser==1.0\n")
    missing = run_cli(["fix"], env=project.env)  # no ./pylock.toml in the current folder
    assert missing.exit_code == 2, missing.output
    assert "no such lock file" in missing.output
    assert "Traceback" not in missing.output


def test_a_requirements_lock_is_fixed_from_its_input(project: Project_) -> None:
    root = project.root
    root.mkdir(parents=True)
    (root / "requirements.in").write_text("webkit\n", encoding="utf-8")
    (root / "old.txt").write_text("webkit==1.0\nparser==1.0\n", encoding="utf-8")
    lock = root / "requirements.txt"
    args = ["lock", root / "requirements.in", "--index-url", project.index.file_url, "-o", lock]
    assert run_cli([*args, "-c", root / "old.txt"], env=project.env).exit_code == 0
    assert run_cli(args, env=project.env).exit_code == 0
    assert "parser==1.0" in lock.read_text(encoding="utf-8")
    knowledge = f"sqlite:///{root.parent / 'k.db'}"
    result = _ok(
        run_cli(["fix", lock, "--osv", project.osv, "--knowledge", knowledge], env=project.env)
    )
    assert f"+ parser==1.1  # fixes {PARSER}" in result.stdout
    text = lock.read_text(encoding="utf-8")
    assert "parser==1.1" in text and "webkit==1.0" in text
    assert "--hash=sha256:" in text
    checked = run_cli(
        ["check", lock, "--osv", project.osv, "--knowledge", knowledge], env=project.env
    )
    assert checked.exit_code == 0, checked.output


def test_a_package_the_fix_brings_in_is_never_an_affected_version(project: Project_) -> None:
    project.make("imgkit\n", "imgkit==1.0\n")
    assert project.pins == {"imgkit": "1.0"}
    result = _ok(project.run())
    assert project.pins == {"imgkit": "1.1", "codec": "1.0"}  # codec 2.0 is affected
    assert "+ codec==1.0  # needed by the fixes" in result.stdout
    _ok(project.check())


def test_a_stale_lock_is_refused(project: Project_) -> None:
    project.make("webkit\n", "webkit==1.0\nparser==1.0\n")
    (project.root / "requirements.in").write_text("webkit\ncryptolib\n", encoding="utf-8")
    before = project.lock_path.read_bytes()
    result = project.run()
    assert result.exit_code == 2, result.output
    assert "the lock is stale" in result.output
    assert "Traceback" not in result.output
    assert project.lock_path.read_bytes() == before


def test_a_new_year_of_a_calendar_versioned_project_is_not_a_new_major(
    project: Project_,
) -> None:
    project.make("cabundle\n", "cabundle==2022.9.24\n")
    result = _ok(project.run())
    # 2022.12.7 is affected too; 2023.7.22 is the next year, no --allow-major needed
    assert f"+ cabundle==2023.7.22  # fixes {CABUNDLE}" in result.stdout
    assert project.pins == {"cabundle": "2023.7.22"}


def test_an_advisory_that_cannot_be_fixed_does_not_block_the_others(
    project: Project_,
) -> None:
    project.make("webkit\ntlslib\n", "webkit==1.0\nparser==1.0\ntlslib==1.0\ncerts==1.0\n")
    result = project.run()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    out = " ".join(result.stdout.split())
    # parser's fix is made all the same
    assert f"+ parser==1.1 # fixes {PARSER}" in out
    assert project.pins == {"webkit": "1.0", "parser": "1.1", "tlslib": "1.0", "certs": "1.0"}
    # each advisory left open is named once, with its own reason
    assert (
        f"certs==1.0: {CERTS} cannot be fixed: only a new major version is unaffected (2.0):"
        " pass --allow-major" in out
    )
    assert f"tlslib==1.0: {TLSLIB} cannot be fixed: no consistent stack holds a fixed version" in (
        out
    )
    assert f"parser==1.0: {PARSER} cannot be fixed" not in out
    assert out.count("cannot be fixed") == 2
    # with --allow-major every advisory is fixed
    _ok(project.run("--allow-major"))
    assert project.pins == {"webkit": "1.0", "parser": "1.1", "tlslib": "1.1", "certs": "2.0"}
