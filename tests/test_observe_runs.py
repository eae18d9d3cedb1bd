"""The steps of bench and sweep runs (``advisor/observe/runs.py``), each with what the
composition root passes in: a project's files, a versions picker, a lock step, this machine.

Real files and job specs; the lock step is a plain function (a sweep job's lock is the API's
job, injected), never a stand-in for a part that could run: the real lock, install and bench
run in ``tests/test_observe_sweep.py``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from advisor.environment import RuntimeEnvironment
from advisor.errors import InputError
from advisor.knowledge.schema import BuildObservation, PerformanceObservation, Provenance
from advisor.models import DistFile
from advisor.observe.fingerprint import fingerprint
from advisor.observe.runs import (
    BenchOutcome,
    Machine,
    prepare_job,
    same_protocol,
    sweep_versions,
    write_specs,
)
from advisor.observe.sweep import JobSpec, read_spec, write_spec

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

FILES = [
    DistFile(filename=name, url=f"file:///x/{name}", index="i")
    for name in (
        "pkg-3.0-py3-none-any.whl",
        "pkg-2.1-py3-none-any.whl",
        "pkg-2.0-py3-none-any.whl",
        "pkg-1.0-py3-none-any.whl",
        "pkg-0.5.tar.gz",
    )
]
TEMPLATE = JobSpec(requirement="", probes=("import",), repeat=3, today="2026-12-01", tool="t")


def _target() -> RuntimeEnvironment:
    return RuntimeEnvironment.for_target(
        host=RuntimeEnvironment.detect(), python="3.11", platform="manylinux_2_28_x86_64"
    )


def test_sweep_versions_asks_find_for_the_canonical_name_and_applies_the_specifier() -> None:
    asked: list[str] = []

    def find(name: str) -> list[DistFile]:
        asked.append(name)
        return FILES

    found = sweep_versions("PKG<3,!=2.1", find=find, target=_target(), count=2)
    assert found == ("pkg", ("2.0", "1.0"))
    assert asked == ["pkg"]
    with pytest.raises(InputError, match="not a requirement"):
        sweep_versions("pkg ===", find=find, target=_target(), count=2)
    with pytest.raises(InputError, match="no version has a wheel"):
        sweep_versions("pkg<0.9", find=find, target=_target(), count=2)


def test_write_specs_one_per_version_newest_first_from_the_template(tmp_path: Path) -> None:
    lines = {"pkg<2": ("pkg", ("1.0",)), "pkg>=2": ("pkg", ("3.0", "2.0"))}
    paths = write_specs(
        ["pkg<2", "pkg>=2"], versions=lines.__getitem__, template=TEMPLATE, workdir=tmp_path
    )
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "pkg-3.0/job.json",
        "pkg-2.0/job.json",
        "pkg-1.0/job.json",
    ]
    spec = read_spec(paths[0])
    assert spec.requirement == "pkg==3.0"
    assert (spec.probes, spec.repeat, spec.today) == (("import",), 3, "2026-12-01")


def test_write_specs_refuses_no_requirement_and_two_packages(tmp_path: Path) -> None:
    lines = {"a": ("a", ("1.0",)), "b": ("b", ("1.0",))}
    with pytest.raises(InputError, match="at least one requirement"):
        write_specs([], versions=lines.__getitem__, template=TEMPLATE, workdir=tmp_path)
    with pytest.raises(InputError, match="one package's versions, not a, b"):
        write_specs(["a", "b"], versions=lines.__getitem__, template=TEMPLATE, workdir=tmp_path)
    assert not any(tmp_path.iterdir())  # nothing partial written


def test_same_protocol_refuses_specs_that_measure_differently() -> None:
    one = JobSpec(requirement="pkg==1.0", repeat=3, today="2026-12-01", tool="t")
    other_tool = JobSpec(requirement="pkg==2.0", repeat=3, today="2026-12-01", tool="u")
    same_protocol([one, other_tool])  # the tool does not change how it measures
    more_rounds = JobSpec(requirement="pkg==2.0", repeat=5, today="2026-12-01", tool="t")
    with pytest.raises(InputError, match="cannot be interleaved"):
        same_protocol([one, more_rounds])


def test_prepare_job_hands_the_spec_to_the_lock_step_and_reports_its_failure(
    tmp_path: Path,
) -> None:
    spec_path = write_spec(
        JobSpec(requirement="pkg==1.0", python="3.11", today="2026-12-01", tool="t"),
        tmp_path / "pkg-1.0" / "job.json",
    )
    seen: list[tuple[str, str, str | None, str]] = []

    def lock(
        requirements: Path, *, spec: JobSpec, output: Path, environ: Mapping[str, str]
    ) -> None:
        seen.append((requirements.read_text(), output.name, spec.python, environ["MARK"]))
        raise InputError("no index answered")

    machine = Machine(host=RuntimeEnvironment.detect(), recorder="box-1", environ={"MARK": "m"})
    prepared = prepare_job(spec_path, lock=lock, machine=machine)
    assert seen == [("pkg==1.0\n", "pylock.toml", "3.11", "m")]
    assert prepared.error == "no index answered"
    assert (prepared.requirement, prepared.python, prepared.builds) == ("pkg==1.0", None, ())


def test_bench_outcome_json_lists_builds_then_measurements() -> None:
    provenance = Provenance(source="s", date="2026-12-01")
    build = BuildObservation(package="pkg", version="1.0", outcome="ok", provenance=provenance)
    measured = PerformanceObservation(
        probe="import:pkg",
        package="pkg",
        version="1.0",
        metric="import_time",
        value=0.01,
        unit="s",
        environment=fingerprint(_target()),
        provenance=provenance,
    )
    outcome = BenchOutcome(
        python="py", builds=(build,), performance=(measured,), runtime={"p": {"status": "ok"}}
    )
    data = json.loads(json.dumps(outcome.to_dict()))
    assert [o["type"] for o in data["observations"]] == ["build", "performance"]
    assert data["runtime"] == {"p": {"status": "ok"}}
