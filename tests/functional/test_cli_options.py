"""End to end: the command-line grammar and the small things a newcomer meets first.

``--pre`` is a flag and ``--prerelease-package NAME`` the per-package option (an option with
an optional value swallowed the input after it); every option has a help text and
``explain`` lists only the options it uses; an unusable cache directory is said: an error
when the user chose it, a warning for the default one. Locks are made against a ``file://``
fixture index, in-process, except where the warning's logging needs a fresh interpreter.
"""

from __future__ import annotations

import json
import tomllib
from typing import TYPE_CHECKING

import click
import pytest

from tests.functional.helpers import (
    CliResult,
    clean_environ,
    lock_pins,
    read_lock,
    run_advisor,
    run_cli,
)
from tests.support import FixtureIndex, Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FixtureIndex:
    return build_index(
        tmp_path_factory.mktemp("options") / "index",
        [
            Project(name="pre", files=[*release("1.0"), *release("2.0a1")]),
            Project(name="beta", files=[*release("1.0"), *release("2.0b1")]),
        ],
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_environ(tmp_path / "home")


@pytest.fixture
def advisor(index: FixtureIndex, env: dict[str, str]) -> Callable[..., CliResult]:
    def run(*args: str | Path, cache: bool = False) -> CliResult:
        extra = [] if cache else ["--no-cache"]
        return run_cli([*args, "--index-url", index.file_url, *extra], env=env)

    return run


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.in"
    path.write_text("pre\nbeta\n", encoding="utf-8")
    return path


def _pins(result: CliResult) -> dict[str, str]:
    assert result.exit_code == 0, result.output
    return lock_pins(tomllib.loads(result.stdout))


# --------------------------------------------------------------------------- pre-releases


def test_pre_is_a_flag_that_never_swallows_the_input(
    advisor: Callable[..., CliResult], requirements: Path
) -> None:
    assert _pins(advisor("lock", "--pre", requirements, "-o", "-")) == {
        "pre": "2.0a1",
        "beta": "2.0b1",
    }
    assert _pins(advisor("lock", requirements, "-o", "-")) == {"pre": "1.0", "beta": "1.0"}


def test_prerelease_package_allows_only_the_named_projects(
    advisor: Callable[..., CliResult], requirements: Path
) -> None:
    result = advisor("lock", "--prerelease-package", "pre", requirements, "-o", "-")
    assert _pins(result) == {"pre": "2.0a1", "beta": "1.0"}
    result = advisor(
        "lock", requirements, "--prerelease-package", "pre", "--prerelease-package", "beta"
    )
    assert result.exit_code == 0, result.output
    lock = read_lock(requirements.parent / "pylock.toml")
    assert lock_pins(lock) == {"pre": "2.0a1", "beta": "2.0b1"}
    # recorded as before the option was renamed, so older locks read back the same way
    assert lock["tool"]["advisor"]["options"]["pre-packages"] == ["beta", "pre"]


def test_a_locks_recorded_pre_setting_is_read_back(
    advisor: Callable[..., CliResult], requirements: Path, env: dict[str, str]
) -> None:
    """``check --fix`` re-locks from the lock's own record: ``pre = true`` must survive."""
    result = advisor("lock", "--pre", requirements)
    assert result.exit_code == 0, result.output
    lock_path = requirements.parent / "pylock.toml"
    assert read_lock(lock_path)["tool"]["advisor"]["options"]["pre"] is True
    requirements.write_text("pre\n", encoding="utf-8")  # stale now
    fixed = run_cli(["check", "--fix", "--only", "freshness", lock_path], env=env)
    assert fixed.exit_code == 1, fixed.output  # re-locked: the new lock is to be staged
    assert "re-locked" in fixed.stderr
    relocked = read_lock(lock_path)
    assert lock_pins(relocked) == {"pre": "2.0a1"}
    assert relocked["tool"]["advisor"]["options"]["pre"] is True
    clean = run_cli(["check", "--only", "freshness", lock_path], env=env)
    assert clean.exit_code == 0, clean.output


# --------------------------------------------------------------------------- help texts


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


def _command(path: tuple[str, ...]) -> click.Command:
    from advisor.cli import cli

    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--count", "0"),
        ("--count", "-2"),
        ("--budget", "0"),
        ("--time-limit", "0"),
        ("--time-limit", "-1.5"),
    ],
)
def test_an_empty_search_is_refused_before_it_runs(
    advisor: Callable[..., CliResult], requirements: Path, option: str, value: str
) -> None:
    """A search that could keep no stack, run no resolution or take no time is bad input
    (exit 2, the option named), and nothing is written."""
    refused = advisor("advise", requirements, option, value)
    assert refused.exit_code == 2, refused.output
    assert option in refused.stderr and value in refused.stderr
    assert "Traceback" not in refused.output
    assert not (requirements.parent / "pylock.toml").exists()


def test_the_smallest_search_runs(advisor: Callable[..., CliResult], requirements: Path) -> None:
    kept = advisor(
        "advise", requirements, "--count", "1", "--budget", "1", "--time-limit", "0.5", "--dry-run"
    )
    assert kept.exit_code == 0, kept.output


def test_every_option_of_every_command_has_a_help_text() -> None:
    from advisor.cli import cli

    missing = [
        f"advisor {' '.join(path)} {'/'.join(option.opts)}"
        for path in _commands(cli)
        for option in _command(path).params
        if isinstance(option, click.Option) and not option.hidden and not option.help
    ]
    assert missing == []


def test_install_help_explains_extra_and_group(env: dict[str, str]) -> None:
    result = run_cli(["install", "--help"], env=env)
    assert result.exit_code == 0, result.output
    assert "extra" in result.stdout and "dependency group" in result.stdout


def test_explain_lists_only_the_options_it_uses(env: dict[str, str]) -> None:
    result = run_cli(["explain", "--help"], env=env)
    assert result.exit_code == 0, result.output
    for unused in ("--count", "--budget", "--time-limit", "--seed"):
        assert unused not in result.stdout
    for used in ("--lock", "--knowledge", "--knowledge-dir", "--osv", "--json"):
        assert used in result.stdout
    advise = run_cli(["advise", "--help"], env=env)
    assert all(o in advise.stdout for o in ("--count", "--budget", "--time-limit", "--seed"))


# --------------------------------------------------------------------------- the cache dir


def test_a_cache_dir_that_is_a_file_is_an_error(
    advisor: Callable[..., CliResult], requirements: Path, env: dict[str, str], tmp_path: Path
) -> None:
    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("", encoding="utf-8")
    result = advisor("lock", requirements, "-o", "-", "--cache-dir", not_a_dir, cache=True)
    assert result.exit_code == 2, result.output
    assert f"cache directory {not_a_dir} cannot be used" in result.stderr
    assert "not a directory" in result.stderr and "--no-cache" in result.stderr
    assert result.stdout == ""  # nothing locked, nothing written
    from_env = run_cli(
        ["lock", requirements, "-o", "-", "--index-url", "file:///nowhere"],
        env={**env, "ADVISOR_CACHE_DIR": str(not_a_dir)},
    )
    assert from_env.exit_code == 2, from_env.output
    assert f"cache directory {not_a_dir} cannot be used" in from_env.stderr
    info = run_cli(["cache", "info", "--cache-dir", not_a_dir], env=env)
    assert info.exit_code == 2, info.output
    assert "is not a directory" in info.stderr


def test_a_cache_dir_inside_a_file_is_an_error(
    advisor: Callable[..., CliResult], requirements: Path, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    result = advisor(
        "lock", requirements, "-o", "-", "--cache-dir", tmp_path / "file" / "cache", cache=True
    )
    assert result.exit_code == 2, result.output
    assert "cannot be created" in result.stderr


def test_a_missing_cache_dir_is_created_and_used(
    advisor: Callable[..., CliResult], requirements: Path, env: dict[str, str], tmp_path: Path
) -> None:
    cache = tmp_path / "new" / "cache"
    result = advisor("lock", requirements, "-o", "-", "--cache-dir", cache, cache=True)
    assert result.exit_code == 0, result.output
    info = run_cli(["cache", "info", "--cache-dir", cache, "--json"], env=env)
    assert json.loads(info.stdout)["entries"] > 0


def test_an_unusable_default_cache_dir_is_a_warning(
    index: FixtureIndex, requirements: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """The default directory is the user cache dir under ``XDG_CACHE_HOME``, here a file.
    A fresh interpreter: the warning is logged, and logging keeps its first stream."""
    blocked = tmp_path / "xdg-cache"
    blocked.write_text("", encoding="utf-8")
    proc = run_advisor(
        ["lock", requirements, "-o", "-", "--index-url", index.file_url],
        env={**env, "XDG_CACHE_HOME": str(blocked)},
    )
    assert proc.returncode == 0, proc.stderr
    assert lock_pins(tomllib.loads(proc.stdout)) == {"pre": "1.0", "beta": "1.0"}
    assert "running without a cache" in proc.stderr and str(blocked) in proc.stderr
