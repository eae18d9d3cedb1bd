"""Unit tests of :mod:`advisor.scoring.units`: each built-in unit on hand-made candidates and
real-looking knowledge (security with waivers and real OSV advisories, build risk, stability,
performance, prescriptions including the repository's curated rules), and hypothesis
properties: every term is in [-1, 1], and units are deterministic whatever the order the
knowledge was loaded in.
"""

from __future__ import annotations

import math
import os
import random
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from packaging.version import Version

from advisor.environment import CpuInfo, RuntimeEnvironment
from advisor.knowledge.schema import (
    Action,
    Advisory,
    Affected,
    ArtefactFault,
    BuildObservation,
    CoInstalled,
    EnvironmentFingerprint,
    EnvironmentPredicate,
    Match,
    PerformanceObservation,
    Prescription,
    Provenance,
    RangeEvent,
    ReleaseObservation,
    VersionRange,
    observation_key,
)
from advisor.models import DistFile, ProjectState, ProjectStatus
from advisor.policy import Policy, Waiver
from advisor.scoring.base import CandidateInfo, ScoringContext
from advisor.scoring.knowledge_view import StaticKnowledge
from advisor.scoring.units import (
    BuildRiskScorer,
    PerformanceAnnotator,
    PerformanceScorer,
    PrescriptionAnnotator,
    PrescriptionCheck,
    PrescriptionFilter,
    PrescriptionScorer,
    ProjectStatusFilter,
    SecurityAnnotator,
    SecurityFilter,
    SecurityScorer,
    StabilityScorer,
)
from advisor.scoring.units.security import (
    advisories_affecting,
    nearest_unaffected,
    severity_weight,
    unfixable_hits,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from advisor.knowledge.schema import Observation
    from advisor.scoring.base import ScoreTerm

NOW = datetime(2024, 10, 10, 12, 0, tzinfo=UTC)
OSV_DUMP = Path(__file__).resolve().parents[2] / "shared" / "data" / "osv-pypi-2024-10-10.zip"
KNOWLEDGE_DIR = Path(__file__).resolve().parents[1] / "knowledge"
PROV = Provenance(source="test", date="2024-09-01T00:00:00+00:00", tool="stack-advisor test")
INDEX = "file:///index/simple"


@pytest.fixture(scope="module")
def host() -> RuntimeEnvironment:
    return RuntimeEnvironment.detect()


@pytest.fixture(scope="module")
def env(host: RuntimeEnvironment) -> RuntimeEnvironment:
    """CPython 3.12 on manylinux x86_64 (the host's CPU only when the host is one)."""
    return RuntimeEnvironment.for_target(host=host, python="3.12", platform="manylinux_2_28_x86_64")


def _ctx(
    env: RuntimeEnvironment,
    observations: Iterable[Observation] = (),
    *,
    policy: Policy | None = None,
    recommendation: str = "stable",
    now: datetime = NOW,
) -> ScoringContext:
    return ScoringContext(
        env=env,
        recommendation=recommendation,
        now=now,
        knowledge=StaticKnowledge(observations),
        policy=policy or Policy(),
    )


def _wheel(name: str, version: str, tag: str = "py3-none-any", **kw: Any) -> DistFile:
    filename = f"{name.replace('-', '_')}-{version}-{tag}.whl"
    return DistFile(filename=filename, url=f"{INDEX}/{filename}", index=INDEX, **kw)


def _sdist(name: str, version: str, **kw: Any) -> DistFile:
    filename = f"{name.replace('-', '_')}-{version}.tar.gz"
    return DistFile(filename=filename, url=f"{INDEX}/{filename}", index=INDEX, **kw)


def _cand(
    name: str,
    version: str,
    *,
    versions: Sequence[str] = (),
    files: Sequence[DistFile] = (),
    **kw: Any,
) -> CandidateInfo:
    return CandidateInfo(
        name=canonicalize_name(name),
        version=Version(version),
        files=tuple(files),
        versions=tuple(sorted((Version(v) for v in versions), reverse=True)),
        **kw,
    )


def _values(terms: Sequence[ScoreTerm]) -> list[float]:
    return [t.value for t in terms]


# -- security ---------------------------------------------------------------------------------

REQUESTS_VERSIONS = ("2.28.2", "2.29.0", "2.30.0", "2.31.0", "2.32.3")


def _advisory(
    adv_id: str = "GHSA-j8r2-6x86-q33q",
    *,
    package: str = "requests",
    introduced: str = "2.3.0",
    fixed: str | None = "2.31.0",
    aliases: tuple[str, ...] = ("CVE-2023-32681",),
    withdrawn: str | None = None,
) -> Advisory:
    events = [RangeEvent(introduced=introduced)]
    if fixed is not None:
        events.append(RangeEvent(fixed=fixed))
    return Advisory(
        id=adv_id,
        summary="Unintended leak of Proxy-Authorization header",
        aliases=aliases,
        affected=(
            Affected(
                package=package,
                ranges=(VersionRange(type="ECOSYSTEM", events=tuple(events)),),
            ),
        ),
        published="2023-05-22T20:36:32Z",
        modified="2024-09-01T00:00:00Z",
        withdrawn=withdrawn,
        provenance=Provenance(source="osv:test", date="2024-09-01"),
    )


def test_security_filter_removes_an_affected_version_and_names_the_fix(
    env: RuntimeEnvironment,
) -> None:
    ctx = _ctx(env, [_advisory()])
    affected = _cand("requests", "2.30.0", versions=REQUESTS_VERSIONS)
    reason = SecurityFilter().reject(affected, ctx)
    assert reason == (
        "affected by GHSA-j8r2-6x86-q33q (fixed in 2.31.0); nearest unaffected release: 2.31.0"
    )
    assert (
        SecurityFilter().reject(_cand("requests", "2.31.0", versions=REQUESTS_VERSIONS), ctx)
        is None
    )
    assert SecurityFilter().reject(_cand("requests", "2.2.1"), ctx) is None  # before introduced


def test_security_filter_leaves_an_advisory_no_release_escapes_to_the_scorer(
    env: RuntimeEnvironment,
) -> None:
    """Every release is affected: removing them all would only make the inputs
    unsatisfiable, so the filter lets the version through (the scorer counts it, the advice
    warns); :func:`unfixable_hits` names it."""
    ctx = _ctx(env, [_advisory(introduced="0", fixed=None)])
    cand = _cand("requests", "2.30.0", versions=REQUESTS_VERSIONS)
    assert unfixable_hits(cand.name, cand.version, (), ctx) == ()  # no versions known: strict
    assert SecurityFilter().reject(cand, ctx) is None
    assert [h.advisory.id for h in unfixable_hits(cand.name, cand.version, cand.versions, ctx)] == [
        "GHSA-j8r2-6x86-q33q"
    ]
    assert _values(SecurityScorer().score(cand, ctx)) == [-1.0]


def test_security_filter_without_a_fix_says_so(env: RuntimeEnvironment) -> None:
    """A fixable advisory removes the version; when the releases that escape it are
    affected by another one, the reason says no release is clean."""
    unfixed = _advisory(introduced="2.29.0", fixed=None)  # 2.28.2 escapes it
    older = _advisory("PYSEC-2018-28", introduced="0", fixed="2.29.0", aliases=())
    ctx = _ctx(env, [unfixed, older])
    reason = SecurityFilter().reject(_cand("requests", "2.30.0", versions=REQUESTS_VERSIONS), ctx)
    assert reason is not None
    assert "(no fixed release)" in reason
    assert "nearest unaffected release: 2.29.0" not in reason  # 2.29.0 is affected too
    assert reason.endswith("no release without a known advisory")


def test_security_scorer_weighs_an_advisory_by_its_severity_word() -> None:
    from advisor.knowledge.schema import Severity

    def rated(*words: str) -> Advisory:
        severity = tuple(Severity(type="ECOSYSTEM", score=w) for w in words)
        return msgspec.structs.replace(_advisory(), severity=severity)

    assert severity_weight(_advisory()) == 1.0  # unrated
    assert severity_weight(rated("LOW")) == 0.5
    assert severity_weight(rated("Moderate")) == 0.75
    assert severity_weight(rated("LOW", "HIGH")) == 1.0
    cvss = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    assert (
        severity_weight(
            msgspec.structs.replace(_advisory(), severity=(Severity(type="CVSS_V3", score=cvss),))
        )
        == 1.0
    )


def test_nearest_unaffected_prefers_the_lowest_newer_release(env: RuntimeEnvironment) -> None:
    ctx = _ctx(env, [_advisory(introduced="2.29.0", fixed="2.30.0")])
    cand = _cand("requests", "2.29.0", versions=REQUESTS_VERSIONS)
    assert nearest_unaffected(cand, ctx) == Version("2.30.0")
    only_older = _cand("requests", "2.29.0", versions=("2.28.2", "2.29.0"))
    assert nearest_unaffected(only_older, ctx) == Version("2.28.2")


def test_security_scorer_gives_one_term_per_advisory(env: RuntimeEnvironment) -> None:
    second = _advisory("PYSEC-2018-28", introduced="0", fixed="2.20.0", aliases=())
    ctx = _ctx(env, [_advisory(), second])
    terms = SecurityScorer().score(_cand("requests", "2.19.1"), ctx)
    assert _values(terms) == [-1.0, -1.0]
    assert [t.unit for t in terms] == ["security", "security"]
    assert "GHSA-j8r2-6x86-q33q (fixed in 2.31.0)" in terms[0].reason
    assert "Proxy-Authorization" in terms[0].reason
    assert terms[1].evidence == "https://osv.dev/vulnerability/PYSEC-2018-28"
    assert SecurityScorer().score(_cand("requests", "2.31.0"), ctx) == ()
    assert SecurityScorer().score(_cand("flask", "3.0.0"), ctx) == ()  # unknown: neutral


def test_withdrawn_advisories_are_ignored(env: RuntimeEnvironment) -> None:
    ctx = _ctx(env, [_advisory(withdrawn="2024-01-01T00:00:00Z")])
    cand = _cand("requests", "2.30.0")
    assert SecurityFilter().reject(cand, ctx) is None
    assert SecurityScorer().score(cand, ctx) == ()


@pytest.mark.parametrize(
    ("waiver_id", "until", "waived"),
    [
        ("GHSA-j8r2-6x86-q33q", datetime(2024, 12, 31, 23, 59, tzinfo=UTC), True),
        ("cve-2023-32681", None, True),  # an alias, any case, no end
        ("GHSA-j8r2-6x86-q33q", datetime(2024, 10, 1, tzinfo=UTC), False),  # expired
        ("GHSA-0000-0000-0000", None, False),  # another advisory
    ],
)
def test_waivers(
    env: RuntimeEnvironment, waiver_id: str, until: datetime | None, waived: bool
) -> None:
    policy = Policy(waivers=(Waiver(id=waiver_id, reason="proxy unused", until=until),))
    ctx = _ctx(env, [_advisory()], policy=policy)
    cand = _cand("requests", "2.30.0", versions=REQUESTS_VERSIONS)
    assert (SecurityFilter().reject(cand, ctx) is None) is waived
    assert (SecurityScorer().score(cand, ctx) == ()) is waived
    (note,) = SecurityAnnotator().annotate({cand.name: cand.version}, ctx)
    assert note.package == "requests"
    assert note.link == "https://osv.dev/vulnerability/GHSA-j8r2-6x86-q33q"
    if waived:
        assert note.level == "info"
        assert note.message.endswith("proxy unused")
    else:
        assert note.level == "warning"
        assert "fixed in 2.31.0" in note.message
    assert ("waiver ended on 2024-10-01" in note.message) is (until is not None and not waived)


def test_a_waiver_holds_until_its_end_and_not_after(env: RuntimeEnvironment) -> None:
    until = datetime(2024, 10, 10, 23, 59, 59, 999999, tzinfo=UTC)
    policy = Policy(waivers=(Waiver(id="GHSA-j8r2-6x86-q33q", reason="r", until=until),))
    cand = _cand("requests", "2.30.0")
    at_end = _ctx(env, [_advisory()], policy=policy, now=until)
    after = _ctx(env, [_advisory()], policy=policy, now=until + timedelta(microseconds=1))
    naive_now = _ctx(env, [_advisory()], policy=policy, now=datetime(2024, 10, 10, 12))
    assert SecurityFilter().reject(cand, at_end) is None
    assert SecurityFilter().reject(cand, naive_now) is None  # a naive clock reads as UTC
    assert SecurityFilter().reject(cand, after) is not None


def test_security_annotator_is_quiet_for_safe_pins(env: RuntimeEnvironment) -> None:
    ctx = _ctx(env, [_advisory()])
    pins = {canonicalize_name("requests"): Version("2.32.3")}
    assert SecurityAnnotator().annotate(pins, ctx) == ()


@pytest.fixture(scope="module")
def real_advisories(tmp_path_factory: pytest.TempPathFactory) -> StaticKnowledge:
    """Three real advisories from the shared OSV dump, imported the product's way."""
    if not OSV_DUMP.is_file():
        reason = f"OSV dump not found at {OSV_DUMP} (expected ../shared/data next to the repo)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from advisor.knowledge.sources.osv_import import load_osv

    folder = tmp_path_factory.mktemp("osv")
    with zipfile.ZipFile(OSV_DUMP) as archive:
        for name in ("PYSEC-2023-74.json", "PYSEC-2021-66.json", "PYSEC-2023-212.json"):
            (folder / name).write_bytes(archive.read(name))
    report = load_osv(folder, date="2024-10-10")
    assert [a.id for a in report.advisories] == [
        "PYSEC-2021-66",
        "PYSEC-2023-212",
        "PYSEC-2023-74",
    ]
    return StaticKnowledge(report.advisories)


@pytest.mark.parametrize(
    ("name", "affected", "fixed", "advisory"),
    [
        ("requests", "2.30.0", "2.31.0", "PYSEC-2023-74"),
        ("Jinja2", "2.11.2", "2.11.3", "PYSEC-2021-66"),
        ("urllib3", "1.26.17", "1.26.18", "PYSEC-2023-212"),
        ("urllib3", "2.0.6", "2.0.7", "PYSEC-2023-212"),
    ],
)
def test_real_advisories_remove_the_affected_release_and_keep_the_fix(
    env: RuntimeEnvironment,
    real_advisories: StaticKnowledge,
    name: str,
    affected: str,
    fixed: str,
    advisory: str,
) -> None:
    ctx = ScoringContext(env=env, recommendation="security", now=NOW, knowledge=real_advisories)
    versions = (affected, fixed)
    reason = SecurityFilter().reject(_cand(name, affected, versions=versions), ctx)
    assert reason is not None
    assert reason.startswith(f"affected by {advisory} (fixed in ")
    assert fixed in reason
    assert reason.endswith(f"nearest unaffected release: {fixed}")
    assert SecurityFilter().reject(_cand(name, fixed, versions=versions), ctx) is None
    assert [h.advisory.id for h in advisories_affecting(name, affected, ctx)] == [advisory]


# -- build risk -------------------------------------------------------------------------------


def _build(
    outcome: Any,
    *,
    version: str | None = None,
    specifier: str | None = None,
    date: str = "2024-09-01T00:00:00+00:00",
    recorder: str = "",
    **pred: Any,
) -> BuildObservation:
    return BuildObservation(
        package="lxml",
        version=version,
        specifier=specifier,
        environment=EnvironmentPredicate(**pred),
        outcome=outcome,
        failure_class="missing-system-library" if outcome == "failed" else None,
        duration=42.0,
        log_excerpt="fatal error: libxml/xmlversion.h: No such file or directory",
        provenance=Provenance(
            source="observe", date=date, tool="stack-advisor 0.1", recorder=recorder
        ),
    )


def test_yanked_candidates_are_a_stability_term_not_a_build_risk(env: RuntimeEnvironment) -> None:
    old = datetime(2024, 1, 1, tzinfo=UTC)
    files = [_wheel("lxml", "5.1.0", yanked="broken wheel metadata", upload_time=old)]
    cand = _cand("lxml", "5.1.0", files=files, yanked=True)
    terms = StabilityScorer().score(cand, _ctx(env))
    assert [(t.unit, t.value, t.reason) for t in terms] == [
        ("stability", -1.0, "yanked: broken wheel metadata")
    ]
    assert BuildRiskScorer().score(cand, _ctx(env)) == ()


def test_yank_from_release_facts_when_no_files(env: RuntimeEnvironment) -> None:
    fact = ReleaseObservation(
        package="lxml", version="5.1.0", index=INDEX, yanked=True, provenance=PROV
    )
    terms = StabilityScorer().score(_cand("lxml", "5.1.0"), _ctx(env, [fact]))
    assert _values(terms) == [-1.0]


@pytest.mark.parametrize(
    ("status", "value", "reason"),
    [
        (
            ProjectStatus(state=ProjectState.ARCHIVED, reason="moved to lxml-ng"),
            -0.3,
            "project archived on its index (no further releases expected): moved to lxml-ng",
        ),
        (
            ProjectStatus(state=ProjectState.DEPRECATED),
            -0.5,
            "project deprecated on its index (considered obsolete, perhaps superseded)",
        ),
    ],
)
def test_an_archived_or_deprecated_project_gets_its_term(
    env: RuntimeEnvironment, status: ProjectStatus, value: float, reason: str
) -> None:
    old = datetime(2024, 1, 1, tzinfo=UTC)
    files = [_wheel("lxml", "5.1.0", upload_time=old)]
    cand = _cand("lxml", "5.1.0", files=files, project_status=status)
    (term,) = StabilityScorer().score(cand, _ctx(env))
    assert (term.value, term.reason, term.evidence) == (value, reason, "PEP 792 project status")
    assert ProjectStatusFilter().reject(cand, _ctx(env)) is None


def test_active_or_unknown_statuses_are_neutral_and_quarantine_filters(
    env: RuntimeEnvironment,
) -> None:
    old = datetime(2024, 1, 1, tzinfo=UTC)
    files = [_wheel("lxml", "5.1.0", upload_time=old)]
    for status in (None, ProjectStatus.parse("active"), ProjectStatus.parse("haunted")):
        cand = _cand("lxml", "5.1.0", files=files, project_status=status)
        assert StabilityScorer().score(cand, _ctx(env)) == ()
        assert ProjectStatusFilter().reject(cand, _ctx(env)) is None
    assert ProjectStatus.parse("haunted").other == "haunted"
    bad = ProjectStatus.parse(" Quarantined ", "malware in setup.py")
    cand = _cand("lxml", "5.1.0", files=files, project_status=bad)
    assert ProjectStatusFilter().reject(cand, _ctx(env)) == (
        "project quarantined on its index (considered unsafe): malware in setup.py"
    )


def test_no_wheel_for_the_target_needs_a_build(env: RuntimeEnvironment) -> None:
    files = [_wheel("lxml", "5.2.2", "cp312-cp312-macosx_11_0_arm64"), _sdist("lxml", "5.2.2")]
    cand = _cand("lxml", "5.2.2", files=files, needs_build=True)
    (term,) = BuildRiskScorer().score(cand, _ctx(env))
    assert term.value == -0.5
    assert term.reason == "needs a build: no wheel for manylinux_2_28_x86_64"
    assert term.evidence == "manylinux_2_28_x86_64"


def test_sdist_only_needs_a_build(env: RuntimeEnvironment) -> None:
    cand = _cand("lxml", "5.2.2", files=[_sdist("lxml", "5.2.2")])
    (term,) = BuildRiskScorer().score(cand, _ctx(env))
    assert (term.value, term.reason) == (
        -0.5,
        "needs a build: only a source distribution is published",
    )


def test_a_wheel_for_the_target_is_neutral(env: RuntimeEnvironment) -> None:
    files = [_wheel("lxml", "5.2.2", "cp312-cp312-manylinux_2_28_x86_64")]
    assert BuildRiskScorer().score(_cand("lxml", "5.2.2", files=files), _ctx(env)) == ()


def test_build_observations_on_matching_environments(env: RuntimeEnvironment) -> None:
    failed = _build("failed", version="5.2.2", python=">=3.12", arch="x86_64", os="linux")
    elsewhere = _build("failed", version="5.2.2", arch="aarch64")
    ok = _build("ok", specifier=">=5.3", python=">=3.12")
    ok_older = _build("ok", version="5.2.2", date="2024-08-01T00:00:00+00:00")
    ctx = _ctx(env, [failed, elsewhere, ok, ok_older])
    (term,) = BuildRiskScorer().score(_cand("lxml", "5.2.2"), ctx)
    assert term.value == -0.8 * 0.25  # one recorder's single observation counts little
    assert term.evidence == observation_key(failed)
    assert "build failed (missing-system-library)" in term.reason
    assert "1 of 2 observations" in term.reason and "2024-09-01" in term.reason
    assert "1 observation by 1 recorder: a single observation counts little" in term.reason
    (good,) = BuildRiskScorer().score(_cand("lxml", "5.3.0"), ctx)
    assert (good.value, good.evidence) == (0.1 * 0.25, observation_key(ok))
    assert BuildRiskScorer().score(_cand("lxml", "4.9.4"), ctx) == ()


def test_build_risk_prefers_repeated_independent_observations(env: RuntimeEnvironment) -> None:
    def failed(recorder: str, day: int) -> BuildObservation:
        # another day's run took another time: another observation (the same one recorded
        # again would share its key, and be one)
        obs = _build("failed", version="5.2.2", recorder=recorder, date=f"2024-09-{day:02d}")
        return msgspec.structs.replace(obs, duration=float(day))

    def value(*observations: BuildObservation) -> float:
        (term,) = BuildRiskScorer().score(_cand("lxml", "5.2.2"), _ctx(env, observations))
        return term.value

    single = value(failed("aaaa", 1))
    repeated = value(failed("aaaa", 1), failed("aaaa", 2))  # one machine, twice
    independent = value(failed("aaaa", 1), failed("bbbb", 2))  # two machines
    assert (single, repeated, independent) == (-0.2, -0.4, -0.8)
    assert value(failed("aaaa", 1), failed("bbbb", 2), failed("cccc", 3)) == -0.8
    # unattributed observations (curated, or older than recorders) count as one recorder
    assert value(failed("", 1), failed("", 2)) == -0.4
    (term,) = BuildRiskScorer().score(
        _cand("lxml", "5.2.2"), _ctx(env, [failed("aaaa", 1), failed("bbbb", 2)])
    )
    assert "2 observations by 2 recorders" in term.reason and "2024-09-02" in term.reason
    oks = [_build("ok", version="5.2.2", recorder=r) for r in ("aaaa", "bbbb")]
    (good,) = BuildRiskScorer().score(_cand("lxml", "5.2.2"), _ctx(env, oks))
    assert good.value == 0.1 and "2 observations by 2 recorders" in good.reason


def test_an_artefact_fault_says_nothing_about_the_release(env: RuntimeEnvironment) -> None:
    fault = BuildObservation(
        package="lxml",
        version="5.2.2",
        outcome="artefact-fault",
        failure_class="hash-mismatch",
        artefact=ArtefactFault(
            filename="lxml-5.2.2-cp312-cp312-manylinux_2_28_x86_64.whl",
            sha256="ab" * 32,
            expected=("cd" * 32,),
        ),
        provenance=Provenance(source="observe", date="2024-09-01", recorder="aaaa"),
    )
    others = [
        msgspec.structs.replace(
            fault, provenance=Provenance(source="observe", date="2024-09-02", recorder=r)
        )
        for r in ("bbbb", "cccc")
    ]
    ctx = _ctx(env, [fault, *others])
    assert BuildRiskScorer().score(_cand("lxml", "5.2.2"), ctx) == ()
    ok = _build("ok", version="5.2.2", recorder="dddd")
    (term,) = BuildRiskScorer().score(_cand("lxml", "5.2.2"), _ctx(env, [fault, ok]))
    assert term.value > 0 and "1 observation by 1 recorder" in term.reason


def test_malformed_or_irrelevant_build_observations_are_skipped(env: RuntimeEnvironment) -> None:
    bad = _build("failed", specifier="=>5")  # not a specifier
    needs = _build("needs-build", version="5.2.2")
    ctx = _ctx(env, [bad, needs])
    assert BuildRiskScorer().score(_cand("lxml", "5.2.2"), ctx) == ()


# -- stability --------------------------------------------------------------------------------


def test_too_young_releases(env: RuntimeEnvironment) -> None:
    young = _cand("rich", "13.9.2", upload_time=NOW - timedelta(days=2, hours=3))
    (term,) = StabilityScorer().score(young, _ctx(env))
    assert term.value == -0.6
    assert term.reason == "released 2 days ago (minimum age 7 days)"
    fresh = _cand("rich", "13.9.2", upload_time=NOW - timedelta(hours=3))
    assert (
        StabilityScorer()
        .score(fresh, _ctx(env))[0]
        .reason.startswith("released less than a day ago")
    )
    settled = _cand("rich", "13.9.1", upload_time=NOW - timedelta(days=10))
    assert StabilityScorer().score(settled, _ctx(env)) == ()


def test_release_age_follows_the_policy(env: RuntimeEnvironment) -> None:
    cand = _cand("rich", "13.9.2", upload_time=NOW - timedelta(days=10))
    strict = _ctx(env, policy=Policy(minimum_release_age_days=14.5))
    assert StabilityScorer().score(cand, strict)[0].reason == (
        "released 10 days ago (minimum age 14.5 days)"
    )
    off = _ctx(env, policy=Policy(minimum_release_age_days=0))
    assert StabilityScorer().score(_cand("rich", "13.9.2", upload_time=NOW), off) == ()


def test_unknown_upload_time_is_neutral_unless_the_release_facts_know(
    env: RuntimeEnvironment,
) -> None:
    cand = _cand("rich", "13.9.2")
    assert StabilityScorer().score(cand, _ctx(env)) == ()
    fact = ReleaseObservation(
        package="rich",
        version="13.9.2",
        index=INDEX,
        upload_time="2024-10-07T09:00:00+00:00",
        provenance=PROV,
    )
    (term,) = StabilityScorer().score(cand, _ctx(env, [fact]))
    assert term.reason == "released 3 days ago (minimum age 7 days)"


def test_prereleases(env: RuntimeEnvironment) -> None:
    cand = _cand("torch", "2.5.0rc3")
    (term,) = StabilityScorer().score(cand, _ctx(env))
    assert term.value == -0.4 and "pre-release 2.5.0rc3" in term.reason
    allowed = Policy(allow_prereleases=frozenset({"torch"}))
    assert StabilityScorer().score(cand, _ctx(env, policy=allowed)) == ()


def test_brand_new_major_versions(env: RuntimeEnvironment) -> None:
    versions = ("1.26.4", "1.25.2", "2.0.0", "2.0.1", "2.1.0")
    old = NOW - timedelta(days=400)
    first = _cand("numpy", "2.0.0", versions=versions, upload_time=old)
    # a major line that started long ago is not new, first release or not
    assert StabilityScorer().score(first, _ctx(env)) == ()
    unknown = _cand("numpy", "2.0.0", versions=versions)
    assert StabilityScorer().score(unknown, _ctx(env)) == ()  # unknown age: neutral
    later = _cand("numpy", "2.1.0", versions=versions, upload_time=old)
    assert StabilityScorer().score(later, _ctx(env)) == ()
    fact = ReleaseObservation(
        package="numpy",
        version="2.0.0",
        index=INDEX,
        upload_time=(NOW - timedelta(days=12)).isoformat(),
        provenance=PROV,
    )
    (young_line,) = StabilityScorer().score(later, _ctx(env, [fact]))
    assert young_line.reason == "major version 2 is new: 2.0.0 was released 12 days ago"
    same_major = _cand("numpy", "1.26.4", versions=versions, upload_time=old)
    assert StabilityScorer().score(same_major, _ctx(env)) == ()
    no_older_major = _cand("rich", "1.0.0", versions=("1.0.0", "1.1.0"), upload_time=old)
    assert StabilityScorer().score(no_older_major, _ctx(env)) == ()
    calver = _cand("certifi", "2024.8.30", versions=("2023.11.17", "2024.8.30"), upload_time=old)
    assert StabilityScorer().score(calver, _ctx(env)) == ()


# -- performance ------------------------------------------------------------------------------

PERF_ENV = RuntimeEnvironment(
    python_version="3.12.4",
    platform="manylinux_2_28_x86_64",
    cpu=CpuInfo(model="AMD EPYC 7B13", arch="x86_64", features=("avx2", "fma"), level="x86-64-v3"),
)


def _fingerprint(**kw: Any) -> EnvironmentFingerprint:
    values: dict[str, Any] = {
        "python": "3.12.4",
        "platform": "manylinux_2_28_x86_64",
        "arch": "x86_64",
        "cpu_model": "Intel Xeon Platinum 8375C",
        "cpu_level": "x86-64-v3",
        "cores": 8,
    }
    values.update(kw)
    return EnvironmentFingerprint(**values)


# (the performance unit's own tests: tests/test_scoring_performance.py)


# -- prescriptions ----------------------------------------------------------------------------


def _rule(
    rule_id: str,
    package: str,
    specifier: str,
    kind: Any,
    *,
    score: float | None = None,
    co: tuple[tuple[str, str], ...] = (),
    level: Any = "warning",
    env_advice: dict[str, str] | None = None,
    **pred: Any,
) -> Prescription:
    return Prescription(
        id=rule_id,
        summary=f"summary of {rule_id}",
        link=f"https://example.org/notes/{rule_id}",
        quote="quoted from the source",
        match=Match(
            package=package,
            specifier=specifier,
            co_installed=tuple(CoInstalled(package=n, specifier=s) for n, s in co),
            environment=EnvironmentPredicate(**pred),
        ),
        action=Action(kind=kind, message=f"message of {rule_id}", score=score, level=level),
        env_advice=env_advice or {},
        provenance=Provenance(source="knowledge/prescriptions/test.yaml", date="2024-09-01"),
    )


NUMPY_PY312 = _rule(
    "numpy-py312", "numpy", "<1.26.0.dev0", "filter", level="error", python=">=3.12"
)
PANDAS_220 = _rule("pandas-220", "pandas", "==2.2.0", "score", score=-0.2)
PANDAS_PYARROW = _rule(
    "pandas-pyarrow", "pandas", ">=2.2,<2.3", "score", score=-0.6, co=(("pyarrow", "<10.0.1"),)
)
SKLEARN_NUMPY2 = _rule(
    "sklearn-numpy2",
    "scikit-learn",
    "<1.4.2",
    "reject-stack",
    co=(("numpy", ">=2.0.0.dev0"),),
    level="error",
)
DASK_BLAS = _rule(
    "dask-blas", "dask", "", "justify", level="info", env_advice={"OMP_NUM_THREADS": "1"}
)
SECURITY_ONLY = _rule(
    "numpy-security-only", "numpy", "<1.22", "filter", recommendation_types=("security",)
)
RULES = [NUMPY_PY312, PANDAS_220, PANDAS_PYARROW, SKLEARN_NUMPY2, DASK_BLAS, SECURITY_ONLY]


def _pins(**versions: str) -> dict[Any, Version]:
    return {canonicalize_name(n): Version(v) for n, v in versions.items()}


def test_prescription_filter(env: RuntimeEnvironment, host: RuntimeEnvironment) -> None:
    ctx = _ctx(env, RULES)
    reason = PrescriptionFilter().reject(_cand("numpy", "1.25.2"), ctx)
    assert reason == "message of numpy-py312 [numpy-py312, https://example.org/notes/numpy-py312]"
    assert PrescriptionFilter().reject(_cand("numpy", "1.26.4"), ctx) is None
    py311 = RuntimeEnvironment.for_target(
        host=host, python="3.11", platform="manylinux_2_28_x86_64"
    )
    assert PrescriptionFilter().reject(_cand("numpy", "1.25.2"), _ctx(py311, RULES)) is None
    # a rule restricted to other recommendation types does not apply
    assert PrescriptionFilter().reject(_cand("numpy", "1.21.0"), _ctx(py311, RULES)) is None
    security = _ctx(py311, RULES, recommendation="security")
    assert PrescriptionFilter().reject(_cand("numpy", "1.21.0"), security) is not None


def test_prescription_scorer(env: RuntimeEnvironment) -> None:
    ctx = _ctx(env, RULES)
    (term,) = PrescriptionScorer().score(_cand("pandas", "2.2.0"), ctx)
    assert (term.unit, term.value) == ("prescriptions", -0.2)
    assert term.reason == "summary of pandas-220 [pandas-220]"
    assert term.evidence == "https://example.org/notes/pandas-220"
    # the co-installed rule is the stack check's business
    assert PrescriptionScorer().score(_cand("pandas", "2.2.1"), ctx) == ()


def test_prescription_check(env: RuntimeEnvironment) -> None:
    ctx = _ctx(env, RULES)
    check = PrescriptionCheck()
    (rejected,) = check.check(_pins(**{"scikit-learn": "1.4.1", "numpy": "2.0.1"}), ctx)
    assert rejected.reject == (
        "message of sklearn-numpy2 [sklearn-numpy2, https://example.org/notes/sklearn-numpy2]"
    )
    assert rejected.package == "scikit-learn"
    assert check.check(_pins(**{"scikit-learn": "1.4.2", "numpy": "2.0.1"}), ctx) == ()
    assert check.check(_pins(**{"scikit-learn": "1.4.1", "numpy": "1.26.4"}), ctx) == ()
    (scored,) = check.check(_pins(pandas="2.2.1", pyarrow="9.0.0"), ctx)
    assert scored.reject is None
    assert [(t.value, t.evidence) for t in scored.terms] == [
        (-0.6, "https://example.org/notes/pandas-pyarrow")
    ]
    assert check.check(_pins(pandas="2.2.1", pyarrow="17.0.0"), ctx) == ()


def test_prescription_annotator(env: RuntimeEnvironment) -> None:
    ctx = _ctx(env, RULES)
    pins = _pins(dask="2024.9.0", **{"scikit-learn": "1.4.1", "numpy": "2.0.1"})
    (note,) = PrescriptionAnnotator().annotate(pins, ctx)
    assert note.level == "info" and note.package == "dask"
    assert note.message == "message of dask-blas (environment: OMP_NUM_THREADS=1) [dask-blas]"
    assert note.link == "https://example.org/notes/dask-blas"
    notes = PrescriptionAnnotator(all_kinds=True).annotate(pins, ctx)
    assert [(n.level, n.package) for n in notes] == [("info", "dask"), ("error", "scikit-learn")]
    assert notes[1].message.startswith("this combination is ruled out by a curated rule: ")


def test_invalid_rules_are_skipped_and_reported(env: RuntimeEnvironment) -> None:
    broken = _rule("broken", "numpy", "=>1.0", "filter")
    ctx = _ctx(env, [broken])
    assert PrescriptionFilter().reject(_cand("numpy", "1.0"), ctx) is None
    assert PrescriptionCheck().check(_pins(numpy="1.0"), ctx) == ()
    (note,) = PrescriptionAnnotator().annotate(_pins(numpy="1.0"), ctx)
    assert note.level == "warning" and "'=>1.0' is not a valid version specifier" in note.message


def test_the_repository_curated_rules(host: RuntimeEnvironment) -> None:
    """The shipped knowledge/ folder: NumPy 2 with an old SciPy is rejected; NumPy before
    1.26 is filtered out on Python 3.12."""
    if not (KNOWLEDGE_DIR / "prescriptions").is_dir():
        pytest.skip(f"no curated knowledge at {KNOWLEDGE_DIR}")
    from advisor.knowledge.sources.folder import load_knowledge_folder

    loaded = load_knowledge_folder(KNOWLEDGE_DIR, date="2024-10-10")
    py312 = RuntimeEnvironment.for_target(
        host=host, python="3.12", platform="manylinux_2_28_x86_64"
    )
    ctx = _ctx(py312, loaded.observations)
    verdicts = PrescriptionCheck().check(_pins(scipy="1.12.0", numpy="2.0.2"), ctx)
    assert any(v.reject and "numpy2-abi-scipy" in v.reject for v in verdicts)
    assert not PrescriptionCheck().check(_pins(scipy="1.13.0", numpy="2.0.2"), ctx)
    assert PrescriptionFilter().reject(_cand("numpy", "1.25.2"), ctx) is not None
    assert PrescriptionFilter().reject(_cand("numpy", "1.26.4"), ctx) is None


# -- properties -------------------------------------------------------------------------------

_floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
_versions = st.sampled_from(["0.9", "1.0.0", "1.1.0rc1", "2.0.0", "2.0.1", "2.1.0.dev3", "3.0.0"])


@st.composite
def _knowledge(draw: st.DrawFn) -> list[Observation]:
    obs: list[Observation] = []
    for version in draw(st.lists(_versions, max_size=4)):
        obs.append(
            PerformanceObservation(
                package="pkg",
                version=version,
                probe="p",
                metric="m",
                value=draw(_floats),
                samples=tuple(draw(st.lists(_floats, max_size=8))),
                unit=draw(st.sampled_from(["s", "ops/s", "MiB", "?"])),
                environment=_fingerprint(
                    cpu_level=draw(st.sampled_from(["x86-64-v3", "x86-64-v2", None])),
                    cpu_model=draw(st.sampled_from(["AMD EPYC 7B13", "Intel Xeon", None])),
                    threads=draw(st.sampled_from([1, 2, None])),
                ),
                provenance=PROV,
            )
        )
    for outcome in draw(st.lists(st.sampled_from(["ok", "failed", "no-wheel"]), max_size=3)):
        obs.append(
            BuildObservation(
                package="pkg",
                specifier=draw(st.sampled_from([None, ">=1", "<2"])),
                outcome=outcome,  # type: ignore[arg-type]
                provenance=PROV,
            )
        )
    for i, score in enumerate(draw(st.lists(_floats, max_size=3))):
        obs.append(
            _rule(f"r{i}", "pkg", draw(st.sampled_from(["", ">=1", "<2"])), "score", score=score)
        )
    if draw(st.booleans()):
        obs.append(_advisory("GHSA-pkg", package="pkg", introduced="0", fixed="2.0.1"))
    return obs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    knowledge=_knowledge(),
    version=_versions,
    age_hours=st.one_of(st.none(), st.floats(min_value=-48, max_value=24 * 400)),
    yanked=st.booleans(),
    needs_build=st.booleans(),
    minimum=st.floats(min_value=0, max_value=60),
    seed=st.integers(0, 1000),
)
def test_terms_are_bounded_and_deterministic(
    knowledge: list[Observation],
    version: str,
    age_hours: float | None,
    yanked: bool,
    needs_build: bool,
    minimum: float,
    seed: int,
) -> None:
    uploaded = None if age_hours is None else NOW - timedelta(hours=age_hours)
    cand = _cand(
        "pkg",
        version,
        versions=("0.9", "1.0.0", "2.0.0", "2.0.1", "3.0.0"),
        upload_time=uploaded,
        yanked=yanked,
        needs_build=needs_build,
    )
    policy = Policy(minimum_release_age_days=minimum)
    shuffled = list(knowledge)
    random.Random(seed).shuffle(shuffled)
    first = _ctx(PERF_ENV, knowledge, policy=policy)
    second = _ctx(PERF_ENV, shuffled, policy=policy)
    scorers = [
        SecurityScorer(),
        BuildRiskScorer(),
        StabilityScorer(),
        PerformanceScorer(),
        PrescriptionScorer(),
    ]
    for scorer in scorers:
        terms = scorer.score(cand, first)
        assert all(-1.0 <= t.value <= 1.0 and not math.isnan(t.value) for t in terms)
        assert all(t.unit == scorer.name for t in terms)
        assert terms == scorer.score(cand, second)
    pins = {cand.name: cand.version}
    for check in (PrescriptionCheck(),):
        verdicts = check.check(pins, first)
        assert all(-1.0 <= t.value <= 1.0 for v in verdicts for t in v.terms)
        assert verdicts == check.check(pins, second)
    assert SecurityFilter().reject(cand, first) == SecurityFilter().reject(cand, second)
    for annotator in (
        PrescriptionAnnotator(all_kinds=True),
        SecurityAnnotator(),
        PerformanceAnnotator(),
    ):
        assert annotator.annotate(pins, first) == annotator.annotate(pins, second)
