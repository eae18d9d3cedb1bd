"""``advisor advise`` end to end: every recommendation type on fixture projects served over HTTP.

The fixture index (module scope, behind a real :class:`IndexServer` on 127.0.0.1 so the
PEP 691 JSON pages carry PEP 700 upload times) holds one project of each kind the units act
on: dependencies with extras and markers, a yanked newest release, a newest release uploaded
yesterday (``stable`` must wait out the minimum release age), a newest release with only an
sdist, a pre-release that ``latest`` takes because the requirement names one, and a lowest
release that does not resolve (``testing`` must skip it). Every advise call passes
``--knowledge sqlite:///<tmp>/k.db`` so no user store is touched.

What is checked: each type's lock is consistent with the fixture's metadata (and, marked
slow, installs with real pip into a fresh venv); ``stable``/``performance`` differ from
``latest`` only where the JSON report carries a term naming the unit and its evidence;
``testing`` takes the lowest resolvable direct versions; ``latest`` equals ``advisor lock``
and pip; the baseline comparison, the Markdown report and ``--report-file``; ``advisor
explain``; the plain error when no stack exists; curated rules from a ``--knowledge-dir``;
and a measured performance observation. Tests whose docstring starts with "Regression"
describe product bugs these tests found.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from advisor.environment import RuntimeEnvironment
from tests.functional.helpers import (
    CliResult,
    clean_environ,
    lock_pins,
    pip_report_pins,
    read_lock,
    run_cli,
)
from tests.support import FixtureIndex, IndexServer, Project, build_index, release

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from pathlib import Path

    from tests.support.index import FileSpec

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=400)
OLDER = NOW - timedelta(days=500)
YESTERDAY = NOW - timedelta(days=1)
TYPES = ("latest", "stable", "performance", "security", "testing")
REQUIREMENTS = "webapp\ntool>=1.0b1\n"


def _projects() -> list[Project]:
    return [
        Project(
            name="webapp",
            files=[
                # the lowest release cannot resolve (no corelib<1 exists): testing skips it
                *release("0.9", requires_dist=["corelib<1"], upload_time=OLDER),
                *release("1.0", requires_dist=["corelib>=1"], upload_time=OLD),
                *release(
                    "1.1",
                    requires_dist=[
                        "corelib>=1",
                        "plugin[fast]>=1",
                        'winonly; sys_platform == "win32"',
                        'pyonly; python_version >= "3.8"',
                    ],
                    upload_time=OLD,
                ),
                # the newest release is yanked: nobody picks it
                *release(
                    "1.2", requires_dist=["corelib>=1"], upload_time=OLD, yanked="broken upload"
                ),
            ],
        ),
        # 2.0 was uploaded yesterday: stable waits out the minimum release age
        Project(
            name="corelib",
            files=[
                *release("1.0", upload_time=OLDER),
                *release("1.5", upload_time=OLD),
                *release("2.0", upload_time=YESTERDAY),
            ],
        ),
        Project(
            name="plugin",
            files=[*release("1.0", upload_time=OLD, extras={"fast": ["speedups>=1.0"]})],
        ),
        # the newest release has only an sdist: stable prefers the wheel of 1.0
        Project(
            name="speedups",
            files=[
                *release("1.0", upload_time=OLD),
                *release("1.1", wheel_tags=(), upload_time=OLD),
            ],
        ),
        Project(name="winonly", files=[*release("1.0", upload_time=OLD)]),
        Project(name="pyonly", files=[*release("1.0", upload_time=OLD)]),
        # the requirement names a pre-release, so latest (pip) takes 2.0b1
        Project(
            name="tool",
            files=[*release("1.0", upload_time=OLD), *release("2.0b1", upload_time=OLD)],
        ),
        # curated rules (test_curated_rules_*): rulelib 1.2 is filtered, ruleapp 1.1 next
        # to rulelib 1.1 is rejected
        Project(
            name="ruleapp",
            files=[
                *release("1.0", requires_dist=["rulelib>=1"], upload_time=OLD),
                *release("1.1", requires_dist=["rulelib>=1"], upload_time=OLD),
            ],
        ),
        Project(
            name="rulelib",
            files=[
                *release("1.0", upload_time=OLD),
                *release("1.1", upload_time=OLD),
                *release("1.2", upload_time=OLD),
            ],
        ),
        # one release per major line, both out for over a year (test_new_major_*)
        Project(
            name="fmttool",
            files=[*release("22.12.0", upload_time=OLDER), *release("26.5.1", upload_time=OLD)],
        ),
        # measured performance (test_performance_*): 1.0 is three times faster than 1.1
        Project(
            name="fastcalc",
            files=[*release("1.0", upload_time=OLD), *release("1.1", upload_time=OLD)],
        ),
    ]


EXPECTED = {
    "latest": {
        "webapp": "1.1",
        "corelib": "2.0",
        "plugin": "1.0",
        "speedups": "1.1",
        "pyonly": "1.0",
        "tool": "2.0b1",
    },
    "stable": {
        "webapp": "1.1",
        "corelib": "1.5",
        "plugin": "1.0",
        "speedups": "1.0",
        "pyonly": "1.0",
        "tool": "1.0",
    },
    # lowest resolvable direct versions (webapp 0.9 does not resolve), transitive newest
    "testing": {"webapp": "1.0", "corelib": "2.0", "tool": "1.0"},
}
EXPECTED["performance"] = EXPECTED["security"] = EXPECTED["stable"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """The module's fixture: the index on disk, its server and a work folder."""

    index: FixtureIndex
    server: IndexServer
    root: Path

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("advise")
    index = build_index(root / "index", _projects())
    with IndexServer(index) as server:
        yield Site(index=index, server=server, root=root)


def _advise(
    site: Site, work: Path, inputs: Iterable[object], *args: object, env: Mapping[str, str]
) -> CliResult:
    return run_cli(
        [
            "advise",
            *inputs,
            "--index-url",
            site.url,
            "--knowledge",
            f"sqlite:///{work / 'k.db'}",
            *args,
        ],
        env=env,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    kind: str
    lock: Path
    pins: dict[str, str]
    report: dict[str, Any]


@pytest.fixture(scope="module")
def outcomes(site: Site) -> dict[str, Outcome]:
    """One advise per recommendation type on ``REQUIREMENTS``, with its JSON report."""
    work = site.root / "types"
    work.mkdir()
    req = work / "requirements.in"
    req.write_text(REQUIREMENTS)
    env = clean_environ(work / "home")
    found: dict[str, Outcome] = {}
    for kind in TYPES:
        lock = work / f"pylock.{kind}.toml"
        result = _advise(
            site, work, [req], "--recommendation", kind, "-o", lock, "--report", "json", env=env
        )
        assert result.exit_code == 0, result.output
        found[kind] = Outcome(
            kind=kind,
            lock=lock,
            pins=lock_pins(read_lock(lock)),
            report=json.loads(result.stdout),
        )
    return found


# -- consistency ------------------------------------------------------------------------------


def _specs(index: FixtureIndex) -> dict[tuple[str, str], FileSpec]:
    """(name, version) → the spec of its first file (all files of a version share metadata)."""
    out: dict[tuple[str, str], FileSpec] = {}
    for f in index.files:
        out.setdefault((f.project, str(Version(f.spec.version))), f.spec)
    return out


def assert_consistent(index: FixtureIndex, pins: Mapping[str, str], roots: Iterable[str]) -> None:
    """Every requirement reachable from ``roots`` through the pinned versions' metadata (with
    extras and markers for this interpreter) is satisfied, and nothing else is pinned."""
    specs = _specs(index)
    env = {key: str(value) for key, value in default_environment().items()}
    queue: list[tuple[Requirement, str]] = [(Requirement(r), "") for r in roots]
    needed: dict[str, set[str]] = {}  # name → the parts expanded ("" the base, or an extra)
    while queue:
        req, extra = queue.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is required but {name} is not pinned"
        assert req.specifier.contains(pins[name], prereleases=True), (req, pins[name])
        spec = specs[(name, str(Version(pins[name])))]
        done = needed.setdefault(name, set())
        if "" not in done:
            done.add("")
            queue += [(Requirement(r), "") for r in spec.requires_dist]
        for wanted in sorted(set(req.extras) - done):
            done.add(wanted)
            assert wanted in spec.extras, f"{name} {pins[name]} has no extra {wanted}"
            queue += [(Requirement(r), wanted) for r in spec.extras[wanted]]
    assert set(pins) == set(needed), f"pinned but not required: {set(pins) - set(needed)}"


@pytest.mark.parametrize("kind", TYPES)
def test_each_type_pins_a_consistent_stack(
    site: Site, outcomes: dict[str, Outcome], kind: str
) -> None:
    out = outcomes[kind]
    assert out.pins == EXPECTED[kind]
    assert_consistent(site.index, out.pins, REQUIREMENTS.split())
    assert out.report["recommendation"] == kind
    assert {p["name"]: p["version"] for p in out.report["best"]["pins"]} == out.pins


@pytest.mark.slow
@pytest.mark.parametrize("kind", TYPES)
def test_each_types_lock_installs_with_pip(
    outcomes: dict[str, Outcome],
    kind: str,
    make_venv: Callable[..., Path],
    run_pip: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    out = outcomes[kind]
    python = make_venv()
    proc = run_pip("install", "--no-index", "-r", str(out.lock), python=python)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check = run_pip("check", python=python)
    assert check.returncode == 0, check.stdout + check.stderr
    listed = run_pip("list", "--format", "json", python=python)
    assert listed.returncode == 0, listed.stderr
    installed = {canonicalize_name(d["name"]): d["version"] for d in json.loads(listed.stdout)}
    assert installed == out.pins


# -- differences from latest are justified ------------------------------------------------------

#: units whose terms rest on a fact outside the version number, so they must cite evidence
_EVIDENCED = {"security", "build_risk", "performance", "prescriptions"}


def _terms_of(stack: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    for pin in stack["pins"]:
        if pin["name"] == name:
            return list(pin["terms"])
    return []


def assert_differences_justified(report: Mapping[str, Any]) -> None:
    """Each pin of the best stack that differs from latest's has a term, in the JSON report,
    against latest's version (in the ``latest`` stack) or for the advised one, naming its
    unit; a term of an evidence-backed unit (or a stability age term) cites its evidence."""
    differing = [p for p in report["best"]["pins"] if p["differs"]]
    for pin in differing:
        against = [t for t in _terms_of(report["latest"], pin["name"]) if t["value"] < 0]
        for_it = [t for t in pin["terms"] if t["value"] > 0]
        terms = against + for_it
        assert terms, f"{pin['name']} differs from latest without a term: {pin}"
        for term in terms:
            assert term["unit"] and term["reason"], term
            if term["unit"] in _EVIDENCED or "minimum age" in term["reason"]:
                assert term["evidence"], f"{pin['name']}: a {term['unit']} term without evidence"
    assert sorted(p["name"] for p in differing) == report["summary"]["differing_from_latest"]


@pytest.mark.parametrize("kind", ["stable", "performance", "security"])
def test_differences_from_latest_are_justified(outcomes: dict[str, Outcome], kind: str) -> None:
    report = outcomes[kind].report
    assert_differences_justified(report)
    assert report["summary"]["differing_from_latest"] == ["corelib", "speedups", "tool"]
    units = {
        name: {t["unit"] for t in _terms_of(report["latest"], name)}
        for name in ("corelib", "speedups", "tool")
    }
    assert units == {
        "corelib": {"stability"},
        "speedups": {"build_risk"},
        "tool": {"stability"},
    }
    young = _terms_of(report["latest"], "corelib")
    assert any("minimum age 7 days" in t["reason"] for t in young), young
    # the age term's evidence is the upload time the index gave (PEP 700)
    stamp = datetime.fromisoformat(next(t["evidence"] for t in young if "released" in t["reason"]))
    assert abs(stamp - YESTERDAY) < timedelta(seconds=1)
    assert report["summary"]["best_score"] > report["summary"]["latest_score"]


def test_latest_is_scored_but_never_changed(outcomes: dict[str, Outcome]) -> None:
    report = outcomes["latest"].report
    assert report["summary"]["differing_from_latest"] == []
    assert all(not p["differs"] for p in report["best"]["pins"])


def test_testing_pins_lowest_resolvable_direct_versions(
    site: Site, outcomes: dict[str, Outcome]
) -> None:
    pins = outcomes["testing"].pins
    specs = _specs(site.index)
    versions = {n: sorted(Version(v) for (m, v) in specs if m == n) for n in pins}
    # webapp 0.9 is lower but needs corelib<1, which no release satisfies
    assert pins["webapp"] == "1.0" and Version("0.9") in versions["webapp"]
    assert pins["tool"] == str(min(versions["tool"]))
    # transitive dependencies stay newest (even the young corelib 2.0: testing has no scorer)
    assert pins["corelib"] == str(max(versions["corelib"]))
    direct = {p["name"] for p in outcomes["testing"].report["best"]["pins"] if p["direct"]}
    assert direct == {"webapp", "tool"}


def test_policy_in_pyproject_relaxes_stable(site: Site, tmp_path: Path) -> None:
    """``minimum-release-age-days = 0`` and ``allow-prereleases`` take away two reasons to
    differ from latest; the sdist-only release is still avoided."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        "[project]\n"
        'name = "demo"\n'
        'version = "0.1"\n'
        'dependencies = ["webapp", "tool>=1.0b1"]\n'
        "\n"
        "[tool.advisor.policy]\n"
        "minimum-release-age-days = 0\n"
        'allow-prereleases = ["tool"]\n'
    )
    env = clean_environ(tmp_path / "home")
    lock = project / "pylock.toml"
    result = _advise(
        site, tmp_path, [project / "pyproject.toml"], "-o", lock, "--report", "json", env=env
    )
    assert result.exit_code == 0, result.output
    pins = lock_pins(read_lock(lock))
    report = json.loads(result.stdout)
    assert_differences_justified(report)
    young = _terms_of(report["latest"], "corelib")
    assert not any("minimum age" in t["reason"] for t in young), young
    # corelib 2.0 is also the first release of a new major version: once that term is scored
    # (see test_brand_new_major_version_is_scored), stable may still keep 1.5 for it
    if pins["corelib"] != "2.0":
        assert any("major version 2" in t["reason"] for t in young), young
    assert pins == {**EXPECTED["latest"], "speedups": "1.0", "corelib": pins["corelib"]}
    assert "tool" not in report["summary"]["differing_from_latest"]


def test_a_yanked_version_pinned_exactly_is_kept_and_reported(site: Site, tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text("webapp==1.2\n")
    lock = tmp_path / "pylock.toml"
    result = _advise(site, tmp_path, [req], "-o", lock, "--report", "json", env=env)
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(lock)) == {"webapp": "1.2", "corelib": "1.5"}
    (term,) = _terms_of(json.loads(result.stdout)["best"], "webapp")
    assert term["unit"] == "stability" and term["value"] == -1.0
    assert "yanked" in term["reason"] and "broken upload" in term["reason"]
    assert "webapp 1.2 is yanked (broken upload)" in result.stderr


def test_brand_new_major_version_is_scored(outcomes: dict[str, Outcome]) -> None:
    """Regression (found by these tests, fixed in the working tree): advisor/api/advising.py
    _advise_target builds UnitScorer(kind, ctx) without versions_of, so
    advisor/scoring/engine.py UnitScorer.info gives every CandidateInfo versions=() and
    StabilityScorer._new_major never sees an older major. Input: corelib 1.0, 1.5 and 2.0 (2.0
    uploaded yesterday), requirements 'webapp', stable. Expected: latest's corelib 2.0 carries
    the -0.2 'major version 2 is new' stability term next to the minimum-age term; actual: only
    the minimum-age term."""
    terms = _terms_of(outcomes["stable"].report["latest"], "corelib")
    assert any("major version 2 is new" in t["reason"] for t in terms), terms


def test_new_major_penalty_does_not_outlive_the_new_major(site: Site, tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text("fmttool\n")
    lock = tmp_path / "pylock.toml"
    result = _advise(site, tmp_path, [req], "-o", lock, env=env)
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(lock)) == {"fmttool": "26.5.1"}


# -- latest is pip's choice ---------------------------------------------------------------------


def test_latest_equals_lock_and_pip(
    site: Site,
    outcomes: dict[str, Outcome],
    tmp_path: Path,
    run_pip: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    req = tmp_path / "requirements.in"
    req.write_text(REQUIREMENTS)
    env = clean_environ(tmp_path / "home")
    locked = run_cli(
        ["lock", req, "--index-url", site.url, "-o", tmp_path / "pylock.toml"], env=env
    )
    assert locked.exit_code == 0, locked.output
    lock = lock_pins(read_lock(tmp_path / "pylock.toml"))
    recommended = run_cli(
        [
            "lock",
            req,
            "--index-url",
            site.url,
            "--recommendation",
            "latest",
            "-o",
            tmp_path / "latest.toml",
        ],
        env=env,
    )
    assert recommended.exit_code == 0, recommended.output
    report = tmp_path / "pip.json"
    proc = run_pip(
        "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
        "--index-url", site.url, "-r", str(req),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pips = pip_report_pins(report)
    assert outcomes["latest"].pins == lock == pips == EXPECTED["latest"]
    assert lock_pins(read_lock(tmp_path / "latest.toml")) == lock


def test_lock_with_a_recommendation_uses_the_advice(site: Site, tmp_path: Path) -> None:
    req = tmp_path / "requirements.in"
    req.write_text(REQUIREMENTS)
    # `lock` has no --knowledge option: the store comes from ADVISOR_KNOWLEDGE
    env = clean_environ(tmp_path / "home", ADVISOR_KNOWLEDGE=f"sqlite:///{tmp_path / 'k.db'}")
    result = run_cli(
        [
            "lock", req, "--index-url", site.url, "--recommendation", "stable",
            "-o", tmp_path / "pylock.toml",
        ],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(tmp_path / "pylock.toml")) == EXPECTED["stable"]
    assert (tmp_path / "k.db").is_file()


# -- reports --------------------------------------------------------------------------------------


def test_report_says_when_the_existing_lock_scores_better(site: Site, tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    lock = tmp_path / "pylock.toml"
    req.write_text("corelib<2\n")
    first = _advise(site, tmp_path, [req], "-o", lock, env=env)
    assert first.exit_code == 0, first.output
    assert lock_pins(read_lock(lock)) == {"corelib": "1.5"}
    # the inputs now demand the young release: the advice must take it, and say that the
    # lock on disk (corelib 1.5) scores better
    req.write_text("corelib>=2\n")
    text = _advise(site, tmp_path, [req], "-o", lock, "--dry-run", env=env)
    assert text.exit_code == 0, text.output
    assert "your lock" in text.stdout
    assert "scores LOWER than your lock" in " ".join(text.stdout.split()), text.stdout
    data = _advise(site, tmp_path, [req], "-o", lock, "--dry-run", "--report", "json", env=env)
    summary = json.loads(data.stdout)["summary"]
    assert summary["worse_than_baseline"] is True
    assert summary["baseline_score"] > summary["best_score"]
    assert summary["changed_from_baseline"] == 1
    md = _advise(site, tmp_path, [req], "-o", lock, "--dry-run", "--report", "md", env=env)
    assert "lower than your lock" in md.stdout
    # --dry-run wrote nothing: the lock still holds the better stack
    assert lock_pins(read_lock(lock)) == {"corelib": "1.5"}


def test_report_says_nothing_is_worse_with_an_equal_baseline(site: Site, tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text("corelib\n")
    lock = tmp_path / "pylock.toml"
    assert _advise(site, tmp_path, [req], "-o", lock, env=env).exit_code == 0
    again = _advise(site, tmp_path, [req], "-o", lock, "--report", "json", env=env)
    summary = json.loads(again.stdout)["summary"]
    assert summary["worse_than_baseline"] is False
    assert summary["changed_from_baseline"] == 0
    assert summary["baseline_score"] == summary["best_score"]


def test_markdown_report_to_a_file(site: Site, tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text(REQUIREMENTS)
    report = tmp_path / "advice.md"
    result = _advise(
        site, tmp_path, [req], "-o", tmp_path / "pylock.toml", "--report", "md",
        "--report-file", report, env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Stack advice" not in result.stdout  # the report went to the file only
    text = report.read_text(encoding="utf-8")
    assert text.startswith("### Stack advice: stable")
    assert "| Package | Latest | Advised | Why |" in text
    for name, (latest, advised) in {
        "corelib": ("2.0", "1.5"),
        "speedups": ("1.1", "1.0"),
        "tool": ("2.0b1", "1.0"),
    }.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
        assert f"| {latest} | {advised}" in row, row
    assert "stability" in text and "build\\_risk" in text
    assert lock_pins(read_lock(tmp_path / "pylock.toml")) == EXPECTED["stable"]


def test_json_report_to_a_file_is_strict_json(site: Site, tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text(REQUIREMENTS)
    report = tmp_path / "advice.json"
    result = _advise(
        site, tmp_path, [req], "--dry-run", "--report", "json", "--report-file", report, env=env
    )
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text(encoding="utf-8"), parse_constant=_no_constants)
    assert data["schema_version"] == 1
    assert data["recommendation"] == "stable"
    assert {p["name"]: p["version"] for p in data["best"]["pins"]} == EXPECTED["stable"]


def _no_constants(name: str) -> None:
    raise AssertionError(f"not strict JSON: {name}")


def test_text_report_lists_each_difference_with_its_reason(site: Site, tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text(REQUIREMENTS)
    result = _advise(site, tmp_path, [req], "--dry-run", env=env)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "3 pins differ from latest" in out
    assert "2.0 → 1.5" in out and "1.1 → 1.0" in out and "2.0b1 → 1.0" in out
    assert "released 1 day ago (minimum age 7 days)" in " ".join(out.split())
    assert "only a source distribution" in out
    assert "pre-release 2.0b1" in out


# -- explain ------------------------------------------------------------------------------------


def test_explain_lists_paths_and_terms(site: Site, tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text(REQUIREMENTS)
    lock = tmp_path / "pylock.toml"
    assert _advise(site, tmp_path, [req], "-o", lock, env=env).exit_code == 0
    knowledge = f"sqlite:///{tmp_path / 'k.db'}"
    text = run_cli(["explain", "speedups", "--lock", lock, "--knowledge", knowledge], env=env)
    assert text.exit_code == 0, text.output
    assert "speedups 1.0" in text.stdout
    assert "webapp → plugin → speedups" in text.stdout
    assert "latest would pick 1.1" in text.stdout
    assert "build_risk -0.50" in text.stdout  # the term that held 1.1 back
    data = run_cli(
        ["explain", "corelib", "--lock", lock, "--knowledge", knowledge, "--json"], env=env
    )
    assert data.exit_code == 0, data.output
    found = json.loads(data.stdout)
    assert found["version"] == "1.5"
    assert found["paths"] == [["webapp", "corelib"]]
    pin = found["pin"]
    assert pin["latest"] == "2.0" and pin["differs"] is True
    alternative = next(a for a in pin["alternatives"] if a["version"] == "2.0")
    assert "stability" in alternative["reason"] and "released 1 day ago" in alternative["reason"]
    direct = run_cli(["explain", "tool", "--lock", lock, "--knowledge", knowledge], env=env)
    assert "tool (a direct requirement)" in direct.stdout
    assert "stability -0.40" in direct.stdout  # 2.0b1's pre-release term, as an alternative


def test_explain_a_package_not_in_the_lock_is_a_plain_error(site: Site, tmp_path: Path) -> None:
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text("corelib\n")
    lock = tmp_path / "pylock.toml"
    assert _advise(site, tmp_path, [req], "-o", lock, env=env).exit_code == 0
    result = run_cli(
        ["explain", "webapp", "--lock", lock, "--knowledge", f"sqlite:///{tmp_path / 'k.db'}"],
        env=env,
    )
    assert result.exit_code != 0
    assert "webapp is not in" in result.output
    assert "Traceback" not in result.output


# -- no stack -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["stable", "latest", "testing"])
def test_no_stack_is_exit_1_with_a_plain_message(site: Site, tmp_path: Path, kind: str) -> None:
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text("webapp==0.9\n")
    lock = tmp_path / "pylock.toml"
    result = _advise(site, tmp_path, [req], "--recommendation", kind, "-o", lock, env=env)
    assert result.exit_code == 1, result.output
    assert "no stack satisfies the requirements" in result.output
    assert "corelib<1" in result.output
    assert "Traceback" not in result.output
    assert not lock.exists()


# -- curated rules ------------------------------------------------------------------------------

FILTER_LINK = "https://example.org/rulelib/issues/3"
REJECT_LINK = "https://example.org/ruleapp/issues/2"
RULES = f"""\
# test rules: a filter and a reject-stack rule with a co-installed condition
- id: rulelib12-corrupts
  summary: rulelib 1.2 corrupts data on write.
  link: {FILTER_LINK}
  quote: rulelib 1.2 corrupts data
  match:
    package: rulelib
    specifier: "==1.2"
  action:
    kind: filter
    message: rulelib 1.2 corrupts data on write.

- id: ruleapp11-rulelib11-clash
  summary: ruleapp 1.1 crashes next to rulelib 1.1.
  link: {REJECT_LINK}
  quote: ruleapp 1.1 and rulelib 1.1 clash
  match:
    package: ruleapp
    specifier: ">=1.1"
    co_installed:
      - package: rulelib
        specifier: ">=1.1,<1.2"
  action:
    kind: reject-stack
    message: ruleapp 1.1 crashes at import next to rulelib 1.1.
    level: error
"""


def _rules_dir(root: Path, filename: str = "advise-test-rules.yaml") -> Path:
    folder = root / "kdir"
    (folder / "prescriptions").mkdir(parents=True)
    (folder / "prescriptions" / filename).write_text(RULES, encoding="utf-8")
    return folder


def _rule_advice(site: Site, tmp_path: Path, kind: str, folder: Path, *fmt: str) -> CliResult:
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text("ruleapp\n")
    return _advise(
        site, tmp_path, [req], "--knowledge-dir", folder, "--recommendation", kind,
        "-o", tmp_path / f"{kind}.toml", *fmt, env=env,
    )  # fmt: skip


def test_curated_rules_change_the_stack(site: Site, tmp_path: Path) -> None:
    folder = _rules_dir(tmp_path)
    latest = _rule_advice(site, tmp_path, "latest", folder, "--report", "json")
    assert latest.exit_code == 0, latest.output
    assert lock_pins(read_lock(tmp_path / "latest.toml")) == {"ruleapp": "1.1", "rulelib": "1.2"}
    # latest never changes the stack, but says which rule it breaks, with the rule's link
    notes = [j for p in json.loads(latest.stdout)["best"]["pins"] for j in p["justifications"]]
    assert any(j["link"] == FILTER_LINK and j["unit"] == "prescriptions" for j in notes), notes
    stable = _rule_advice(site, tmp_path, "stable", folder, "--report", "json")
    assert stable.exit_code == 0, stable.output
    # rulelib 1.2 is filtered out; ruleapp 1.1 + rulelib 1.1 is rejected: ruleapp 1.0 remains
    assert lock_pins(read_lock(tmp_path / "stable.toml")) == {"ruleapp": "1.0", "rulelib": "1.1"}
    report = json.loads(stable.stdout)
    rulelib = next(p for p in report["best"]["pins"] if p["name"] == "rulelib")
    removed = next(a for a in rulelib["alternatives"] if a["version"] == "1.2")
    assert removed["score"] is None
    assert "rulelib12-corrupts" in removed["reason"]


def test_curated_filter_rule_link_is_cited_by_stable(site: Site, tmp_path: Path) -> None:
    """Regression (found by these tests, fixed in the working tree): advisor/api/advising.py
    _Describer.stack_from_pins: a version removed by a curated `filter` rule is reported only as
    Alternative(reason='<message> [<rule id>]') from PrescriptionFilter.reject; under stable the
    rule's link appears nowhere in the JSON, Markdown or text report (only `latest`, whose
    annotator has all_kinds=True, cites it). Input: --knowledge-dir with a filter rule on
    rulelib==1.2, requirements 'ruleapp'. Expected: the report cites
    https://example.org/rulelib/issues/3; actual: only the id."""
    folder = _rules_dir(tmp_path)
    for fmt in ("json", "md", "text"):
        result = _rule_advice(site, tmp_path, "stable", folder, "--report", fmt)
        assert result.exit_code == 0, result.output
        assert FILTER_LINK in result.stdout, fmt


def test_reject_stack_rule_is_cited_by_stable(site: Site, tmp_path: Path) -> None:
    """Regression (found by these tests, fixed in the working tree): advisor/api/advising.py
    _advise_target: the reasons of stacks a `reject-stack` rule rejected (SearchResult.rejected)
    are dropped unless no stack is left, so the pin that differs because of the rule (ruleapp
    1.1 -> 1.0) reads 'no term of its own: follows from the other pins' and neither the rule id
    nor its link appears in the report. Input: --knowledge-dir with reject-stack rule
    ruleapp>=1.1 + rulelib>=1.1,<1.2, requirements 'ruleapp', --recommendation stable. Expected:
    the report names ruleapp11-rulelib11-clash with https://example.org/ruleapp/issues/2;
    actual: absent."""
    folder = _rules_dir(tmp_path)
    result = _rule_advice(site, tmp_path, "stable", folder, "--report", "json")
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(tmp_path / "stable.toml"))["ruleapp"] == "1.0"
    assert REJECT_LINK in result.stdout
    assert "ruleapp11-rulelib11-clash" in result.stdout


def test_knowledge_dir_file_named_like_a_bundled_one_still_applies(
    site: Site, tmp_path: Path
) -> None:
    """Regression (found by these tests, fixed in the working tree): the curated-folder sync
    (advisor.knowledge.sync.sync_folder, called by advisor.scoring.knowledge_view
    .advice_knowledge for each --knowledge-dir and then the bundled knowledge/ folder): facts
    were stored under source 'knowledge/<relative path>'
    whatever the folder, so a user folder's prescriptions/numpy.yaml and the bundled
    prescriptions/numpy.yaml share one source and the bundled sync's put(replace_source=...)
    deletes the user's rules. Input: the same rules as test_curated_rules_change_the_stack saved
    as prescriptions/numpy.yaml. Expected: stable pins ruleapp 1.0 + rulelib 1.1; actual:
    ruleapp 1.1 + rulelib 1.2."""
    folder = _rules_dir(tmp_path, filename="numpy.yaml")
    result = _rule_advice(site, tmp_path, "stable", folder)
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(tmp_path / "stable.toml")) == {"ruleapp": "1.0", "rulelib": "1.1"}


# -- measured performance -------------------------------------------------------------------------


def _fingerprint() -> dict[str, object]:
    """This machine as a performance observation's environment (what the target will be)."""
    env = RuntimeEnvironment.detect()
    minor = ".".join(env.python_version.split(".")[:2])
    fp: dict[str, object] = {
        "python": minor,
        "platform": env.platform,
        "implementation": env.implementation,
        "threads": 1,
    }
    if env.cpu is not None:
        fp["arch"] = env.cpu.arch
        fp.update({k: v for k, v in (("cpu_vendor", env.cpu.vendor),) if v})
        fp.update({k: v for k, v in (("cpu_model", env.cpu.model),) if v})
    return fp


def _samples(center: float, count: int = 15) -> list[float]:
    """``count`` runs around ``center``, a few percent apart (deterministic)."""
    return [round(center * (1 + 0.03 * ((i * 7) % 5 - 2) / 2), 3) for i in range(count)]


def _perf_dir(root: Path, *, samples: bool = True) -> Path:
    folder = root / "kdir"
    (folder / "observations").mkdir(parents=True)
    (folder / "benchmarks").mkdir()
    (folder / "benchmarks" / "fastcalc.toml").write_text(
        '[[probe]]\nname = "matmul-256"\nfamily = "fastcalc"\nstatement = "1"\n'
        'metric = "wall"\nunit = "ms"\nworkload = "matmul"\n',
        encoding="utf-8",
    )
    fp = _fingerprint()
    lines = [
        {
            "type": "performance",
            "package": "fastcalc",
            "version": version,
            "probe": "matmul-256",
            "metric": "wall",
            "value": value,
            "unit": "ms",
            "environment": fp,
            **({"samples": _samples(value), "repeats": 15} if samples else {}),
        }
        for version, value in (("1.0", 40.0), ("1.1", 120.0))
    ]
    text = "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines)
    (folder / "observations" / "advise-test-perf.jsonl").write_text(text, encoding="utf-8")
    return folder


def test_performance_prefers_the_measured_faster_version(site: Site, tmp_path: Path) -> None:
    folder = _perf_dir(tmp_path)
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text("fastcalc\n")
    pins: dict[str, dict[str, str]] = {}
    reports: dict[str, dict[str, Any]] = {}
    for kind in ("latest", "stable", "performance"):
        lock = tmp_path / f"{kind}.toml"
        result = _advise(
            site, tmp_path, [req], "--knowledge-dir", folder, "--recommendation", kind,
            "-o", lock, "--report", "json", env=env,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        pins[kind] = lock_pins(read_lock(lock))
        reports[kind] = json.loads(result.stdout)
    assert pins == {
        "latest": {"fastcalc": "1.1"},
        "stable": {"fastcalc": "1.1"},  # stable does not read measurements
        "performance": {"fastcalc": "1.0"},
    }
    report = reports["performance"]
    assert_differences_justified(report)
    (slow,) = _terms_of(report["latest"], "fastcalc")
    assert slow["unit"] == "performance" and slow["value"] == -1.0
    assert slow["reason"].startswith("fastcalc 1.1 is 200% slower on matmul-256 (wall) than 1.0")
    assert "15 vs 15 runs, this CPU model, 1 thread" in slow["reason"]
    assert slow["effect"] == pytest.approx(-2.0, abs=0.1) and slow["n"] == [15, 15]
    assert slow["ci"][0] <= slow["effect"] <= slow["ci"][1] < 0
    assert slow["evidence"].startswith("performance:")
    (fast,) = _terms_of(report["best"], "fastcalc")
    assert fast["value"] == 1.0 and "is 67% faster on matmul-256 (wall) than 1.1" in fast["reason"]
    assert fast["evidence"].startswith("performance:") and fast["evidence"] != slow["evidence"]
    assert 0 < fast["ci"][0] <= fast["effect"] <= fast["ci"][1]
    text = _advise(
        site, tmp_path, [req], "--knowledge-dir", folder, "--recommendation", "performance",
        "--dry-run", env=env,
    )  # fmt: skip
    flat = " ".join(text.stdout.split())
    assert "1.1 → 1.0" in flat
    assert "67% faster on matmul-256 (wall) than 1.1" in flat and "<performance:" in flat


def test_workload_picks_the_probes_that_matter(site: Site, tmp_path: Path) -> None:
    folder = _perf_dir(tmp_path)
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text("fastcalc\n")
    args = [req, "--knowledge-dir", folder, "--recommendation", "performance", "--report", "json"]
    pins, notes = {}, {}
    for workload in ("matmul", "sort"):
        lock = tmp_path / f"{workload}.toml"
        result = _advise(site, tmp_path, args, "--workload", workload, "-o", lock, env=env)
        assert result.exit_code == 0, result.output
        pins[workload] = lock_pins(read_lock(lock))["fastcalc"]
        notes[workload] = [
            j["message"] for j in json.loads(result.stdout)["best"]["justifications"]
        ]
    # the measured probe is matmul-256 (workload "matmul" in the folder's benchmarks)
    assert pins == {"matmul": "1.0", "sort": "1.1"}
    assert any(
        "workload 'matmul' (probes: matmul-256, numpy.matmul-256)" in n for n in notes["matmul"]
    )
    assert any(
        "workload 'sort' (probes: numpy.argsort-1m, numpy.sort-1m)" in n for n in notes["sort"]
    )
    unknown = _advise(site, tmp_path, args, "--workload", "juggling", "--dry-run", env=env)
    assert unknown.exit_code == 2 and "unknown workload 'juggling' (known: " in unknown.stderr
    assert "Traceback" not in unknown.stderr
    stable = _advise(site, tmp_path, [req], "--workload", "sort", "--dry-run", env=env)
    assert (
        stable.exit_code == 2 and "only applies to the performance recommendation" in stable.stderr
    )


def test_observations_without_samples_make_no_term_and_are_said(site: Site, tmp_path: Path) -> None:
    folder = _perf_dir(tmp_path, samples=False)
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text("fastcalc\n")
    result = _advise(
        site, tmp_path, [req], "--knowledge-dir", folder, "--recommendation", "performance",
        "-o", tmp_path / "pylock.toml", "--report", "json", env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(tmp_path / "pylock.toml")) == {"fastcalc": "1.1"}
    report = json.loads(result.stdout)
    assert _terms_of(report["best"], "fastcalc") == []
    messages = [j["message"] for j in report["best"]["justifications"]]
    assert any(
        m.startswith("2 performance observations of fastcalc carry no samples") for m in messages
    )


def test_performance_ignores_measurements_from_another_python(site: Site, tmp_path: Path) -> None:
    folder = _perf_dir(tmp_path)
    path = folder / "observations" / "advise-test-perf.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        line["environment"]["python"] = "2.7"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text("fastcalc\n")
    result = _advise(
        site, tmp_path, [req], "--knowledge-dir", folder, "--recommendation", "performance",
        "-o", tmp_path / "pylock.toml", "--report", "json", env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(tmp_path / "pylock.toml")) == {"fastcalc": "1.1"}
    assert _terms_of(json.loads(result.stdout)["best"], "fastcalc") == []


def test_a_workload_is_recorded_in_the_lock_and_named_in_the_report(
    site: Site, tmp_path: Path
) -> None:
    folder = _perf_dir(tmp_path)
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text("fastcalc\n")
    lock = tmp_path / "pylock.toml"
    args = [req, "--knowledge-dir", folder, "--recommendation", "performance"]
    result = _advise(site, tmp_path, args, "--workload", " MatMul", "-o", lock, env=env)
    assert result.exit_code == 0, result.output
    assert "performance advice for" in result.stdout
    assert "optimised for workload 'matmul'" in " ".join(result.stdout.split())
    md = _advise(site, tmp_path, args, "--workload", "matmul", "--dry-run", "--report", "md",
                 env=env)  # fmt: skip
    assert "optimised for workload `matmul`" in md.stdout
    text = lock.read_text(encoding="utf-8")
    assert read_lock(lock)["tool"]["advisor"]["options"]["workload"] == "matmul"
    fresh = run_cli(["check", lock, "--only", "freshness"], env=env)
    assert fresh.exit_code == 0, fresh.output
    # the digest covers the workload like every other option: edited, the lock is stale
    lock.write_text(text.replace('workload = "matmul"', 'workload = "sort"'), encoding="utf-8")
    stale = run_cli(["check", lock, "--only", "freshness"], env=env)
    assert stale.exit_code == 1 and "Traceback" not in stale.output
    # and --fix re-locks with the workload the lock records
    fixed = run_cli(["check", lock, "--only", "freshness", "--fix"], env=env)
    assert "re-locked" in fixed.stderr, fixed.output
    assert read_lock(lock)["tool"]["advisor"]["options"]["workload"] == "sort"
    again = run_cli(["check", lock, "--only", "freshness"], env=env)
    assert again.exit_code == 0, again.output
    # a lock made without a workload records none (its digest is what it always was)
    plain = tmp_path / "plain.toml"
    assert _advise(site, tmp_path, args, "-o", plain, env=env).exit_code == 0
    assert "workload" not in read_lock(plain)["tool"]["advisor"]["options"]
