"""How the observe jobs keep what they observed (advisor/observe/exchange.py's
store_observations and write_export, advisor/observe/runs.py's Machine.detect): a run that
records nowhere or observed nothing opens no store; an export is written whole."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.knowledge.schema import BuildObservation, Provenance
from advisor.knowledge.store import open_store
from advisor.observe.exchange import store_observations, write_export
from advisor.observe.runs import Machine

if TYPE_CHECKING:
    from pathlib import Path

PROV = Provenance(source="test", date="2026-12-07")


def test_observations_are_stored_and_none_opens_no_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    store_observations(url, [])
    store_observations(None, [BuildObservation(package="app", outcome="ok", provenance=PROV)])
    assert not (tmp_path / "k.db").exists()
    built = BuildObservation(package="app", version="1.0", outcome="ok", provenance=PROV)
    store_observations(url, [built])
    with open_store(url) as store:
        assert list(store.iter_kind("build")) == [built]


def test_an_export_is_returned_and_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    built = BuildObservation(package="app", version="1.0", outcome="ok", provenance=PROV)
    store_observations(url, [built])
    shown = write_export(["build"], store=lambda: open_store(url), path=None)
    assert shown.count == 1 and shown.path is None and '"app"' in shown.text
    written = write_export(["build"], store=lambda: open_store(url), path=tmp_path / "o.jsonl")
    assert (tmp_path / "o.jsonl").read_text("utf-8") == shown.text == written.text


def test_this_machine_carries_its_recorder_id() -> None:
    environ = {"ADVISOR_RECORDER": "lab-1"}  # named: no id is made in the user's folders
    machine = Machine.detect(environ)
    assert machine.recorder == "lab-1" and machine.environ is environ
    assert Machine.detect(environ, host=machine.host).host is machine.host
