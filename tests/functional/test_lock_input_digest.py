"""The lock's ``[tool.advisor] input-digest`` follows the meaning of the inputs, not their text.

A comment or blank-line edit leaves it unchanged, so the lock stays fresh; a change in an
included ``-r``/``-c`` file changes it, so the lock is stale. Locks are made against a
``file://`` fixture index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.functional.helpers import clean_environ, read_lock, run_cli
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
