"""The observe jobs below the composition root (``advisor/observe/jobs.py``, ``plan.py``'s
``plan_specs`` and ``SweepSources``, ``exchange.py``'s ``keep_observations``, a job spec's
``lock_sources``, ``probes.py``'s ``workload``) with what the API passes in: the caller's
``ResolveOptions`` as they are, this machine, a store URL, the upload to a team server.

Real files, job specs and SQLite stores; the upload is a plain function (the API's upload is
tested against a real server in ``tests/functional/test_server_*.py``). The commands after
the split of ``advisor/cli/observe.py`` run through click's runner.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from advisor.environment import RuntimeEnvironment
from advisor.errors import InputError
from advisor.knowledge.schema import BuildObservation, Observation, Provenance
from advisor.knowledge.store import open_store
from advisor.models import DistFile
from advisor.observe.compat import PipSource
from advisor.observe.exchange import keep_observations
from advisor.observe.jobs import InstallOptions, install_observed
from advisor.observe.plan import SweepOptions, pip_source, plan_specs
from advisor.observe.probes import job_probes, workload
from advisor.observe.sweep import JobSpec, read_spec
from advisor.options import ResolveOptions

if TYPE_CHECKING:
    from advisor.observe.runs import Machine

PROV = Provenance(source="test", date="2026-12-07")
FILES = [
    DistFile(filename=name, url=f"file:///x/{name}", index="i")
    for name in (
        "pkg-4.0rc1-py3-none-any.whl",
        "pkg-3.0-py3-none-any.whl",
        "pkg-2.0-py3-none-any.whl",
        "pkg-1.0-py3-none-any.whl",
    )
]
OPTS = ResolveOptions(
    index_url="http://127.0.0.1:1/simple",
    extra_index_urls=("http://127.0.0.1:2/simple",),
    find_links=("/wheels",),
    no_index=True,
    python="3.12",
)


def _find(name: str) -> list[DistFile]:
    return FILES if name == "pkg" else []


def _target() -> RuntimeEnvironment:
    return RuntimeEnvironment.for_target(
        host=RuntimeEnvironment.detect(), python="3.12", platform="manylinux_2_28_x86_64"
    )


def _plan(opts: ResolveOptions, workdir: Path) -> list[JobSpec]:
    paths = plan_specs(
        ["pkg"], sweep=SweepOptions(count=2, probes=("import",), benchmarks=Path("/bench"),
                                    tool="t"),
        sources=opts, find=_find, target=_target(), workdir=workdir, knowledge="sqlite:///k.db",
        today="2026-12-07",
    )  # fmt: skip
    specs = [read_spec(p) for p in paths]
    assert paths == [workdir / s.requirement.replace("==", "-") / "job.json" for s in specs]
    return specs


def test_a_sweep_plan_reads_the_callers_resolving_options_as_they_are(tmp_path: Path) -> None:
    specs = _plan(OPTS, tmp_path / "final")
    assert [s.requirement for s in specs] == ["pkg==3.0", "pkg==2.0"]
    (first, _) = specs
    assert (first.index_url, first.extra_index_urls, first.find_links, first.no_index) == (
        "http://127.0.0.1:1/simple",
        ("http://127.0.0.1:2/simple",),
        ("/wheels",),
        True,
    )
    assert (first.python, first.knowledge, first.benchmarks) == ("3.12", "sqlite:///k.db", "/bench")
    assert (first.probes, first.today, first.tool) == (("import",), "2026-12-07", "t")
    # pre-releases count when the options say so
    pre = _plan(ResolveOptions(pre=True), tmp_path / "pre")
    assert [s.requirement for s in pre] == ["pkg==4.0rc1", "pkg==3.0"]
    assert (pre[0].index_url, pre[0].python, pre[0].no_index) == (None, None, False)


def test_pip_finds_the_files_where_the_options_say() -> None:
    assert pip_source(OPTS) == PipSource(
        index_url="http://127.0.0.1:1/simple",
        extra_index_urls=("http://127.0.0.1:2/simple",),
        find_links=("/wheels",),
        no_index=True,
    )
    assert pip_source(ResolveOptions()) == PipSource()


def test_a_job_locks_with_the_indexes_and_python_it_was_planned_with(tmp_path: Path) -> None:
    (spec, _) = _plan(OPTS, tmp_path)
    assert ResolveOptions(**spec.lock_sources()) == OPTS
    assert ResolveOptions(**JobSpec(requirement="x", today="d", tool="t").lock_sources()) == (
        ResolveOptions()
    )


def _build(version: str) -> BuildObservation:
    return BuildObservation(package="app", version=version, outcome="ok", provenance=PROV)


def test_observations_are_stored_then_sent_and_none_are_not_sent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    sent: list[list[Observation]] = []
    keep_observations(url, [], send=lambda o: sent.append(list(o)))
    assert sent == [] and not (tmp_path / "k.db").exists()
    keep_observations(url, [_build("1.0")], send=lambda o: sent.append(list(o)))
    assert sent == [[_build("1.0")]]
    keep_observations(None, [_build("2.0")], send=lambda o: sent.append(list(o)))
    assert sent[-1] == [_build("2.0")]  # sent, though stored nowhere

    def refused(observations: object) -> None:
        raise InputError("the server refused the upload")

    with pytest.raises(InputError, match="refused"):
        keep_observations(url, [_build("3.0")], send=refused)
    with open_store(url) as store:  # stored before the upload failed: nothing is lost
        assert sorted(o.version or "" for o in store.iter_kind("build")) == ["1.0", "3.0"]


def test_a_missing_lock_is_refused_before_the_machine_is_detected(tmp_path: Path) -> None:
    detected: list[str] = []

    def machine() -> Machine:
        detected.append("detected")
        raise AssertionError("this machine is detected only once the lock is found")

    with pytest.raises(InputError, match="no such lock file"):
        install_observed(
            tmp_path / "pylock.toml", options=InstallOptions(), machine=machine,
            store_url=f"sqlite:///{tmp_path / 'k.db'}", today="2026-12-07",
        )  # fmt: skip
    assert detected == [] and not (tmp_path / "k.db").exists()


def _probe_folder(folder: Path, *names: tuple[str, str]) -> Path:
    folder.mkdir(parents=True)
    text = "".join(
        f"[[probe]]\nname='{n}'\nfamily='f'\nstatement='1'\nworkload='{w}'\n" for n, w in names
    )
    (folder / "p.toml").write_text(text, encoding="utf-8")
    return folder


def test_a_jobs_probes_are_its_specs_own(tmp_path: Path) -> None:
    folder = _probe_folder(tmp_path / "b", ("f.one", "sort"), ("f.two", "sort"))
    spec = JobSpec(requirement="x", probes=("f.two",), benchmarks=str(folder), today="d", tool="t")
    assert [p.name for p in job_probes(spec)] == ["f.two"]
    every = JobSpec(requirement="x", benchmarks=str(folder), today="d", tool="t")
    assert [p.name for p in job_probes(every)] == ["f.one", "f.two"]


def test_a_workload_is_found_in_the_curated_and_a_projects_benchmarks(tmp_path: Path) -> None:
    _probe_folder(tmp_path / "knowledge" / "benchmarks", ("mine.a", "MyWork"))
    name, probes = workload(" MyWork ", knowledge_dirs=[tmp_path / "knowledge", tmp_path / "x"])
    assert (name, probes) == ("mywork", frozenset({"mine.a"}))
    curated_name, curated = workload("json")  # the curated benchmarks' own workload
    assert curated_name == "json" and "json.roundtrip-stdlib" in curated
    with pytest.raises(InputError, match="unknown workload 'nope'") as found:
        workload("nope", knowledge_dirs=[tmp_path / "knowledge"])
    assert "MyWork" in str(found.value) and "json" in str(found.value)


def test_the_observe_group_keeps_every_command_after_the_split(tmp_path: Path) -> None:
    from tests.functional.helpers import clean_environ, run_cli

    env = clean_environ(tmp_path / "home")
    shown = run_cli(["observe", "--help"], env=env)
    assert shown.exit_code == 0
    for command in ("install", "bench", "sweep", "run-job", "export", "import"):
        assert f"  {command} " in shown.stdout, command
    timed = run_cli(["observe", "sweep", "pkg", "--with", "other", "--probe", "p"], env=env)
    assert timed.exit_code == 2 and "--probe: not used with --with" in timed.stderr
    missing = run_cli(["observe", "install", tmp_path / "pylock.toml"], env=env)
    assert missing.exit_code == 2 and "no such lock file" in missing.stderr
