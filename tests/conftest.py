"""Shared fixtures: fixture indexes (file:// and served over HTTP), an isolated pip, scenarios.

* ``fixture_index_factory(projects, *, metadata_files=True, name=None) -> FixtureIndex``
  builds an index in a fresh folder under ``tmp_path``.
* ``index_server(index, *, max_age=600, require_auth=None) -> IndexServer``: started now,
  closed at teardown.
* ``pip_env``: environment for running pip that ignores the machine's pip configuration.
* ``make_venv(name="venv") -> Path`` (the venv's python) and ``run_pip(*args, python=None)``:
  fresh venvs without pip, driven by this interpreter's pip through ``--python``.
* ``packse_scenarios``: the packse scenarios folder (skips when absent, fails under CI=true).

Hypothesis runs without its per-example deadline and its too-slow health check: on a
loaded 2-core CI machine both fail tests for time alone, and time is measured in
``benchmarks/``, never asserted in tests.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from tests.container_conftest import (  # noqa: F401
    buildah_env,
    local_base_image,
    local_registry,
)
from tests.knowledge_conftest import knowledge_store_url, pg_store, postgres_url  # noqa: F401
from tests.support.index import FixtureIndex, Project, build_index
from tests.support.server import IndexServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

settings.register_profile("advisor", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("advisor")

__all__ = ["scenarios_dir"]


def scenarios_dir() -> Path:
    """The packse scenarios folder, in ``shared/data`` next to the repository checkout."""
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "packse-scenarios"


@pytest.fixture
def packse_scenarios() -> Path:
    path = scenarios_dir()
    if not path.is_dir():
        reason = f"packse scenarios not found at {path} (expected ../shared/data next to the repo)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
def fixture_index_factory(tmp_path: Path) -> Callable[..., FixtureIndex]:
    counter = itertools.count()

    def factory(
        projects: Iterable[Project], *, metadata_files: bool = True, name: str | None = None
    ) -> FixtureIndex:
        root = tmp_path / (name or f"index-{next(counter)}")
        return build_index(root, projects, metadata_files=metadata_files)

    return factory


@pytest.fixture
def index_server() -> Iterator[Callable[..., IndexServer]]:
    servers: list[IndexServer] = []

    def start(index: FixtureIndex | Path, **options: object) -> IndexServer:
        server = IndexServer(index, **options).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def pip_env() -> dict[str, str]:
    """``os.environ`` minus every ``PIP_*`` variable, with pip's config and prompts disabled."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PIP_")}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
    )
    return env


@pytest.fixture
def make_venv(tmp_path: Path) -> Callable[..., Path]:
    """Create a venv without pip under ``tmp_path``; returns its python executable."""

    def make(name: str = "venv") -> Path:
        target = tmp_path / name
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(target)],
            check=True,
            capture_output=True,
        )
        scripts = "Scripts" if sys.platform == "win32" else "bin"
        return target / scripts / ("python.exe" if sys.platform == "win32" else "python")

    return make


@pytest.fixture
def run_pip(
    pip_env: dict[str, str], tmp_path: Path
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run this interpreter's pip (``--python <venv python>`` when given), isolated, offline.

    Returns the completed process (text output); never raises on a non-zero exit.
    A per-test cache dir keeps the machine's pip cache out of it. ``env`` adds variables
    (a test's own ``PIP_CONFIG_FILE`` or ``PIP_CONSTRAINT``).
    """
    base = {**pip_env, "PIP_CACHE_DIR": str(tmp_path / "pip-cache")}

    def run(
        *args: str, python: Path | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        target = ["--python", str(python)] if python is not None else []
        return subprocess.run(
            [sys.executable, "-m", "pip", *target, *args],
            env={**base, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )

    return run
