"""Every curated recipe generated from its default requirements, golden-tested and checked
with hadolint: against stand-in indexes (tiny wheels with the real names and dependency
shapes, and a framework index laid out as PyTorch's, with /cpu and /cu124); and all of them
generated as one family (``generate --all``), whose shared packages agree.

``ADVISOR_UPDATE_GOLDEN=1`` rewrites ``tests/golden/image/recipes/``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from advisor.api import ImageOptions, generate_images
from advisor.api.imaging import generate
from advisor.cli import cli
from advisor.errors import InputError
from advisor.knowledge.bundled import bundled_knowledge_dir
from tests.support.index import Project, release
from tests.test_image import (  # noqa: F401 - cli_env is a fixture
    GOLDEN_FILES,
    RECIPES,
    _golden,
    _hadolint,
    _normalise,
    _opts,
    cli_env,
)

if TYPE_CHECKING:
    from collections.abc import Callable

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
            # the newest numpy needs Python 3.11 (the CUDA base has 3.10), and pandas caps
            # numpy below it: the family aligns numpy on the capped version where it can
            Project(
                name="numpy",
                files=_wheels("1.26.4")
                + _wheels("2.1.3")
                + _wheels("2.3.1", requires_python=">=3.11"),
            ),
            Project(name="pandas", files=_wheels("2.2.3", requires_dist=["numpy>=1.26,<2.3"])),
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


def test_a_job_reads_the_recipes_of_its_folder_and_compare_env_those_of_the_first_with_some(
    tmp_path: Path,
) -> None:
    """``image generate --knowledge-dir`` reads that folder's recipes, or fails without them;
    ``advise --compare-env image:NAME`` takes the first of its knowledge folders with an
    ``images/`` folder (a project's may hold only prescriptions), else the curated one."""
    from advisor.image.recipes import first_recipes, read_recipes

    today = "2026-12-07"
    project = tmp_path / "project"
    (project / "prescriptions").mkdir(parents=True)
    own = _family_knowledge(tmp_path, {"own-image": ("3.12", ["numpy"])})
    assert [r.name for r in read_recipes(own, date=today)] == ["own-image"]
    with pytest.raises(InputError, match="no image recipes"):
        read_recipes(project, date=today)
    curated = read_recipes(None, date=today)
    assert [r.name for r in curated] == sorted(RECIPES)
    assert [r.name for r in first_recipes([project, own], date=today)] == ["own-image"]
    assert first_recipes([project], date=today) == curated
    assert first_recipes([], date=today) == curated


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
        image=ImageOptions(output=out),
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


def test_the_recipes_generate_as_one_family_that_agrees(
    recipe_indexes: tuple[FixtureIndex, Path], environ: dict[str, str], tmp_path: Path
) -> None:
    """Fails on an unexplained divergence: a package two images carry at different versions
    although the family's version would resolve in both."""
    default, framework = recipe_indexes
    out = tmp_path / "family"
    family = generate_images(
        opts=_opts(default),
        image=ImageOptions(output=out),
        environ={**environ, "PYTORCH_INDEX_URL": framework.as_uri()},
        cwd=tmp_path,
    )
    assert family.failures == {}
    assert [d.package for d in family.unexplained] == [], [d.reasons for d in family.unexplained]
    pins = {
        i.recipe.name: {str(p.name): str(p.version) for p in i.resolution.pins}
        for i in family.images
    }
    assert sorted(pins) == sorted(RECIPES)
    # numpy: datascience's pandas caps it at 2.1.3, and the others follow where they can
    assert {n: p["numpy"] for n, p in pins.items() if "numpy" in p} == {
        "datascience": "2.1.3",
        "pytorch-cpu": "2.1.3",
        "pytorch-cuda": "2.1.3",
    }
    (torch,) = family.divergences  # the one divergence left: each torch from its own index
    assert (torch.package, torch.version, torch.first) == ("torch", "2.5.1+cpu", "pytorch-cpu")
    assert torch.versions == {"pytorch-cuda": "2.5.1+cu124"}
    assert "takes torch from its own index" in torch.reasons["pytorch-cuda"]
    summary = json.loads((out / "family.json").read_text(encoding="utf-8"))
    assert summary["packages"]["numpy"] == {
        "datascience": "2.1.3",
        "pytorch-cpu": "2.1.3",
        "pytorch-cuda": "2.1.3",
    }
    assert [d["package"] for d in summary["divergences"]] == ["torch"]
    for name in RECIPES:  # the same contexts as one recipe at a time writes
        assert (out / name / "Containerfile").is_file()


def _family_knowledge(tmp_path: Path, recipes: dict[str, tuple[str, list[str]]]) -> Path:
    """A knowledge folder whose recipes are ``minimal`` with another name, Python and
    requirements."""
    minimal = (bundled_knowledge_dir() or Path()) / "images" / "minimal.toml"
    text = minimal.read_text(encoding="utf-8")
    images = tmp_path / "knowledge" / "images"
    images.mkdir(parents=True)
    for name, (python, requirements) in recipes.items():
        body = (
            text.replace('name = "minimal"', f'name = "{name}"')
            .replace('python = "3.12"', f'python = "{python}"')
            .replace("requirements = []", f"requirements = {json.dumps(requirements)}")
        )
        (images / f"{name}.toml").write_text(body, encoding="utf-8")
    return tmp_path / "knowledge"


def test_every_divergence_has_its_reason_and_alignment_is_what_removes_them(
    recipe_indexes: tuple[FixtureIndex, Path], environ: dict[str, str], tmp_path: Path
) -> None:
    default, _ = recipe_indexes
    knowledge = _family_knowledge(
        tmp_path,
        {
            "a-capped": ("3.12", ["numpy<2"]),
            "b-any": ("3.12", ["numpy"]),
            "c-old-python": ("3.10", ["numpy>=2"]),
        },
    )
    opts = _opts(default)
    aligned = ImageOptions(output=tmp_path / "aligned", knowledge_dir=knowledge)
    family = generate_images(opts=opts, image=aligned, environ=environ, cwd=tmp_path)
    pins = {i.recipe.name: str(i.resolution.pins[0].version) for i in family.images}
    assert pins == {"a-capped": "1.26.4", "b-any": "1.26.4", "c-old-python": "2.1.3"}
    (numpy,) = family.divergences
    assert numpy.explained and numpy.versions == {"c-old-python": "2.1.3"}
    reason = numpy.reasons["c-old-python"]
    assert reason.startswith("numpy==1.26.4 (set by a-capped) does not resolve for c-old-python")
    assert family.ok

    # each on its own, b-any takes the newest numpy although a-capped's would do: unexplained
    apart = ImageOptions(output=tmp_path / "alone", knowledge_dir=knowledge, align=False)
    alone = generate_images(opts=opts, image=apart, environ=environ, cwd=tmp_path)
    (numpy,) = alone.divergences
    assert numpy.versions == {"b-any": "2.3.1", "c-old-python": "2.1.3"}
    assert numpy.unexplained == ("b-any",) and not alone.ok
    assert "also resolves for b-any" in numpy.reasons["b-any"]


@pytest.mark.usefixtures("cli_env")
def test_cli_generate_all_reports_and_fails_on_an_unexplained_divergence(
    recipe_indexes: tuple[FixtureIndex, Path], tmp_path: Path
) -> None:
    default, _ = recipe_indexes
    knowledge = _family_knowledge(
        tmp_path, {"a-capped": ("3.12", ["numpy<2"]), "b-any": ("3.12", ["numpy"])}
    )
    args = ["image", "generate", "--all", "--knowledge-dir", str(knowledge), "-i", default.file_url]
    result = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["packages"]["numpy"] == {
        "a-capped": "1.26.4",
        "b-any": "1.26.4",
    }
    usage = CliRunner().invoke(cli, [*args, "--recipe", "a-capped", "-o", str(tmp_path / "x")])
    assert usage.exit_code == 2 and "--all" in usage.output
