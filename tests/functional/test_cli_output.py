"""End to end: what the commands' output paths may be. ``advisor lock -o`` onto a FIFO (a
real reader in a thread), a symbolic link, a character device and a directory; the graph
export, the observation export and the advice report onto links, standard output and
unwritable places.

Locks are made against a ``file://`` fixture index, in-process (click's ``CliRunner``);
device nodes are made under ``tmp_path`` (``mknod`` as root), never the machine's.
"""

from __future__ import annotations

import os
import stat
import tomllib
from typing import TYPE_CHECKING

import pytest

from tests.functional.helpers import CliResult, clean_environ, lock_pins, run_cli
from tests.support import FixtureIndex, Project, build_index, release
from tests.support.fifo import fifo_reader

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FixtureIndex:
    return build_index(
        tmp_path_factory.mktemp("output") / "index",
        [Project(name="beta", files=[*release("1.0"), *release("2.0")])],
    )


@pytest.fixture
def advisor(index: FixtureIndex, tmp_path: Path) -> Callable[..., CliResult]:
    env = clean_environ(tmp_path / "home")

    def run(*args: str | Path) -> CliResult:
        return run_cli([*args, "--index-url", index.file_url, "--no-cache"], env=env)

    return run


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.in"
    path.write_text("beta\n", encoding="utf-8")
    return path


def _ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.output
    return result


def test_lock_onto_a_fifo_writes_through_it(
    advisor: Callable[..., CliResult], requirements: Path, tmp_path: Path
) -> None:
    fifo = tmp_path / "lock.fifo"
    with fifo_reader(fifo) as reader:
        _ok(advisor("lock", requirements, "-o", fifo, "--format", "pylock"))
        text = reader.finish()
    assert lock_pins(tomllib.loads(text)) == {"beta": "2.0"}
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_lock_onto_a_symlink_keeps_the_link_and_relocks_from_its_target(
    advisor: Callable[..., CliResult], requirements: Path, tmp_path: Path
) -> None:
    (tmp_path / "locks").mkdir()
    real = tmp_path / "locks" / "pylock.toml"
    link = tmp_path / "pylock.toml"
    link.symlink_to(os.path.join("locks", "pylock.toml"))  # dangling: the lock is created
    _ok(advisor("lock", requirements, "-o", link))
    assert link.is_symlink() and real.is_file()
    assert lock_pins(tomllib.loads(real.read_text(encoding="utf-8"))) == {"beta": "2.0"}
    # a re-lock through the link reads its pins back and replaces the target again
    requirements.write_text("beta<2\n", encoding="utf-8")
    result = _ok(advisor("lock", requirements, "-o", link))
    assert "beta: 2.0 -> 1.0" in result.stderr
    assert link.is_symlink()
    assert lock_pins(tomllib.loads(real.read_text(encoding="utf-8"))) == {"beta": "1.0"}


def test_lock_onto_a_character_device_leaves_it_a_device(
    advisor: Callable[..., CliResult], requirements: Path, tmp_path: Path
) -> None:
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.close(os.open(node, os.O_WRONLY))
    except PermissionError:
        pytest.skip("no device node can be made here (needs root and a mount allowing devices)")
    result = _ok(advisor("lock", requirements, "-o", node, "--format", "pylock"))
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    assert node.read_bytes() == b""
    assert str(node) in result.stderr


def test_lock_onto_a_directory_is_a_clear_error(
    advisor: Callable[..., CliResult], requirements: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "pylock.toml"
    folder.mkdir()
    result = advisor("lock", requirements, "-o", folder)
    assert result.exit_code == 2, result.output
    assert f"cannot write {folder}" in result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_graph_export_onto_a_link_and_an_unwritable_place(
    advisor: Callable[..., CliResult], requirements: Path, tmp_path: Path
) -> None:
    _ok(advisor("lock", requirements))
    env = clean_environ(tmp_path / "home")
    store = ["--knowledge", tmp_path / "knowledge.db"]
    real = tmp_path / "graph.dot"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "current.dot"
    link.symlink_to("graph.dot")
    lock = tmp_path / "pylock.toml"
    _ok(run_cli(["knowledge", "graph", lock, "-o", link, *store], env=env))
    assert link.is_symlink() and "beta" in real.read_text(encoding="utf-8")
    missing = tmp_path / "missing" / "graph.dot"
    result = run_cli(["knowledge", "graph", lock, "-o", missing, *store], env=env)
    assert result.exit_code == 2, result.output
    assert f"cannot write {missing}" in result.stderr
    assert "internal error" not in result.output


def test_observation_export_to_stdout_and_through_a_link(tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "home")
    store = ["--knowledge", tmp_path / "knowledge.db"]
    result = _ok(run_cli(["observe", "export", "-", *store], env=env))
    assert result.stdout == ""  # an empty store: no lines, and the count on stderr
    assert "0 observations written to standard output" in result.stderr
    assert not (tmp_path / "-").exists()
    (tmp_path / "shared").mkdir()
    link = tmp_path / "observations.jsonl"
    link.symlink_to(tmp_path / "shared" / "observations.jsonl")
    _ok(run_cli(["observe", "export", link, *store], env=env))
    assert link.is_symlink() and (tmp_path / "shared" / "observations.jsonl").is_file()


def test_advice_report_to_stdout_and_through_a_link(
    advisor: Callable[..., CliResult],
    requirements: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # where a file named '-' would land
    store = ["--knowledge", tmp_path / "knowledge.db"]
    args = ["advise", requirements, "--dry-run", "--report", "md", *store]
    result = _ok(advisor(*args, "--report-file", "-", "-q"))
    assert result.stdout.startswith("### Stack advice")  # '-q' quiets all but what was asked
    assert not (tmp_path / "-").exists()
    (tmp_path / "reports").mkdir()
    link = tmp_path / "advice.md"
    link.symlink_to(os.path.join("reports", "advice.md"))
    result = _ok(advisor(*args, "--report-file", link))
    assert result.stdout == ""
    assert link.is_symlink()
    assert (tmp_path / "reports" / "advice.md").read_text(encoding="utf-8").startswith("### ")
