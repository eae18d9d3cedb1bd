"""The hooks of ``.pre-commit-hooks.yaml`` under the real ``pre-commit`` framework.

Each test makes a temporary git repository holding ``requirements.in``, a ``pylock.toml``
written by ``advisor lock`` against the fixture index served on 127.0.0.1 (the lock records
that index, so the ``advisor-lock`` hook re-locks from it) and an OSV folder, then runs a hook
over it with ``--all-files``.

What is tried is a snapshot of this checkout's working tree (tracked and untracked files,
minus what ``.gitignore`` excludes) committed into a scratch repository: ``try-repo`` only
carries *tracked* uncommitted changes over, so a new hook or module would otherwise be
missing. The snapshot is made once per test run and shared by the xdist workers (under a
file lock). pre-commit installs the hook environment with pip from the machine's configured
index (pip's configuration is deliberately not isolated here).

``pre-commit try-repo`` always installs into a fresh temporary store (it ignores
``PRE_COMMIT_HOME``), about 10 s a call; so the two try-repo tests are the fresh and the stale
lock, and the other cases run ``pre-commit run --config`` with a config naming the same
repository and revision (what try-repo writes and runs) and one ``PRE_COMMIT_HOME`` shared
by every test, so that install happens once.

try-repo cannot add arguments to a hook, so the advisories reach ``advisor check`` through
``ADVISOR_KNOWLEDGE``: a SQLite store filled by ``advisor knowledge import-osv``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from filelock import FileLock

from tests.functional.helpers import REPO, clean_environ, lock_pins, read_lock, run_cli
from tests.functional.test_check_cli import ADVISORY, osv_record, write_osv
from tests.support import FixtureIndex, IndexServer, Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.slow

_GIT_IDENTITY = ("-c", "user.name=Advisor Tests", "-c", "user.email=tests@example.invalid")


def _git(*args: str, cwd: Path) -> str:
    proc = subprocess.run(
        ["git", *_GIT_IDENTITY, "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class HookSource:
    repo: Path  # the snapshot of this checkout that pre-commit tries
    rev: str  # its commit
    home: Path  # PRE_COMMIT_HOME, shared by every test

    def config(self) -> str:
        """A .pre-commit-config.yaml using this repository's hooks (JSON is YAML)."""
        ids = ("advisor-check", "advisor-lock", "advisor-knowledge-validate")
        hooks = "".join(f"  - id: {h}\n" for h in ids)
        return f"repos:\n- repo: {json.dumps(str(self.repo))}\n  rev: {self.rev}\n  hooks:\n{hooks}"


def _snapshot(checkout: Path, target: Path) -> None:
    """Copy the checkout's working tree (tracked + untracked, not ignored) and commit it."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=checkout,
        capture_output=True,
        check=True,
    ).stdout.decode()
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for rel in filter(None, listed.split("\0")):
        source = checkout / rel
        if source.is_file():  # a tracked file deleted in the working tree is left out
            dest = staging / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
    _git("init", "-q", cwd=staging)
    _git("add", "-A", cwd=staging)
    _git("commit", "-q", "-m", "snapshot of the working tree", cwd=staging)
    staging.rename(target)


@pytest.fixture(scope="session")
def hook_source(tmp_path_factory: pytest.TempPathFactory) -> HookSource:
    if shutil.which("git") is None:
        _skip_or_fail("git is not installed")
    if not (REPO / ".git").exists():
        _skip_or_fail(f"{REPO} is not a git checkout; pre-commit try-repo needs one")
    base = tmp_path_factory.getbasetemp()
    # under xdist every worker's basetemp sits in one folder of this run: share it
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "pre-commit-shared"
    root.mkdir(exist_ok=True)
    with FileLock(str(root / ".lock")):
        repo = root / "hooks"
        if not repo.is_dir():
            _snapshot(REPO, repo)
    rev = _git("rev-parse", "HEAD", cwd=repo).strip()
    return HookSource(repo=repo, rev=rev, home=root / "home")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    index: FixtureIndex = build_index(
        tmp_path_factory.mktemp("precommit") / "index",
        [
            Project(
                name="tinyhttp",
                files=[
                    *release("1.0"),
                    *release("1.2", requires_dist=["jsonkit>=1"]),
                    *release("1.3", requires_dist=["jsonkit>=1"]),
                ],
            ),
            Project(name="jsonkit", files=[*release("1.0"), *release("2.0")]),
            Project(name="colorlog-lite", files=[*release("0.9")]),
        ],
    )
    with IndexServer(index) as srv:
        yield srv


@dataclass(frozen=True, slots=True, kw_only=True)
class PreCommitResult:
    returncode: int
    output: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GitProject:
    root: Path
    knowledge: str  # sqlite:///... holding the OSV folder's advisories
    source: HookSource

    @property
    def lock_path(self) -> Path:
        return self.root / "pylock.toml"

    def environ(self) -> dict[str, str]:
        """The machine's environment (pip reaches its configured index) plus ours."""
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ADVISOR_")}
        env.update(
            PRE_COMMIT_HOME=str(self.source.home),
            ADVISOR_KNOWLEDGE=self.knowledge,
            ADVISOR_CACHE_DIR=str(self.root.parent / "advisor-cache"),
        )
        env["PRE_COMMIT_COLOR"] = "never"
        return env

    def run_hook(
        self, hook: str, *, try_repo: bool = False, all_files: bool = True
    ) -> PreCommitResult:
        """``pre-commit try-repo <snapshot> HOOK --all-files``, or (``try_repo=False``)
        ``pre-commit run HOOK --all-files`` with a config naming the same snapshot; without
        ``all_files``, the hook sees only the staged files, as in a real commit."""
        if try_repo:
            command = ["try-repo", str(self.source.repo), hook]
        else:
            config = self.root.parent / "pre-commit-config.yaml"
            config.write_text(self.source.config(), encoding="utf-8")
            command = ["run", hook, "--config", str(config)]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                *command,
                *(["--all-files"] if all_files else []),
                "--verbose",
            ],
            cwd=self.root,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=900,  # an install of the hook environment with pip
            check=False,
        )
        output = proc.stdout + proc.stderr
        assert "An unexpected error has occurred" not in output, output
        return PreCommitResult(returncode=proc.returncode, output=output)

    def write(self, name: str, text: str, *, stage: bool = True) -> None:
        (self.root / name).write_text(text, encoding="utf-8")
        if stage:
            _git("add", name, cwd=self.root)


def _make_project(
    tmp_path: Path, server: IndexServer, source: HookSource, requirements: str
) -> GitProject:
    root = tmp_path / "repo"
    root.mkdir()
    _git("init", "-q", cwd=root)
    _git("config", "user.name", "Advisor Tests", cwd=root)
    _git("config", "user.email", "tests@example.invalid", cwd=root)
    (root / "requirements.in").write_text(requirements, encoding="utf-8")
    env = clean_environ(tmp_path / "home")
    locked = run_cli(["lock", root / "requirements.in", "--index-url", server.url], env=env)
    assert locked.exit_code == 0, locked.output
    osv = write_osv(root / "osv", osv_record())
    url = f"sqlite:///{tmp_path / 'knowledge.db'}"
    imported = run_cli(["knowledge", "import-osv", osv, "--knowledge", url], env=env)
    assert imported.exit_code == 0, imported.output
    _git("add", "-A", cwd=root)
    _git("commit", "-q", "-m", "lock", cwd=root)
    return GitProject(root=root, knowledge=url, source=source)


@pytest.fixture
def fresh(tmp_path: Path, server: IndexServer, hook_source: HookSource) -> GitProject:
    """``tinyhttp`` locked to 1.3: no advisory applies."""
    project = _make_project(tmp_path, server, hook_source, "tinyhttp\n")
    assert lock_pins(read_lock(project.lock_path))["tinyhttp"] == "1.3"
    return project


@pytest.fixture
def vulnerable(tmp_path: Path, server: IndexServer, hook_source: HookSource) -> GitProject:
    """``tinyhttp<1.3`` locked to 1.2, which the OSV folder's advisory covers."""
    project = _make_project(tmp_path, server, hook_source, "tinyhttp<1.3\n")
    assert lock_pins(read_lock(project.lock_path))["tinyhttp"] == "1.2"
    return project


def _assert_passed(result: PreCommitResult) -> None:
    assert result.returncode == 0, result.output
    assert "Passed" in result.output


def _assert_failed(result: PreCommitResult) -> None:
    assert result.returncode == 1, result.output
    assert "Failed" in result.output
    assert "Traceback" not in result.output


def test_fresh_lock_passes(fresh: GitProject) -> None:
    result = fresh.run_hook("advisor-check", try_repo=True)
    _assert_passed(result)
    assert "advisor check" in result.output


def test_stale_lock_fails_naming_the_requirement(fresh: GitProject) -> None:
    fresh.write("requirements.in", "tinyhttp\ncolorlog-lite>=0.5\n")
    result = fresh.run_hook("advisor-check", try_repo=True)
    _assert_failed(result)
    assert "[lock-stale]" in result.output
    assert "+ colorlog-lite>=0.5" in result.output


def test_vulnerable_pin_fails_naming_the_advisory(vulnerable: GitProject) -> None:
    result = vulnerable.run_hook("advisor-check")
    _assert_failed(result)
    assert f"tinyhttp==1.2 is affected by {ADVISORY}" in result.output


def test_waived_advisory_passes(vulnerable: GitProject) -> None:
    until = (date.today() + timedelta(days=60)).isoformat()
    vulnerable.write(
        "pyproject.toml",
        "[tool.advisor.policy]\nallow-advisories = [\n"
        f'  {{id = "{ADVISORY}", reason = "headers never come from users", until = {until}}},\n'
        "]\n",
    )
    _assert_passed(vulnerable.run_hook("advisor-check"))
    # once the waiver has expired the same commit fails again
    vulnerable.write(
        "pyproject.toml",
        "[tool.advisor.policy]\nallow-advisories = [\n"
        f'  {{id = "{ADVISORY}", reason = "headers never come from users", until = 2025-01-01}},\n'
        "]\n",
    )
    result = vulnerable.run_hook("advisor-check")
    _assert_failed(result)
    assert "the waiver expired on 2025-01-01" in result.output


def test_advisor_lock_hook_relocks_a_stale_lock(fresh: GitProject) -> None:
    # a fresh lock: nothing to do
    _assert_passed(fresh.run_hook("advisor-lock"))
    before = fresh.lock_path.read_text()
    fresh.write("requirements.in", "tinyhttp\ncolorlog-lite\n")
    result = fresh.run_hook("advisor-lock")
    _assert_failed(result)  # so the user stages the new lock
    assert "re-locked pylock.toml" in result.output
    after = fresh.lock_path.read_text()
    assert after != before
    assert lock_pins(read_lock(fresh.lock_path)) == {
        "tinyhttp": "1.3",
        "jsonkit": "2.0",
        "colorlog-lite": "0.9",
    }
    assert "pylock.toml" in _git("status", "--porcelain", cwd=fresh.root)
    # staged, the new lock passes both hooks
    _git("add", "pylock.toml", cwd=fresh.root)
    _assert_passed(fresh.run_hook("advisor-lock"))
    _assert_passed(fresh.run_hook("advisor-check"))


def test_knowledge_validate_hook(fresh: GitProject) -> None:
    prescriptions = fresh.root / "knowledge" / "prescriptions"
    prescriptions.mkdir(parents=True)
    shutil.copy2(REPO / "knowledge" / "prescriptions" / "numpy.yaml", prescriptions)
    _git("add", "knowledge", cwd=fresh.root)
    _assert_passed(fresh.run_hook("advisor-knowledge-validate"))
    fresh.write("knowledge/prescriptions/bad.yaml", "- id: broken\n  summary: 3\n")
    result = fresh.run_hook("advisor-knowledge-validate")
    _assert_failed(result)
    assert "knowledge/prescriptions/bad.yaml:" in result.output


# --- locks in subfolders (pre-commit passes paths relative to the repository's root) ---------


@pytest.fixture
def nested(tmp_path: Path, server: IndexServer, hook_source: HookSource) -> GitProject:
    """Two projects in subfolders: ``ds1`` locked to ``requirements.txt``, ``ds2`` to
    ``pylock.web.toml`` (PEP 751's ``pylock.<name>.toml``), and ``ds3`` to
    ``deps.pylock.toml`` (a lock only by its content)."""
    root = tmp_path / "repo"
    root.mkdir()
    _git("init", "-q", cwd=root)
    env = clean_environ(tmp_path / "home")
    for folder, output in (
        ("ds1", "requirements.txt"),
        ("ds2", "pylock.web.toml"),
        ("ds3", "deps.pylock.toml"),
    ):
        (root / folder).mkdir()
        requirements = root / folder / "requirements.in"
        requirements.write_text("tinyhttp\n", encoding="utf-8")
        locked = run_cli(
            ["lock", requirements, "--index-url", server.url, "-o", root / folder / output],
            env=env,
        )
        assert locked.exit_code == 0, locked.output
    osv = write_osv(tmp_path / "osv", osv_record())
    url = f"sqlite:///{tmp_path / 'knowledge.db'}"
    imported = run_cli(["knowledge", "import-osv", osv, "--knowledge", url], env=env)
    assert imported.exit_code == 0, imported.output
    _git("add", "-A", cwd=root)
    _git("commit", "-q", "-m", "locks", cwd=root)
    return GitProject(root=root, knowledge=url, source=hook_source)


def test_locks_in_subfolders_pass_and_fail_by_their_paths(nested: GitProject) -> None:
    _assert_passed(nested.run_hook("advisor-check"))
    # a commit that changes only an input: pre-commit passes ds1/requirements.in alone
    nested.write("ds1/requirements.in", "tinyhttp\ncolorlog-lite\n")
    result = nested.run_hook("advisor-check", all_files=False)
    _assert_failed(result)
    assert "ds1/requirements.txt: error: [lock-stale]" in result.output
    assert "ds1/requirements.in:2" in result.output
    _git("checkout", "HEAD", "--", "ds1/requirements.in", cwd=nested.root)
    nested.write("ds2/requirements.in", "tinyhttp\ncolorlog-lite\n")
    result = nested.run_hook("advisor-check", all_files=False)
    _assert_failed(result)
    assert "ds2/pylock.web.toml: error: [lock-stale]" in result.output
    _git("checkout", "HEAD", "--", "ds2/requirements.in", cwd=nested.root)
    # a lock that is a lock only by its content is matched by the hook and checked
    nested.write("ds3/requirements.in", "tinyhttp\ncolorlog-lite\n")
    result = nested.run_hook("advisor-check", all_files=True)
    _assert_failed(result)
    assert "ds3/deps.pylock.toml: error: [lock-stale]" in result.output
