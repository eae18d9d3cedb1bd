"""Tests of :mod:`advisor.lockfile.render` and the record builders of
:mod:`advisor.lockfile.record`: a lock of either format with its record, what it changed, the
pins of the lock it replaces, and the records a lock of given options and inputs carries."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from advisor.errors import InputError, LockfileError
from advisor.lockfile import read_pylock
from advisor.lockfile.record import AdviceRecord, InputsRecord, LockRecord, OptionsRecord
from advisor.lockfile.render import (
    LockText,
    baseline_pins,
    changed_pins,
    default_lock_path,
    previous_pins,
    render_lock,
)
from advisor.models import DistFile, LockFormat, Pin, Resolution

if TYPE_CHECKING:
    from pathlib import Path

INDEX = "https://idx.example.invalid/simple/"


def _pin(name: str, version: str) -> Pin:
    filename = f"{name}-{version}-py3-none-any.whl"
    sha = hashlib.sha256(filename.encode()).hexdigest()
    file = DistFile(
        filename=filename,
        url=f"https://files.example.invalid/{filename}",
        index=INDEX,
        hashes=(("sha256", sha),),
    )
    return Pin(name=canonicalize_name(name), version=Version(version), files=(file,), index=INDEX)


RESOLUTION = Resolution(pins=(_pin("idna", "3.7"), _pin("six", "1.16.0")))
RECORD = LockRecord(advisor_version="0", input_digest="d" * 64, recommendation="latest")


def test_a_pylock_carries_its_record_and_reads_back(tmp_path: Path) -> None:
    advice = AdviceRecord(score=0.123456, latest_score=0.1, differs_from_latest=("six", "idna"))
    record = RECORD.with_advice(advice)
    text = render_lock(
        RESOLUTION, record, text=LockText(environments=('python_version == "3.12"',))
    )
    path = tmp_path / "pylock.toml"
    path.write_text(text)
    locked = read_pylock(path)
    assert locked.record.input_digest == "d" * 64
    assert locked.record.other["advice"] == {
        "score": 0.1235,
        "latest-score": 0.1,
        "differs-from-latest": ["idna", "six"],
        "seed": 0,
        "budget": 0,
    }
    assert previous_pins(path) == {"idna": Version("3.7"), "six": Version("1.16.0")}
    assert baseline_pins([None, path]) == previous_pins(path)
    assert RECORD.with_advice(None) is RECORD


def test_a_requirements_lock_names_its_indexes_after_the_header(tmp_path: Path) -> None:
    text = render_lock(
        RESOLUTION,
        RECORD,
        text=LockText(
            format=LockFormat.REQUIREMENTS,
            command="advisor lock x.in",
            indexes=(INDEX, "https://more.example.invalid/simple/"),
            find_links=("/wheels",),
        ),
    )
    lines = text.splitlines()
    first_option = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    assert lines[first_option : first_option + 3] == [
        f"--index-url {INDEX}",
        "--extra-index-url https://more.example.invalid/simple/",
        "--find-links /wheels",
    ]
    bare = render_lock(RESOLUTION, RECORD, text=LockText(format=LockFormat.REQUIREMENTS))
    assert "--no-index" in bare.splitlines()
    no_lines = LockText(format=LockFormat.REQUIREMENTS, index_lines=False)
    assert "--no-index" not in render_lock(RESOLUTION, RECORD, text=no_lines)
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    assert previous_pins(path) == {"idna": Version("3.7"), "six": Version("1.16.0")}
    assert baseline_pins([path]) is None  # only a pylock.toml is a baseline


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(InputError, match="unknown lock format"):
        render_lock(RESOLUTION, RECORD, text=LockText(format="wheel"))  # type: ignore[arg-type]


def test_changed_pins_and_default_paths(tmp_path: Path) -> None:
    before = {
        canonicalize_name("idna"): Version("3.6"),
        canonicalize_name("six"): Version("1.16.0"),
    }
    assert changed_pins(before, RESOLUTION) == (("idna", "3.6", "3.7"),)
    assert changed_pins({canonicalize_name("x"): Version("1")}, RESOLUTION) == (
        ("idna", None, "3.7"),
        ("six", None, "1.16.0"),
    )
    assert changed_pins({}, RESOLUTION) == ()
    assert previous_pins(tmp_path / "missing.toml") == {}
    assert previous_pins(None) == {}
    first = tmp_path / "sub" / "requirements.in"
    assert default_lock_path(first, LockFormat.PYLOCK) == first.parent / "pylock.toml"
    assert default_lock_path(first, LockFormat.REQUIREMENTS) == first.parent / "requirements.txt"


def test_the_options_record_sorts_and_keeps_the_time_as_iso_8601() -> None:
    stamp = datetime(2024, 5, 1, tzinfo=UTC)
    record = OptionsRecord.made_with(
        pre=False,
        pre_packages=("b", "a"),
        only_binary=(":all:",),
        no_build=True,
        exclude_newer=stamp,
    )
    assert record.pre_packages == ("a", "b")
    assert record.exclude_newer == "2024-05-01T00:00:00+00:00"
    assert record.exclude_newer_time() == stamp
    assert OptionsRecord(exclude_newer="2024-05-01T00:00:00Z").exclude_newer_time() == stamp
    assert OptionsRecord(exclude_newer="2024-05-01").exclude_newer_time() == stamp  # no zone: UTC
    assert OptionsRecord().exclude_newer_time() is None
    with pytest.raises(LockfileError, match="exclude-newer"):
        OptionsRecord(exclude_newer="last tuesday").exclude_newer_time()


def test_the_inputs_record_is_relative_to_the_lock(tmp_path: Path) -> None:
    (tmp_path / "reqs").mkdir()
    record = InputsRecord.made_from(
        [tmp_path / "reqs" / "a.in"],
        lock_dir=tmp_path,
        constraints=[tmp_path / "c.txt"],
        requirements=["b", "a", "b"],
        pip_constraints=["z"],
    )
    assert record.files == ("reqs/a.in",)
    assert record.constraints == ("c.txt",)
    assert record.requirements == ("a", "b")
    assert record.pip_constraints == ("z",)
