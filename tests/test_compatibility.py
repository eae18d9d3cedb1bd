"""Compatibility observations: the kind, its store migration and exchange, the graph of
observed pairs, the stack check that rejects a failing pair, the classes of a failed pair,
and children killed on a timeout or Ctrl-C.

The advice over a fixture index (a compatibility observation that changes ``stable``'s
stack) is here too; the real sweep over fixture wheels is in ``test_compat_sweep.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from advisor.environment import RuntimeEnvironment
from advisor.knowledge.graph import compatibility_graph, observed_pairs
from advisor.knowledge.migrations import MIGRATIONS, latest_version
from advisor.knowledge.schema import (
    CompatibilityObservation,
    EnvironmentPredicate,
    Provenance,
    decode_observation,
    encode_observation,
    observation_key,
    packages_of,
)
from advisor.knowledge.sqlite_store import SQLiteStore
from advisor.knowledge.store import KnowledgeStoreError
from advisor.models import Edge
from advisor.observe.compat import Pair, plan_pairs, run_command
from advisor.observe.exchange import export_jsonl, read_jsonl
from advisor.observe.failures import classify_pair
from advisor.observe.fingerprint import build_predicate
from advisor.scoring.base import ScoringContext
from advisor.scoring.knowledge_view import StaticKnowledge
from advisor.scoring.units import CompatibilityAnnotator, CompatibilityCheck
from tests.functional.helpers import clean_environ, lock_pins, read_lock, run_cli
from tests.support import IndexServer, Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=400)
HOST = RuntimeEnvironment.detect()


def _env(python: str = "3.12", platform: str = "manylinux_2_28_x86_64") -> RuntimeEnvironment:
    return RuntimeEnvironment.for_target(host=HOST, python=python, platform=platform)


def _obs(
    version: str = "2.0.2",
    other_version: str = "2.1.4",
    *,
    outcome: str = "failed",
    failure: str | None = "abi-mismatch",
    where: EnvironmentPredicate | None = None,
    recorder: str = "box-a",
    date: str = "2026-12-07",
) -> CompatibilityObservation:
    return CompatibilityObservation(
        package="numpy",
        version=version,
        other="pandas",
        other_version=other_version,
        outcome=outcome,  # type: ignore[arg-type]
        failure_class=failure if outcome == "failed" else None,
        probe="import pandas; smoke",
        environment=where
        or EnvironmentPredicate(
            python="==3.12.*",
            platform="manylinux_2_35_x86_64",
            os="linux",
            arch="x86_64",
            libc="glibc",
        ),
        interpreter="cpython 3.12.3",
        provenance=Provenance(source="observe", date=date, tool="t 1", recorder=recorder),
    )


def _ctx(observations: Iterable[CompatibilityObservation], env: RuntimeEnvironment | None = None):  # type: ignore[no-untyped-def]
    return ScoringContext(
        env=env or _env(), recommendation="stable", now=NOW, knowledge=StaticKnowledge(observations)
    )


def _pins(**versions: str) -> dict:  # type: ignore[type-arg]
    return {canonicalize_name(k): Version(v) for k, v in versions.items()}


# -- the kind ------------------------------------------------------------------------------------


def test_a_compatibility_observation_round_trips_and_is_about_both_packages() -> None:
    obs = _obs()
    assert decode_observation(encode_observation(obs)) == obs
    assert json.loads(encode_observation(obs))["type"] == "compatibility"
    assert packages_of(obs) == ("numpy", "pandas")
    assert observation_key(obs).startswith("compatibility:")
    # the same outcome on another machine is another observation (independence is countable)
    assert observation_key(obs) != observation_key(_obs(recorder="box-b"))
    assert observation_key(obs) == observation_key(_obs(date="2027-01-01"))


def test_the_store_migrates_to_the_compatibility_step_and_an_older_advisor_refuses_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "k.db"
    older = MIGRATIONS[: latest_version() - 1]
    with SQLiteStore(path, migrations=older) as store:
        assert store.schema_version == latest_version() - 1
    with SQLiteStore(path) as store:
        assert store.schema_version == latest_version() >= 4
        store.put([_obs()])
        assert [kind.count for kind in store.stats().kinds if kind.kind == "compatibility"] == [1]
        assert store.for_package("pandas") == [_obs()] == store.for_package("numpy")
    # an advisor without the step cannot read the new kind: it refuses the store outright
    with pytest.raises(KnowledgeStoreError, match="newer than this advisor supports"):
        SQLiteStore(path, migrations=older)


def test_exchange_exports_and_imports_compatibility_lines(tmp_path: Path) -> None:
    path = tmp_path / "compat.jsonl"
    path.write_text(export_jsonl([_obs(), _obs(outcome="ok", version="1.26.4")]))
    read, problems = read_jsonl(path, today="2026-12-08")
    assert problems == []
    assert sorted(read, key=observation_key) == sorted(
        [_obs(), _obs(outcome="ok", version="1.26.4")], key=observation_key
    )


def test_observe_export_import_and_knowledge_show_list_them(tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "home")
    source = tmp_path / "in.jsonl"
    source.write_text(export_jsonl([_obs(), _obs(outcome="ok", version="1.26.4")]))
    store = f"sqlite:///{tmp_path / 'k.db'}"
    imported = run_cli(["observe", "import", source, "--knowledge", store], env=env)
    assert imported.exit_code == 0, imported.stderr
    assert "2 added" in imported.stdout
    out = tmp_path / "out.jsonl"
    exported = run_cli(["observe", "export", out, "--knowledge", store], env=env)
    assert exported.exit_code == 0, exported.stderr
    assert out.read_text() == source.read_text()
    shown = run_cli(["knowledge", "show", "pandas==2.1.4", "--knowledge", store], env=env)
    assert shown.exit_code == 0, shown.stderr
    assert "2 compatibility observations (2 apply to 2.1.4)" in shown.stdout
    as_json = run_cli(
        ["knowledge", "show", "numpy==2.0.2", "--knowledge", store, "--json"], env=env
    )
    facts = json.loads(as_json.stdout)["kinds"]["compatibility"]
    assert sorted((f["applies"], f["observation"]["outcome"]) for f in facts) == [
        (False, "ok"),
        (True, "failed"),
    ]


# -- the graph -----------------------------------------------------------------------------------


def test_the_compatibility_graph_holds_releases_and_observed_pairs() -> None:
    observations = [_obs(), _obs(outcome="ok", version="1.26.4"), _obs(other_version="2.2.2")]
    graph = compatibility_graph(observations)
    assert sorted(graph.nodes) == [
        "numpy==1.26.4",
        "numpy==2.0.2",
        "pandas==2.1.4",
        "pandas==2.2.2",
    ]
    assert graph.number_of_edges() == 3
    assert observed_pairs(graph, {"numpy": "2.0.2", "pandas": "2.1.4"}) == [_obs()]
    assert observed_pairs(graph, {"NumPy": "2.0.2", "pandas": "2.3.0"}) == []


# -- the stack check -----------------------------------------------------------------------------


def test_a_failing_pair_rejects_the_stack_citing_the_observation_and_the_paths() -> None:
    edges = [
        Edge(parent=None, child=canonicalize_name("app"), requirement="app", origin="req.in:1"),
        Edge(parent=canonicalize_name("app"), child=canonicalize_name("pandas"),
             requirement="pandas>=2"),
        Edge(parent=canonicalize_name("pandas"), child=canonicalize_name("numpy"),
             requirement="numpy>=1.22"),
        Edge(parent=None, child=canonicalize_name("numpy"), requirement="numpy", origin="req.in:2"),
    ]  # fmt: skip
    pins = _pins(app="1.0", numpy="2.0.2", pandas="2.1.4")
    (verdict,) = CompatibilityCheck().check(pins, _ctx([_obs()]), edges=edges)
    assert verdict.reject is not None
    assert verdict.reject.startswith("numpy==2.0.2 with pandas==2.1.4 failed together")
    assert "abi-mismatch, observed 2026-12-07 by recorder box-a" in verdict.reject
    assert observation_key(_obs()) in verdict.reject
    assert "numpy requested directly" in verdict.reject
    assert "pandas via app → pandas" in verdict.reject
    assert verdict.package == "pandas"
    assert verdict.nogood == (("numpy", "==2.0.2"), ("pandas", "==2.1.4"))
    # other versions of either side are not the observed pair
    assert CompatibilityCheck().check(_pins(numpy="1.26.4", pandas="2.1.4"), _ctx([_obs()])) == ()
    assert CompatibilityCheck().check(_pins(numpy="2.0.2", pandas="2.2.2"), _ctx([_obs()])) == ()


def test_a_passing_observation_never_rejects_and_a_contradiction_only_warns() -> None:
    pins = _pins(numpy="2.0.2", pandas="2.1.4")
    assert CompatibilityCheck().check(pins, _ctx([_obs(outcome="ok")])) == ()
    both = [_obs(), _obs(outcome="ok", recorder="box-b")]
    (verdict,) = CompatibilityCheck().check(pins, _ctx(both))
    assert verdict.reject is None
    (note,) = verdict.justifications
    assert note.level == "warning" and "failing 1 time(s) and working 1 time(s)" in note.message


def test_a_failure_counts_only_where_it_was_observed() -> None:
    pins = _pins(numpy="2.0.2", pandas="2.1.4")
    check = CompatibilityCheck()
    # another glibc level of the same Linux, architecture and Python: the same wheels
    assert check.check(pins, _ctx([_obs()], _env(platform="manylinux_2_17_x86_64")))
    # another Python minor, another architecture, another OS: not observed there
    assert check.check(pins, _ctx([_obs()], _env(python="3.11"))) == ()
    assert check.check(pins, _ctx([_obs()], _env(platform="manylinux_2_28_aarch64"))) == ()
    assert check.check(pins, _ctx([_obs()], _env(platform="macosx_14_0_arm64"))) == ()
    # an unreadable predicate does not apply
    broken = _obs(where=EnvironmentPredicate(python="not a specifier"))
    assert check.check(pins, _ctx([broken])) == ()


def test_the_annotator_reports_a_failing_pair_without_rejecting() -> None:
    (note,) = CompatibilityAnnotator().annotate(_pins(numpy="2.0.2", pandas="2.1.4"),
                                                _ctx([_obs()]))  # fmt: skip
    assert note.level == "error" and note.package == "pandas"
    assert "failed together" in note.message


# -- the sweep's parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "code", "imported", "expected"),
    [
        ("ValueError: numpy.dtype size changed, may indicate binary incompatibility", 1, False,
         "abi-mismatch"),
        ("A module that was compiled using NumPy 1.x cannot be run in\nNumPy 2.0.2 as it may "
         "crash.", 1, False, "abi-mismatch"),
        ("ImportError: numpy.core.multiarray failed to import", 1, False, "abi-mismatch"),
        ("A module that was compiled using NumPy 1.x cannot be run in NumPy 2.1.0", 0, True,
         "abi-mismatch"),
        ("Fatal Python error: Segmentation fault", -11, False, "crash"),
        ("ModuleNotFoundError: No module named 'pytz'", 1, False, "import-error"),
        ("TypeError: unsupported operand", 1, True, "smoke-error"),
        ("", 0, True, None),
    ],
)  # fmt: skip
def test_classify_pair(output: str, code: int, imported: bool, expected: str | None) -> None:
    assert classify_pair(output, returncode=code, timed_out=False, imported=imported) == expected


def test_a_timed_out_pair_is_a_timeout_whatever_it_printed() -> None:
    assert classify_pair("numpy.dtype size changed", returncode=None, timed_out=True,
                         imported=False) == "timeout"  # fmt: skip


def test_plan_pairs_crosses_every_version_and_refuses_a_self_pair() -> None:
    pairs = plan_pairs("NumPy", ["2.0.2", "1.26.4"], {"pandas": ["2.2.2"], "SciPy": ["1.13.0"]})
    assert [p.label for p in pairs] == [
        "numpy==2.0.2 with pandas==2.2.2",
        "numpy==1.26.4 with pandas==2.2.2",
        "numpy==2.0.2 with scipy==1.13.0",
        "numpy==1.26.4 with scipy==1.13.0",
    ]
    assert pairs[0] == Pair(package="numpy", version="2.0.2", other="pandas", other_version="2.2.2")
    with pytest.raises(Exception, match="cannot be paired with itself"):
        plan_pairs("numpy", ["2.0.2"], {"NumPy": ["1.26.4"]})


_SPAWN = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
    "open(sys.argv[1], 'w').write(str(child.pid))\n"
    "time.sleep(120)\n"
)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _gone(pid: int, *, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _wait_for(path: Path) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_a_timeout_kills_the_child_and_its_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    code, _, seconds = run_command(
        [sys.executable, "-c", _SPAWN, str(pidfile)], environ=dict(os.environ), timeout=3
    )
    assert code is None and seconds < 60
    assert _gone(_wait_for(pidfile))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_ctrl_c_kills_the_child_and_its_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    driver = (
        "import os, sys\n"
        "from advisor.observe.compat import run_command\n"
        f"run_command([sys.executable, '-c', {_SPAWN!r}, sys.argv[1]], environ=dict(os.environ),"
        " timeout=120)\n"
    )
    repo = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": repo}
    proc = subprocess.Popen([sys.executable, "-c", driver, str(pidfile)], env=env,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        grandchild = _wait_for(pidfile)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends to the advisor
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "KeyboardInterrupt" in err
    assert _gone(grandchild)


# -- the advice ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``numpy`` 1.0 and 2.0, ``oldext`` 1.0 (any numpy), ``app`` 1.0 (needs oldext)."""
    root = tmp_path_factory.mktemp("compat-advice")
    projects = [
        Project(name="numpy", files=[*release("1.0", upload_time=OLD),
                                     *release("2.0", upload_time=OLD)]),
        Project(name="oldext", files=[*release("1.0", requires_dist=["numpy>=1"],
                                               upload_time=OLD)]),
        Project(name="app", files=[*release("1.0", requires_dist=["oldext"], upload_time=OLD)]),
    ]  # fmt: skip
    with IndexServer(build_index(root / "index", projects)) as server:
        yield server.url


def test_an_observed_failing_pair_changes_the_stable_advice(site: str, tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "home")
    store = tmp_path / "k.db"
    here = build_predicate(RuntimeEnvironment.detect())
    failed = CompatibilityObservation(
        package="numpy", version="2.0", other="oldext", other_version="1.0", outcome="failed",
        failure_class="abi-mismatch", environment=here, interpreter="cpython 3",
        provenance=Provenance(source="observe", date="2026-12-07", recorder="box-a"),
    )  # fmt: skip
    req = tmp_path / "requirements.in"
    req.write_text("app\nnumpy\n")

    def advise(kind: str) -> dict:  # type: ignore[type-arg]
        result = run_cli(
            ["advise", req, "--index-url", site, "--knowledge", f"sqlite:///{store}",
             "--recommendation", kind, "-o", tmp_path / f"{kind}.toml", "--report", "json"],
            env=env,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    advise("stable")
    assert lock_pins(read_lock(tmp_path / "stable.toml"))["numpy"] == "2.0"  # nothing known
    with SQLiteStore(store) as opened:
        opened.put([failed])
    report = advise("stable")
    assert lock_pins(read_lock(tmp_path / "stable.toml")) == {
        "app": "1.0",
        "numpy": "1.0",
        "oldext": "1.0",
    }
    text = json.dumps(report, ensure_ascii=False)
    assert "numpy==2.0 with oldext==1.0 failed together: abi-mismatch" in text
    assert observation_key(failed) in text
    assert "oldext via app → oldext" in text
    # the terminal report says why the advice is not latest's stack
    (tmp_path / "stable.toml").unlink()
    text_report = run_cli(
        ["advise", req, "--index-url", site, "--knowledge", f"sqlite:///{store}",
         "-o", tmp_path / "stable.toml"],
        env=env,
    )  # fmt: skip
    assert text_report.exit_code == 0, text_report.stderr
    assert "Rejected stacks" in text_report.stdout
    assert observation_key(failed) in text_report.stdout
    # latest keeps pip's choice and says what it holds
    latest = advise("latest")
    assert lock_pins(read_lock(tmp_path / "latest.toml"))["numpy"] == "2.0"
    assert "failed together" in json.dumps(latest)


def test_the_side_the_user_pinned_exactly_is_not_the_one_blamed() -> None:
    pins = _pins(numpy="2.0.2", pandas="2.1.4")
    free = [
        Edge(parent=None, child=canonicalize_name("pandas"), requirement="pandas>=2"),
        Edge(parent=None, child=canonicalize_name("numpy"), requirement="numpy"),
    ]
    pinned = [
        Edge(parent=None, child=canonicalize_name("pandas"), requirement="pandas==2.1.4"),
        Edge(parent=None, child=canonicalize_name("numpy"), requirement="numpy"),
    ]
    (verdict,) = CompatibilityCheck().check(pins, _ctx([_obs()]), edges=free)
    assert verdict.package == "pandas"
    (verdict,) = CompatibilityCheck().check(pins, _ctx([_obs()]), edges=pinned)
    assert verdict.package == "numpy"
    assert verdict.nogood == (("numpy", "==2.0.2"), ("pandas", "==2.1.4"))


@pytest.mark.parametrize("flag", [["--probe", "sort"], ["--repeat", "3"], ["--threads", "4"]])
def test_a_compatibility_sweep_refuses_the_timing_options(flag: list[str], tmp_path: Path) -> None:
    """--with times nothing: a timing option given with it is a usage error, not ignored."""
    from tests.functional.helpers import clean_environ, run_cli

    result = run_cli(
        ["observe", "sweep", "numpy", "--with", "pandas", *flag, "--no-index"],
        env=clean_environ(tmp_path / "home"),
    )
    assert result.exit_code == 2, result.output
    assert flag[0] in result.output and "--with" in result.output
