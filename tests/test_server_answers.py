"""The advice endpoints' answers (advisor/server/answers.py): what the server writes is what
its client reads back, and no answer shows the server's own paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from advisor.check.findings import Finding
from advisor.check.run import CheckReport
from advisor.environment import RuntimeEnvironment
from advisor.errors import InputError
from advisor.knowledge.sources import Problem
from advisor.knowledge.sync import SyncReport
from advisor.models import Pin, Resolution
from advisor.options.outcomes import Explanation, LockOutcome
from advisor.report.explain import explanation_to_dict
from advisor.server.answers import check_answer, lock_answer_dict, sync_answer
from advisor.server.requests import lock_answer


def test_a_lock_answer_reads_back_as_the_same_outcome(tmp_path: Path) -> None:
    made = LockOutcome(
        resolution=Resolution(
            pins=(
                Pin(name=canonicalize_name("App"), version=Version("1.0"), marker=None),
                Pin(
                    name=canonicalize_name("lib"),
                    version=Version("2.1"),
                    marker='sys_platform == "linux"',
                    needs_build=True,
                ),
            )
        ),
        text="lock-version = '1.0'\n",
        path=None,
        targets=(RuntimeEnvironment.detect(),),
        digest="sha256:abc",
        warnings=("a warning",),
        changed=(("app", None, "1.0"), ("lib", "2.0", "2.1")),
        requests=7,
    )
    read = lock_answer(lock_answer_dict(made), path=tmp_path / "x")
    assert read.text == made.text and read.digest == made.digest
    assert read.resolution.pins == made.resolution.pins
    assert read.targets == made.targets
    assert (read.warnings, read.changed, read.requests) == (made.warnings, made.changed, 7)
    assert read.path == tmp_path / "x"


def test_a_check_answer_shows_paths_inside_the_clients_folder(tmp_path: Path) -> None:
    finding = Finding(id="hashes", message="no hash", path="requirements.txt", package="app")
    answer = check_answer(
        [finding],
        checked=("requirements.txt",),
        lockless=(tmp_path / "sub" / "requirements.in", Path("other.in"), Path("/elsewhere/x")),
        folder=tmp_path,
    )
    assert answer["findings"] == [
        {
            "id": "hashes",
            "message": "no hash",
            "path": "requirements.txt",
            "package": "app",
            "hint": "",
            "level": "error",
            "line": None,
        }
    ]
    assert answer["checked"] == ["requirements.txt"]
    assert answer["lockless"] == ["sub/requirements.in", "other.in", "/elsewhere/x"]


def test_a_sync_answer_names_folders_and_files_without_the_servers_paths() -> None:
    report = SyncReport(
        folder="/srv/team/knowledge",
        digest="d",
        files=3,
        added=2,
        problems=(
            Problem(file="/srv/team/knowledge/rules/a.yaml", line=4, field="match", message="bad"),
        ),
    )
    (entry,) = sync_answer([report])["folders"]
    assert entry["folder"] == "knowledge" and entry["files"] == 3 and entry["added"] == 2
    assert entry["problems"] == ["a.yaml:4: match: bad"]
    assert "/srv" not in str(entry)


def test_a_check_answer_reads_back_as_a_report(tmp_path: Path) -> None:
    finding = Finding(id="hashes", message="no hash", path="requirements.txt", line=3)
    answer = check_answer(
        [finding], checked=("requirements.txt",), lockless=(Path("a.in"),), folder=tmp_path
    )
    read = CheckReport.from_answer(answer)
    assert read == CheckReport(
        findings=(finding,), checked=("requirements.txt",), lockless=(Path("a.in"),)
    )
    for broken in ({}, {**answer, "findings": [{"id": "x"}]}):
        with pytest.raises(InputError, match="not a check report"):
            CheckReport.from_answer(broken)


def test_an_explanation_answer_reads_back() -> None:
    answer = explanation_to_dict("lib", paths=[["app", "lib"]], pin=None, version="2.0")
    read = Explanation.from_answer(answer)
    assert read == Explanation(name="lib", version="2.0", paths=[["app", "lib"]], pin=None)
    for broken in ({}, {**answer, "paths": 3}):
        with pytest.raises(InputError, match="not an explanation"):
            Explanation.from_answer(broken)
