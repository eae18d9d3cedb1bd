"""``advisor advise`` against real advisories: the OSV dump in ``../shared/data``.

The fixture packages carry real names and versions around real fixes in that dump:
``requests`` 2.30.0 (PYSEC-2023-74, fixed in 2.31.0), ``urllib3`` 2.0.6 (PYSEC-2023-212,
fixed in 1.26.18 and 2.0.7) and ``Jinja2`` 2.11.2 (PYSEC-2021-66, fixed in 2.11.3). Two
parents make ``latest`` (pip) take the affected versions although safe ones resolve: the
newest ``webapp`` pins ``requests==2.30.0`` and the newest ``docsite`` asks ``Jinja2<2.11.3``.
``pinned-client`` pins the affected ``requests`` exactly, so no safe stack exists.

Checked: ``security`` never pins an affected version when a safe stack exists (every pin is
checked against every advisory of the dump), exits 1 naming the advisory, the package and
the fixed version when none exists, lets a waived advisory through until its ``until``
date; ``stable`` keeps the safe versions by score (the security term) and reports why. The
dump is passed with ``--osv``; the knowledge store is a SQLite file in the test's tmp dir.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from advisor.knowledge.osv import is_affected
from advisor.knowledge.sources.osv_import import load_osv
from tests.functional.helpers import CliResult, clean_environ, lock_pins, read_lock, run_cli
from tests.support import FixtureIndex, Project, build_index, release

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Mapping

    from advisor.knowledge.schema import Advisory

OSV_NAME = "osv-pypi-2024-10-10.zip"

SAFE = {
    "webapp": "1.0",
    "requests": "2.31.0",
    "urllib3": "1.26.18",
    "docsite": "1.0",
    "jinja2": "2.11.3",
}
AFFECTED = {
    "webapp": "1.1",
    "requests": "2.30.0",
    "urllib3": "2.0.6",
    "docsite": "1.1",
    "jinja2": "2.11.2",
}
ADVISORIES = {"requests": "PYSEC-2023-74", "urllib3": "PYSEC-2023-212", "jinja2": "PYSEC-2021-66"}


def osv_dump() -> Path:
    """The OSV dump in ``shared/data`` next to the repository checkout."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / OSV_NAME


@pytest.fixture(scope="module")
def osv() -> Path:
    path = osv_dump()
    if not path.is_file():
        reason = f"OSV dump not found at {path} (expected ../shared/data next to the repo)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def advisories(osv: Path) -> tuple[Advisory, ...]:
    return tuple(load_osv(osv, date="2024-10-10").advisories)


def _projects() -> list[Project]:
    urllib3 = ["urllib3>=1.21.1,<3"]
    return [
        Project(
            name="requests",
            files=[
                *release("2.30.0", requires_dist=urllib3),
                *release("2.31.0", requires_dist=urllib3),
            ],
        ),
        Project(name="urllib3", files=[*release("1.26.18"), *release("2.0.6")]),
        Project(name="Jinja2", files=[*release("2.11.2"), *release("2.11.3")]),
        Project(
            name="webapp",
            files=[
                *release("1.0", requires_dist=["requests>=2.30"]),
                *release("1.1", requires_dist=["requests==2.30.0"]),
            ],
        ),
        Project(
            name="docsite",
            files=[
                *release("1.0", requires_dist=["Jinja2>=2.11"]),
                *release("1.1", requires_dist=["Jinja2>=2.11,<2.11.3"]),
            ],
        ),
        Project(name="pinned-client", files=[*release("1.0", requires_dist=["requests==2.30.0"])]),
        Project(name="pinned-pool", files=[*release("1.0", requires_dist=["urllib3==2.0.6"])]),
    ]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FixtureIndex:
    return build_index(tmp_path_factory.mktemp("security") / "index", _projects())


def _advise(
    index: FixtureIndex,
    osv: Path,
    work: Path,
    inputs: list[Path],
    kind: str,
    *args: object,
) -> CliResult:
    return run_cli(
        [
            "advise",
            *inputs,
            "--index-url",
            index.file_url,
            "--knowledge",
            f"sqlite:///{work / 'k.db'}",
            "--osv",
            osv,
            "--recommendation",
            kind,
            *args,
        ],
        env=clean_environ(work / "home"),
    )


def _requirements(tmp_path: Path, text: str) -> Path:
    req = tmp_path / "requirements.in"
    req.write_text(text)
    return req


def _pin(stack: Mapping[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in stack["pins"] if p["name"] == name)


def _affecting(advisories: tuple[Advisory, ...], pins: Mapping[str, str]) -> dict[str, list[str]]:
    """Every pin affected by an advisory of the dump: name → advisory ids."""
    found: dict[str, list[str]] = {}
    for advisory in advisories:
        if advisory.withdrawn:
            continue
        for name, version in pins.items():
            if is_affected(advisory, name, version):
                found.setdefault(name, []).append(advisory.id)
    return found


def test_the_fixture_versions_are_the_real_ones(advisories: tuple[Advisory, ...]) -> None:
    """The dump says what the fixture relies on (a guard against a different dump)."""
    assert _affecting(advisories, AFFECTED) == {
        name: [advisory] for name, advisory in ADVISORIES.items()
    }
    assert _affecting(advisories, SAFE) == {}


def test_latest_pins_the_affected_versions_and_warns(
    index: FixtureIndex, osv: Path, tmp_path: Path
) -> None:
    req = _requirements(tmp_path, "webapp\ndocsite\n")
    result = _advise(index, osv, tmp_path, [req], "latest", "-o", tmp_path / "pylock.toml",
                     "--report", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(tmp_path / "pylock.toml")) == AFFECTED
    best = json.loads(result.stdout)["best"]
    for name, advisory in ADVISORIES.items():
        notes = _pin(best, name)["justifications"]
        assert any(
            j["level"] == "warning"
            and j["unit"] == "security"
            and advisory in j["message"]
            and j["link"].endswith(f"/vulnerability/{advisory}")
            for j in notes
        ), (name, notes)


def test_security_never_pins_an_affected_version(
    index: FixtureIndex, osv: Path, advisories: tuple[Advisory, ...], tmp_path: Path
) -> None:
    req = _requirements(tmp_path, "webapp\ndocsite\n")
    result = _advise(index, osv, tmp_path, [req], "security", "-o", tmp_path / "pylock.toml",
                     "--report", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    pins = lock_pins(read_lock(tmp_path / "pylock.toml"))
    assert pins == SAFE
    assert _affecting(advisories, pins) == {}
    report = json.loads(result.stdout)
    # each affected version was removed, with the advisory and its fix as the reason
    for name, advisory in ADVISORIES.items():
        removed = next(
            a for a in _pin(report["best"], name)["alternatives"] if a["version"] == AFFECTED[name]
        )
        assert removed["score"] is None
        assert advisory in removed["reason"] and "fixed in" in removed["reason"], removed
    assert report["summary"]["differing_from_latest"] == sorted(SAFE)


@pytest.mark.slow
def test_the_security_lock_installs_with_pip(
    index: FixtureIndex,
    osv: Path,
    tmp_path: Path,
    make_venv: Callable[..., Path],
    run_pip: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    req = _requirements(tmp_path, "webapp\ndocsite\n")
    lock = tmp_path / "pylock.toml"
    assert _advise(index, osv, tmp_path, [req], "security", "-o", lock).exit_code == 0
    python = make_venv()
    proc = run_pip("install", "--no-index", "-r", str(lock), python=python)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = run_pip("list", "--format", "json", python=python)
    installed = {d["name"].lower(): d["version"] for d in json.loads(listed.stdout)}
    assert installed == SAFE


def test_security_without_a_safe_stack_names_advisory_package_and_fix(
    index: FixtureIndex, osv: Path, tmp_path: Path
) -> None:
    req = _requirements(tmp_path, "pinned-client\n")
    lock = tmp_path / "pylock.toml"
    result = _advise(index, osv, tmp_path, [req], "security", "-o", lock)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert not lock.exists()
    lines = result.output.splitlines()
    assert any(line.startswith("requests:") for line in lines), result.output
    # the first line of the explanation names the advisory; then the version it removed
    first, *blocked = [line for line in lines if "PYSEC-2023-74" in line]
    assert first.startswith("requests: ") and "fixed in 2.31.0" in first, first
    (version,) = blocked
    assert version.strip().startswith("2.30.0: ") and "fixed in 2.31.0" in version, version
    assert "requests==2.30.0" in result.output and "pinned-client" in result.output


def test_security_conflict_names_the_nearest_release_on_the_index(
    index: FixtureIndex, osv: Path, tmp_path: Path
) -> None:
    """Regression (found by these tests, fixed in the working tree): advisor/api/advising.py
    _advise_target builds UnitScorer(kind, ctx) without versions_of, so every CandidateInfo has
    versions=() and advisor/scoring/units/security.py SecurityFilter.reject never adds ';
    nearest unaffected release: X' (nearest_unaffected sees no release). Input: pinned-pool pins
    urllib3==2.0.6 (PYSEC-2023-212, fixed in 1.26.18 and 2.0.7; only 1.26.18 is on the index),
    --recommendation security. Expected: the message names 1.26.18 as the nearest unaffected
    release; actual: only the advisory's 'fixed in 1.26.18, 2.0.7'."""
    req = _requirements(tmp_path, "pinned-pool\n")
    result = _advise(index, osv, tmp_path, [req], "security", "-o", tmp_path / "pylock.toml")
    assert result.exit_code == 1, result.output
    assert "PYSEC-2023-212" in result.output
    assert "nearest unaffected release: 1.26.18" in result.output


def _project(tmp_path: Path, until: str, waived: str = "PYSEC-2023-74") -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    path = folder / "pyproject.toml"
    path.write_text(
        "[project]\n"
        'name = "demo"\n'
        'version = "0.1"\n'
        'dependencies = ["pinned-client"]\n'
        "\n"
        "[tool.advisor.policy]\n"
        "allow-advisories = [\n"
        f'  {{ id = "{waived}", reason = "we never send proxy credentials", until = {until} }},\n'
        "]\n"
    )
    return path


@pytest.mark.parametrize("waived", ["PYSEC-2023-74", "CVE-2023-32681", "ghsa-j8r2-6x86-q33q"])
def test_a_waiver_with_a_future_until_lets_it_through(
    index: FixtureIndex, osv: Path, advisories: tuple[Advisory, ...], tmp_path: Path, waived: str
) -> None:
    pyproject = _project(tmp_path, "2099-12-31", waived)
    lock = pyproject.parent / "pylock.toml"
    result = _advise(index, osv, tmp_path, [pyproject], "security", "-o", lock, "--report", "json")
    assert result.exit_code == 0, result.output
    pins = lock_pins(read_lock(lock))
    assert pins == {"pinned-client": "1.0", "requests": "2.30.0", "urllib3": "1.26.18"}
    # only the waived advisory remains: urllib3 was still moved off its affected version
    assert _affecting(advisories, pins) == {"requests": ["PYSEC-2023-74"]}
    notes = _pin(json.loads(result.stdout)["best"], "requests")["justifications"]
    (note,) = [j for j in notes if j["unit"] == "security"]
    assert note["level"] == "info"
    assert "accepted by the policy until 2099-12-31" in note["message"]
    assert "we never send proxy credentials" in note["message"]


def test_an_expired_waiver_does_not(index: FixtureIndex, osv: Path, tmp_path: Path) -> None:
    pyproject = _project(tmp_path, "2020-01-31")
    lock = pyproject.parent / "pylock.toml"
    result = _advise(index, osv, tmp_path, [pyproject], "security", "-o", lock)
    assert result.exit_code == 1, result.output
    assert "PYSEC-2023-74" in result.output
    assert not lock.exists()


def test_a_waiver_without_a_reason_is_a_config_error(
    index: FixtureIndex, osv: Path, tmp_path: Path
) -> None:
    pyproject = _project(tmp_path, "2099-12-31")
    pyproject.write_text(
        pyproject.read_text().replace(', reason = "we never send proxy credentials"', "")
    )
    result = _advise(index, osv, tmp_path, [pyproject], "security", "--dry-run")
    assert result.exit_code != 0
    assert "tool.advisor.policy.allow-advisories[0].reason" in result.output
    assert "Traceback" not in result.output


def test_stable_keeps_the_safe_versions_by_score_and_says_why(
    index: FixtureIndex, osv: Path, tmp_path: Path
) -> None:
    req = _requirements(tmp_path, "webapp\ndocsite\n")
    lock = tmp_path / "pylock.toml"
    result = _advise(index, osv, tmp_path, [req], "stable", "-o", lock, "--report", "json")
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(lock)) == SAFE
    report = json.loads(result.stdout)
    for name, advisory in ADVISORIES.items():
        pin = _pin(report["best"], name)
        assert pin["differs"] and pin["latest"] == AFFECTED[name]
        terms = _pin(report["latest"], name)["terms"]
        (term,) = [t for t in terms if t["unit"] == "security"]
        assert term["value"] == -1.0
        assert advisory in term["reason"]
        assert term["evidence"].endswith(f"/vulnerability/{advisory}")
        # the advised version was scored too, and nothing held it back
        assert pin["terms"] == []
        kept = next(a for a in pin["alternatives"] if a["version"] == AFFECTED[name])
        # weight 3 x -1 (urllib3 2.0.6 may also be scored as the first release of major 2)
        assert kept["score"] <= -3.0 and advisory in kept["reason"]
    summary = report["summary"]
    assert summary["best_score"] == 0.0 and summary["latest_score"] <= -9.0
    text = _advise(index, osv, tmp_path, [req], "stable", "--dry-run")
    flat = " ".join(text.stdout.split())
    for name, advisory in ADVISORIES.items():
        assert f"{AFFECTED[name]} → {SAFE[name]}" in flat
        assert f"security -1.00: affected by {advisory}" in flat


def test_stable_without_a_safe_stack_keeps_the_pin_and_warns(
    index: FixtureIndex, osv: Path, tmp_path: Path
) -> None:
    req = _requirements(tmp_path, "pinned-client\n")
    lock = tmp_path / "pylock.toml"
    result = _advise(index, osv, tmp_path, [req], "stable", "-o", lock, "--report", "json")
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(lock))["requests"] == "2.30.0"
    notes = _pin(json.loads(result.stdout)["best"], "requests")["justifications"]
    assert any(j["level"] == "warning" and "PYSEC-2023-74" in j["message"] for j in notes)
