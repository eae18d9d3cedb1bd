"""A stack-level rejection becomes a learned constraint, and the search goes around it.

The real shape (issue 14): ``opencv-python`` releases before 4.10.0.84 were built against
NumPy 1 and break with NumPy 2, and a curated ``reject-stack`` rule says so. With
``opencv-python<4.10.0.84`` and ``numpy`` as inputs, best-first picks NumPy 2 and the rule
rejects the stack; the search learns "not (opencv-python<4.10.0.84 and numpy>=2)", branches
(a newer opencv: impossible under the input's cap; numpy<2: accepted) and advises NumPy 1.
A fixture index (``file://``) reproduces it offline with the bundled rule; its versions end
in ``.90`` so that no bundled observation of a real release scores them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.functional.helpers import CliResult, clean_environ, lock_pins, read_lock, run_cli
from tests.support import FixtureIndex, Project, build_index, release

if TYPE_CHECKING:
    from pathlib import Path

#: the bundled curated rule (knowledge/prescriptions/numpy.yaml), read by every advice
RULE_ID = "numpy2-abi-opencv-python"
LEARNED = "not (opencv-python<4.10.0.84 and numpy>=2.0.0.dev0)"


def _wheel(version: str, *deps: str) -> tuple[object, ...]:
    return release(version, sdist=False, requires_dist=list(deps))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FixtureIndex:
    opencv = ["4.8.0.90", "4.9.0.90", "4.10.0.90"]
    return build_index(
        tmp_path_factory.mktemp("learning") / "index",
        [
            Project(
                name="opencv-python",
                files=[f for v in opencv for f in _wheel(v, "numpy>=1.21")],
            ),
            Project(
                name="numpy",
                files=[f for v in ("1.25.90", "1.26.90", "2.0.90", "2.1.90") for f in _wheel(v)],
            ),
        ],
    )


def _advise(index: FixtureIndex, work: Path, text: str, *args: object) -> CliResult:
    req = work / "requirements.in"
    req.write_text(text)
    return run_cli(
        [
            "advise",
            req,
            "--index-url",
            index.file_url,
            "--knowledge",
            f"sqlite:///{work / 'k.db'}",
            "-o",
            work / "pylock.toml",
            *args,
        ],
        env=clean_environ(work / "home"),
    )


def test_stable_learns_the_rule_and_advises_numpy_1(index: FixtureIndex, tmp_path: Path) -> None:
    result = _advise(
        index, tmp_path, "opencv-python<4.10.0.84\nnumpy\n", "--report", "json", "--count", "1"
    )
    assert result.exit_code == 0, result.output
    assert "rejected" not in result.stderr
    assert lock_pins(read_lock(tmp_path / "pylock.toml")) == {
        "opencv-python": "4.9.0.90",
        "numpy": "1.26.90",
    }
    report = json.loads(result.stdout)
    notes = [j for j in report["best"]["justifications"] if RULE_ID in j["message"]]
    assert [(j["package"], LEARNED in j["message"]) for j in notes] == [("numpy", True)], notes
    # the text report's "why" for numpy is the rule and what the search learned from it
    text = _advise(index, tmp_path, "opencv-python<4.10.0.84\nnumpy\n", "--dry-run")
    assert text.exit_code == 0, text.output
    why = text.stdout[text.stdout.index("numpy (direct)") :]
    assert why.index(RULE_ID) < why.index("packages ·"), text.stdout
    # best-first (rejected), the opencv branch (no consistent stack), the numpy<2 branch
    assert report["resolutions"] == 3


def test_latest_still_takes_numpy_2_and_says_the_rule(index: FixtureIndex, tmp_path: Path) -> None:
    result = _advise(
        index, tmp_path, "opencv-python<4.10.0.84\nnumpy\n", "--recommendation", "latest"
    )
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(tmp_path / "pylock.toml"))["numpy"] == "2.1.90"
    assert RULE_ID in result.stdout


def test_without_a_way_around_the_rule_comes_first(index: FixtureIndex, tmp_path: Path) -> None:
    result = _advise(index, tmp_path, "opencv-python<4.10.0.84\nnumpy>=2\n")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "pylock.toml").exists()
    lines = result.stderr.splitlines()
    start = next(
        i for i, line in enumerate(lines) if "every stack found" in line and "rejected" in line
    )
    causes = [line.strip() for line in lines[start + 1 :] if line.strip()]
    assert RULE_ID in causes[0], causes
    assert causes[1] == f"learned: {LEARNED}"
    assert causes[2].startswith("opencv-python outside <4.10.0.84: no consistent stack"), causes
    assert causes[3].startswith("numpy outside >=2.0.0.dev0: no consistent stack"), causes


def test_testing_never_writes_a_stack_its_rules_reject(index: FixtureIndex, tmp_path: Path) -> None:
    """The lowest opencv-python (4.8.0.90) with numpy>=2 is rejected by the rule; testing
    learns the constraint and takes the lowest opencv-python outside it."""
    result = _advise(index, tmp_path, "opencv-python\nnumpy>=2\n", "--recommendation", "testing")
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(tmp_path / "pylock.toml")) == {
        "opencv-python": "4.10.0.90",
        "numpy": "2.0.90",
    }
    assert "ruled out by a curated rule" not in result.stdout


def test_testing_takes_the_lowest_direct_version_with_a_wheel(tmp_path: Path) -> None:
    """``olddep`` 1.0 has only an sdist (a build a CI job would pay for): testing skips it
    and takes 1.1, the lowest with a wheel; ``--allow-sdist`` takes 1.0 (built here, offline,
    by the fixture's in-tree backend)."""
    index = build_index(
        tmp_path / "index",
        [
            Project(
                name="olddep",
                files=[
                    *release("1.0", wheel_tags=()),
                    *release("1.1"),
                    *release("2.0", sdist=False),
                ],
            )
        ],
    )
    wheels = _advise(index, tmp_path, "olddep\n", "--recommendation", "testing")
    assert wheels.exit_code == 0, wheels.output
    assert lock_pins(read_lock(tmp_path / "pylock.toml")) == {"olddep": "1.1"}
    (tmp_path / "pylock.toml").unlink()
    sdists = _advise(index, tmp_path, "olddep\n", "--recommendation", "testing", "--allow-sdist")
    assert sdists.exit_code == 0, sdists.output
    assert lock_pins(read_lock(tmp_path / "pylock.toml")) == {"olddep": "1.0"}


def test_testing_breaks_ties_toward_the_lowest_direct_versions(tmp_path: Path) -> None:
    """The pandas and scikit-learn shape of issue 14: the lowest direct versions with NumPy 2
    are rejected by the bundled rules (``numpy2-abi-pandas``, ``numpy2-abi-scikit-learn``).
    The branch that raises pandas and scikit-learn runs first and is accepted; the one that
    keeps both lowest and takes NumPy 1 comes later, at the same score. DESIGN.md: ties under
    ``testing`` go to the lowest direct versions, whichever branch found them first."""
    index = build_index(
        tmp_path / "index",
        [
            Project(
                name="pandas",
                files=[f for v in ("1.5.90", "2.2.90") for f in _wheel(v, "numpy>=1.21")],
            ),
            Project(
                name="scikit-learn",
                files=[f for v in ("1.1.90", "1.4.90") for f in _wheel(v, "numpy>=1.21")],
            ),
            Project(name="numpy", files=[f for v in ("1.26.90", "2.0.90") for f in _wheel(v)]),
        ],
    )
    work = tmp_path / "work"
    work.mkdir()
    result = _advise(
        index, work, "pandas\nscikit-learn\n", "--recommendation", "testing", "--report", "json"
    )
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(work / "pylock.toml")) == {
        "pandas": "1.5.90",
        "scikit-learn": "1.1.90",
        "numpy": "1.26.90",
    }
    report = json.loads(result.stdout)
    # the higher direct versions were found too, at the same score: a tie, not a better stack
    tied = [
        s
        for s in report["others"]
        if {p["name"]: p["version"] for p in s["pins"]}.get("scikit-learn") == "1.4.90"
    ]
    assert tied, report["others"]
    assert all(s["score"] == report["best"]["score"] for s in tied)
