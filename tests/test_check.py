"""Unit tests of :mod:`advisor.check`: the pure checks behind ``advisor check``.

Each check is fed values (digests, pins, advisories, a policy, today's date) and its
findings are compared; advisories are real :class:`~advisor.knowledge.schema.Advisory`
values judged by the real OSV rules of :mod:`advisor.knowledge.osv`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from advisor.check import (
    Finding,
    check_advisories,
    check_advisory_data,
    check_environments,
    check_freshness,
    check_hashes,
    check_indexes,
    check_requirements_satisfied,
)
from advisor.knowledge.osv import fixed_versions, is_affected
from advisor.knowledge.schema import Advisory, Affected, Provenance, RangeEvent, VersionRange
from advisor.policy import Policy, Waiver
from advisor.report.findings import render_findings

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

TODAY = date(2026, 3, 1)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _advisory(
    adv_id: str,
    package: str = "tinyhttp",
    *,
    introduced: str = "0",
    fixed: str | None = "1.3",
    aliases: Sequence[str] = (),
    summary: str = "",
    withdrawn: str | None = None,
) -> Advisory:
    events = [RangeEvent(introduced=introduced)]
    if fixed is not None:
        events.append(RangeEvent(fixed=fixed))
    return Advisory(
        id=adv_id,
        summary=summary,
        aliases=tuple(aliases),
        withdrawn=withdrawn,
        affected=(
            Affected(
                package=package,
                ranges=(VersionRange(type="ECOSYSTEM", events=tuple(events)),),
            ),
        ),
        provenance=Provenance(source="osv:test", date="2026-01-01"),
    )


def _advise(
    pins: Mapping[str, str],
    advisories: Sequence[Advisory],
    *,
    policy: Policy | None = None,
    now: datetime = NOW,
) -> list[Finding]:
    by_package: dict[str, list[Advisory]] = {}
    for adv in advisories:
        for affected in adv.affected:
            by_package.setdefault(affected.package, []).append(adv)
    return check_advisories(
        path="pylock.toml",
        pins={name: Version(v) for name, v in pins.items()},
        advisories=by_package,
        is_affected=is_affected,
        fixed_versions=fixed_versions,
        policy=policy or Policy(),
        now=now,
    )


def _waive(adv_id: str, until: date | None, reason: str = "not reachable") -> Policy:
    end = None if until is None else datetime.combine(until, time.max, tzinfo=UTC)
    return Policy(waivers=(Waiver(id=adv_id, reason=reason, until=end),))


# --- check_freshness -------------------------------------------------------------------------


def test_fresh_lock_has_no_finding() -> None:
    assert (
        check_freshness(
            path="pylock.toml",
            recorded_digest="abc",
            current_digest="abc",
            recorded=["tinyhttp"],
            current=["tinyhttp"],
            inputs=["requirements.in"],
        )
        == []
    )


def test_stale_lock_names_added_and_removed_requirements() -> None:
    (finding,) = check_freshness(
        path="app/pylock.toml",
        recorded_digest="abc",
        current_digest="def",
        recorded=["jsonkit", "tinyhttp"],
        current=["jsonkit", "newdep>=2", "tinyhttp<1.3"],
        inputs=["requirements.in"],
    )
    assert finding.id == "lock-stale"
    assert finding.path == "app/pylock.toml"
    assert finding.level == "error"
    assert "requirements.in" in finding.message
    assert "+ newdep>=2" in finding.message
    assert "+ tinyhttp<1.3" in finding.message
    assert "- tinyhttp" in finding.message
    assert "jsonkit" not in finding.message
    assert "advisor lock" in finding.hint


def test_stale_lock_without_a_requirement_change_says_what_else_may_have() -> None:
    (finding,) = check_freshness(
        path="pylock.toml",
        recorded_digest="abc",
        current_digest="def",
        recorded=["tinyhttp"],
        current=["tinyhttp"],
        inputs=["requirements.in", "constraints.txt"],
    )
    assert finding.id == "lock-stale"
    assert "requirements.in, constraints.txt" in finding.message
    assert "included file" in finding.message


def test_lock_without_a_digest_is_a_warning() -> None:
    (finding,) = check_freshness(
        path="pylock.toml",
        recorded_digest=None,
        current_digest="def",
        recorded=(),
        current=("tinyhttp",),
        inputs=(),
    )
    assert finding.id == "lock-unknown-inputs"
    assert finding.level == "warning"
    assert "advisor lock" in finding.hint


# --- check_requirements_satisfied -------------------------------------------------------------


def test_requirements_satisfied_by_pins() -> None:
    findings = check_requirements_satisfied(
        path="requirements.txt",
        pins={"tinyhttp": Version("1.2"), "jsonkit": Version("2.0")},
        requirements=[
            ("requirements.in:1", Requirement("TinyHTTP>=1")),
            ("requirements.in:2", Requirement("jsonkit[fast]")),
            ("requirements.in:3", Requirement("jsonkit<3")),
        ],
    )
    assert findings == []


def test_requirements_missing_pin_and_unsatisfied_specifier() -> None:
    findings = check_requirements_satisfied(
        path="requirements.txt",
        pins={"tinyhttp": Version("1.2")},
        requirements=[
            ("requirements.in:1", Requirement("tinyhttp>=1.3")),
            ("requirements.in:2", Requirement("Json_Kit")),
        ],
    )
    assert [(f.id, f.package) for f in findings] == [
        ("lock-stale", "tinyhttp"),
        ("lock-stale", "json-kit"),
    ]
    unsatisfied, missing = findings
    assert "tinyhttp==1.2" in unsatisfied.message
    assert "tinyhttp>=1.3" in unsatisfied.message
    assert "requirements.in:1" in unsatisfied.message
    assert "Json_Kit" in missing.message and "requirements.in:2" in missing.message
    assert "no pin" in missing.message


def test_requirements_prerelease_pin_satisfies_a_plain_specifier() -> None:
    findings = check_requirements_satisfied(
        path="requirements.txt",
        pins={"tinyhttp": Version("2.0rc1")},
        requirements=[("requirements.in:1", Requirement("tinyhttp>=1"))],
    )
    assert findings == []


# --- check_hashes / check_indexes -----------------------------------------------------------


def test_check_hashes_reports_each_unhashed_file() -> None:
    findings = check_hashes(
        path="pylock.toml",
        files={
            "tinyhttp": [("tinyhttp-1.2-py3-none-any.whl", True), ("tinyhttp-1.2.tar.gz", False)],
            "jsonkit": [("jsonkit-2.0-py3-none-any.whl", False)],
            "clean": [("clean-1.0-py3-none-any.whl", True)],
        },
    )
    assert [(f.id, f.package) for f in findings] == [
        ("missing-hash", "jsonkit"),
        ("missing-hash", "tinyhttp"),
    ]
    assert "jsonkit-2.0-py3-none-any.whl" in findings[0].message
    assert "tinyhttp-1.2.tar.gz" in findings[1].message
    assert check_hashes(path="pylock.toml", files={}) == []


def test_check_indexes() -> None:
    findings = check_indexes(
        path="pylock.toml",
        package_indexes={
            "tinyhttp": "http://127.0.0.1:8080/simple/",
            "jsonkit": "http://127.0.0.1:9090/simple",
            "local": None,  # a find-links or path pin names no index
        },
        allowed=["http://127.0.0.1:8080/simple"],
    )
    (finding,) = findings
    assert finding.id == "index-not-allowed"
    assert finding.package == "jsonkit"
    assert "http://127.0.0.1:9090/simple" in finding.message
    assert "allowed-indexes" in finding.hint


# --- check_advisories -----------------------------------------------------------------------


def test_affected_pin_is_a_finding_with_the_fix() -> None:
    adv = _advisory("GHSA-aaaa-bbbb-cccc", summary="header injection")
    (finding,) = _advise({"tinyhttp": "1.2", "jsonkit": "2.0"}, [adv])
    assert finding.id == "advisory"
    assert finding.package == "tinyhttp"
    assert finding.path == "pylock.toml"
    assert finding.message == "tinyhttp==1.2 is affected by GHSA-aaaa-bbbb-cccc: header injection"
    assert "fixed in: 1.3" in finding.hint
    assert "allow-advisories" in finding.hint


def test_unaffected_and_withdrawn_advisories_are_no_finding() -> None:
    advisories = [
        _advisory("GHSA-old", fixed="1.0"),  # fixed before the pin
        _advisory("GHSA-later", introduced="2.0", fixed=None),  # introduced after it
        _advisory("GHSA-gone", withdrawn="2026-01-02T00:00:00Z"),
        _advisory("GHSA-other", package="jsonkit"),  # another package, not pinned
    ]
    assert _advise({"tinyhttp": "1.2"}, advisories) == []


def test_advisory_without_a_fix_says_so() -> None:
    (finding,) = _advise({"tinyhttp": "1.2"}, [_advisory("GHSA-nofix", fixed=None)])
    assert "fixed in: none published" in finding.hint


def test_findings_are_sorted_by_package_then_id() -> None:
    advisories = [
        _advisory("GHSA-b"),
        _advisory("GHSA-a"),
        _advisory("PYSEC-1", package="jsonkit", fixed="3"),
    ]
    findings = _advise({"tinyhttp": "1.0", "jsonkit": "2.0"}, advisories)
    assert [(f.package, f.message.split(" is affected by ")[1]) for f in findings] == [
        ("jsonkit", "PYSEC-1"),
        ("tinyhttp", "GHSA-a"),
        ("tinyhttp", "GHSA-b"),
    ]


def test_active_waiver_silences_the_advisory() -> None:
    adv = _advisory("GHSA-aaaa-bbbb-cccc")
    assert _advise({"tinyhttp": "1.2"}, [adv], policy=_waive(adv.id, date(2026, 6, 1))) == []
    # the last day of a waiver still counts
    assert _advise({"tinyhttp": "1.2"}, [adv], policy=_waive(adv.id, TODAY)) == []
    # a waiver without an end date never expires
    assert _advise({"tinyhttp": "1.2"}, [adv], policy=_waive(adv.id, None)) == []


def test_waiver_matched_by_alias() -> None:
    adv = _advisory("GHSA-aaaa-bbbb-cccc", aliases=["CVE-2024-0001", "PYSEC-2024-7"])
    assert _advise({"tinyhttp": "1.2"}, [adv], policy=_waive("CVE-2024-0001", None)) == []
    assert _advise({"tinyhttp": "1.2"}, [adv], policy=_waive("PYSEC-2024-7", TODAY)) == []


def test_expired_waiver_is_a_finding_naming_the_expiry() -> None:
    adv = _advisory("GHSA-aaaa-bbbb-cccc", aliases=["CVE-2024-0001"])
    policy = _waive("CVE-2024-0001", date(2026, 2, 28))
    (finding,) = _advise({"tinyhttp": "1.2"}, [adv], policy=policy)
    assert finding.id == "advisory"
    assert "GHSA-aaaa-bbbb-cccc" in finding.message
    assert "the waiver expired on 2026-02-28" in finding.message


def test_waiver_for_another_advisory_does_not_apply() -> None:
    adv = _advisory("GHSA-aaaa-bbbb-cccc")
    (finding,) = _advise({"tinyhttp": "1.2"}, [adv], policy=_waive("GHSA-zzzz", None))
    assert "expired" not in finding.message


# --- check_advisory_data --------------------------------------------------------------------


@pytest.mark.parametrize(("as_of", "count"), [(None, 0), (TODAY, 0), (None, 12)])
def test_no_advisory_data_is_a_finding(as_of: date | None, count: int) -> None:
    (finding,) = check_advisory_data(
        path="pylock.toml", as_of=as_of, count=count, policy=Policy(), today=TODAY
    )
    assert finding.id == "advisory-data-missing"
    assert finding.level == "error"
    # the newcomer's way to get data first, then the other sources
    assert "`advisor knowledge update`" in finding.hint
    assert "import-osv" in finding.hint and "--osv" in finding.hint


def test_advisory_data_age() -> None:
    policy = Policy(max_advisory_age_days=30)

    def run(as_of: date) -> list[Finding]:
        return check_advisory_data(
            path="pylock.toml", as_of=as_of, count=5, policy=policy, today=TODAY
        )

    assert run(TODAY) == []
    assert run(date(2026, 1, 30)) == []  # exactly 30 days old
    (finding,) = run(date(2026, 1, 29))
    assert finding.id == "advisory-data-old"
    assert finding.level == "warning"
    assert "31 days old" in finding.message and "30 days" in finding.message
    assert "modified on 2026-01-29" in finding.message
    assert "`advisor knowledge update`" in finding.hint


# --- check_environments ---------------------------------------------------------------------


def test_check_environments() -> None:
    linux = 'sys_platform == "linux" and python_version == "3.12"'
    mac = 'sys_platform == "darwin" and python_version == "3.12"'
    assert check_environments(path="pylock.toml", lock_environments=[linux], required=[]) == []
    assert (
        check_environments(path="pylock.toml", lock_environments=[linux, mac], required=[mac]) == []
    )
    (finding,) = check_environments(
        path="pylock.toml", lock_environments=[linux], required=[linux, mac]
    )
    assert finding.id == "environment-missing"
    assert mac in finding.message
    assert "--env" in finding.hint


# --- render_findings ------------------------------------------------------------------------

STALE = Finding(
    id="lock-stale",
    path="app/pylock.toml",
    message="the lock is stale: requirements.in changed (+ tinyhttp<1.3; - tinyhttp)",
    hint="run `advisor lock`",
)
VULN = Finding(
    id="advisory",
    path="app/pylock.toml",
    package="tinyhttp",
    message="tinyhttp==1.2 is affected by GHSA-aaaa-bbbb-cccc: 100% bad\nreally",
    hint="upgrade tinyhttp (fixed in: 1.3)",
)
OLD = Finding(
    id="advisory-data-old",
    path="requirements.txt",
    line=4,
    message="the advisory data is 40 days old (policy allows 30)",
    level="warning",
)


def test_render_text() -> None:
    text = render_findings([STALE, OLD], fmt="text")
    assert text.splitlines() == [
        "app/pylock.toml: error: [lock-stale] the lock is stale: requirements.in changed "
        "(+ tinyhttp<1.3; - tinyhttp)",
        "  hint: run `advisor lock`",
        "requirements.txt:4: warning: [advisory-data-old] the advisory data is 40 days old "
        "(policy allows 30)",
    ]
    assert render_findings([], fmt="text") == ""


def test_render_json() -> None:
    data = json.loads(render_findings([VULN, OLD], fmt="json"))
    assert data == [
        {
            "id": "advisory",
            "level": "error",
            "path": "app/pylock.toml",
            "line": None,
            "package": "tinyhttp",
            "message": VULN.message,
            "hint": VULN.hint,
        },
        {
            "id": "advisory-data-old",
            "level": "warning",
            "path": "requirements.txt",
            "line": 4,
            "package": None,
            "message": OLD.message,
            "hint": "",
        },
    ]
    assert json.loads(render_findings([], fmt="json")) == []


def test_render_github_annotations() -> None:
    lines = render_findings([STALE, VULN, OLD], fmt="github").splitlines()
    assert len(lines) == 3
    assert lines[:2] == [
        "::error file=app/pylock.toml,title=advisor lock-stale::the lock is stale: "
        "requirements.in changed (+ tinyhttp<1.3; - tinyhttp). run `advisor lock`",
        # '%' and newlines are escaped so one finding stays one annotation
        "::error file=app/pylock.toml,title=advisor advisory::tinyhttp==1.2 is affected by "
        "GHSA-aaaa-bbbb-cccc: 100%25 bad%0Areally. upgrade tinyhttp (fixed in: 1.3)",
    ]
    assert lines[2].startswith(
        "::warning file=requirements.txt,line=4,title=advisor advisory-data-old::the advisory "
        "data is 40 days old (policy allows 30)"
    )


def test_render_github_escapes_property_values() -> None:
    finding = Finding(id="lock-stale", path="a,b:c/pylock.toml", message="m\r", hint="h")
    assert render_findings([finding], fmt="github") == (
        "::error file=a%2Cb%3Ac/pylock.toml,title=advisor lock-stale::m%0D. h"
    )


def test_the_store_s_prescriptions_are_picked_out_of_its_records() -> None:
    from advisor.check.sources import prescriptions_from_store
    from advisor.knowledge.schema import Action, Match, Prescription

    rule = Prescription(
        id="lib-rule",
        summary="lib 1 is slow",
        link="https://example.org/lib/changelog",
        quote="lib 2 is twice as fast",
        match=Match(package="lib", specifier="<2"),
        action=Action(kind="filter", message="lib < 2 is slow"),
        provenance=Provenance(source="knowledge/prescriptions/lib.yaml", date="2026-01-01"),
    )
    advisory = Advisory(id="GHSA-x", provenance=Provenance(source="osv:test", date="2026-01-01"))
    found = {"lib": [advisory, rule], "other": [advisory], "more": [rule]}
    assert prescriptions_from_store(found) == [rule, rule]
    assert prescriptions_from_store({}) == []
