"""``advisor check`` on the paths people and pre-commit pass: locks with other names, inputs
whose lock has another name, files that are not locks, and paths relative to a parent folder.

The projects are made by ``advisor lock`` against the fixture index served on 127.0.0.1 (see
:mod:`tests.functional.test_check_cli`, whose :class:`App` and OSV records are reused); the CLI
runs in-process from the folder a test names, so paths in messages are what a user sees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.functional.helpers import CliResult, clean_environ, lock_pins, read_lock, run_cli
from tests.functional.test_check_cli import ADVISORY, App, _projects
from tests.support import FixtureIndex, IndexServer, build_index

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FixtureIndex:
    return build_index(tmp_path_factory.mktemp("check-paths") / "index", _projects())


@pytest.fixture(scope="module")
def server(index: FixtureIndex) -> Iterator[IndexServer]:
    with IndexServer(index) as srv:
        yield srv


@pytest.fixture
def app(tmp_path: Path, server: IndexServer) -> App:
    """``app/requirements.in`` = ``tinyhttp``; no lock yet (each test names its own)."""
    proj = App(tmp_path / "app", clean_environ(tmp_path / "home"), server)
    proj.root.mkdir()
    (proj.root / "requirements.in").write_text("tinyhttp\n", encoding="utf-8")
    return proj


def _lock(app: App, output: str, *args: object) -> Path:
    lock = app.root / output
    result = run_cli(
        ["lock", app.root / "requirements.in", "--index-url", app.server.url, "-o", lock, *args],
        env=app.env,
    )
    assert result.exit_code == 0, result.output
    return lock


def _check(app: App, *args: object) -> CliResult:
    return run_cli(["check", *args, "--osv", app.osv], env=app.env)


def _stale(app: App) -> None:
    (app.root / "requirements.in").write_text("tinyhttp\ncolorlog-lite\n", encoding="utf-8")


def _exit(result: CliResult, code: int) -> CliResult:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    return result


# --- locks and inputs by other names ---------------------------------------------------------


def test_a_lock_named_otherwise_is_checked_by_its_content(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lock(app, "deps.pylock.toml")
    monkeypatch.chdir(app.root)
    result = _exit(_check(app, "deps.pylock.toml"), 0)
    assert "ok: deps.pylock.toml" in result.stderr
    _stale(app)
    result = _exit(_check(app, "deps.pylock.toml"), 1)
    assert result.stdout.startswith("deps.pylock.toml: error: [lock-stale]")
    assert "+ colorlog-lite" in result.stdout


def test_a_requirements_lock_named_otherwise_is_checked_by_its_content(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lock(app, "locked.txt")
    monkeypatch.chdir(app.root)
    result = _exit(_check(app, "locked.txt", "--inputs", "requirements.in"), 0)
    assert "ok: locked.txt" in result.stderr
    _stale(app)
    result = _exit(_check(app, "locked.txt", "--inputs", "requirements.in"), 1)
    assert "[lock-stale]" in result.stdout and "colorlog-lite" in result.stdout


def test_the_input_of_a_named_pylock_maps_to_it(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    # PEP 751: pylock.<name>.toml; pre-commit passes only the input when only it changed
    _lock(app, "pylock.web.toml")
    monkeypatch.chdir(app.root)
    _stale(app)
    result = _exit(_check(app, "requirements.in"), 1)
    assert result.stdout.startswith("pylock.web.toml: error: [lock-stale]")


def test_a_file_that_is_no_lock_is_refused_naming_it(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lock(app, "pylock.toml")
    monkeypatch.chdir(app.root)
    (app.root / "notes.toml").write_text('title = "not a lock"\n', encoding="utf-8")
    result = _exit(_check(app, "notes.toml"), 2)
    assert "notes.toml" in result.stderr and "not a lock" in result.stderr
    (app.root / "deps.txt").write_text("tinyhttp>=1\n", encoding="utf-8")
    result = _exit(_check(app, "deps.txt"), 2)
    assert "deps.txt" in result.stderr and "not a lock" in result.stderr
    (app.root / "README.md").write_text("# app\n", encoding="utf-8")
    result = _exit(_check(app, "README.md", "pylock.toml"), 2)
    assert "README.md" in result.stderr
    (app.root / "broken.toml").write_text("lock-version = \n", encoding="utf-8")
    result = _exit(_check(app, "broken.toml"), 2)
    assert "broken.toml" in result.stderr


def test_an_input_without_a_lock_beside_it_says_so(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(app.root)
    result = _exit(_check(app, "requirements.in"), 0)
    assert "requirements.in" in result.stderr and "no lock" in result.stderr


# --- paths relative to a parent folder (what pre-commit passes) ------------------------------


def test_requirements_lock_in_a_subfolder_from_the_parent(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lock(app, "requirements.txt")
    monkeypatch.chdir(app.root.parent)
    result = _exit(_check(app, "app/requirements.txt"), 0)
    assert "ok: app/requirements.txt" in result.stderr
    _exit(_check(app, "app/requirements.in"), 0)
    _stale(app)
    result = _exit(_check(app, "app/requirements.txt"), 1)
    assert "[lock-stale]" in result.stdout
    assert "app/requirements.in:2" in result.stdout
    # explicit inputs are relative to the current folder too
    (app.root / "requirements.in").rename(app.root / "web.in")
    result = _exit(_check(app, "app/requirements.txt", "--inputs", "app/web.in"), 1)
    assert "app/web.in:2" in result.stdout


def test_fix_of_a_requirements_lock_in_a_subfolder_from_the_parent(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = _lock(app, "requirements.txt")
    monkeypatch.chdir(app.root.parent)
    _stale(app)
    result = _exit(_check(app, "app/requirements.txt", "--fix"), 1)
    assert "re-locked app/requirements.txt" in result.stderr
    assert "colorlog-lite==0.9" in lock.read_text()
    _exit(_check(app, "app/requirements.txt"), 0)


def test_pylock_in_a_subfolder_from_the_parent(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    (app.root / "requirements.in").write_text("tinyhttp<1.3\n", encoding="utf-8")
    lock = _lock(app, "pylock.toml")
    assert lock_pins(read_lock(lock))["tinyhttp"] == "1.2"
    monkeypatch.chdir(app.root.parent)
    result = _exit(_check(app, "app/pylock.toml"), 1)
    assert result.stdout.startswith(
        f"app/pylock.toml: error: [advisory] tinyhttp==1.2 is affected by {ADVISORY}"
    )


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_every_output_ends_with_a_newline(
    app: App, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    _lock(app, "pylock.toml")
    monkeypatch.chdir(app.root)
    clean = _exit(_check(app, "pylock.toml", "--format", fmt), 0)
    _stale(app)
    found = _exit(_check(app, "pylock.toml", "--format", fmt), 1)
    for result in (clean, found):
        for stream in (result.stdout, result.stderr):
            assert stream == "" or stream.endswith("\n"), repr(stream)
    assert found.stdout
