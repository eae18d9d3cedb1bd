"""What a sweep asks for (advisor.observe.plan) and the JSONL exchange with a store
(advisor.observe.exchange): options, versions, pairs, and the store opened only once the
input is known good. Real SQLite stores in tmp_path; the index is a list of files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from advisor.environment import RuntimeEnvironment
from advisor.errors import InputError
from advisor.knowledge.schema import CompatibilityObservation, Provenance, decode_observation
from advisor.knowledge.store import open_store
from advisor.models import DistFile
from advisor.observe.compat import CompatOutcome, Pair, PairResult, PipSource
from advisor.observe.exchange import append_jsonl, export_store, import_jsonl
from advisor.observe.plan import (
    CompatOptions,
    SweepOptions,
    compat_interpreter,
    compat_pairs,
    newest_versions,
)

if TYPE_CHECKING:
    from advisor.knowledge.store import KnowledgeStore

FILES = {
    "pkg": ["pkg-3.0-py3-none-any.whl", "pkg-2.0-py3-none-any.whl", "pkg-1.0-py3-none-any.whl"],
    "other": ["other-2.0-py3-none-any.whl", "other-1.0-py3-none-any.whl", "other-0.1.tar.gz"],
    "third": ["third-1.0-py3-none-any.whl"],
}


def _find(name: str) -> list[DistFile]:
    return [DistFile(filename=f, url=f"file:///x/{f}", index="i") for f in FILES.get(name, [])]


def _target() -> RuntimeEnvironment:
    return RuntimeEnvironment.for_target(
        host=RuntimeEnvironment.detect(), python="3.11", platform="manylinux_2_28_x86_64"
    )


def test_sweep_options_make_the_job_template() -> None:
    sweep = SweepOptions(count=2, probes=("import",), repeat=5, threads=None, timeout=30.0,
                         benchmarks=Path("/b"), tool="t")  # fmt: skip
    pip = PipSource(index_url="http://127.0.0.1:1/simple", find_links=("/w",), no_index=True)
    spec = sweep.template(python="3.12", pip=pip, knowledge="sqlite:///k.db", today="d")
    assert spec.requirement == ""
    assert (spec.probes, spec.repeat, spec.threads, spec.timeout) == (("import",), 5, None, 30.0)
    assert (spec.python, spec.index_url, spec.find_links, spec.no_index) == (
        "3.12",
        "http://127.0.0.1:1/simple",
        ("/w",),
        True,
    )
    assert (spec.knowledge, spec.benchmarks, spec.today, spec.tool) == (
        "sqlite:///k.db",
        "/b",
        "d",
        "t",
    )


def test_newest_versions_merges_the_lines_of_one_package_newest_first() -> None:
    lines = {"pkg<2": ("pkg", ("1.0",)), "pkg>=2": ("pkg", ("3.0", "2.0")), "o": ("o", ("9",))}
    asked: list[tuple[str, int]] = []

    def versions(requirement: str, count: int) -> tuple[str, tuple[str, ...]]:
        asked.append((requirement, count))
        return lines[requirement]

    found = newest_versions(["pkg<2", "pkg>=2", "o"], count=4, versions=versions)
    assert found == {"pkg": ["3.0", "2.0", "1.0"], "o": ["9"]}
    assert list(found) == ["pkg", "o"]
    assert asked == [("pkg<2", 4), ("pkg>=2", 4), ("o", 4)]


def test_compat_pairs_pair_the_newest_with_the_newest_of_each_other() -> None:
    options = CompatOptions(count=2, other_count=1)
    pairs = compat_pairs(["PKG"], ["other", "third"], options=options, find=_find, target=_target())
    assert pairs == (
        Pair(package="pkg", version="3.0", other="other", other_version="2.0"),
        Pair(package="pkg", version="2.0", other="other", other_version="2.0"),
        Pair(package="pkg", version="3.0", other="third", other_version="1.0"),
        Pair(package="pkg", version="2.0", other="third", other_version="1.0"),
    )
    lines = compat_pairs(
        ["pkg<2", "pkg>=3"], ["other<2"], options=options, find=_find, target=_target()
    )
    assert [(p.version, p.other_version) for p in lines] == [("3.0", "1.0"), ("1.0", "1.0")]


def test_compat_pairs_refuse_two_packages_and_a_package_with_no_wheel() -> None:
    options = CompatOptions()
    with pytest.raises(InputError, match="one package's versions, not other, pkg"):
        compat_pairs(["pkg", "other"], ["third"], options=options, find=_find, target=_target())
    with pytest.raises(InputError, match="no version has a wheel"):
        compat_pairs(["pkg"], ["missing"], options=options, find=_find, target=_target())


def test_compat_interpreter_is_this_one() -> None:
    here = "{}.{}".format(*sys.version_info[:2])
    assert compat_interpreter(None) == sys.executable
    assert compat_interpreter(here) == sys.executable
    with pytest.raises(InputError, match=f"--python 2.7: a compatibility sweep runs Python {here}"):
        compat_interpreter("2.7")


def _observation(version: str) -> CompatibilityObservation:
    prov = Provenance(source="observe", date="2026-12-01", tool="t", recorder="r")
    return CompatibilityObservation(
        package="pkg",
        version=version,
        other="other",
        other_version="1.0",
        outcome="ok",
        provenance=prov,
    )


def test_append_export_import_through_a_store(tmp_path: Path) -> None:
    shared = tmp_path / "out" / "compat.jsonl"
    append_jsonl(shared, [])
    assert not shared.parent.exists()  # nothing to write: no folder, no file
    append_jsonl(shared, [_observation("2.0")])
    append_jsonl(shared, [_observation("1.0")])
    lines = shared.read_text(encoding="utf-8").splitlines()
    assert [decode_observation(line.encode()).version for line in lines] == ["2.0", "1.0"]

    url = f"sqlite:///{tmp_path / 'k.db'}"
    outcome = import_jsonl(shared, today="2026-12-07", store=lambda: open_store(url))
    assert (outcome.read, outcome.added, outcome.unchanged, outcome.problems) == (2, 2, 0, ())
    again = import_jsonl(shared, today="2026-12-07", store=lambda: open_store(url))
    assert (again.added, again.unchanged) == (0, 2)
    text = export_store(["compatibility"], store=lambda: open_store(url))
    assert sorted(text.splitlines()) == sorted(lines)
    assert export_store(["build"], store=lambda: open_store(url)) == ""


def test_bad_input_opens_no_store(tmp_path: Path) -> None:
    """A bad kind or a missing file is refused before the store is opened (so a default
    store is never created by a command that fails)."""
    opened: list[str] = []

    def store() -> KnowledgeStore:
        opened.append("opened")
        return open_store(f"sqlite:///{tmp_path / 'never.db'}")

    with pytest.raises(InputError, match="cannot export image"):
        export_store(["build", "image"], store=store)
    with pytest.raises(InputError, match="no such file"):
        import_jsonl(tmp_path / "missing.jsonl", today="2026-12-07", store=store)
    assert opened == []
    assert not (tmp_path / "never.db").exists()


def test_a_compat_outcome_holds_the_observations_its_pairs_made() -> None:
    pair = Pair(package="pkg", version="1.0", other="other", other_version="1.0")
    made = _observation("1.0")
    results = [
        PairResult(pair=pair, status="observed", observation=made),
        PairResult(pair=pair, status="no-wheel", detail="no wheel"),
    ]
    outcome = CompatOutcome.of(iter(results))
    assert outcome.results == tuple(results)
    assert outcome.observations == (made,)
