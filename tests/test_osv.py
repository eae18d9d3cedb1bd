"""OSV rules: parsing records into advisories and deciding whether a version is affected.

Hand-made records pin each rule of the OSV schema (versions list, ECOSYSTEM events
introduced/fixed/last_affected/limit in PEP 440 order, SEMVER as ECOSYSTEM, GIT counted and
skipped, invalid versions reported, withdrawn never matching); real records from the shared
OSV snapshot check known affected/unaffected versions of numpy, jinja2, requests and pillow,
and cross-check the range evaluation against the versions OSV itself enumerated.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from advisor.knowledge.osv import (
    TOOL,
    affected_ranges,
    affected_versions,
    default_registry_hosts,
    fixed_versions,
    is_affected,
    parse_osv,
    parse_osv_json,
)
from advisor.knowledge.schema import Advisory, decode_observation, encode_observation
from advisor.knowledge.sources.osv_import import ImportReport, load_osv


def snapshot_path() -> Path:
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "osv-pypi-2024-10-10.zip"


@pytest.fixture(scope="module")
def snapshot() -> ImportReport:
    path = snapshot_path()
    if not path.is_file():
        reason = f"OSV snapshot not found at {path} (expected ../shared/data next to the repo)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return load_osv(path, date="2024-10-10", registry_hosts=())


def record(*affected: dict[str, Any], **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "TEST-1",
        "modified": "2024-01-02T03:04:05Z",
        "details": "Something bad.",
        "affected": list(affected),
    }
    base.update(fields)
    return base


def pkg(
    name: str = "demo", *, versions: list[str] | None = None, ranges: list[Any] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"package": {"ecosystem": "PyPI", "name": name}}
    if versions is not None:
        entry["versions"] = versions
    if ranges is not None:
        entry["ranges"] = ranges
    return entry


def eco(*events: dict[str, str], kind: str = "ECOSYSTEM") -> dict[str, Any]:
    return {"type": kind, "events": list(events)}


def parse(rec: dict[str, Any], **options: Any) -> Advisory:
    result = parse_osv(rec, file="t.json", origin="test", date="2024-05-06", **options)
    assert result.advisory is not None, result.problems
    return result.advisory


def affected(adv: Advisory, *versions: str, name: str = "demo") -> list[str]:
    return [v for v in versions if is_affected(adv, name, v)]


# -- the rules, one by one ----------------------------------------------------------------


def test_versions_list_only_with_pep440_equality() -> None:
    adv = parse(record(pkg(versions=["1.0", "1.1", "2.0rc1"])))
    assert affected(adv, "0.9", "1.0", "1.0.0", "1.1", "1.2", "2.0rc1", "2.0") == [
        "1.0",
        "1.0.0",
        "1.1",
        "2.0rc1",
    ]


def test_introduced_zero_and_fixed() -> None:
    adv = parse(record(pkg(ranges=[eco({"introduced": "0"}, {"fixed": "1.5"})])))
    assert affected(adv, "0", "0.0.1.dev1", "1.4.9", "1.5rc1", "1.5", "1.5.post1", "2.0") == [
        "0",
        "0.0.1.dev1",
        "1.4.9",
        "1.5rc1",  # a pre-release of the fix sorts before it: still affected
    ]


def test_introduced_then_fixed_excludes_older_releases() -> None:
    adv = parse(record(pkg(ranges=[eco({"introduced": "2.3.0"}, {"fixed": "2.31.0"})])))
    assert affected(adv, "2.2.1", "2.3.0", "2.30.0", "2.31.0") == ["2.3.0", "2.30.0"]


def test_last_affected_is_inclusive() -> None:
    adv = parse(record(pkg(ranges=[eco({"introduced": "1.0"}, {"last_affected": "1.11.0"})])))
    assert affected(adv, "0.9", "1.0", "1.11.0", "1.11.0.post1", "1.11.1") == ["1.0", "1.11.0"]


def test_limit_bounds_an_open_range_and_star_is_unbounded() -> None:
    limited = parse(record(pkg(ranges=[eco({"introduced": "0"}, {"limit": "2.0"})])))
    assert affected(limited, "1.9", "2.0", "3.0") == ["1.9"]
    star = parse(record(pkg(ranges=[eco({"introduced": "0"}, {"limit": "*"})])))
    assert affected(star, "1.9", "99.0") == ["1.9", "99.0"]


def test_several_intervals_in_one_range_and_unsorted_events() -> None:
    events = [{"fixed": "4"}, {"introduced": "3"}, {"fixed": "2"}, {"introduced": "1"}]
    adv = parse(record(pkg(ranges=[eco(*events)])))
    assert affected(adv, "0.5", "1", "1.9", "2", "2.5", "3", "3.9", "4", "5") == [
        "1",
        "1.9",
        "3",
        "3.9",
    ]
    assert affected_ranges(adv, "demo") == (">=1, <2", ">=3, <4")


def test_open_range_catches_releases_newer_than_the_versions_list() -> None:
    adv = parse(record(pkg(versions=["1.0", "1.1"], ranges=[eco({"introduced": "1.0"})])))
    assert affected(adv, "0.9", "1.0", "1.1", "1.2", "5.0") == ["1.0", "1.1", "1.2", "5.0"]
    assert affected_versions(adv, "demo") == ("1.0", "1.1")


def test_semver_ranges_read_like_ecosystem() -> None:
    rng = eco({"introduced": "1.2.3-beta.1"}, {"fixed": "1.4.0"}, kind="SEMVER")
    adv = parse(record(pkg(ranges=[rng])))
    assert adv.affected[0].ranges[0].type == "SEMVER"
    assert affected(adv, "1.2.3a1", "1.2.3b1", "1.3.0", "1.4.0") == ["1.2.3b1", "1.3.0"]


def test_git_ranges_are_counted_and_skipped() -> None:
    git = {"type": "GIT", "repo": "https://example.org/r.git", "events": [{"introduced": "0"}]}
    rec = record(pkg(ranges=[git, eco({"introduced": "0"}, {"fixed": "1.0"}), git]))
    result = parse_osv(rec, file="t.json", origin="test", date="2024-05-06")
    assert result.skipped_git == 2
    assert result.problems == ()
    assert result.advisory is not None
    assert [r.type for r in result.advisory.affected[0].ranges] == ["ECOSYSTEM"]
    assert affected(result.advisory, "0.9", "1.0") == ["0.9"]


def test_an_invalid_version_skips_that_range_only_and_is_reported() -> None:
    bad = eco({"introduced": "0"}, {"fixed": "2019-09-12"})
    good = eco({"introduced": "3.0"}, {"fixed": "3.1"})
    result = parse_osv(
        record(pkg(ranges=[bad, good])), file="x.json", origin="o", date="2024-05-06"
    )
    assert result.advisory is not None
    (problem,) = result.problems
    assert problem.file == "x.json"
    assert problem.field == "affected[0].ranges[0].events[1].fixed"
    assert "2019-09-12" in problem.message and "range skipped" in problem.message
    assert affected(result.advisory, "1.0", "3.0") == ["3.0"]


@pytest.mark.parametrize(
    ("events", "field"),
    [
        ([{"introduced": "0", "fixed": "1"}], "events[0]"),
        ([{}], "events[0]"),
        ([{"fixed": "1.0"}], "events"),
        ([{"introduced": "0"}, {"limit": "not a version"}], "events[1].limit"),
    ],
)
def test_malformed_events_skip_the_range(events: list[dict[str, str]], field: str) -> None:
    result = parse_osv(
        record(pkg(ranges=[eco(*events)])), file="x.json", origin="o", date="2024-05-06"
    )
    assert result.advisory is not None
    assert result.advisory.affected[0].ranges == ()
    assert [p.field for p in result.problems] == [f"affected[0].ranges[0].{field}"]


def test_unknown_range_type_is_reported() -> None:
    result = parse_osv(
        record(pkg(ranges=[{"type": "DEBIAN", "events": [{"introduced": "0"}]}])),
        file="x.json",
        origin="o",
        date="d",
    )
    assert [p.field for p in result.problems] == ["affected[0].ranges[0].type"]


def test_withdrawn_advisories_never_match() -> None:
    adv = parse(
        record(
            pkg(versions=["1.0"], ranges=[eco({"introduced": "0"})]),
            withdrawn="2024-02-01T00:00:00Z",
        )
    )
    assert adv.withdrawn == "2024-02-01T00:00:00Z"
    assert affected(adv, "1.0", "2.0") == []


def test_only_python_entries_are_kept_and_names_are_canonical() -> None:
    npm = {"package": {"ecosystem": "npm", "name": "left-pad"}, "versions": ["1.0"]}
    adv = parse(record(npm, pkg("Foo_Bar.baz", versions=["1.0"])))
    assert [a.package for a in adv.affected] == ["foo-bar-baz"]
    assert is_affected(adv, "FOO-bar_BAZ", "1.0")
    assert not is_affected(adv, "left-pad", "1.0")
    result = parse_osv(record(npm), file="x.json", origin="o", date="d")
    assert result.advisory is None and result.foreign and result.problems == ()


def test_an_unparsable_version_only_matches_by_exact_text() -> None:
    adv = parse(record(pkg(versions=["1.0-legacy-build"], ranges=[eco({"introduced": "0"})])))
    assert is_affected(adv, "demo", "1.0-legacy-build")
    assert not is_affected(adv, "demo", "not a version")
    assert is_affected(adv, "demo", Version("3.0"))


def test_fields_kept_summary_severity_provenance() -> None:
    rec = record(
        pkg(ranges=[eco({"introduced": "0"}, {"fixed": "2.0"}, {"introduced": "3"})]),
        aliases=["CVE-2024-0001", "GHSA-xxxx", "CVE-2024-0001"],
        details="\n\nFirst line of the details.\nSecond line.",
        severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L"}],
        published="2024-01-01T00:00:00Z",
        references=[{"type": "WEB", "url": "https://example.org/advisory"}],
        database_specific={"anything": 1},
    )
    adv = parse(rec)
    assert adv.id == "TEST-1"
    assert adv.aliases == ("CVE-2024-0001", "GHSA-xxxx")
    assert adv.summary == "First line of the details."
    assert adv.severity[0].type == "CVSS_V3"
    assert adv.published == "2024-01-01T00:00:00Z"
    assert adv.references == ("https://example.org/advisory",)
    assert adv.provenance.source == "osv:test"
    assert adv.provenance.date == "2024-01-02T03:04:05Z"  # modified wins over the import date
    assert adv.provenance.tool == TOOL
    assert fixed_versions(adv, "demo") == ("2.0",)
    assert affected_ranges(adv, "demo") == ("<2.0", ">=3")
    assert decode_observation(encode_observation(adv)) == adv

    del rec["modified"]
    rec["summary"] = "  Short   summary "
    undated = parse(rec)
    assert undated.provenance.date == "2024-05-06"
    assert undated.summary == "Short summary"


def test_long_details_are_cut_at_a_word() -> None:
    adv = parse(record(pkg(versions=["1"]), details="word " * 200))
    assert len(adv.summary) <= 302 and adv.summary.endswith(" …")


def test_registry_references_are_dropped() -> None:
    hosts = default_registry_hosts()  # read from pip at run time, never typed here
    assert hosts, "pip should be importable in the test environment"
    host = sorted(hosts)[0]
    refs = [
        {"type": "PACKAGE", "url": f"https://{host}/project/demo/"},
        {"type": "WEB", "url": f"https://sub.{host}/x"},
        {"type": "WEB", "url": "https://registry.example/project/demo"},
        {"type": "WEB", "url": "https://example.org/fix"},
    ]
    adv = parse(record(pkg(versions=["1"]), references=refs), registry_hosts=hosts)
    assert adv.references == ("https://registry.example/project/demo", "https://example.org/fix")
    own = parse(record(pkg(versions=["1"]), references=refs), registry_hosts={"registry.example"})
    assert "https://registry.example/project/demo" not in own.references


@pytest.mark.parametrize(
    ("rec", "field"),
    [
        ({"affected": []}, "id"),
        ({"id": "X", "affected": "demo"}, "affected"),
        ({"id": "X", "affected": [{"package": {"ecosystem": "PyPI"}}]}, "affected[0].package.name"),
        ({"id": 3}, "id"),
    ],
)
def test_a_record_of_the_wrong_shape_is_one_problem(rec: dict[str, Any], field: str) -> None:
    result = parse_osv(rec, file="bad.json", origin="o", date="d")
    assert result.advisory is None
    (problem,) = result.problems
    assert (problem.file, problem.field) == ("bad.json", field)


def test_malformed_json_names_the_line() -> None:
    data = b'{\n  "id": "X",\n  "affected": [,]\n}\n'
    result = parse_osv_json(data, file="bad.json", origin="o", date="d")
    assert result.advisory is None
    (problem,) = result.problems
    assert problem.line == 3 and "malformed" in problem.message


_VERSIONS = st.tuples(st.integers(0, 4), st.integers(0, 4)).map(lambda t: Version(f"{t[0]}.{t[1]}"))


@given(start=_VERSIONS, end=_VERSIONS, probe=_VERSIONS)
def test_one_interval_matches_plain_comparison(
    start: Version, end: Version, probe: Version
) -> None:
    adv = parse(record(pkg(ranges=[eco({"introduced": str(start)}, {"fixed": str(end)})])))
    # events are walked in version order: a "fixed" below "introduced" closes nothing
    expected = start <= probe and (probe < end or end < start)
    assert is_affected(adv, "demo", probe) == expected


# -- real records --------------------------------------------------------------------------


def by_id(report: ImportReport, advisory_id: str) -> Advisory:
    return next(a for a in report.advisories if a.id == advisory_id)


@pytest.mark.parametrize(
    ("advisory_id", "name", "yes", "no"),
    [
        # numpy: buffer overflow in array_from_pyobj, fixed in 1.19.0
        ("PYSEC-2021-857", "numpy", ["1.8.2", "1.18.5", "1.19.0rc2"], ["1.19.0", "1.26.4"]),
        # jinja2: sandbox escape via str.format_map, fixed in 2.10.1
        ("PYSEC-2019-217", "Jinja2", ["2.9.6", "2.10"], ["2.10.1", "3.1.4"]),
        # requests: Proxy-Authorization leak, introduced 2.3.0, fixed 2.31.0
        ("PYSEC-2023-74", "requests", ["2.3.0", "2.30.0"], ["2.2.1", "2.31.0", "2.32.3"]),
        # requests: Authorization header sent on https→http redirects, fixed in 2.20.0
        ("PYSEC-2018-28", "requests", ["2.19.1", "1.0.0"], ["2.20.0"]),
        # pillow: SAMPLESPERPIXEL denial of service, introduced 9.2.0, fixed 9.3.0
        ("PYSEC-2022-42980", "Pillow", ["9.2.0"], ["9.1.1", "9.3.0"]),
        # pillow: bundled libwebp, fixed in 10.0.1
        ("PYSEC-2023-175", "pillow", ["10.0.0", "8.4.0"], ["10.0.1", "10.4.0"]),
        # py: ReDoS, last_affected 1.11.0 (inclusive)
        ("PYSEC-2022-42969", "py", ["1.11.0", "1.4.0"], ["1.11.1"]),
        # moin: an open range; 1.9.11 is the last listed release, later ones are caught too
        ("PYSEC-2009-11", "moin", ["1.9.11", "1.9.12", "2.0"], []),
    ],
)
def test_real_advisories(
    snapshot: ImportReport, advisory_id: str, name: str, yes: list[str], no: list[str]
) -> None:
    adv = by_id(snapshot, advisory_id)
    assert adv.provenance.source == "osv:osv-pypi-2024-10-10.zip"
    assert [v for v in yes if is_affected(adv, name, v)] == yes
    assert [v for v in no if is_affected(adv, name, v)] == []


def test_real_open_range_goes_beyond_the_versions_list(snapshot: ImportReport) -> None:
    adv = by_id(snapshot, "PYSEC-2009-11")
    assert "1.9.12" not in affected_versions(adv, "moin")
    assert is_affected(adv, "moin", "1.9.12")


def test_real_git_ranges_are_skipped(snapshot: ImportReport) -> None:
    adv = by_id(snapshot, "PYSEC-2023-74")
    assert all(r.type == "ECOSYSTEM" for r in adv.affected[0].ranges)
    assert fixed_versions(adv, "requests") == ("2.31.0",)
    assert snapshot.skipped_git == 1391


def test_the_whole_snapshot(snapshot: ImportReport) -> None:
    assert snapshot.records == 2661
    assert len(snapshot.advisories) == 2661
    assert snapshot.foreign == 0
    assert snapshot.withdrawn == 10
    # two real records carry a non-PEP 440 version in a range: reported, range skipped
    assert sorted((Path(p.file).name, p.field) for p in snapshot.problems) == [
        ("PYSEC-2019-125.json", "affected[0].ranges[0].events[1].fixed"),
        ("PYSEC-2021-371.json", "affected[0].ranges[1].events[1].fixed"),
    ]
    for adv in snapshot.advisories:
        if adv.withdrawn:
            listed = [(a.package, v) for a in adv.affected for v in a.versions]
            assert not any(is_affected(adv, n, v) for n, v in listed)


def test_ranges_agree_with_the_versions_osv_enumerated(snapshot: ImportReport) -> None:
    """OSV enumerates ``versions`` from the ranges: evaluating the ranges alone must give
    back (nearly) every listed version. The few exceptions are inconsistent records."""
    agree, disagree = 0, set()
    for adv in snapshot.advisories:
        for entry in adv.affected:
            if not entry.ranges:
                continue
            ranges_only = Advisory(
                id=adv.id,
                affected=(type(entry)(package=entry.package, ranges=entry.ranges),),
                provenance=adv.provenance,
            )
            for v in entry.versions:
                try:
                    Version(v)
                except ValueError:
                    continue
                if is_affected(ranges_only, entry.package, v):
                    agree += 1
                else:
                    disagree.add(adv.id)
    assert agree > 140_000
    # pre-releases listed below an "introduced: 3.2" (django), a fixed version listed as
    # affected (gevent, wagtail), releases between ranges (pyspark): the records disagree
    # with themselves
    assert disagree <= {
        "PYSEC-2021-114",
        "PYSEC-2022-236",
        "PYSEC-2023-177",
        "PYSEC-2023-61",
        "PYSEC-2023-72",
    }
