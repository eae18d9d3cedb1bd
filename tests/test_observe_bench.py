"""Probe definitions (knowledge/benchmarks) and benches of real interpreters.

The measured packages are tiny modules laid out as installed distributions (module folder and
``.dist-info``) on a ``PYTHONPATH`` or in a venv's site-packages: no mocks, no network.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from advisor.environment import RuntimeEnvironment
from advisor.errors import InputError
from advisor.observe.bench import (
    Subject,
    bench,
    bench_subjects,
    installed_distributions,
    parse_importtime,
    run_bench,
)
from advisor.observe.probes import (
    Probe,
    chosen_probes,
    load_probe_folders,
    load_probes,
    parse_probes,
    select_probes,
    workload_probes,
)

if TYPE_CHECKING:
    from collections.abc import Callable

BENCHMARKS = Path(__file__).resolve().parents[1] / "knowledge" / "benchmarks"
SLEEP = 0.3


def install_module(site: Path, name: str, version: str, source: str) -> None:
    """Lay out ``name`` as an installed distribution in ``site`` (module + dist-info)."""
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    (info / "top_level.txt").write_text(name + "\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A PYTHONPATH folder holding ``sleepy`` (import sleeps SLEEP s), ``broken`` (import
    raises) and ``fast``; the environment that puts it on the path."""
    folder = tmp_path / "site"
    folder.mkdir()
    install_module(folder, "sleepy", "1.0", f"import time\ntime.sleep({SLEEP})\n")
    install_module(folder, "broken", "2.0", "raise ImportError('no such thing')\n")
    install_module(folder, "fast", "3.0", "VALUE = 1\n")
    return folder, {"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"}


def env() -> RuntimeEnvironment:
    return RuntimeEnvironment.detect()


# -- probe definitions ----------------------------------------------------------------------


def test_shipped_probes_are_valid_and_cover_the_families() -> None:
    probes = load_probes(BENCHMARKS)
    names = {p.name for p in probes}
    assert {"numpy.matmul-256", "numpy.fft-65536", "pandas.groupby-sum", "pandas.merge"} <= names
    assert {"pandas.read-csv", "scikit-learn.logistic-fit-predict"} <= names
    assert {"json.roundtrip-stdlib", "json.roundtrip-orjson", "json.roundtrip-ujson"} <= names
    assert {"numpy.sort-1m", "numpy.argsort-1m", "pandas.str-upper", "pandas.str-contains"} <= names
    assert workload_probes(probes, "sort") == {"numpy.sort-1m", "numpy.argsort-1m"}
    assert workload_probes(probes, "Strings") == {"pandas.str-upper", "pandas.str-contains"}
    assert workload_probes(probes, "import") == {"import:*"}
    with pytest.raises(InputError, match=r"unknown workload 'juggling' \(known: csv, fft, "):
        workload_probes(probes, "juggling")
    for p in probes:
        assert p.unit == "s" and p.metric == "median_time"
        assert p.number * (p.repeat + p.warmup) <= 60, p.name


def test_stdlib_json_probe_runs_in_this_interpreter() -> None:
    (probe,) = select_probes(load_probes(BENCHMARKS), ["json.roundtrip-stdlib"])
    run = bench(
        sys.executable,
        probes=[probe],
        repeat=3,
        timeout=60,
        packages={},
        env=env(),
        today="2026-11-27",
        tool="advisor test",
        imports=False,
    )
    (obs,) = run.observations
    assert obs.metric == "median_time" and obs.repeats == 3
    # the standard library is no distribution: the observation is about the measured stack
    assert obs.package is None and (obs.stack_digest or "").startswith("sha256:")
    assert obs.value > 0  # a time was measured; how fast is for benchmarks, not tests
    assert run.runtime[probe.name]["status"] == "ok"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("probe = 1", "one or more [[probe]]"),
        ("[[probe]]\nname='x'\nfamily='f'\nstatement='1 +'", "statement is not valid Python"),
        ("[[probe]]\nname='x'\nfamily='f'\nstatement='1'\nrepeat=0", "'repeat' must be"),
        ("[[probe]]\nname='x'\nfamily='f'\nstatement='1'\ncolour=1", "unknown key(s) colour"),
        ("[[probe]]\nname='x'\nfamily='f'\nstatement='1'\nrequires=['a-b']", "module names"),
        ("[[probe]\n", "invalid TOML"),
    ],
)
def test_bad_probe_files_are_named(text: str, message: str) -> None:
    with pytest.raises(InputError, match=r"bad\.toml") as info:
        parse_probes(text, source="bad.toml")
    assert message in str(info.value)


def test_duplicate_and_unknown_probe_names(tmp_path: Path) -> None:
    one = "[[probe]]\nname='x'\nfamily='f'\nstatement='1'\n"
    (tmp_path / "a.toml").write_text(one, encoding="utf-8")
    (tmp_path / "b.toml").write_text(one, encoding="utf-8")
    with pytest.raises(InputError, match="already defined"):
        load_probes(tmp_path)
    (tmp_path / "b.toml").unlink()
    with pytest.raises(InputError, match="unknown probe"):
        select_probes(load_probes(tmp_path), ["y"])
    assert [p.name for p in select_probes(load_probes(tmp_path), ["f"])] == ["x"]
    with pytest.raises(InputError, match="no such benchmarks folder"):
        load_probes(tmp_path / "missing")
    # without a workload key, a probe's workload is its name's middle part
    assert [p.workload for p in load_probes(tmp_path)] == ["x"]
    (named,) = parse_probes("[[probe]]\nname='f.group-by'\nfamily='f'\nstatement='1'\n", source="s")
    assert named.workload == "group"


def test_probe_folders_and_the_chosen_probes(tmp_path: Path) -> None:
    """The folders a workload reads (the ones that exist, each once, in order) and the
    probes a bench or sweep job runs (its folder, or the curated one)."""
    first, second = tmp_path / "a", tmp_path / "b"
    for folder, name in ((first, "x"), (second, "y")):
        folder.mkdir()
        text = f"[[probe]]\nname='f.{name}'\nfamily='f'\nstatement='1'\n"
        (folder / "p.toml").write_text(text, encoding="utf-8")
    found = load_probe_folders([second, tmp_path / "missing", first, second])
    assert [p.name for p in found] == ["f.y", "f.x"]
    assert [p.name for p in chosen_probes(first, ())] == ["f.x"]
    assert [p.name for p in chosen_probes(str(second), ["f.y"])] == ["f.y"]
    curated = chosen_probes(None, ["json.roundtrip-stdlib"])
    assert curated == select_probes(load_probes(BENCHMARKS), ["json.roundtrip-stdlib"])
    with pytest.raises(InputError, match="no such benchmarks folder"):
        chosen_probes(tmp_path / "missing", ())


# -- import times -----------------------------------------------------------------------------


def test_parse_importtime() -> None:
    text = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       120 |        120 |   encodings.x\n"
        "import time:       300 |     301000 | sleepy\n"
    )
    assert parse_importtime(text, "sleepy") == pytest.approx(0.301)
    assert parse_importtime(text, "encodings.x") == pytest.approx(0.00012)
    assert parse_importtime(text, "absent") is None


def test_installed_distributions_lists_modules(site: tuple[Path, dict[str, str]]) -> None:
    _, environ = site
    found = installed_distributions(sys.executable, environ=environ)
    assert found["sleepy"].version == "1.0" and found["sleepy"].modules == ("sleepy",)
    with pytest.raises(InputError, match="cannot run"):
        installed_distributions(str(site[0] / "no-python"), environ=environ)


def test_import_time_of_a_sleeping_import_is_at_least_the_sleep(
    site: tuple[Path, dict[str, str]],
) -> None:
    _, environ = site
    observations = run_bench(
        sys.executable,
        probes=[],
        repeat=2,
        timeout=60,
        packages={"sleepy": "1.0", "fast": "3.0", "broken": "2.0"},
        env=env(),
        today="2026-11-27",
        tool="advisor test",
        environ=environ,
    )
    by = {o.package: o for o in observations}
    assert list(by) == ["broken", "fast", "sleepy"]
    sleepy = by["sleepy"]
    assert (sleepy.probe, sleepy.metric, sleepy.unit, sleepy.repeats) == (
        "import:sleepy",
        "import_time",
        "s",
        2,
    )
    assert sleepy.value >= SLEEP and sleepy.spread is not None and sleepy.spread >= 0
    assert by["fast"].value < SLEEP
    assert (by["broken"].metric, by["broken"].value, by["broken"].version) == ("failed", 0, "2.0")
    assert sleepy.provenance.source == "observe" and sleepy.provenance.date == "2026-11-27"
    assert sleepy.environment.python.startswith(f"{sys.version_info[0]}.{sys.version_info[1]}")


# -- family probes ------------------------------------------------------------------------------


def _probe(name: str, statement: str, *, requires: tuple[str, ...] = (), family: str) -> Probe:
    return Probe(
        name=name, family=family, requires=requires, setup="", statement=statement, repeat=2
    )


def test_failing_timed_out_and_skipped_probes(site: tuple[Path, dict[str, str]]) -> None:
    _, environ = site
    probes = [
        _probe("ok", "sum(range(100))", requires=("fast",), family="fast"),
        _probe("raises", "1 / 0", family="fast"),
        _probe("slow", "import time; time.sleep(300)", family="sleepy"),
        _probe("absent", "1", requires=("not_installed_anywhere",), family="fast"),
    ]
    run = bench(
        sys.executable,
        probes=probes,
        repeat=2,
        timeout=10.0,  # generous: a loaded machine starts workers slowly
        packages={},
        env=env(),
        today="2026-11-27",
        tool="advisor test",
        environ={**environ, "OMP_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "Haswell"},
    )
    by = {o.probe: o for o in run.observations}
    assert sorted(by) == ["ok", "raises", "slow"]  # skipped: not recorded
    # a thread count is the fingerprint's; a variable that changes the kernels is the
    # metric's, so such runs are never compared with plain ones
    assert by["ok"].metric == "median_time[OPENBLAS_CORETYPE=Haswell]"
    assert by["ok"].environment.threads == 1
    assert len(by["ok"].samples) == 2 and by["ok"].value == pytest.approx(
        statistics.median(by["ok"].samples), rel=1e-6
    )  # the value is rounded when recorded
    # the run's conditions travel with the observation (CPU count, BLAS env vars)
    assert by["ok"].conditions["env.OMP_NUM_THREADS"] == "1"
    assert int(by["ok"].conditions["cpu_count"]) >= 1
    assert (by["ok"].package, by["ok"].version, by["ok"].repeats) == ("fast", "3.0", 2)
    assert (by["raises"].metric, by["raises"].value) == ("failed", 0)
    assert (by["slow"].metric, by["slow"].value, by["slow"].package) == ("timeout", 0, "sleepy")
    assert "ZeroDivisionError" in run.runtime["raises"]["error"]
    assert run.runtime["ok"]["env"] == {"OMP_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "Haswell"}
    assert by["raises"].samples == () and by["slow"].samples == ()
    assert by["ok"].rounds == (0, 1) and by["raises"].rounds == by["slow"].rounds == ()
    assert run.runtime["absent"] == {"status": "skipped", "missing": ["not_installed_anywhere"]}


def test_probe_runs_in_a_venv(make_venv: Callable[..., Path]) -> None:
    python = make_venv()
    site_dir = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    install_module(site_dir, "fast", "3.0", "VALUE = 1\n")
    run = bench(
        str(python),
        probes=[_probe("ok", "fast.VALUE + 1", requires=("fast",), family="fast")],
        repeat=2,
        timeout=60,
        packages={"fast": "3.0"},
        env=env(),
        today="2026-11-27",
        tool="advisor test",
    )
    assert [(o.probe, o.metric) for o in run.observations] == [
        ("import:fast", "import_time"),
        ("ok", "failed"),  # the setup did not import it: a NameError, recorded
    ]
    assert json.dumps(run.runtime["ok"]).count("NameError") == 1


def _purelib(python: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return Path(done.stdout.strip())


def test_versions_are_measured_interleaved(make_venv: Callable[..., Path], tmp_path: Path) -> None:
    """Two venvs of this interpreter hold ``marker`` 1.0 and 2.0; its import and the probe's
    statement append the version's letter to logs, so the logs show the order in which the
    samples were really taken: a round is one sample of each, A then B."""
    import_log, probe_log = tmp_path / "imports.log", tmp_path / "probe.log"
    subjects = []
    for label, version in (("A", "1.0"), ("B", "2.0")):
        python = make_venv(f"venv-{label}")
        source = f"""\
            import os
            LABEL = {label!r}
            _fd = os.open({str(import_log)!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            os.write(_fd, LABEL.encode())
            """
        install_module(_purelib(python), "marker", version, source)
        subjects.append(Subject(python=str(python), packages={"marker": version}))
    setup = f"import os, marker\nfd = os.open({str(probe_log)!r}, os.O_WRONLY | os.O_APPEND)"
    probe_log.touch()
    probe = Probe(
        name="marker.log",
        family="marker",
        requires=("marker",),
        setup=setup,
        statement="os.write(fd, marker.LABEL.encode())",
        number=1,
        repeat=3,
        warmup=1,
    )
    runs = bench_subjects(
        subjects,
        probes=[probe],
        repeat=3,
        timeout=60,
        env=env(),
        today="2026-12-07",
        tool="advisor test",
        threads=1,
    )
    # imports: one untimed round, then 3 timed ones; then each worker's setup imports it once
    assert import_log.read_text() == "ABABABAB" + "AB"
    # the probe: one warm-up round, then 3 timed rounds, never all of A before B
    assert probe_log.read_text() == "ABABABAB"
    for run, version in zip(runs, ("1.0", "2.0"), strict=True):
        by = {o.probe: o for o in run.observations}
        assert set(by) == {"import:marker", "marker.log"}
        for obs in by.values():
            assert (obs.package, obs.version, len(obs.samples)) == ("marker", version, 3)
            # each sample's timed round, so the unit can compare A and B round by round
            assert obs.rounds == (0, 1, 2)
            assert obs.environment.threads == 1 and obs.metric in ("import_time", "median_time")
        assert run.runtime["marker.log"]["env"]["OPENBLAS_NUM_THREADS"] == "1"
        assert run.runtime["marker.log"]["blas"] is None  # no BLAS library loaded
    # one interleaved run: its observations share a session, so the unit compares them first
    sessions = {o.conditions["session"] for run in runs for o in run.observations}
    assert len(sessions) == 1


# -- the command ----------------------------------------------------------------------------------


def test_bench_command_on_a_venv_records_into_the_store(
    make_venv: Callable[..., Path], tmp_path: Path
) -> None:
    from tests.functional.helpers import clean_environ, run_cli

    python = make_venv()
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    install_module(Path(purelib), "sleepy", "1.0", f"import time\ntime.sleep({SLEEP})\n")
    knowledge = f"sqlite:///{tmp_path / 'k.db'}"
    env = clean_environ(tmp_path / "home")
    args = ["observe", "bench", python.parent.parent, "--repeat", "2", "--knowledge", knowledge]
    result = run_cli([*args, "--probe", "json.roundtrip-stdlib", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    probes = {o["probe"]: o for o in data["observations"]}
    assert probes["import:sleepy"]["value"] >= SLEEP
    assert probes["json.roundtrip-stdlib"]["metric"] == "median_time"
    assert data["runtime"]["json.roundtrip-stdlib"]["status"] == "ok"
    shown = run_cli(["knowledge", "show", "sleepy", "--knowledge", knowledge, "--json"], env=env)
    assert "import:sleepy" in shown.stdout
    bad = run_cli(["observe", "bench", tmp_path, "--knowledge", knowledge], env=env)
    assert bad.exit_code == 2 and "not a virtual environment" in bad.stderr
    unknown = run_cli([*args, "--probe", "nope"], env=env)
    assert unknown.exit_code == 2 and "unknown probe" in unknown.stderr
