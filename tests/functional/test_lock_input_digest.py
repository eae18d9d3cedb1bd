"""The lock's ``[tool.advisor] input-digest`` follows the meaning of the inputs, not their text.

A comment or blank-line edit leaves it unchanged, so the lock stays fresh; a change in an
included ``-r``/``-c`` file changes it, so the lock is stale. The constraints of pip's
configuration (``PIP_CONSTRAINT`` or its ``constraint`` setting) count by their recorded
content. Locks are made against a ``file://`` fixture index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.functional.helpers import clean_environ, lock_pins, read_lock, run_cli
from tests.support import FixtureIndex, Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FixtureIndex:
    return build_index(
        tmp_path_factory.mktemp("digest") / "index",
        [
            Project(name="alpha", files=[*release("1.0"), *release("2.0")]),
            Project(name="beta", files=[*release("1.0"), *release("2.0")]),
            Project(name="gamma", files=[*release("1.0")]),
        ],
    )


@pytest.fixture
def digest(index: FixtureIndex, tmp_path: Path) -> Callable[[Path], str]:
    """Lock ``path`` (writing pylock.toml next to it) and return the lock's input digest."""
    env = clean_environ(tmp_path / "home")

    def run(path: Path) -> str:
        result = run_cli(["lock", path, "--index-url", index.file_url, "--no-cache"], env=env)
        assert result.exit_code == 0, result.output
        return str(read_lock(path.parent / "pylock.toml")["tool"]["advisor"]["input-digest"])

    return run


def test_comment_edit_keeps_digest(digest: Callable[[Path], str], tmp_path: Path) -> None:
    req = tmp_path / "requirements.in"
    (tmp_path / "common.in").write_text("beta>=1\n")
    req.write_text("-r common.in\nalpha\n")
    first = digest(req)
    req.write_text("# the web app\n-r common.in   # shared pins\n\nalpha  # the framework\n")
    assert digest(req) == first
    (tmp_path / "common.in").write_text("# shared\nbeta >= 1\n\n")
    assert digest(req) == first


def test_included_file_change_changes_digest(digest: Callable[[Path], str], tmp_path: Path) -> None:
    req = tmp_path / "requirements.in"
    common = tmp_path / "common.in"
    common.write_text("beta>=1\n")
    req.write_text("-r common.in\nalpha\n")
    first = digest(req)
    common.write_text("beta>=1\ngamma\n")
    second = digest(req)
    assert second != first
    common.write_text("beta<2\ngamma\n")
    assert digest(req) not in {first, second}


def test_constraints_file_change_changes_digest(
    digest: Callable[[Path], str], tmp_path: Path
) -> None:
    req = tmp_path / "requirements.in"
    cons = tmp_path / "constraints.txt"
    cons.write_text("alpha<3\n")
    req.write_text("-c constraints.txt\nalpha\n")
    first = digest(req)
    cons.write_text("# only a comment changes\nalpha<3\n")
    assert digest(req) == first
    cons.write_text("alpha<2\n")
    assert digest(req) != first


def test_requirement_change_changes_digest(digest: Callable[[Path], str], tmp_path: Path) -> None:
    req = tmp_path / "requirements.in"
    req.write_text("alpha\nbeta\n")
    first = digest(req)
    req.write_text("beta\nalpha\n")  # order of the requirements does not matter
    assert digest(req) == first
    req.write_text("alpha\nbeta<2\n")
    assert digest(req) != first


def test_pip_constraint_is_recorded_by_content_and_digested(
    index: FixtureIndex, tmp_path: Path
) -> None:
    """pip's configured constraints shape the lock: their requirements are recorded (not
    their path, which belongs to the machine) and digested, so ``check`` needs neither the
    file nor the configuration, and an edit of the record makes the lock stale."""
    project = tmp_path / "project"
    project.mkdir()
    req = project / "requirements.in"
    req.write_text("alpha\nbeta\n")
    lock = project / "pylock.toml"
    machine = tmp_path / "etc"
    machine.mkdir()
    caps = machine / "caps.txt"

    def run(*args: object, **env: str) -> str:
        result = run_cli([*args], env=clean_environ(tmp_path / "home", **env))
        assert result.exit_code == 0, result.output
        return result.output

    def locked(**env: str) -> dict[str, Any]:
        run("lock", req, "--index-url", index.file_url, "--no-cache", **env)
        return dict(read_lock(lock)["tool"]["advisor"])

    plain = locked()
    caps.write_text("# nothing capped yet\n")
    assert locked(PIP_CONSTRAINT=str(caps)) == plain  # an empty file changes nothing
    caps.write_text("# the machine's caps\nalpha < 2\n")
    capped = locked(PIP_CONSTRAINT=str(caps))
    assert lock_pins(read_lock(lock)) == {"alpha": "1.0", "beta": "2.0"}
    assert capped["inputs"]["pip-constraints"] == ["alpha<2"]
    assert capped["input-digest"] != plain["input-digest"]
    caps.write_text("alpha<2  # same cap, other text\n")
    assert locked(PIP_CONSTRAINT=str(caps))["input-digest"] == capped["input-digest"]
    caps.write_text("alpha<1.5\n")
    assert locked(PIP_CONSTRAINT=str(caps))["input-digest"] != capped["input-digest"]
    caps.write_text("alpha<2\n")
    locked(PIP_CONSTRAINT=str(caps))
    caps.unlink()  # another machine: no such file, no pip configuration
    run("check", lock, "--only", "freshness")
    recorded = 'pip-constraints = [\n    "alpha<2",'
    text = lock.read_text()
    assert recorded in text
    lock.write_text(text.replace(recorded, recorded.replace("<2", "<3")))
    result = run_cli(["check", lock, "--only", "freshness"], env=clean_environ(tmp_path / "home"))
    assert result.exit_code == 1 and "lock-stale" in result.output, result.output


def test_pip_constraint_in_a_requirements_lock_header(index: FixtureIndex, tmp_path: Path) -> None:
    req = tmp_path / "requirements.in"
    req.write_text("alpha\n")
    caps = tmp_path / "caps.txt"
    caps.write_text("alpha<2\ngamma==1.0\n")
    env = clean_environ(tmp_path / "home", PIP_CONSTRAINT=str(caps))
    args = ["lock", req, "--index-url", index.file_url, "--no-cache", "--format", "requirements"]
    result = run_cli(args, env=env)
    assert result.exit_code == 0, result.output
    text = (tmp_path / "requirements.txt").read_text()
    assert "#    pip-constraints: alpha<2, gamma==1.0\n" in text
    assert "alpha==1.0" in text


def test_a_missing_pip_constraint_file_is_a_clear_error(
    index: FixtureIndex, tmp_path: Path
) -> None:
    req = tmp_path / "requirements.in"
    req.write_text("alpha\n")
    conf = tmp_path / "pip.conf"
    conf.write_text("[install]\nconstraint = missing.txt\n")
    result = run_cli(
        ["lock", req, "--index-url", index.file_url, "--no-cache"],
        env=clean_environ(tmp_path / "home", PIP_CONFIG_FILE=str(conf)),
    )
    assert result.exit_code == 2, result.output
    assert "missing.txt: no such file" in result.output
    assert f"{conf} [install] constraint" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "pylock.toml").exists()


def test_a_remote_pip_constraint_file_is_refused_naming_the_setting(
    index: FixtureIndex, tmp_path: Path
) -> None:
    req = tmp_path / "requirements.in"
    req.write_text("alpha\n")
    result = run_cli(
        ["lock", req, "--index-url", index.file_url, "--no-cache"],
        env=clean_environ(
            tmp_path / "home", PIP_CONSTRAINT="https://user:secret@host.test/caps.txt"
        ),
    )
    assert result.exit_code == 2, result.output
    assert "remote file, https://host.test/caps.txt (PIP_CONSTRAINT)" in result.output
    assert "secret" not in result.output and "Traceback" not in result.output
