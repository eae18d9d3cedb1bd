"""``advisor image build``: tool probing, the build log's steps and failure classes, the
observations a build records, and bad input.

The real builds (buildah on a base image made by mmdebstrap) are in
``tests/test_image_build_real.py``; here the probes run the machine's real tools (a docker
client without an engine is the case the issue names) and the log lines are ones the tools
print.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pytest
from click.testing import CliRunner

from advisor.cli import cli
from advisor.errors import InputError
from advisor.image.build import (
    BuildRun,
    Progress,
    classify_build,
    image_observations,
    parse_step,
    run_build,
)
from advisor.image.context import read_context
from advisor.image.listing import last_builds
from advisor.image.tools import BuildTool, build_argv, choose_tool, probe_tool
from advisor.knowledge.schema import (
    ArtefactFault,
    BuildObservation,
    EnvironmentPredicate,
    Provenance,
    stack_digest,
)
from advisor.knowledge.store import open_store
from advisor.knowledge.validate import check_observation

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tests.support.index import FixtureIndex

# -- tools ---------------------------------------------------------------------------------


def _empty_path(tmp_path: Path) -> dict[str, str]:
    empty = tmp_path / "no-tools"
    empty.mkdir(exist_ok=True)
    return {**os.environ, "PATH": str(empty)}


def test_a_missing_tool_is_reported_not_raised(tmp_path: Path) -> None:
    environ = _empty_path(tmp_path)
    probe = probe_tool("buildah", environ=environ)
    assert (probe.works, probe.executable, probe.reason) == (False, None, "not installed")
    with pytest.raises(InputError) as caught:
        choose_tool(None, environ=environ)
    message = str(caught.value)
    assert "no working container build tool" in message
    for name in ("buildah: not installed", "podman: not installed", "docker: not installed"):
        assert name in message
    with pytest.raises(InputError, match="the build tool podman cannot build here"):
        choose_tool("podman", environ=environ)
    with pytest.raises(InputError, match="unknown build tool 'kaniko'"):
        probe_tool("kaniko", environ=environ)


def test_a_docker_client_without_an_engine_does_not_count(tmp_path: Path) -> None:
    # the machine's real docker client, pointed at a socket no engine listens on
    environ = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path / 'no-engine.sock'}"}
    probe = probe_tool("docker", environ=environ)
    assert not probe.works
    if probe.executable is None:
        assert probe.reason == "not installed"
    else:
        assert "'docker info' failed (no engine answers)" in probe.reason
    with pytest.raises(InputError, match="the build tool docker cannot build here"):
        choose_tool("docker", environ=environ)


def test_build_argv_per_tool(tmp_path: Path) -> None:
    args = {
        "context": tmp_path,
        "containerfile": tmp_path / "Containerfile",
        "tag": "localhost/x:1",
        "build_args": [("BASE_IMAGE", "localhost/base:1")],
    }
    buildah = build_argv(BuildTool(name="buildah", executable="/bin/buildah"), **args)  # type: ignore[arg-type]
    assert buildah == [
        "/bin/buildah",
        "build",
        "--file",
        str(tmp_path / "Containerfile"),
        "--tag",
        "localhost/x:1",
        "--build-arg",
        "BASE_IMAGE=localhost/base:1",
        str(tmp_path),
    ]
    docker = build_argv(BuildTool(name="docker", executable="docker"), **args)  # type: ignore[arg-type]
    assert docker[1:4] == ["build", "--progress", "plain"]


# -- the log -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("STEP 3/9: RUN useradd --no-log-init app", Progress(3, 9)),
        ("Step 2/7 : COPY requirements.txt /tmp/", Progress(2, 7)),
        ("#7 [builder 2/4] COPY requirements.txt /tmp/requirements.txt", Progress(2, 4)),
        ("#5 [3/3] RUN true", Progress(3, 3)),
        ("Successfully installed idna-3.20", None),
    ],
)
def test_parse_step(line: str, expected: Progress | None) -> None:
    assert parse_step(line) == expected


def test_parse_step_reads_buildahs_stage_prefix() -> None:
    assert parse_step("[3/3] STEP 2/8: RUN useradd app") == Progress(2, 8, 3, 3)


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        (
            "Error: creating build container: initializing source docker://localhost/nope:1: "
            "pinging container registry localhost: connect: connection refused",
            "base-image",
        ),
        ("Error: localhost/nope:1: image not known", "base-image"),
        ("E: Unable to locate package libfoo-dev", "system-packages"),
        ("/bin/sh: 1: python3: not found", "python-missing"),
        (
            "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.\n"
            "    tiny==1.1 from file:///tmp/wheels/tiny-1.1-py3-none-any.whl:",
            "hash-mismatch",
        ),
        ("ERROR: No matching distribution found for tiny==1.1", "no-compatible-file"),
        ("error: command 'gcc' failed: No such file or directory", "compiler-missing"),
        ("Error: mounting new container: operation not permitted", "tool-error"),
        ("something else went wrong", "unknown"),
    ],
)
def test_classify_build(log: str, expected: str) -> None:
    assert classify_build(log, timed_out=False) == expected
    assert classify_build(log, timed_out=True) == "timeout"


def test_run_build_streams_lines_and_steps(tmp_path: Path) -> None:
    script = "printf 'STEP 1/2: FROM x\\nhello\\nSTEP 2/2: RUN y\\n'; exit 3"
    seen: list[tuple[str, Progress | None]] = []
    run = run_build(
        ["sh", "-c", script],
        environ=os.environ,
        cwd=tmp_path,
        timeout=30,
        on_line=lambda line, step: seen.append((line, step)),
    )
    assert seen == [
        ("STEP 1/2: FROM x", Progress(1, 2)),
        ("hello", None),
        ("STEP 2/2: RUN y", Progress(2, 2)),
    ]
    assert (run.returncode, run.ok, run.progress, run.timed_out) == (
        3,
        False,
        Progress(2, 2),
        False,
    )


def test_run_build_times_out(tmp_path: Path) -> None:
    run = run_build(
        ["sh", "-c", "echo start; sleep 30"], environ=os.environ, cwd=tmp_path, timeout=0.5
    )
    assert run.timed_out and not run.ok and run.output == "start"
    assert classify_build(run.output, timed_out=run.timed_out) == "timeout"


def test_run_build_cannot_start_the_tool(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot run"):
        run_build([str(tmp_path / "missing-tool")], environ=os.environ, cwd=tmp_path, timeout=5)


# -- observations --------------------------------------------------------------------------

_ENV = EnvironmentPredicate(python="==3.11.*", platform="manylinux_2_36_x86_64", os="linux")
_PROV = Provenance(source="image-build:buildah", date="2026-11-27T07:00:00Z", tool="t")
_PINS = {"helper": "2.0", "tiny": "1.1"}
_FILES = {"helper": ("helper-2.0-py3-none-any.whl",), "tiny": ("tiny-1.1-py3-none-any.whl",)}


def _run(returncode: int, output: str = "", *, timed_out: bool = False) -> BuildRun:
    return BuildRun(
        argv=("buildah",),
        returncode=returncode,
        output=output,
        duration=1.23456,
        timed_out=timed_out,
    )


def _observe(run: BuildRun, context: Path | None = None) -> Sequence[BuildObservation]:
    replace = {str(context): "<context>"} if context else None
    return image_observations(
        run,
        image="minimal",
        pins=_PINS,
        files=_FILES,
        environment=_ENV,
        provenance=_PROV,
        replace=replace,
    )


def test_a_passing_build_marks_the_stack_and_every_pin_ok() -> None:
    stack, *packages = _observe(_run(0, "STEP 1/1: FROM x"))
    assert (stack.package, stack.image, stack.outcome, stack.duration) == (
        None,
        "minimal",
        "ok",
        1.235,
    )
    assert stack.stack_digest == stack_digest(_PINS) and stack.log_excerpt == ""
    assert [(p.package, p.version, p.outcome, p.image) for p in packages] == [
        ("helper", "2.0", "ok", "minimal"),
        ("tiny", "1.1", "ok", "minimal"),
    ]
    for obs in (stack, *packages):
        assert check_observation(obs) == []


def test_a_failure_blames_the_packages_the_log_names(tmp_path: Path) -> None:
    log = (
        f"Processing {tmp_path}/wheels/tiny-1.1.tar.gz\n"
        "      error: command 'gcc' failed: No such file or directory\n"
        "  ERROR: Failed building wheel for tiny\n"
        "ERROR: Could not build wheels for tiny, which is required to install"
        " pyproject.toml-based projects\n"
    )
    stack, *packages = _observe(_run(1, log), tmp_path)
    assert (stack.outcome, stack.failure_class) == ("failed", "compiler-missing")
    assert [(p.package, p.outcome, p.failure_class) for p in packages] == [
        ("tiny", "failed", "compiler-missing")
    ]
    assert str(tmp_path) not in stack.log_excerpt and "<context>" in stack.log_excerpt
    assert "tiny-1.1.tar.gz" in stack.log_excerpt
    for obs in (stack, *packages):
        assert check_observation(obs) == []


_MISMATCH = (
    "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have"
    " updated the package versions, please update the hashes. Otherwise, examine the package"
    " contents carefully; someone may have tampered with them.\n"
    "    tiny==1.1 from file:///tmp/wheels/tiny-1.1-py3-none-any.whl (from -r"
    " /tmp/requirements.txt (line 2)):\n"
    f"        Expected sha256 {'0' * 64}\n"
    f"             Got        {'a' * 64}\n"
)


def test_a_file_that_does_not_match_the_lock_is_an_artefact_fault_not_a_failure(
    tmp_path: Path,
) -> None:
    log = f"Processing {tmp_path}/wheels/tiny-1.1-py3-none-any.whl\n" + _MISMATCH
    stack, *packages = _observe(_run(1, log), tmp_path)
    assert (stack.outcome, stack.failure_class, stack.artefact) == (
        "artefact-fault",
        "hash-mismatch",
        None,
    )
    (fault,) = packages
    assert (fault.package, fault.version, fault.outcome, fault.failure_class) == (
        "tiny",
        "1.1",
        "artefact-fault",
        "hash-mismatch",
    )
    assert fault.artefact == ArtefactFault(
        filename="tiny-1.1-py3-none-any.whl", sha256="a" * 64, expected=("0" * 64,)
    )
    assert all(o.outcome != "failed" for o in (stack, *packages))
    assert str(tmp_path) not in fault.log_excerpt
    for obs in (stack, *packages):
        assert check_observation(obs) == []
    # a release is never blamed for a file: the validator refuses a fault without its file
    bare = msgspec.structs.replace(fault, artefact=None)
    assert [f for f, _ in check_observation(bare)] == ["artefact"]


def test_a_failure_no_package_caused_marks_only_the_stack() -> None:
    observations = _observe(_run(125, "Error: localhost/nope:1: image not known"))
    assert [(o.package, o.failure_class) for o in observations] == [(None, "base-image")]


def test_a_stack_build_observation_needs_a_package_or_a_digest() -> None:
    bad = BuildObservation(outcome="failed", provenance=_PROV)
    assert ("package", "a build observation is about a package or a stack_digest") in (
        check_observation(bad)
    )
    odd = BuildObservation(stack_digest="md5:x", outcome="ok", provenance=_PROV)
    assert [f for f, _ in check_observation(odd)] == ["stack_digest"]


def test_last_builds_takes_the_newest_stack_build_per_image(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    old = _observe(_run(1, "E: Unable to locate package x"))
    newer = image_observations(
        _run(0),
        image="minimal",
        pins=_PINS,
        files=_FILES,
        environment=_ENV,
        provenance=Provenance(source="image-build:podman", date="2026-11-27T08:00:00Z"),
    )
    with open_store(url) as store:
        store.put([*newer, *old])
    last = last_builds(url)
    assert set(last) == {"minimal"}
    assert (last["minimal"].outcome, last["minimal"].provenance.source) == (
        "ok",
        "image-build:podman",
    )


# -- bad input -----------------------------------------------------------------------------


def test_a_folder_that_is_no_build_context(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a build context"):
        read_context(tmp_path, today="2026-11-27")
    (tmp_path / "Containerfile").write_text("FROM x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"image\.json: no such file"):
        read_context(tmp_path, today="2026-11-27")
    (tmp_path / "image.json").write_text('{"recipe": 1}', encoding="utf-8")
    with pytest.raises(InputError, match="not an advisor image record"):
        read_context(tmp_path, today="2026-11-27")


def test_cli_build_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["image", "build", str(tmp_path)])
    assert isinstance(result.exception, InputError)
    assert "not a build context" in str(result.exception)
    usage = runner.invoke(cli, ["image", "build", str(tmp_path), "--build-arg", "NOEQUALS"])
    assert usage.exit_code == 2 and "expected KEY=VALUE" in usage.output
    usage = runner.invoke(cli, ["image", "build", str(tmp_path), "--tool", "kaniko"])
    assert usage.exit_code == 2


def test_cli_image_list_shows_the_last_build(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    with open_store(url) as store:
        store.put(_observe(_run(125, "Error: localhost/nope:1: image not known")))
    result = CliRunner().invoke(cli, ["image", "list", "--knowledge", url])
    assert result.exit_code == 0, result.output
    assert "last build: failed (base-image), 2026-11-27T07:00:00Z, buildah" in result.output
    rows = json.loads(
        CliRunner().invoke(cli, ["image", "list", "--knowledge", url, "--json"]).output
    )
    by_name = {r["name"]: r for r in rows}
    assert by_name["minimal"]["last-build"]["failure-class"] == "base-image"
    assert by_name["datascience"]["last-build"] is None


# -- the pipeline example ------------------------------------------------------------------

PIPELINE = Path(__file__).resolve().parents[1] / "examples" / "pipeline"


def test_the_workflow_builds_every_recipe_with_the_script() -> None:
    import yaml

    from advisor.api.imaging import list_recipes

    workflow = yaml.safe_load((PIPELINE / "images.yml").read_text(encoding="utf-8"))
    job = workflow["jobs"]["build"]
    assert sorted(job["strategy"]["matrix"]["recipe"]) == [r.name for r in list_recipes()]
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "bash examples/pipeline/build-images.sh images-out" in runs
    uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload")]
    assert "image.json" in uploads[0]["with"]["path"]


def test_the_pipeline_script_is_valid_bash() -> None:
    done = subprocess.run(
        ["bash", "-n", str(PIPELINE / "build-images.sh")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


# -- the next advice knows -----------------------------------------------------------------


def test_a_recorded_image_build_failure_steers_the_next_advice(
    fixture_index_factory: Callable[..., FixtureIndex], pip_env: dict[str, str], tmp_path: Path
) -> None:
    from advisor.api import ImageOptions
    from advisor.api.context import ResolveOptions
    from advisor.api.imaging import generate, list_recipes
    from advisor.environment import RuntimeEnvironment
    from advisor.image.recipes import find_recipe
    from advisor.image.target import recipe_target
    from advisor.observe.fingerprint import build_predicate
    from tests.support.index import Project, release

    index = fixture_index_factory([Project(name="tiny", files=release("1.0") + release("1.1"))])
    recipe = find_recipe(list_recipes(), "minimal")
    target = recipe_target(recipe, host=RuntimeEnvironment.detect())

    def advised(log: str, folder: Path) -> tuple[list[str], str]:
        observations = image_observations(
            _run(1, log),
            image="minimal",
            pins={"tiny": "1.1"},
            files={"tiny": ("tiny-1.1-py3-none-any.whl",)},
            environment=build_predicate(target),
            provenance=_PROV,
        )
        url = f"sqlite:///{folder / 'k.db'}"
        with open_store(url) as store:
            store.put(observations)
        requirements = folder / "requirements.in"
        requirements.write_text("tiny\n", encoding="utf-8")
        environ = {
            **pip_env,
            "ADVISOR_CACHE_DIR": str(tmp_path / "cache"),
            "ADVISOR_KNOWLEDGE": url,
        }
        outcome = generate(
            "minimal",
            [requirements],
            opts=ResolveOptions(index_url=index.file_url, recommendation="stable"),
            image=ImageOptions(output=folder / "ctx", vendor=False),
            environ=environ,
            cwd=folder,
        )
        record = (folder / "ctx" / "image.json").read_text(encoding="utf-8")
        return [str(p.version) for p in outcome.resolution.pins], record

    compiler = (
        "      error: command 'gcc' failed: No such file or directory\n"
        "  ERROR: Failed building wheel for tiny\n"
    )
    (tmp_path / "failed").mkdir()
    pins, record = advised(compiler, tmp_path / "failed")
    assert pins == ["1.0"]
    assert "build failed (compiler-missing) on a matching environment" in record
    assert "image-build:buildah" in record
    # a vendored file that did not match the lock is that file's fault: 1.1 stays
    (tmp_path / "artefact").mkdir()
    pins, record = advised(_MISMATCH, tmp_path / "artefact")
    assert pins == ["1.1"]
    assert "hash-mismatch" not in record


# -- what the base image has ---------------------------------------------------------------

_FACTS = (
    '{"bits": 64, "implementation": "cpython", "libc": ["glibc", "2.36"], "musl": "",'
    ' "platform": "linux-x86_64", "python": "3.11.2"}'
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"advisor-base-facts {_FACTS}", ("cp", "3.11.2", "manylinux_2_36_x86_64")),
        (f"#12 0.734 advisor-base-facts {_FACTS}", ("cp", "3.11.2", "manylinux_2_36_x86_64")),
        (
            "advisor-base-facts "
            + _FACTS.replace('["glibc", "2.36"]', '["", ""]').replace(
                '"musl": ""', '"musl": "musl libc (x86_64)\\nVersion 1.2.4\\n"'
            ),
            ("cp", "3.11.2", "musllinux_1_2_x86_64"),
        ),
        (
            "advisor-base-facts "
            + _FACTS.replace('["glibc", "2.36"]', '["", ""]').replace(
                "linux-x86_64", "linux-aarch64"
            ),
            ("cp", "3.11.2", "linux_aarch64"),
        ),
        (
            "advisor-base-facts " + _FACTS.replace("cpython", "pypy").replace("3.11.2", "3.10.14"),
            ("pp", "3.10.14", "manylinux_2_36_x86_64"),
        ),
    ],
)
def test_parse_base_facts(line: str, expected: tuple[str, str, str]) -> None:
    from advisor.image.base_facts import parse_base_facts

    facts = parse_base_facts(f"STEP 5/9: RUN true\n{line}\nCollecting tiny\n")
    assert facts is not None
    assert (facts.implementation, facts.python, facts.platform) == expected


def test_the_echoed_probe_command_or_garbage_is_no_fact() -> None:
    from advisor.image.base_facts import PROBE_COMMAND, parse_base_facts

    assert parse_base_facts(f"STEP 5/9: RUN ({PROBE_COMMAND} || true) && python3 -m venv x") is None
    assert parse_base_facts("advisor-base-facts {not json}") is None
    assert (
        parse_base_facts('advisor-base-facts {"implementation": "jython", "python": "2.7"}') is None
    )
    assert parse_base_facts("") is None


def test_the_probe_reads_this_machines_python() -> None:
    from advisor.environment import RuntimeEnvironment
    from advisor.image.base_facts import PROBE_COMMAND, parse_base_facts

    done = subprocess.run(
        ["sh", "-c", PROBE_COMMAND], capture_output=True, text=True, check=True, timeout=60
    )
    facts = parse_base_facts(done.stdout)
    assert facts is not None
    python3 = subprocess.run(
        ["python3", "-c", "import platform, sys; print(sys.implementation.name,"
         " platform.python_version())"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert facts.interpreter == python3.stdout.strip()
    host = RuntimeEnvironment.detect()
    if host.platform.startswith("manylinux_"):
        assert facts.platform == host.platform


def test_observed_base_records_what_the_image_has_and_warns_of_the_declaration() -> None:
    from advisor.api.imaging import list_recipes
    from advisor.environment import RuntimeEnvironment
    from advisor.image.base_facts import observed_base
    from advisor.image.recipes import find_recipe

    recipe = find_recipe(list_recipes(), "minimal")  # declares CPython 3.12
    host = RuntimeEnvironment.detect()
    seen = observed_base(recipe, _run(0, f"advisor-base-facts {_FACTS}\n"), host=host)
    assert (seen.environment.python, seen.environment.platform) == (
        "==3.11.*",
        "manylinux_2_36_x86_64",
    )
    assert seen.interpreter == "cpython 3.11.2"
    assert seen.warnings == (
        "the base image has Python 3.11.2 but the recipe 'minimal' declares 3.12",
    )
    agreeing = _FACTS.replace("3.11.2", "3.12.7")
    assert (
        observed_base(recipe, _run(0, f"advisor-base-facts {agreeing}"), host=host).warnings == ()
    )
    unseen = observed_base(recipe, _run(0, "STEP 1/1: FROM x\n--> Using cache"), host=host)
    assert (unseen.environment.python, unseen.interpreter) == ("==3.12.*", None)
    assert "not observed" in unseen.warnings[0]
    # a build that failed before its install step observed nothing, and says nothing of it
    failed = observed_base(recipe, _run(125, "Error: image not known"), host=host)
    assert (failed.interpreter, failed.warnings) == (None, ())
    # a platform the advisor cannot target is reported, and the declaration kept
    odd = _FACTS.replace("linux-x86_64", "freebsd-14.0-RELEASE-amd64")
    strange = observed_base(recipe, _run(0, f"advisor-base-facts {odd}"), host=host)
    assert (strange.environment.python, strange.interpreter) == ("==3.12.*", None)
    assert "freebsd_14_0_RELEASE_amd64" in strange.warnings[-2]
    assert "cannot be used" in strange.warnings[-1]


def test_a_cached_install_step_is_observed_through_the_built_images_answer(
    tmp_path: Path,
) -> None:
    from advisor.api.imaging import list_recipes
    from advisor.environment import RuntimeEnvironment
    from advisor.image.base_facts import PROBE_ARGV, observed_base
    from advisor.image.fact_probe import probe_image
    from advisor.image.recipes import find_recipe

    recipe = find_recipe(list_recipes(), "minimal")
    host = RuntimeEnvironment.detect()
    cached = _run(0, "STEP 5/9: RUN (python3 -I -c ...) \\\n--> Using cache 1f2e3d")
    answered = observed_base(recipe, cached, host=host, probed=f"advisor-base-facts {_FACTS}\n")
    assert (answered.environment.python, answered.interpreter) == ("==3.11.*", "cpython 3.11.2")
    assert not any("not observed" in w for w in answered.warnings)
    # the probe is the install step's own, as a command line (this machine's python3 runs it)
    done = subprocess.run([*PROBE_ARGV], capture_output=True, text=True, check=True, timeout=60)
    assert observed_base(recipe, cached, host=host, probed=done.stdout).interpreter is not None
    # a tool that cannot run the image: the reason is in the warning, nothing raised
    broken = tmp_path / "podman"
    broken.write_text("#!/bin/sh\necho 'Error: no such image' >&2\nexit 125\n")
    broken.chmod(0o755)
    tool = BuildTool(name="podman", executable=str(broken))
    probe = probe_image(tool, "localhost/advisor-minimal:1", environ={"PATH": str(tmp_path)})
    assert probe.output == ""
    assert probe.error == "'podman run' failed (exit code 125): Error: no such image"
    unseen = observed_base(recipe, cached, host=host, probe_error=probe.error)
    assert unseen.interpreter is None
    assert "asking the built image failed: 'podman run' failed" in unseen.warnings[0]


def test_every_observation_of_a_build_carries_the_interpreter_that_ran() -> None:
    observations = image_observations(
        _run(0),
        image="minimal",
        pins=_PINS,
        files=_FILES,
        environment=_ENV,
        provenance=_PROV,
        interpreter="cpython 3.11.2",
    )
    assert {o.interpreter for o in observations} == {"cpython 3.11.2"}
    assert len(observations) == 3


def test_only_a_build_that_passed_is_pushed(tmp_path: Path) -> None:
    """``image build --push``: the push follows a build that passed, never one that failed,
    and none is made without a destination (image/builder.py ``then_push``)."""
    from advisor.image.builder import BuildOutcome
    from advisor.image.push import PushOutcome

    asked: list[str] = []

    def push(destination: str) -> PushOutcome:
        asked.append(destination)
        return PushOutcome(
            folder=tmp_path, tool="buildah", source="id", destination=destination,
            run=_run(0), digest="sha256:" + "0" * 64,
        )  # fmt: skip

    def built(returncode: int) -> BuildOutcome:
        return BuildOutcome(
            folder=tmp_path, tool=BuildTool(name="buildah", executable="buildah"), probes=(),
            tag="localhost/x:1", run=_run(returncode), failure_class=None, observations=(),
            store_url="sqlite:///k.db",
        )  # fmt: skip

    assert built(0).then_push(None, push).push is None
    assert built(1).then_push("127.0.0.1:5000/x", push).push is None
    assert asked == []
    pushed = built(0).then_push("127.0.0.1:5000/x", push)
    assert asked == ["127.0.0.1:5000/x"]
    assert pushed.push is not None and pushed.push.destination == "127.0.0.1:5000/x"
    assert pushed.tag == "localhost/x:1"
