"""Tests of :mod:`advisor.observe.recorder`: the recorder id every recorded observation
carries (derived from the machine's id, kept when there is none, or named explicitly), and
stamping it into provenance."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

import pytest

from advisor.errors import InputError
from advisor.knowledge.schema import BuildObservation, Provenance
from advisor.observe.recorder import (
    MACHINE_ID_FILES,
    detect_recorder,
    is_recorder,
    recorder_id,
    with_recorder,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

MACHINE = "5a1e9c0b7d2f4e6a8c3b1d0f9e7a6b54"  # made up


def _machine_id(tmp_path: Path, text: str = MACHINE + "\n") -> Path:
    path = tmp_path / "machine-id"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_id_is_derived_not_the_machine_id_itself() -> None:
    rid = recorder_id(MACHINE)
    assert re.fullmatch(r"[0-9a-f]{16}", rid)
    assert rid not in MACHINE and MACHINE[:16] != rid
    assert recorder_id(MACHINE + "\n") == rid  # as the file holds it
    assert recorder_id(MACHINE.replace("3", "4")) != rid
    assert is_recorder(rid)


def test_detect_reads_the_first_machine_id_file(tmp_path: Path) -> None:
    found = detect_recorder(
        {}, machine_id_files=(tmp_path / "absent", _machine_id(tmp_path)), data_dir=tmp_path
    )
    assert found == recorder_id(MACHINE)
    assert not (tmp_path / "recorder-id").exists()  # nothing kept when the machine has an id


def test_this_machine(tmp_path: Path) -> None:
    readable = [p for p in MACHINE_ID_FILES if p.is_file() and p.read_text().strip()]
    if not readable:
        pytest.skip("this machine has no machine id file")
    expected = recorder_id(readable[0].read_text())
    assert detect_recorder({}, data_dir=tmp_path) == expected


def test_a_machine_without_an_id_keeps_a_random_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert detect_recorder({}, machine_id_files=(), data_dir=data, create=False) == ""
    assert not data.exists()  # asking without create writes nothing
    first = detect_recorder({}, machine_id_files=(), data_dir=data)
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert (data / "recorder-id").read_text().strip() == first
    assert detect_recorder({}, machine_id_files=(), data_dir=data) == first
    assert detect_recorder({}, machine_id_files=(), data_dir=data, create=False) == first
    assert sorted(p.name for p in data.iterdir()) == ["recorder-id"]  # no temporary left


def test_concurrent_first_runs_agree_on_one_id(tmp_path: Path) -> None:
    data = tmp_path / "data"
    found: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        rid = detect_recorder({}, machine_id_files=(), data_dir=data)
        with lock:
            found.append(rid)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1 and found[0]


def test_an_unwritable_data_dir_leaves_observations_unattributed(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    # a throwaway id would make one machine look like many: none is better
    assert detect_recorder({}, machine_id_files=(), data_dir=blocker / "data") == ""


def test_advisor_recorder_names_it(tmp_path: Path) -> None:
    environ = {"ADVISOR_RECORDER": " ci-fleet.linux-x86_64 "}
    assert detect_recorder(environ, machine_id_files=(_machine_id(tmp_path),)) == (
        "ci-fleet.linux-x86_64"
    )
    for bad in ("has space", "-leading", "x" * 65, "ünïcode"):
        with pytest.raises(InputError, match="ADVISOR_RECORDER"):
            detect_recorder({"ADVISOR_RECORDER": bad}, machine_id_files=())


def test_with_recorder_fills_in_only_a_missing_recorder() -> None:
    bare = BuildObservation(
        package="six", version="1.17.0", outcome="ok", provenance=Provenance(source="s", date="d")
    )
    theirs = BuildObservation(
        package="six",
        version="1.16.0",
        outcome="ok",
        provenance=Provenance(source="s", date="d", recorder="bbbb"),
    )
    stamped = with_recorder([bare, theirs], "aaaa")
    assert [o.provenance.recorder for o in stamped] == ["aaaa", "bbbb"]
    assert stamped[0].provenance.source == "s" and stamped[0].version == "1.17.0"
    assert with_recorder([bare], "") == [bare]


def test_a_benchmark_names_its_recorder(make_venv: Callable[..., Path], tmp_path: Path) -> None:
    from advisor.api.observing import BenchOptions, observe_bench
    from advisor.knowledge.schema import PerformanceObservation
    from advisor.knowledge.store import open_store
    from tests.functional.helpers import clean_environ

    python = make_venv()
    store = f"sqlite:///{tmp_path / 'k.db'}"
    environ = {**clean_environ(tmp_path / "home"), "ADVISOR_RECORDER": "bench-box-1"}
    bench = BenchOptions(
        probes=("json.roundtrip-stdlib",),
        repeat=1,
        workdir=tmp_path / "work",
        tool="stack-advisor test",
    )
    outcome = observe_bench(
        python.parent.parent, bench=bench, store_url=store, environ=environ, today="2026-12-01"
    )
    assert outcome.performance
    assert {o.provenance.recorder for o in outcome.performance} == {"bench-box-1"}
    with open_store(store) as opened:
        stored = list(opened.iter_kind("performance"))
    assert stored and all(
        isinstance(o, PerformanceObservation) and o.provenance.recorder == "bench-box-1"
        for o in stored
    )
