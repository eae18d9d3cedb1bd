"""Real image builds with buildah, on a Debian base image the tests make with mmdebstrap
(no public container registry is reachable here): ``advisor image build`` on a context whose
wheels come from a fixture index, then the image's own Python imports the locked packages; a
build that fails records why; the image pushed to a real registry the tests start on
127.0.0.1 (Debian's ``docker-registry``), pulled back by digest, run and inspected; and
``examples/pipeline/build-images.sh`` runs end to end on the ``minimal`` recipe, push
included. All slow; the fixtures skip without buildah, mmdebstrap or docker-registry (and
fail when ``CI=true``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from advisor.api import BuildOptions, ImageOptions
from advisor.api.building import build_image
from advisor.api.context import ResolveOptions
from advisor.api.imaging import generate
from advisor.image.base_facts import parse_base_facts
from advisor.knowledge.bundled import bundled_knowledge_dir
from advisor.knowledge.schema import BuildObservation
from advisor.knowledge.store import open_store
from tests.container_conftest import skip_or_fail
from tests.support.containers import buildah, run_in_image
from tests.support.index import Project, release

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.support.containers import LocalBaseImage
    from tests.support.index import FixtureIndex
    from tests.support.registry import LocalRegistry

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def index(fixture_index_factory: Callable[..., FixtureIndex]) -> FixtureIndex:
    return fixture_index_factory(
        [
            Project(
                name="tiny", files=release("1.0") + release("1.1", requires_dist=["helper>=2"])
            ),
            Project(name="helper", files=release("2.0")),
        ]
    )


def _knowledge(folder: Path, base: LocalBaseImage, *, python: str | None = None) -> Path:
    """The bundled ``minimal`` recipe, on the local base (its glibc), declaring ``python``
    (default: the base's own)."""
    bundled = bundled_knowledge_dir()
    assert bundled is not None
    text = (bundled / "images" / "minimal.toml").read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        if line.startswith("base_image = "):
            line = f'base_image = "{base.reference}"'
        elif line.startswith("python = "):
            line = f'python = "{python or base.python}"'
        elif line.startswith("platform = "):
            glibc = base.platform_glibc.replace(".", "_")
            line = f'platform = "manylinux_{glibc}_x86_64"'
        lines.append(line)
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "minimal.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def knowledge_dir(tmp_path: Path, local_base_image: LocalBaseImage) -> Path:
    """The bundled ``minimal`` recipe, on the local base (its Python, its glibc)."""
    return _knowledge(tmp_path / "knowledge", local_base_image)


def _requirements(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "in" / "requirements.in"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    return path


def _generate(
    index: FixtureIndex, knowledge_dir: Path, tmp_path: Path, environ: dict[str, str]
) -> Path:
    out = tmp_path / "ctx"
    generate(
        "minimal",
        [_requirements(tmp_path, "tiny")],
        opts=ResolveOptions(index_url=index.file_url),
        image=ImageOptions(output=out, knowledge_dir=knowledge_dir),
        environ=environ,
        cwd=tmp_path,
    )
    return out


@pytest.fixture
def environ(pip_env: dict[str, str], tmp_path: Path, buildah_env: dict[str, str]) -> dict[str, str]:
    return {
        **buildah_env,
        **pip_env,
        "ADVISOR_CACHE_DIR": str(tmp_path / "cache"),
        "ADVISOR_KNOWLEDGE": f"sqlite:///{tmp_path / 'knowledge.db'}",
    }


def _advisor() -> str:
    advisor = shutil.which("advisor", path=str(Path(sys.executable).parent))
    assert advisor is not None, "the advisor command beside this interpreter"
    return advisor


def test_build_minimal_then_import_the_locked_packages(
    index: FixtureIndex,
    knowledge_dir: Path,
    tmp_path: Path,
    environ: dict[str, str],
    local_base_image: LocalBaseImage,
) -> None:
    context = _generate(index, knowledge_dir, tmp_path, environ)
    lines: list[str] = []
    opts = BuildOptions(
        tool="buildah",
        tag="localhost/advisor-test-minimal:1",
        on_line=lambda line, _step: lines.append(line),
    )
    outcome = build_image(context, opts=opts, environ=environ)
    assert outcome.ok, outcome.run.output
    assert outcome.run.progress is not None and outcome.run.progress.stage == 3
    assert any("Successfully installed helper-2.0 tiny-1.1" in line for line in lines)
    script = (
        "import importlib.metadata as m, helper, tiny, sys; "
        "print(sys.prefix, m.version('tiny'), m.version('helper'), tiny.__version__)"
    )
    done = run_in_image(outcome.tag, ["python3", "-c", script], env=environ)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["/opt/venv", "1.1", "2.0", "1.1"]
    whoami = run_in_image(outcome.tag, ["id", "-u"], env=environ)
    assert whoami.stdout.strip() == "10001"
    with open_store(environ["ADVISOR_KNOWLEDGE"]) as store:
        builds = [o for o in store.iter_kind("build") if isinstance(o, BuildObservation)]
    assert sorted((o.package, o.outcome) for o in builds if o.package) == [
        ("helper", "ok"),
        ("tiny", "ok"),
    ]
    (stack,) = [o for o in builds if o.package is None]
    assert (stack.image, stack.outcome, stack.environment.python) == (
        "minimal",
        "ok",
        f"=={local_base_image.python}.*",
    )
    # asked from the image during the build; recorded by this machine
    assert outcome.warnings == ()
    assert stack.interpreter is not None
    assert stack.interpreter.startswith(f"cpython {local_base_image.python}.")
    assert {o.interpreter for o in builds} == {stack.interpreter}
    assert stack.provenance.recorder and {o.provenance.recorder for o in builds} == {
        stack.provenance.recorder
    }


def test_a_cached_install_step_still_records_the_bases_facts(
    index: FixtureIndex,
    knowledge_dir: Path,
    tmp_path: Path,
    environ: dict[str, str],
    local_base_image: LocalBaseImage,
) -> None:
    # with a layer cache (podman's and docker's default; buildah's with BUILDAH_LAYERS) the
    # second build takes the install step from the cache, so its log lacks the facts the
    # step prints: they are asked from the built image instead
    context = _generate(index, knowledge_dir, tmp_path, environ)
    layered = {**environ, "BUILDAH_LAYERS": "true"}
    first = build_image(context, opts=BuildOptions(tool="buildah"), environ=layered)
    assert first.ok and first.warnings == (), first.run.output
    second = build_image(context, opts=BuildOptions(tool="buildah"), environ=layered)
    assert second.ok, second.run.output
    assert "Using cache" in second.run.output
    assert parse_base_facts(second.run.output) is None  # the cached step printed nothing
    assert second.warnings == ()
    stacks = [o for o in second.observations if o.package is None]
    assert [o.interpreter for o in stacks] == [first.observations[0].interpreter]
    assert stacks[0].interpreter is not None
    assert stacks[0].interpreter.startswith(f"cpython {local_base_image.python}.")
    assert stacks[0].environment == first.observations[0].environment


def test_a_corrupt_wheel_fails_the_build_as_a_fault_of_that_file_not_of_its_release(
    index: FixtureIndex, knowledge_dir: Path, tmp_path: Path, environ: dict[str, str]
) -> None:
    context = _generate(index, knowledge_dir, tmp_path, environ)
    wheel = context / "wheels" / "helper-2.0-py3-none-any.whl"
    locked = hashlib.sha256(wheel.read_bytes()).hexdigest()
    wheel.write_bytes(wheel.read_bytes() + b"tampered")
    outcome = build_image(context, opts=BuildOptions(tool="buildah"), environ=environ)
    assert not outcome.ok and outcome.failure_class == "hash-mismatch"
    assert "failed" not in {o.outcome for o in outcome.observations}
    stack, fault = outcome.observations
    assert (stack.package, stack.outcome) == (None, "artefact-fault")
    assert (fault.package, fault.version, fault.outcome) == ("helper", "2.0", "artefact-fault")
    assert fault.artefact is not None
    assert (fault.artefact.filename, fault.artefact.sha256) == (
        "helper-2.0-py3-none-any.whl",
        hashlib.sha256(wheel.read_bytes()).hexdigest(),
    )
    assert locked in fault.artefact.expected  # with the release's other files' digests
    assert fault.provenance.recorder
    assert str(context) not in outcome.observations[0].log_excerpt


def test_a_recipe_that_declares_another_python_gets_a_warning_and_the_truth_recorded(
    index: FixtureIndex, tmp_path: Path, environ: dict[str, str], local_base_image: LocalBaseImage
) -> None:
    # issue 16: a build whose base ran Python 3.11 was recorded as the recipe's 3.12
    major, minor = local_base_image.python.split(".")
    declared = f"{major}.{int(minor) + 1}"
    knowledge = _knowledge(tmp_path / "knowledge", local_base_image, python=declared)
    context = _generate(index, knowledge, tmp_path, environ)
    env = {**environ, "ADVISOR_RECORDER": "ci-runner-3"}
    result = subprocess.run(
        [_advisor(), "image", "build", str(context), "--tool", "buildah", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    expected = f"but the recipe 'minimal' declares {declared}"
    assert [w for w in summary["warnings"] if expected in w], summary["warnings"]
    assert "warning:" in result.stderr and expected in result.stderr
    with open_store(environ["ADVISOR_KNOWLEDGE"]) as store:
        builds = [o for o in store.iter_kind("build") if isinstance(o, BuildObservation)]
    assert len(builds) == 3  # the stack, tiny and helper
    assert {o.environment.python for o in builds} == {f"=={local_base_image.python}.*"}
    assert {o.provenance.recorder for o in builds} == {"ci-runner-3"}


def test_a_missing_base_image_is_recorded_for_the_stack(
    index: FixtureIndex, knowledge_dir: Path, tmp_path: Path, environ: dict[str, str]
) -> None:
    context = _generate(index, knowledge_dir, tmp_path, environ)
    result = subprocess.run(
        [
            _advisor(),
            "image",
            "build",
            str(context),
            "--tool",
            "buildah",
            "--build-arg",
            "BASE_IMAGE=localhost/advisor-no-such-base:1",
            "--json",
        ],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["outcome"], summary["failure-class"]) == ("failed", "base-image")
    assert "Traceback" not in result.stderr
    with open_store(environ["ADVISOR_KNOWLEDGE"]) as store:
        builds = [o for o in store.iter_kind("build") if isinstance(o, BuildObservation)]
    assert [(o.package, o.failure_class) for o in builds] == [(None, "base-image")]


@pytest.mark.parametrize("push", ["pushed", "refused"])
def test_the_pipeline_script_builds_publishes_and_pushes_minimal(
    push: str,
    index: FixtureIndex,
    knowledge_dir: Path,
    tmp_path: Path,
    environ: dict[str, str],
    local_registry: LocalRegistry,
) -> None:
    """The pipeline end to end, push included; a push the registry refuses (TLS is
    verified by default, and this registry speaks plain HTTP) is reported for its recipe,
    and the summary is printed all the same."""
    advisor = _advisor()
    osv = tmp_path / "osv"
    osv.mkdir()
    (osv / "GHSA-test-0001.json").write_text(
        json.dumps(
            {
                "id": "GHSA-test-0001",
                # fresh data: `advisor check` judges the data's age by `modified`
                "modified": (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "summary": "an advisory about another package",
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": "unrelated"},
                        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    env = {
        **environ,
        "ADVISOR": advisor,
        "RECIPES": "minimal",
        "KNOWLEDGE_DIR": str(knowledge_dir),
        "REQUIREMENTS": str(_requirements(tmp_path, "tiny")),
        "RECOMMENDATION": "latest",
        "GENERATE_ARGS": f"-i {index.file_url}",
        "CHECK_ARGS": f"--osv {osv}",
        "BUILD_TOOL": "buildah",
        "PUSH_TO": f"{local_registry.host}/pipeline-{push}",
        "PUSH_ARGS": "--no-tls-verify" if push == "pushed" else "",
    }
    done = subprocess.run(
        ["bash", str(REPO / "examples" / "pipeline" / "build-images.sh"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    publish = out / "publish" / "minimal"
    summary = done.stdout.split("== summary\n")[-1]
    if push == "refused":
        assert done.returncode == 1, done.stdout + done.stderr
        assert summary.startswith("minimal: built localhost/advisor-minimal:")
        assert f"push to {local_registry.host}/pipeline-refused/minimal failed" in summary
        assert "--no-tls-verify" in done.stderr  # the push's hint
        assert not (publish / "pushed").exists()
        return
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary.startswith("minimal: built localhost/advisor-minimal:")
    pushed = (publish / "pushed").read_text(encoding="utf-8").strip()
    assert pushed.startswith(f"{local_registry.host}/pipeline-pushed/minimal@sha256:")
    assert f"pushed {pushed}" in summary
    record = json.loads((publish / "image.json").read_text(encoding="utf-8"))
    assert record["pins"] == {"helper": "2.0", "tiny": "1.1"}
    assert (publish / "image.oci.tar").stat().st_size > 1_000_000
    tag = (publish / "tag").read_text(encoding="utf-8").strip()
    assert tag.endswith(record["lock-digest"].removeprefix("sha256:")[:12])
    build = json.loads((out / "minimal" / "build.json").read_text(encoding="utf-8"))
    assert (build["tool"], build["outcome"], build["tag"]) == ("buildah", "ok", tag)
    assert [p["digest"] for p in record["pushed"]] == [pushed.partition("@")[2]]


def test_a_store_that_cannot_be_written_does_not_hide_the_outcome(
    index: FixtureIndex, knowledge_dir: Path, tmp_path: Path, environ: dict[str, str]
) -> None:
    context = _generate(index, knowledge_dir, tmp_path, environ)
    # a build that fails at once: no shell in an empty image
    (context / "Containerfile").write_text("FROM scratch\nRUN true\n", encoding="utf-8")
    unwritable = tmp_path / "not-a-folder"
    unwritable.write_text("", encoding="utf-8")
    env = {**environ, "ADVISOR_KNOWLEDGE": f"sqlite:///{unwritable / 'k.db'}"}
    result = subprocess.run(
        [_advisor(), "image", "build", str(context), "--tool", "buildah", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert summary["outcome"] == "failed" and summary["record-error"]
    assert "not recorded" in result.stderr and "Traceback" not in result.stderr


# -- push to a real registry, pull back by digest, run; inspect --------------------------


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_advisor(), *args], env=env, capture_output=True, text=True, check=False, timeout=900
    )


def _built(
    index: FixtureIndex, knowledge_dir: Path, tmp_path: Path, environ: dict[str, str]
) -> Path:
    context = _generate(index, knowledge_dir, tmp_path, environ)
    outcome = build_image(context, opts=BuildOptions(tool="buildah"), environ=environ)
    assert outcome.ok, outcome.run.output
    return context


def test_push_pull_by_digest_run_and_inspect(
    index: FixtureIndex,
    knowledge_dir: Path,
    tmp_path: Path,
    environ: dict[str, str],
    local_registry: LocalRegistry,
) -> None:
    context = _built(index, knowledge_dir, tmp_path, environ)
    record = json.loads((context / "image.json").read_text(encoding="utf-8"))
    local_tag = record["build"]["tag"]
    destination = f"{local_registry.host}/advisor/minimal"

    # TLS verification is on by default: this registry speaks plain HTTP
    refused = _cli("image", "push", str(context), destination, "--json", env=environ)
    assert refused.returncode == 1, refused.stderr
    assert json.loads(refused.stdout)["failure-class"] == "tls"
    assert "--no-tls-verify" in refused.stderr and "Traceback" not in refused.stderr
    assert "pushed" not in json.loads((context / "image.json").read_text(encoding="utf-8"))

    done = _cli(
        "image", "push", str(context), destination, "--no-tls-verify", "--json", env=environ
    )
    assert done.returncode == 0, done.stderr
    push = json.loads(done.stdout)
    digest = push["digest"]
    assert digest.startswith("sha256:") and push["tool"] == "buildah"
    tag = local_tag.rpartition(":")[2]
    assert push["destination"] == f"{destination}:{tag}"
    reference = f"{destination}@{digest}"
    assert push["reference"] == reference
    record = json.loads((context / "image.json").read_text(encoding="utf-8"))
    assert [(p["reference"], p["digest"]) for p in record["pushed"]] == [
        (f"{destination}:{tag}", digest)
    ]
    with open_store(environ["ADVISOR_KNOWLEDGE"]) as store:
        stacks = [
            o
            for o in store.iter_kind("build")
            if isinstance(o, BuildObservation) and o.package is None
        ]
    pushed = [o for o in stacks if o.pushed]
    assert [(o.image, o.outcome, o.pushed) for o in pushed] == [("minimal", "ok", (reference,))]
    assert pushed[0].stack_digest == next(o for o in stacks if not o.pushed).stack_digest

    # the local copy goes: what runs next comes from the registry, by digest
    buildah("rmi", "--force", local_tag, env=environ)
    buildah("pull", "--quiet", "--tls-verify=false", reference, env=environ)
    script = (
        "import os, importlib.metadata as m, tiny; "
        "print(m.version('tiny'), m.version('helper'), os.environ['PIP_CONSTRAINT']); "
        "print(open(os.environ['PIP_CONSTRAINT']).read())"
    )
    ran = run_in_image(reference, ["python3", "-c", script], env=environ)
    assert ran.returncode == 0, ran.stderr
    first, *constraints = ran.stdout.splitlines()
    assert first.split() == ["1.1", "2.0", "/etc/pip/constraint.txt"]
    assert [c for c in constraints if c and not c.startswith("#")] == ["helper==2.0", "tiny==1.1"]

    shown = _cli("image", "inspect", reference, "--no-tls-verify", "--json", env=environ)
    assert shown.returncode == 0, shown.stderr
    inspected = json.loads(shown.stdout)
    assert (inspected["recipe"], inspected["digest"]) == ("minimal", digest)
    assert inspected["lock-digest"] == record["lock-digest"] and inspected["lock-verified"]
    assert inspected["pins"] == {"helper": "2.0", "tiny": "1.1"}
    assert inspected["sbom"]["components"] == 2 and inspected["problems"] == []
    assert inspected["files"]["sbom"] == "/usr/share/stack-advisor/sbom.cdx.json"
    sbom = _cli("image", "inspect", reference, "--sbom", env=environ)
    assert sbom.returncode == 0, sbom.stderr
    components = json.loads(sbom.stdout)["components"]
    assert sorted(c["purl"] for c in components) == ["pkg:pypi/helper@2.0", "pkg:pypi/tiny@1.1"]


def test_registries_conf_insecure_and_an_oci_archive_with_skopeo(
    index: FixtureIndex,
    knowledge_dir: Path,
    tmp_path: Path,
    environ: dict[str, str],
    local_registry: LocalRegistry,
) -> None:
    if shutil.which("skopeo") is None:
        skip_or_fail("skopeo is not installed (apt-get install skopeo)")
    context = _built(index, knowledge_dir, tmp_path, environ)
    # a registry marked insecure in the tool's registries.conf needs no flag
    conf = tmp_path / "registries.conf"
    conf.write_text(
        "unqualified-search-registries = []\n"
        f'[[registry]]\nlocation = "{local_registry.host}"\ninsecure = true\n',
        encoding="utf-8",
    )
    insecure = {**environ, "CONTAINERS_REGISTRIES_CONF": str(conf)}
    destination = f"{local_registry.host}/advisor/minimal-conf:v1"
    done = _cli("image", "push", str(context), destination, "--json", env=insecure)
    assert done.returncode == 0, done.stderr
    # ... and an explicit --tls-verify wins over it
    strict = _cli("image", "push", str(context), destination, "--tls-verify", env=insecure)
    assert strict.returncode == 1 and "tls" in strict.stderr

    tag = json.loads((context / "image.json").read_text(encoding="utf-8"))["build"]["tag"]
    archive = tmp_path / "image.oci.tar"
    buildah("push", "--quiet", tag, f"oci-archive:{archive}", env=environ)
    target = f"{local_registry.host}/advisor/minimal-archive:v1"
    args = ["image", "push", str(context), target, "--archive", str(archive)]
    copied = _cli(*args, "--no-tls-verify", "--json", env=environ)
    assert copied.returncode == 0, copied.stderr
    push = json.loads(copied.stdout)
    assert push["tool"] == "skopeo" and push["digest"].startswith("sha256:")
    pulled = buildah(
        "pull", "--quiet", "--tls-verify=false", push["reference"], env=environ
    ).splitlines()[-1]
    assert pulled  # the image id, pulled by digest
    record = json.loads((context / "image.json").read_text(encoding="utf-8"))
    assert sorted(p["reference"] for p in record["pushed"]) == sorted([destination, target])


def test_build_with_push_builds_pushes_and_records_in_one_command(
    index: FixtureIndex,
    knowledge_dir: Path,
    tmp_path: Path,
    environ: dict[str, str],
    local_registry: LocalRegistry,
) -> None:
    """``advisor image build --push``: the build, then the push of a build that passed, as
    ``advisor image push`` does it; a push that fails (TLS verification is on by default, and
    this registry speaks plain HTTP) fails the command, the build's outcome stands."""
    context = _generate(index, knowledge_dir, tmp_path, environ)
    destination = f"{local_registry.host}/advisor/minimal-built"
    build = ("image", "build", str(context), "--tool", "buildah", "--push", destination)

    refused = _cli(*build, "--json", env=environ)
    assert refused.returncode == 1, refused.stderr
    payload = json.loads(refused.stdout)
    assert payload["outcome"] == "ok" and payload["observations"] > 0
    assert (payload["push"]["outcome"], payload["push"]["failure-class"]) == ("failed", "tls")
    assert "Traceback" not in refused.stderr
    assert "pushed" not in json.loads((context / "image.json").read_text(encoding="utf-8"))

    done = _cli(*build, "--no-tls-verify", "--json", env=environ)
    assert done.returncode == 0, done.stderr
    push = json.loads(done.stdout)["push"]
    assert push["outcome"] == "ok" and push["recorded"] and push["tool"] == "buildah"
    record = json.loads((context / "image.json").read_text(encoding="utf-8"))
    tag = record["build"]["tag"].rpartition(":")[2]
    assert push["destination"] == f"{destination}:{tag}"
    assert push["reference"] == f"{destination}@{push['digest']}"
    assert [(p["reference"], p["digest"]) for p in record["pushed"]] == [
        (push["destination"], push["digest"])
    ]
    with open_store(environ["ADVISOR_KNOWLEDGE"]) as store:
        pushed = [
            o.pushed
            for o in store.iter_kind("build")
            if isinstance(o, BuildObservation) and o.package is None and o.pushed
        ]
    assert pushed == [(push["reference"],)]

    text = _cli(*build, "--no-tls-verify", env=environ)  # the text report names both steps
    assert text.returncode == 0, text.stderr
    said = " ".join(text.stderr.split())
    assert "built " in said and f"pushed {destination}:{tag} with buildah" in said
