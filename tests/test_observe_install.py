"""Tests of ``advisor observe install`` (:mod:`advisor.observe.install`, the API and the CLI)
and of exporting/importing observations, end to end with real venvs and pip.

Fixture packages live in a flat ``--find-links`` folder: ``slowpkg`` (its import sleeps
0.3 s), ``brokenimp`` 1.0 (fine) and 2.0 (raises at import), ``okpkg``, ``buildfail``, which
has only an sdist whose build backend runs a compiler that is not on ``PATH``, and
``needsfail``, which needs ``buildfail``. Each is locked with ``advisor lock``, observed, and
the advice is checked to react.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
import sys
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from advisor.environment import RuntimeEnvironment
from advisor.knowledge.schema import BuildObservation, Provenance, observation_key
from advisor.knowledge.store import open_store
from advisor.observe.blame import PinnedPackage, culprits
from advisor.observe.exchange import export_jsonl, read_jsonl
from advisor.observe.fingerprint import build_predicate, fingerprint
from tests.functional.helpers import clean_environ, run_cli
from tests.support.dists import make_wheel
from tests.test_observe_failures import MISSING_COMPILER, make_failing_sdist

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.functional.helpers import CliResult


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("observe")
    links = root / "links"
    make_wheel(
        links,
        name="slowpkg",
        version="1.0",
        files={"slowpkg/__init__.py": b"import time; time.sleep(0.3)"},
    )
    make_wheel(links, name="brokenimp", version="1.0")
    make_wheel(
        links,
        name="brokenimp",
        version="2.0",
        files={"brokenimp/__init__.py": b"raise ImportError('needs libfoo.so.3')"},
    )
    make_wheel(links, name="okpkg", version="1.0")
    make_wheel(links, name="twover", version="1.0")
    make_wheel(links, name="twover", version="2.0")
    make_failing_sdist(links, name="buildfail", version="1.0", build=MISSING_COMPILER)
    make_wheel(links, name="needsfail", version="1.0", requires_dist=["buildfail"])
    yield {"root": root, "links": links}  # fmt: skip


def _cli(site: dict[str, Path], work: Path, *args: object) -> CliResult:
    env = clean_environ(work / "home")
    return run_cli([*args], env=env)


def _lock(site: dict[str, Path], work: Path, requirements: str) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    req = work / "requirements.in"
    req.write_text(requirements)
    lock = work / "pylock.toml"
    result = _cli(
        site, work, "lock", req, "--no-index", "--find-links", site["links"], "-o", lock,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return lock


def _observe(site: dict[str, Path], work: Path, lock: Path) -> dict[str, dict[str, Any]]:
    result = _cli(
        site, work, "observe", "install", lock, "--json", "--timeout", "60",
        "--knowledge", f"sqlite:///{work / 'k.db'}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return {row["package"]: row for row in json.loads(result.stdout)}


def _assert_private(text: str, work: Path) -> None:
    """No path of this run (the work folder holds the venv, the lock and ``HOME``), no URL."""
    assert text
    for private in (str(work), "/tmp/", "file://", sys.prefix):
        assert private not in text, text


@pytest.mark.slow
def test_observe_install_records_each_package(site: dict[str, Path], tmp_path: Path) -> None:
    work = tmp_path / "w"
    lock = _lock(site, work, "slowpkg\nbrokenimp\nokpkg\n")
    rows = _observe(site, work, lock)
    assert sorted(rows) == ["brokenimp", "okpkg", "slowpkg"]
    assert rows["okpkg"]["outcome"] == "ok" and rows["okpkg"]["failure_class"] is None
    assert rows["slowpkg"]["outcome"] == "ok"
    assert rows["slowpkg"]["duration"] >= 0.3
    broken = rows["brokenimp"]
    assert (broken["outcome"], broken["failure_class"], broken["version"]) == (
        "failed", "import-error", "2.0",
    )  # fmt: skip
    assert "ImportError: needs libfoo.so.3" in broken["log_excerpt"]
    _assert_private(broken["log_excerpt"], work)
    # what the store holds: this machine's predicate, the observe provenance
    with open_store(f"sqlite:///{work / 'k.db'}") as store:
        stored = [o for o in store.iter_kind("build") if isinstance(o, BuildObservation)]
    assert sorted(o.package for o in stored) == ["brokenimp", "okpkg", "slowpkg"]
    host = RuntimeEnvironment.detect()
    for obs in stored:
        assert obs.environment == build_predicate(host)
        assert obs.provenance.source == "observe" and obs.provenance.tool.startswith("stack-")


@pytest.mark.slow
def test_stable_advice_penalises_the_failed_import(site: dict[str, Path], tmp_path: Path) -> None:
    work = tmp_path / "w"
    lock = _lock(site, work, "brokenimp\n")
    assert _observe(site, work, lock)["brokenimp"]["outcome"] == "failed"
    with open_store(f"sqlite:///{work / 'k.db'}") as store:
        (obs,) = store.iter_kind("build")
    req = work / "requirements.in"
    result = _cli(
        site, work, "advise", req, "--no-index", "--find-links", site["links"],
        "--recommendation", "stable", "-o", work / "advised.toml", "--report", "json",
        "--knowledge", f"sqlite:///{work / 'k.db'}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    terms = [
        term
        for stack in (report["best"], report["latest"])
        for pin in stack["pins"]
        if pin["name"] == "brokenimp"
        for term in pin["terms"]
    ]
    cited = [t for t in terms if t["unit"] == "build_risk" and t["value"] < 0]
    assert cited and cited[0]["evidence"] == observation_key(obs), terms
    assert "import-error" in cited[0]["reason"]
    best = {p["name"]: p["version"] for p in report["best"]["pins"]}
    assert best["brokenimp"] == "1.0"


@pytest.mark.slow
def test_failed_build_goes_to_the_package_pip_names(site: dict[str, Path], tmp_path: Path) -> None:
    work = tmp_path / "w"
    lock = _lock(site, work, "buildfail\nokpkg\nneedsfail\n")
    rows = _observe(site, work, lock)
    # a second install without buildfail observes okpkg; needsfail needs buildfail, so its
    # import says nothing about itself: it is left unjudged
    assert list(rows) == ["buildfail", "okpkg"]
    assert rows["okpkg"]["outcome"] == "ok"
    assert rows["buildfail"]["outcome"] == "failed"
    assert rows["buildfail"]["failure_class"] == "compiler-missing"
    assert "No such file or directory: 'cc'" in rows["buildfail"]["log_excerpt"]
    _assert_private(rows["buildfail"]["log_excerpt"], work)


@pytest.mark.slow
def test_wrong_hash_in_the_lock(site: dict[str, Path], tmp_path: Path) -> None:
    work = tmp_path / "w"
    lock = _lock(site, work, "okpkg\nslowpkg\n")
    text = lock.read_text()
    block = text[text.index('name = "okpkg"') :]
    digest = re.search(r'sha256 = "([0-9a-f]{64})"', block)
    assert digest is not None
    lock.write_text(text.replace(digest[1], "0" * 64))
    rows = _observe(site, work, lock)
    assert list(rows) == ["okpkg", "slowpkg"]
    # the file is not the lock's: a fault of that file on this machine, not of okpkg 1.0
    okpkg = rows["okpkg"]
    assert (okpkg["outcome"], okpkg["failure_class"]) == ("artefact-fault", "hash-mismatch")
    assert okpkg["artefact"] == {
        "filename": "okpkg-1.0-py3-none-any.whl",
        "sha256": digest[1],
        "expected": ["0" * 64],
    }
    assert okpkg["recorder"] and okpkg["recorder"] == rows["slowpkg"]["recorder"]
    assert rows["slowpkg"]["outcome"] == "ok"
    _assert_private(okpkg["log_excerpt"], work)


@pytest.mark.slow
def test_a_tampered_local_wheel_does_not_make_stable_downgrade(
    site: dict[str, Path], tmp_path: Path
) -> None:
    # issue 13: a build that failed on a locally tampered wheel was recorded against the
    # release, and `stable` then downgraded it for everyone sharing the store
    work = tmp_path / "w"
    mine = tmp_path / "my-links"
    mine.mkdir()
    for wheel in site["links"].glob("twover-*.whl"):
        shutil.copy(wheel, mine / wheel.name)
    lock = _lock({"links": mine}, work, "twover\n")
    tampered = mine / "twover-2.0-py3-none-any.whl"
    tampered.write_bytes(tampered.read_bytes() + b"tampered")
    rows = _observe(site, work, lock)
    assert rows["twover"]["outcome"] == "artefact-fault"
    assert rows["twover"]["artefact"]["sha256"] == hashlib.sha256(tampered.read_bytes()).hexdigest()
    with open_store(f"sqlite:///{work / 'k.db'}") as store:
        (stored,) = [o for o in store.iter_kind("build") if isinstance(o, BuildObservation)]
    assert (stored.package, stored.version, stored.outcome) == ("twover", "2.0", "artefact-fault")
    result = _cli(
        site, work, "advise", work / "requirements.in", "--no-index", "--find-links",
        site["links"], "--recommendation", "stable", "-o", work / "advised.toml",
        "--report", "json", "--knowledge", f"sqlite:///{work / 'k.db'}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (pin,) = [p for p in report["best"]["pins"] if p["name"] == "twover"]
    assert pin["version"] == "2.0"
    assert not [t for t in pin["terms"] if t["unit"] == "build_risk"], pin["terms"]


@pytest.mark.slow
def test_the_observation_records_the_interpreter_that_ran(
    site: dict[str, Path], tmp_path: Path
) -> None:
    from advisor.api.observing import InstallOptions, observe_install

    work = tmp_path / "w"
    lock = _lock(site, work, "okpkg\n")
    host = RuntimeEnvironment.detect()
    major, minor = sys.version_info[:2]
    # what the caller believes (a target with another Python) is not what ran
    claimed = RuntimeEnvironment.for_target(host=host, python=f"{major}.{minor + 1}")
    environ = {**clean_environ(work / "home"), "ADVISOR_RECORDER": "ci-runner-7"}
    (obs,) = observe_install(
        lock,
        install=InstallOptions(timeout=60),
        store_url=f"sqlite:///{work / 'k.db'}",
        environ=environ,
        env=claimed,
    )
    assert obs.environment.python == f"=={major}.{minor}.*"
    assert obs.interpreter == f"{sys.implementation.name} {platform.python_version()}"
    assert obs.environment.platform == host.platform
    assert obs.provenance.recorder == "ci-runner-7"
    assert obs.provenance.tool.startswith("stack-advisor ")


@pytest.mark.slow
def test_needs_build_when_an_sdist_built(tmp_path: Path) -> None:
    from tests.support.dists import make_sdist

    links = tmp_path / "links"
    make_sdist(links, name="fromsrc", version="1.0")
    work = tmp_path / "w"
    lock = _lock({"links": links}, work, "fromsrc\n")
    rows = _observe({"links": links}, work, lock)
    assert rows["fromsrc"]["outcome"] == "needs-build"
    assert rows["fromsrc"]["failure_class"] is None


def test_culprits_from_pip_output() -> None:
    pkgs = [
        PinnedPackage(name=n, version="1.0", filename=f"{n}-1.0.tar.gz", built=False)
        for n in ("alpha", "beta-two", "gamma")
    ]

    def names(text: str) -> list[str]:
        return [p.name for p in culprits(text, pkgs)]

    assert names("ERROR: Failed to build installable wheels for some pyproject.toml based "
                 "projects (beta_two)") == ["beta-two"]  # fmt: skip
    assert names("  ERROR: Failed building wheel for gamma") == ["gamma"]
    hashes = (
        "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.\n"
        "    alpha @ file:///x/alpha-1.0.tar.gz from file:///x/alpha-1.0.tar.gz:\n"
        "        Expected sha256 000\n             Got        abc\n"
    )
    assert names(hashes) == ["alpha"]
    assert names("something else entirely") == []


def test_fingerprint_and_predicate_name_no_host() -> None:
    host = RuntimeEnvironment.detect()
    fp = fingerprint(host)
    pred = build_predicate(host)
    major, minor = sys.version_info[:2]
    assert fp.python == f"{major}.{minor}" and pred.python == f"=={major}.{minor}.*"
    assert fp.platform == host.platform == pred.platform
    assert list(fp.cpu_features) == sorted(fp.cpu_features)
    assert fp.cpu_vendor == (host.cpu.vendor if host.cpu else None)
    encoded = msgspec.json.encode(fp).decode() + msgspec.json.encode(pred).decode()
    if host.uname is not None:
        assert host.uname.version not in encoded
    target = RuntimeEnvironment.from_dict({"python": "3.12", "platform": "musllinux_1_2_aarch64"})
    assert build_predicate(target).libc == "musl"
    assert (build_predicate(target).os, build_predicate(target).arch) == ("linux", "aarch64")
    assert fingerprint(target).cpu_model is None


def test_export_import_round_trip(tmp_path: Path) -> None:
    prov = Provenance(source="observe", date="2026-01-02", tool="stack-advisor 0")
    observations = [
        BuildObservation(package=n, version="1.0", outcome="ok", duration=0.5, provenance=prov)
        for n in ("zeta", "alpha")
    ]
    text = export_jsonl([*observations, observations[0]])
    assert text.count("\n") == 2
    assert text == export_jsonl(reversed(observations))  # deterministic
    path = tmp_path / "obs.jsonl"
    path.write_text(text + '{"type": "build", "package": "x", "outcome": "bogus"}\n')
    read, problems = read_jsonl(path, today="2026-03-04")
    assert sorted(o.package for o in read if isinstance(o, BuildObservation)) == ["alpha", "zeta"]
    assert all(o.provenance == prov for o in read)
    assert len(problems) == 1 and problems[0].line == 3

    store = f"sqlite:///{tmp_path / 'k.db'}"
    env = clean_environ(tmp_path / "home")
    first = run_cli(["observe", "import", path, "--knowledge", store], env=env)
    assert first.exit_code == 0, first.output
    assert "2 added" in first.stdout and "1 lines skipped" in first.stdout
    assert ":3" in first.stderr
    again = run_cli(["observe", "import", path, "--knowledge", store], env=env)
    assert "0 added" in again.stdout and "2 unchanged" in again.stdout
    out = tmp_path / "out.jsonl"
    exported = run_cli(["observe", "export", out, "--knowledge", store], env=env)
    assert exported.exit_code == 0, exported.output
    assert out.read_text() == text
    assert observation_key(observations[0]) in {observation_key(o) for o in read_jsonl(out)[0]}


@pytest.mark.slow
def test_cli_table_and_exit_code(site: dict[str, Path], tmp_path: Path) -> None:
    work = tmp_path / "w"
    lock = _lock(site, work, "brokenimp\n")
    result = _cli(
        site, work, "observe", "install", lock, "--knowledge", f"sqlite:///{work / 'k.db'}"
    )
    assert result.exit_code == 0, result.output  # a failed package is an observation
    assert "brokenimp" in result.stdout and "import-error" in result.stdout
    assert "1 observations recorded, 1 failed" in result.stdout
    missing = _cli(site, work, "observe", "install", work / "absent.toml")
    assert missing.exit_code == 2 and "absent.toml" in missing.stderr


@pytest.mark.parametrize("target", [("--platform", "win_amd64"), ("--python", "3.99")])
def test_a_lock_for_another_environment_is_refused_and_nothing_recorded(
    site: dict[str, Path], tmp_path: Path, target: tuple[str, str]
) -> None:
    # recording "no compatible file" against the releases would blame them for the lock
    work = tmp_path / "w"
    work.mkdir()
    (work / "requirements.in").write_text("okpkg\n")
    lock = work / "pylock.toml"
    result = _cli(
        site, work, "lock", work / "requirements.in", "--no-index", "--find-links",
        site["links"], *target, "-o", lock,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    store = work / "k.db"
    refused = _cli(
        site, work, "observe", "install", lock, "--knowledge", f"sqlite:///{store}",
    )  # fmt: skip
    assert refused.exit_code == 2, refused.output
    assert "the lock is for" in refused.stderr or "the lock requires Python" in refused.stderr
    assert "Traceback" not in refused.output
    assert not (work / "venv").exists()
    if store.exists():
        with open_store(f"sqlite:///{store}") as opened:
            assert opened.for_packages(["okpkg"]) == {} or not any(
                opened.for_packages(["okpkg"]).values()
            )
