"""Sweeps: version selection, job specs, and a real sweep over a fixture package whose newer
version imports slower, then the ``performance`` advice that prefers the faster one.

The fixture index is served on 127.0.0.1 (tests.support.server); locks, venvs and pip are real.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from advisor.environment import RuntimeEnvironment
from advisor.errors import InputError
from advisor.knowledge.schema import PerformanceObservation, decode_observation
from advisor.models import DistFile
from advisor.observe.sweep import (
    JobResult,
    JobSpec,
    concatenate,
    newest_with_wheel,
    read_spec,
    write_spec,
)
from tests.functional.helpers import clean_environ, run_cli
from tests.support.dists import make_sdist, make_wheel
from tests.support.index import FileSpec, FixtureIndex, IndexedFile, write_pages
from tests.support.server import IndexServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

#: import sleep per version: the newest is the slowest; 3.0 has no wheel at all
SLEEPS = {"1.0": 0.02, "2.0": 0.4}


def _dist(filename: str, *, requires_python: str | None = None) -> DistFile:
    return DistFile(
        filename=filename, url=f"file:///x/{filename}", index="i", requires_python=requires_python
    )


def test_newest_with_wheel_skips_sdists_foreign_tags_and_old_pythons() -> None:
    env = RuntimeEnvironment.for_target(
        host=RuntimeEnvironment.detect(), python="3.11", platform="manylinux_2_28_x86_64"
    )
    files = [
        _dist("pkg-5.0.tar.gz"),
        _dist("pkg-4.0-cp312-cp312-manylinux_2_28_x86_64.whl"),
        _dist("pkg-3.0-py3-none-any.whl", requires_python=">=3.12"),
        _dist("pkg-2.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
        _dist("pkg-2.0-cp311-cp311-win_amd64.whl"),
        _dist("pkg-1.5rc1-py3-none-any.whl"),
        _dist("pkg-1.0-py3-none-any.whl"),
        _dist("pkg-0.9-py3-none-any.whl"),
        _dist("other-9.0-py3-none-any.whl"),
    ]
    assert newest_with_wheel("PKG", files, env=env, count=2) == ("2.0", "1.0")
    assert newest_with_wheel("pkg", files, env=env, count=9, allow_prereleases=True) == (
        "2.0",
        "1.5rc1",
        "1.0",
        "0.9",
    )


def test_job_spec_round_trip_and_errors(tmp_path: Path) -> None:
    spec = JobSpec(
        requirement="pkg==1.0", probes=("json",), today="2026-11-27", tool="stack-advisor 0"
    )
    path = write_spec(spec, tmp_path / "job" / "job.json")
    assert read_spec(path) == spec
    assert json.loads(path.read_text())["probes"] == ["json"]
    path.write_text('{"requirement": "x", "colour": 1}')
    with pytest.raises(InputError, match="unknown job spec key"):
        read_spec(path)
    path.write_text('{"requirement": "x"}')
    with pytest.raises(InputError, match="invalid job spec"):
        read_spec(path)
    path.write_text("[")
    with pytest.raises(InputError, match="cannot read job spec"):
        read_spec(path)


def test_concatenate_keeps_order_and_drops_repeats(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"n":1}\n{"n":2}\n')
    b.write_text('{"n":2}\n{"n":3}\n')
    results = [
        JobResult(spec="a", requirement="p==1", jsonl=str(a)),
        JobResult(spec="x", requirement="p==2", error="no"),
        JobResult(spec="b", requirement="p==3", jsonl=str(b)),
    ]
    out = tmp_path / "out" / "all.jsonl"
    assert concatenate(results, out) == 3
    assert out.read_text() == '{"n":1}\n{"n":2}\n{"n":3}\n'


# -- a real sweep -------------------------------------------------------------------------------


def _indexed(path: Path, version: str) -> IndexedFile:
    data = path.read_bytes()
    kind = "sdist" if path.name.endswith(".tar.gz") else "py3-none-any"
    return IndexedFile(
        project="tortoise",
        filename=path.name,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        spec=FileSpec(version=version, kind=kind, upload_time=datetime(2025, 1, 1, tzinfo=UTC)),
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An index with ``tortoise`` 1.0 and 2.0 (wheels whose import sleeps ``SLEEPS``) and
    3.0 (an sdist only); yields its URL."""
    root = tmp_path_factory.mktemp("sweep-index")
    files_dir = root / "files"
    built = []
    for version, sleep in SLEEPS.items():
        source = f"import time\ntime.sleep({sleep})\n__version__ = {version!r}\n".encode()
        wheel = make_wheel(
            files_dir, name="tortoise", version=version, files={"tortoise/__init__.py": source}
        )
        built.append(_indexed(wheel, version))
    built.append(_indexed(make_sdist(files_dir, name="tortoise", version="3.0"), "3.0"))
    write_pages(root, built, {"tortoise": "tortoise"})
    with IndexServer(FixtureIndex(root=root, files=tuple(built))) as server:
        yield server.url


@pytest.mark.slow
def test_sweep_records_both_versions_and_performance_advice_prefers_the_faster(
    served: str, tmp_path: Path
) -> None:
    env = {**clean_environ(tmp_path / "home"), "ADVISOR_RECORDER": "sweep-box"}
    knowledge = f"sqlite:///{tmp_path / 'k.db'}"
    work, out = tmp_path / "work", tmp_path / "out.jsonl"
    result = run_cli(
        [
            # the newest of each line: 2.0 (3.0 has no wheel) and 1.0
            "observe", "sweep", "tortoise>=2", "tortoise<2", "--versions", "1", "--repeat", "5",
            "--jobs", "2",
            "--probe", "json.roundtrip-stdlib", "--index-url", served, "--workdir", work,
            "--output", out, "--knowledge", knowledge, "--json",
        ],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert [r["requirement"] for r in json.loads(result.stdout)] == [
        "tortoise==2.0",
        "tortoise==1.0",
    ]
    specs = sorted(work.glob("*/job.json"))
    assert [p.parent.name for p in specs] == ["tortoise-1.0", "tortoise-2.0"]
    assert read_spec(specs[0]).requirement == "tortoise==1.0"
    observations = [decode_observation(line) for line in out.read_text().splitlines()]
    imports = {
        o.version: o
        for o in observations
        if isinstance(o, PerformanceObservation) and o.probe == "import:tortoise"
    }
    assert set(imports) == {"1.0", "2.0"}
    assert imports["2.0"].value >= SLEEPS["2.0"] > imports["1.0"].value
    assert all(o.metric == "import_time" and len(o.samples) == 5 for o in imports.values())
    # threads pinned (default 1) and recorded with the machine
    assert all(o.environment.threads == 1 for o in imports.values())
    # every observation of the sweep, its installs' and its measurements', names its recorder
    assert {o.provenance.recorder for o in observations} == {"sweep-box"}
    text = out.read_text()
    assert "127.0.0.1" not in text and str(tmp_path) not in text

    req = tmp_path / "requirements.in"
    req.write_text("tortoise\n")
    advice = run_cli(
        [
            "advise", req, "--index-url", served, "--knowledge", knowledge,
            "--recommendation", "performance", "-o", tmp_path / "pylock.toml",
            "--report", "json",
        ],
        env=env,
    )  # fmt: skip
    assert advice.exit_code == 0, advice.stderr
    report = json.loads(advice.stdout)
    (pin,) = [p for p in report["best"]["pins"] if p["name"] == "tortoise"]
    assert pin["version"] == "1.0"
    (cited,) = [t for t in pin["terms"] if t["unit"] == "performance"]
    assert "import:tortoise" in cited["reason"] and cited["evidence"]
    assert "tortoise 1.0 is" in cited["reason"] and "faster" in cited["reason"]
    assert cited["effect"] > 0.5 and cited["ci"][0] > 0 and cited["n"] == [5, 5]
