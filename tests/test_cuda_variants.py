"""CUDA variants: of a release's ``+cuXYZ`` builds, a target with a CUDA version asked for
(``--cuda``, a named environment, an image recipe) gets the one built for its CUDA, or else
the newest older one; without one, pip's order stands. Image recipes name a framework's wheel
index through an environment variable (``${PYTORCH_INDEX_URL}/cu124``), left out with a
warning when it is not set.
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from advisor.api import ImageOptions
from advisor.api.context import ResolveOptions
from advisor.api.imaging import generate
from advisor.api.locking import LockOptions, lock
from advisor.cli import cli
from advisor.errors import InputError, NoViableStack
from advisor.knowledge.validate import validate_knowledge
from advisor.options.record import recorded_request
from advisor.resolution.candidates import cuda_build, parse_cuda
from tests.support.index import Project, release

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.support.index import FixtureIndex

VARIANTS = ("2.5.1+cu118", "2.5.1+cu121", "2.5.1+cu124", "2.5.1+cu126", "2.5.1+cpu", "2.5.1")


@pytest.fixture
def index(fixture_index_factory: Callable[..., FixtureIndex]) -> FixtureIndex:
    files = tuple(f for v in VARIANTS for f in release(v, sdist=False))
    return fixture_index_factory([Project(name="torchlike", files=files + release("2.4.0"))])


@pytest.fixture
def environ(pip_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**pip_env, "ADVISOR_CACHE_DIR": str(tmp_path / "cache")}


def _lock(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path, req: str, **opts: object
) -> str:
    path = tmp_path / "requirements.in"
    path.write_text(f"{req}\n", encoding="utf-8")
    outcome = lock(
        [path],
        opts=ResolveOptions(index_url=index.file_url, **opts),  # type: ignore[arg-type]
        out=LockOptions(output=tmp_path / "pylock.toml"),
        environ=environ,
        cwd=tmp_path,
    )
    (pin,) = outcome.resolution.pins
    return str(pin.version)


@pytest.mark.parametrize(
    ("cuda", "expected"),
    [
        ("12.4", "2.5.1+cu124"),
        ("12.4.1", "2.5.1+cu124"),
        ("12.2", "2.5.1+cu121"),
        ("12.8", "2.5.1+cu126"),
        ("11.8", "2.5.1+cu118"),
        ("11.2", "2.5.1+cpu"),  # no build old enough: the CPU build of the same release
        (None, "2.5.1+cu126"),  # no CUDA asked for: pip's choice, the highest local label
    ],
)
def test_the_build_for_the_targets_cuda_is_chosen(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path, cuda: str | None, expected: str
) -> None:
    assert _lock(index, environ, tmp_path, "torchlike", cuda=cuda) == expected


def test_the_lock_records_the_cuda_and_relocks_with_it(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    _lock(index, environ, tmp_path, "torchlike", cuda="12.2")
    raw = tomllib.loads((tmp_path / "pylock.toml").read_text(encoding="utf-8"))
    assert raw["tool"]["advisor"]["targets"][0]["cuda_version"] == "12.2"
    _, opts = recorded_request(tmp_path / "pylock.toml")
    assert opts.cuda == "12.2"


def test_a_pin_for_a_newer_cuda_is_explained(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(NoViableStack) as caught:
        _lock(index, environ, tmp_path, "torchlike==2.5.1+cu126", cuda="12.4")
    assert "a build for CUDA 12.6; the target has CUDA 12.4" in str(caught.value)


def test_cli_cuda_option(index: FixtureIndex, environ: dict[str, str], tmp_path: Path) -> None:
    req = tmp_path / "requirements.in"
    req.write_text("torchlike\n", encoding="utf-8")
    out = tmp_path / "lock.toml"
    args = ["lock", str(req), "-i", index.file_url, "--cuda", "11.8", "-o", str(out)]
    result = CliRunner().invoke(cli, args, env=environ)
    assert result.exit_code == 0, result.output
    assert 'version = "2.5.1+cu118"' in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("label", "expected"),
    [("2.5.1+cu124", (12, 4)), ("1.0+cu92", (9, 2)), ("2.5.1+cpu", None), ("2.5.1", None)],
)
def test_cuda_build(label: str, expected: tuple[int, int] | None) -> None:
    from packaging.version import Version

    assert cuda_build(Version(label)) == expected


def test_parse_cuda() -> None:
    assert [parse_cuda(t) for t in ("12.4", "12.4.1", "12", None, "")] == [
        (12, 4),
        (12, 4),
        (12, 0),
        None,
        None,
    ]


# -- image recipes ---------------------------------------------------------------------------

_RECIPE = """\
name = "gpu"
base_image = "localhost/cuda-base:12.4"
python = "3.12"
platform = "manylinux_2_35_x86_64"
cuda = "12.4"
extra_index_urls = ["${FRAMEWORK_INDEX}/cu124"]
index_packages = ["torchlike"]
requirements = ["torchlike"]
"""


def _knowledge(tmp_path: Path, recipe: str = _RECIPE) -> Path:
    folder = tmp_path / "knowledge"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "gpu.toml").write_text(recipe, encoding="utf-8")
    return folder


def test_a_cuda_recipe_takes_the_matching_build_from_its_framework_index(
    fixture_index_factory: Callable[..., FixtureIndex], environ: dict[str, str], tmp_path: Path
) -> None:
    default = fixture_index_factory([Project(name="torchlike", files=release("2.5.1"))])
    framework = fixture_index_factory(
        [
            Project(
                name="torchlike",
                files=tuple(
                    f for v in ("2.5.1+cu121", "2.5.1+cu124", "2.5.1+cu126")
                    for f in release(v, sdist=False)
                ),
            )
        ],
        name="framework",
    )  # fmt: skip
    root = framework.file_url.rstrip("/").removesuffix("/simple")
    (framework.root / "cu124").symlink_to(framework.simple_dir)
    knowledge = _knowledge(tmp_path)
    outcome = generate(
        "gpu",
        opts=ResolveOptions(index_url=default.file_url),
        image=ImageOptions(output=tmp_path / "ctx", knowledge_dir=knowledge),
        environ={**environ, "FRAMEWORK_INDEX": root},
        cwd=tmp_path,
    )
    assert [str(p.version) for p in outcome.resolution.pins] == ["2.5.1+cu124"]
    assert outcome.wheels == ("torchlike-2.5.1+cu124-py3-none-any.whl",)
    assert validate_knowledge(knowledge) == []
    unset = generate(
        "gpu",
        opts=ResolveOptions(index_url=default.file_url),
        image=ImageOptions(output=tmp_path / "ctx2", knowledge_dir=knowledge),
        environ=environ,
        cwd=tmp_path,
    )
    assert [str(p.version) for p in unset.resolution.pins] == ["2.5.1"]
    assert any("FRAMEWORK_INDEX is not set" in w for w in unset.warnings)
    with pytest.raises(InputError, match="not an http"):
        generate(
            "gpu",
            opts=ResolveOptions(index_url=default.file_url),
            image=ImageOptions(output=tmp_path / "ctx3", knowledge_dir=knowledge),
            environ={**environ, "FRAMEWORK_INDEX": "no-scheme"},
            cwd=tmp_path,
        )


def test_a_recipe_index_variable_must_be_well_formed(tmp_path: Path) -> None:
    folder = _knowledge(tmp_path, _RECIPE.replace("${FRAMEWORK_INDEX}/cu124", "${1BAD}/x"))
    problems = validate_knowledge(folder)
    assert [p.field for p in problems] == ["extra_index_urls[0]"]
