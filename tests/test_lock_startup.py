"""The cold start of a plain ``advisor lock``: what it imports.

A small lock is mostly start-up (``docs/performance.md``), so a plain lock (``latest``, no
cooldown, no report, an index named) loads only what it uses. The advice search, the
knowledge store and the report layer are loaded by the jobs that need them (``advise``, a
``--cooldown``, ``fix``), pip's own modules only when no index is named (pip's default index
is asked then). A real ``advisor lock`` runs in a fresh interpreter against a ``file://``
fixture index and its ``sys.modules`` are read at exit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.functional.helpers import clean_environ
from tests.support.index import Project, build_index, release

if TYPE_CHECKING:
    from pathlib import Path

#: Packages a plain lock must not import (a module of any of them fails the test).
NOT_ON_THE_LOCK_PATH = (
    "advisor.scoring.units",  # the advice's scoring units (advice.cooldown brought them)
    "advisor.scoring.knowledge_view",
    "advisor.knowledge",  # the store, the OSV and rule loaders
    "advisor.report",  # options.jobs brought it (for ReportOptions' default format)
    "advisor.advice.engine",  # the advice package's __init__ brought it
    "advisor.advice.describer",
    "pip",  # pip's default index, asked although --index-url names one
)

#: Runs ``advisor ARGS`` (argv[1:]) and writes the names in ``sys.modules`` at exit to the
#: file named by ``ADVISOR_TEST_MODULES``: after the command, whatever it loaded lazily.
_RUN = """
import atexit, json, os, sys
atexit.register(lambda: open(os.environ["ADVISOR_TEST_MODULES"], "w").write(
    json.dumps(sorted(sys.modules))))
from advisor.cli import main
sys.argv = ["advisor", *sys.argv[1:]]
main()
"""


def _lock_modules(tmp_path: Path, *args: str) -> list[str]:
    index = build_index(tmp_path / "index", [Project(name="tiny", files=release("1.0"))])
    requirements = tmp_path / "requirements.in"
    requirements.write_text("tiny\n", encoding="utf-8")
    out = tmp_path / "modules.json"
    env = clean_environ(tmp_path / "home", ADVISOR_TEST_MODULES=str(out))
    command = [sys.executable, "-c", _RUN, "lock", str(requirements), "-q"]
    command += ["--index-url", index.file_url, "--cache-dir", str(tmp_path / "cache"), *args]
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "pylock.toml").is_file()
    modules: list[str] = json.loads(out.read_text(encoding="utf-8"))
    return modules


def _loaded(modules: list[str], package: str) -> list[str]:
    return [m for m in modules if m == package or m.startswith(f"{package}.")]


@pytest.fixture(scope="module")
def plain_lock(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return _lock_modules(tmp_path_factory.mktemp("plain"))


@pytest.mark.parametrize("package", NOT_ON_THE_LOCK_PATH)
def test_a_plain_lock_does_not_import(package: str, plain_lock: list[str]) -> None:
    assert _loaded(plain_lock, package) == [], f"`advisor lock` imports {package}"


def test_the_lock_path_is_what_a_lock_uses(plain_lock: list[str]) -> None:
    """The test above reads a real run: the lock's own layers are there."""
    for used in ("advisor.resolution.resolve", "advisor.lockfile.pylock", "advisor.index.fetch"):
        assert used in plain_lock


def test_a_cooldown_loads_the_advisories_it_needs(tmp_path: Path) -> None:
    """A ``--cooldown`` lets a security fix through: the scoring layer's advisory view and
    the store come with it (only then)."""
    modules = _lock_modules(tmp_path, "--cooldown", "7")
    assert _loaded(modules, "advisor.scoring.knowledge_view")
    assert _loaded(modules, "advisor.advice.cooldown")
