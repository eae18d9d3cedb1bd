"""The version is written once, in ``advisor/_version.py``: the package metadata (setuptools
reads it statically), ``advisor.__version__``, the observations' tool string and the index
client's User-Agent all take it from there (the lock's ``advisor-version`` is pinned by the
golden locks)."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import advisor
import advisor._version
from advisor.index.fetch import NetworkSettings
from advisor.knowledge.osv import TOOL

ROOT = Path(advisor.__file__).resolve().parent
VERSION = advisor._version.__version__


def test_pyproject_reads_the_version_module() -> None:
    project = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    dynamic = project["tool"]["setuptools"]["dynamic"]
    assert dynamic["version"] == {"attr": "advisor._version.__version__"}


def test_every_statement_of_the_version_is_the_one() -> None:
    assert advisor.__version__ is VERSION
    assert importlib.metadata.version("stack-advisor") == VERSION
    assert NetworkSettings().user_agent == f"stack-advisor/{VERSION}"
    assert TOOL == f"stack-advisor {VERSION}"


def test_no_other_module_writes_the_version() -> None:
    literal = f'"{VERSION}"'
    found = [
        str(path.relative_to(ROOT.parent))
        for path in sorted(ROOT.rglob("*.py"))
        if path.name != "_version.py" and literal in path.read_text(encoding="utf-8")
    ]
    assert found == []
