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
  keep ``parser``'s fix from being made;
* ``gadget`` 1.0 is affected; its fix 1.1 needs ``bolt==1.0``, which is affected too (``bolt``
  1.1 is not): no fix;
* the two-target index (Python 3.12 and 3.11) adds ``compat`` (2.0 needs Python 3.12),
  ``shim`` (1.0 affected, fixed in 1.1, which needs Python 3.12, and in 1.2), ``half``
  (1.0 affected, fixed in 2.0, a new major version; 2.0 and 2.1 need Python 3.12) and
  ``rope`` (1.0 affected; 1.1 needs ``half>=2.1`` on Python 3.12, 1.2 needs ``tee>=1.1``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.functional.helpers import CliResult, clean_environ, lock_pins, read_lock, run_cli
from tests.support import FixtureIndex, IndexServer, Project, build_index, release

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
SHIM = "GHSA-shim-0001-aaaa"
HALF = "GHSA-half-0001-aaaa"
GADGET = "GHSA-gadg-0001-aaaa"
BOLT = "GHSA-bolt-0001-aaaa"
ROPE = "GHSA-rope-0001-aaaa"


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
        Project(
            name="gadget", files=[*release("1.0"), *release("1.1", requires_dist=["bolt==1.0"])]
        ),
        Project(name="bolt", files=[*release("1.0"), *release("1.1")]),
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
        _record(SHIM, "shim", [{"introduced": "0"}, {"fixed": "1.1"}]),
        _record(HALF, "half", [{"introduced": "0"}, {"fixed": "2.0"}]),
        _record(GADGET, "gadget", [{"introduced": "0"}, {"fixed": "1.1"}]),
        _record(BOLT, "bolt", [{"introduced": "0"}, {"fixed": "1.1"}]),
        _record(ROPE, "rope", [{"introduced": "0"}, {"fixed": "1.1"}]),
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


def test_a_blocked_fix_names_the_versions_the_fix_itself_excluded(project: Project_) -> None:
    """``tlslib``'s fix needs ``certs`` 2.0, which the fix bans as a new major version: the
    conflict it reports says so, not that 2.0's own dependencies conflict with the stack."""
    project.make("tlslib\n", "tlslib==1.0\ncerts==1.0\n")
    result = project.run("--report", "json")
    assert result.exit_code == 1, result.output
    reasons = {u["name"]: u["reason"] for u in json.loads(result.stdout)["unfixable"]}
    lines = [line.strip() for line in reasons["tlslib"].splitlines()]
    assert "certs>=2  <- required by tlslib==1.1, required by requirements.in:1" in lines
    assert "2.0: excluded by the fix: a new major version (allow with --allow-major)" in lines
    assert not any("its own dependencies conflict" in line for line in lines)


def test_a_version_banned_as_affected_is_named_with_its_advisory(project: Project_) -> None:
    """``gadget``'s fix needs ``bolt`` 1.0, which the fix bans for its own advisory: the
    conflict names that advisory, not a conflict of 1.0's dependencies."""
    project.make("gadget\nbolt\n", "gadget==1.0\nbolt==1.1\n")
    result = project.run("--report", "json")
    assert result.exit_code == 1, result.output
    reasons = {u["name"]: u["reason"] for u in json.loads(result.stdout)["unfixable"]}
    lines = [line.strip() for line in reasons["gadget"].splitlines()]
    # the last line of the explanation closes the reason's parenthesis
    assert f"1.0: excluded by the fix: affected by {BOLT})" in lines
    assert not any("its own dependencies conflict" in line for line in lines)
    assert project.pins == {"gadget": "1.0", "bolt": "1.1"}


def _two_target_project(
    root: Path, index: FixtureIndex, env: dict[str, str], *, extra: tuple[str, str] = ("", "")
) -> Path:
    """A pylock.toml for two named targets (Python 3.12, then 3.11) whose pins differ:
    ``compat`` 2.0 needs Python 3.12, so 3.11 keeps 1.0 (each under its own marker);
    ``parser`` 1.0 is affected in both. The first lock takes the old ``parser`` from a
    constraints file, the second keeps it and records no constraint. ``extra``: more
    requirements lines and old pins."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "advisor.toml").write_text(
        "[environments.py312]\npython = '3.12'\nplatform = 'manylinux_2_28_x86_64'\n"
        "[environments.py311]\npython = '3.11'\nplatform = 'manylinux_2_28_x86_64'\n",
        encoding="utf-8",
    )
    (root / "requirements.in").write_text(f"webkit\ncompat\nshim\n{extra[0]}", encoding="utf-8")
    old = f"webkit==1.0\nparser==1.0\nshim==1.0\n{extra[1]}"
    (root / "old.txt").write_text(old, encoding="utf-8")
    args = [
        "lock", root / "requirements.in", "--index-url", index.file_url,
        "--env", "py312", "--env", "py311", "-o", root / "pylock.toml",
    ]  # fmt: skip
    first = run_cli([*args, "-c", root / "old.txt"], env=env)
    assert first.exit_code == 0, first.output
    again = run_cli(args, env=env)
    assert again.exit_code == 0, again.output
    return root / "pylock.toml"


@pytest.fixture(scope="module")
def two_target_index(tmp_path_factory: pytest.TempPathFactory) -> FixtureIndex:
    return build_index(
        tmp_path_factory.mktemp("fix-targets") / "index",
        [
            *(p for p in _projects() if p.name in {"webkit", "parser", "tlslib", "certs"}),
            Project(
                name="compat",
                files=[*release("1.0"), *release("2.0", requires_python=">=3.12")],
            ),
            Project(
                name="shim",
                files=[
                    *release("1.0"),
                    *release("1.1", requires_python=">=3.12"),
                    *release("1.2"),
                ],
            ),
            Project(
                name="half",
                files=[
                    *release("1.0"),
                    *release("2.0", requires_python=">=3.12"),
                    *release("2.1", requires_python=">=3.12"),
                ],
            ),
            Project(
                name="rope",
                files=[
                    *release("1.0", requires_dist=["tee"]),
                    *release("1.1", requires_dist=["tee", "half>=2.1; python_version >= '3.12'"]),
                    *release("1.2", requires_dist=["tee>=1.1"]),
                ],
            ),
            Project(name="tee", files=[*release("1.0"), *release("1.1")]),
        ],
    )


def _locked(path: Path) -> set[tuple[str, str, str]]:
    """(name, version, marker) of every package of a pylock.toml."""
    doc = read_lock(path)
    return {(p["name"], p["version"], p.get("marker", "")) for p in doc["packages"]}


def test_fix_a_lock_with_two_targets(
    tmp_path: Path, two_target_index: FixtureIndex, osv: Path
) -> None:
    """Both targets get the fix, each the smallest step it can install (``shim`` 1.1 needs
    Python 3.12, so 3.11 takes 1.2), the diff says which target each change is for, the pins
    that differ between the targets stay as they were (each under its marker: ``compat`` is
    held at 1.0 for 3.11 and 2.0 for 3.12, not at the lock's highest version for both), and
    ``check`` passes on the lock written."""
    env = clean_environ(tmp_path / "home")
    lock = _two_target_project(tmp_path / "app", two_target_index, env)
    before = _locked(lock)
    assert {(n, v) for n, v, _ in before} == {
        ("webkit", "1.0"), ("parser", "1.0"), ("compat", "1.0"), ("compat", "2.0"),
        ("shim", "1.0"),
    }  # fmt: skip
    knowledge = f"sqlite:///{tmp_path / 'k.db'}"
    result = run_cli(
        ["fix", lock, "--osv", osv, "--knowledge", knowledge, "--report", "json"], env=env
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    changes = [(c["name"], c["old"], c["new"], c["targets"]) for c in doc["changes"]]
    assert changes == [
        ("parser", "1.0", "1.1", []),
        ("shim", "1.0", "1.2", ["py311"]),
        ("shim", "1.0", "1.1", ["py312"]),
    ]
    # holding each target's own pins, the first step (only the affected pins) resolves
    assert doc["resolutions"] == 1
    marker = (
        {m for _, _, m in before if "3.11" in m}.pop(),
        {m for _, _, m in before if "3.12" in m}.pop(),
    )
    assert _locked(lock) == {
        ("webkit", "1.0", ""),
        ("parser", "1.1", ""),
        ("compat", "1.0", marker[0]),
        ("compat", "2.0", marker[1]),
        ("shim", "1.2", marker[0]),
        ("shim", "1.1", marker[1]),
    }
    checked = run_cli(["check", lock, "--osv", osv, "--knowledge", knowledge], env=env)
    assert checked.exit_code == 0, checked.output
    text = run_cli(["fix", lock, "--osv", osv, "--knowledge", knowledge], env=env)
    assert text.exit_code == 0 and "nothing to change" in text.stdout, text.output


def test_a_blocked_fix_does_not_block_the_others_in_a_lock_with_two_targets(
    tmp_path: Path, two_target_index: FixtureIndex, osv: Path
) -> None:
    """Both rules at once: ``tlslib``'s fix needs ``certs`` 2.0, a new major version, so no
    stack holds every fix; the fixes are then taken one package at a time, and ``parser``'s
    and each target's own ``shim`` fix are made all the same, while ``tlslib`` and ``certs``
    keep their pins and are each named once (not once per target)."""
    env = clean_environ(tmp_path / "home")
    extra = ("tlslib\n", "tlslib==1.0\ncerts==1.0\n")
    lock = _two_target_project(tmp_path / "app", two_target_index, env, extra=extra)
    knowledge = f"sqlite:///{tmp_path / 'k.db'}"
    args = ["fix", lock, "--osv", osv, "--knowledge", knowledge]
    result = run_cli([*args, "--report", "json"], env=env)
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    changes = [(c["name"], c["old"], c["new"], c["targets"]) for c in doc["changes"]]
    assert changes == [
        ("parser", "1.0", "1.1", []),
        ("shim", "1.0", "1.2", ["py311"]),
        ("shim", "1.0", "1.1", ["py312"]),
    ]
    left = sorted((u["name"], u["version"], u["advisory"]["id"]) for u in doc["unfixable"])
    assert left == [("certs", "1.0", CERTS), ("tlslib", "1.0", TLSLIB)]
    reasons = {u["name"]: u["reason"] for u in doc["unfixable"]}
    assert reasons["certs"].startswith("only a new major version is unaffected (2.0)")
    assert reasons["tlslib"].startswith("no consistent stack holds a fixed version")
    pins = {(n, v) for n, v, _ in _locked(lock)}
    assert {("parser", "1.1"), ("tlslib", "1.0"), ("certs", "1.0")} <= pins
    assert ("parser", "1.0") not in pins
    _ok(run_cli([*args, "--allow-major"], env=env))
    assert {("tlslib", "1.1"), ("certs", "2.0")} <= {(n, v) for n, v, _ in _locked(lock)}


def test_a_pin_unfixable_in_one_target_is_held_in_the_other(
    tmp_path: Path, two_target_index: FixtureIndex, osv: Path
) -> None:
    """``half`` is locked at 1.0 for Python 3.11 (affected, and only the new major version
    2.0 fixes it) and at 2.0 for 3.12 (unaffected). While ``rope``'s fix is tried, ``half``
    is held in 3.12 like any other pin: ``rope`` 1.1 would need the direct ``half`` to move
    there, so the transitive ``tee`` moves instead (for ``rope`` 1.2), as transitive pins
    move before direct ones; ``half`` stays at 2.0 for 3.12 and is named unfixable once.
    3.11 takes ``rope`` 1.1 (the marker on its ``half`` requirement is false there: a marker
    evaluated for 3.12 must not decide for 3.11, each target has its own cache)."""
    env = clean_environ(tmp_path / "home")
    extra = ("half\nrope\n", "half<2.1\nrope==1.0\ntee==1.0\n")
    lock = _two_target_project(tmp_path / "app", two_target_index, env, extra=extra)
    before = {(n, v) for n, v, _ in _locked(lock)}
    assert {("half", "1.0"), ("half", "2.0"), ("rope", "1.0"), ("tee", "1.0")} <= before
    knowledge = f"sqlite:///{tmp_path / 'k.db'}"
    result = run_cli(
        ["fix", lock, "--osv", osv, "--knowledge", knowledge, "--report", "json"], env=env
    )
    assert result.exit_code == 1, result.output  # half's advisory stays open for 3.11
    doc = json.loads(result.stdout)
    changes = {(c["name"], c["old"], c["new"], tuple(c["targets"])) for c in doc["changes"]}
    assert not any(name == "half" for name, *_ in changes), changes
    assert ("tee", "1.0", "1.1", ("py312",)) in changes
    assert ("rope", "1.0", "1.2", ("py312",)) in changes
    assert ("rope", "1.0", "1.1", ("py311",)) in changes
    left = [(u["name"], u["version"], u["advisory"]["id"]) for u in doc["unfixable"]]
    assert left == [("half", "1.0", HALF)]
    pins = {(n, v) for n, v, _ in _locked(lock)}
    assert {("half", "1.0"), ("half", "2.0")} <= pins
    assert ("half", "2.1") not in pins


def test_the_diff_names_the_target_of_a_change(
    tmp_path: Path, two_target_index: FixtureIndex, osv: Path
) -> None:
    env = clean_environ(tmp_path / "home")
    lock = _two_target_project(tmp_path / "app", two_target_index, env)
    knowledge = f"sqlite:///{tmp_path / 'k.db'}"
    args = ["fix", lock, "--osv", osv, "--knowledge", knowledge, "--dry-run"]
    text = run_cli(args, env=env)
    assert text.exit_code == 0, text.output
    assert f"+ parser==1.1  # fixes {PARSER}" in text.stdout
    assert f"+ shim==1.1 (for py312)  # fixes {SHIM}" in text.stdout
    assert f"+ shim==1.2 (for py311)  # fixes {SHIM}" in text.stdout
    md = run_cli([*args, "--report", "md"], env=env)
    assert "| `shim` (direct) (for py311) | 1.0 | 1.2 |" in md.stdout, md.stdout


def test_fix_of_an_advised_lock_records_the_fix_and_the_advice(
    project: Project_, tmp_path: Path
) -> None:
    """A lock written by ``advise`` carries the advice's scores; after ``fix`` they no longer
    describe its pins, so the lock records ``fixed`` (what changed, what it fixed) with the
    advice it came from, and no ``advice`` table of its own. The advice knew no advisory
    and took ``webkit`` 2.0; one published since affects 2.0 only."""
    root = project.root
    root.mkdir(parents=True)
    (root / "requirements.in").write_text("webkit\n", encoding="utf-8")
    knowledge = f"sqlite:///{root.parent / 'k.db'}"
    advised = run_cli(
        [
            "advise", root / "requirements.in", "--index-url", project.index.file_url,
            "--knowledge", knowledge, "-o", project.lock_path,
        ],
        env=project.env,
    )  # fmt: skip
    assert advised.exit_code == 0, advised.output
    assert project.pins == {"webkit": "2.0", "parser": "1.2"}
    advice = read_lock(project.lock_path)["tool"]["advisor"]["advice"]
    assert "score" in advice
    osv = tmp_path / "osv-webkit"
    osv.mkdir()
    record = _record("GHSA-webk-0001-aaaa", "webkit", [{"introduced": "2.0"}])
    (osv / "webkit.json").write_text(json.dumps(record), encoding="utf-8")
    fixed = run_cli(
        ["fix", project.lock_path, "--osv", osv, "--knowledge", knowledge], env=project.env
    )
    assert fixed.exit_code == 0, fixed.output
    assert project.pins == {"webkit": "1.1", "parser": "1.2"}
    tool = read_lock(project.lock_path)["tool"]["advisor"]
    assert "advice" not in tool
    assert tool["fixed"] == {
        "by": "advisor fix",
        "changed": ["webkit"],
        "advisories": ["GHSA-webk-0001-aaaa"],
        "advice": advice,
    }
    checked = run_cli(
        ["check", project.lock_path, "--osv", osv, "--knowledge", knowledge], env=project.env
    )
    assert checked.exit_code == 0, checked.output  # the record is outside the digest


def test_fix_of_an_advised_lock_orders_free_choices_by_its_recommendation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``app`` 1.1 is affected (a later advisory); its fix, 1.0, needs ``helper``, new to
    the stack. ``helper`` 1.1 was released an hour ago: pip's order (newest first) would take
    it, but the lock is a ``stable`` advice, whose scoring puts a too-young release last, so
    the fix takes the older ``helper`` 1.0. The young release is not removed: a fix may need
    it."""
    old = datetime(2023, 1, 1, tzinfo=UTC)
    young = datetime.now(UTC) - timedelta(hours=1)
    index = build_index(
        tmp_path / "index",
        [
            Project(
                name="app",
                files=[
                    *release("1.0", upload_time=old, requires_dist=["helper"]),
                    *release("1.1", upload_time=old),
                ],
            ),
            Project(
                name="helper",
                files=[*release("1.0", upload_time=old), *release("1.1", upload_time=young)],
            ),
        ],
    )
    monkeypatch.chdir(tmp_path)
    with IndexServer(index) as server:  # served as JSON: the pages carry upload times
        _advise_then_fix(tmp_path, index, server.url)


def _advise_then_fix(tmp_path: Path, index: FixtureIndex, url: str) -> None:
    project = Project_(tmp_path / "app", index, tmp_path, clean_environ(tmp_path / "home"))
    project.root.mkdir(parents=True)
    (project.root / "requirements.in").write_text("app\n", encoding="utf-8")
    knowledge = f"sqlite:///{tmp_path / 'k.db'}"
    advised = run_cli(
        [
            "advise", project.root / "requirements.in", "--index-url", url,
            "--knowledge", knowledge, "-o", project.lock_path,
        ],
        env=project.env,
    )  # fmt: skip
    assert advised.exit_code == 0, advised.output
    assert project.pins == {"app": "1.1"}
    osv = tmp_path / "osv-app"
    osv.mkdir()
    record = _record("GHSA-appx-0001-aaaa", "app", [{"introduced": "1.1"}])
    (osv / "app.json").write_text(json.dumps(record), encoding="utf-8")
    args = ["fix", project.lock_path, "--osv", osv, "--knowledge", knowledge]
    fixed = run_cli(args, env=project.env)
    assert fixed.exit_code == 0, fixed.output
    assert "+ helper==1.0  # needed by the fixes" in fixed.stdout
    assert project.pins == {"app": "1.0", "helper": "1.0"}
