"""Every curated recipe generated from its default requirements, golden-tested and checked
with hadolint: against stand-in indexes (tiny wheels with the real names and dependency
shapes, and a framework index laid out as PyTorch's, with /cpu and /cu124).

``ADVISOR_UPDATE_GOLDEN=1`` rewrites ``tests/golden/image/recipes/``.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest

from advisor.api.imaging import generate
from tests.support.index import Project, release
from tests.test_image import (
    GOLDEN_FILES,
    RECIPES,
    _golden,
    _hadolint,
    _normalise,
    _opts,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.support.index import FileSpec, FixtureIndex


@pytest.fixture
def environ(pip_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**pip_env, "ADVISOR_CACHE_DIR": str(tmp_path / "cache")}


def _wheels(version: str, **kw: object) -> tuple[FileSpec, ...]:
    return release(version, sdist=False, **kw)


@pytest.fixture
def recipe_indexes(
    fixture_index_factory: Callable[..., FixtureIndex],
) -> tuple[FixtureIndex, Path]:
    """Stand-ins for every recipe's default requirements (tiny wheels with the real names and
    dependency shapes), and a framework index laid out as PyTorch's: /cpu with the CPU
    build, /cu124 with several CUDA builds (the CUDA rule picks among them)."""
    default = fixture_index_factory(
        [
            Project(name="numpy", files=_wheels("1.26.4") + _wheels("2.1.3")),
            Project(name="pandas", files=_wheels("2.2.3", requires_dist=["numpy>=1.26"])),
            Project(
                name="scikit-learn",
                files=_wheels("1.5.2", requires_dist=["numpy>=1.19", "joblib>=1.2"]),
            ),
            Project(name="joblib", files=_wheels("1.4.2")),
            Project(name="matplotlib", files=_wheels("3.9.2", requires_dist=["numpy>=1.23"])),
            Project(name="jupyterlab", files=_wheels("4.2.5")),
            Project(name="torch", files=_wheels("2.5.1", requires_dist=["numpy"])),
        ],
        name="default",
    )
    folders = {"cpu": ("2.5.1+cpu",), "cu124": ("2.5.1+cu121", "2.5.1+cu124", "2.5.1+cu126")}
    root = default.root.parent / "framework"
    (root / "files").mkdir(parents=True)
    for label, variants in folders.items():
        part = fixture_index_factory(
            [Project(name="torch", files=tuple(f for v in variants for f in _wheels(v)))],
            name=f"framework-{label}",
        )
        (root / label).symlink_to(part.simple_dir)  # its pages link to ../../files/NAME
        for file in part.files_dir.iterdir():
            (root / "files" / file.name).symlink_to(file)
    return default, root


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_generates_its_golden_context(
    name: str,
    recipe_indexes: tuple[FixtureIndex, Path],
    environ: dict[str, str],
    tmp_path: Path,
) -> None:
    default, framework = recipe_indexes
    out = tmp_path / "ctx"
    outcome = generate(
        name,
        opts=_opts(default),
        output=out,
        environ={**environ, "PYTORCH_INDEX_URL": framework.as_uri()},
        cwd=tmp_path,
    )
    assert not [w for w in outcome.warnings if "left out" in w]
    pins = {str(p.name): str(p.version) for p in outcome.resolution.pins}
    expected_torch = {"pytorch-cpu": "2.5.1+cpu", "pytorch-cuda": "2.5.1+cu124"}
    if name in expected_torch:
        assert pins["torch"] == expected_torch[name]
    for file in (*GOLDEN_FILES, "requirements.in"):
        text = (out / file).read_text(encoding="utf-8")
        text = text.replace(framework.as_uri(), "<FRAMEWORK>")
        _golden(f"recipes/{name}/{file}", _normalise(text, index=default, tmp_path=tmp_path))
    assert sorted(p.name for p in (out / "wheels").iterdir()) == sorted(outcome.wheels)
    hadolint = _hadolint()
    if hadolint is not None:
        done = subprocess.run(
            [hadolint, "--no-color", "--failure-threshold", "style", str(out / "Containerfile")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
