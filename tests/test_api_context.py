"""``advisor.api.context.here``: the jobs' one default of the process environment, working
folder and clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from advisor.api.context import here

if TYPE_CHECKING:
    from pathlib import Path


def test_what_is_given_is_kept_and_the_environment_copied(tmp_path: Path) -> None:
    given = {"ADVISOR_KNOWLEDGE": "sqlite:///k.db"}
    when = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
    at = here(given, tmp_path, when)
    given["ADVISOR_KNOWLEDGE"] = "changed"
    assert at.environ == {"ADVISOR_KNOWLEDGE": "sqlite:///k.db"}
    assert at.cwd == tmp_path and at.now == when and at.today == "2026-12-01"


def test_what_is_not_given_is_this_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = datetime.now(UTC)
    at = here()
    assert at.environ == dict(os.environ) and at.environ is not os.environ
    assert str(at.cwd) == os.getcwd()
    assert before <= at.now <= datetime.now(UTC)


def test_a_job_that_needs_no_folder_runs_in_a_removed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder is read only when asked: ``observe install`` or ``explain`` from a folder
    since removed still get their environment and clock."""
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    at = here({"A": "1"})
    assert at.environ == {"A": "1"} and at.today
    with pytest.raises(FileNotFoundError):
        _ = at.cwd
