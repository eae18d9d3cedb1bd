"""Tests of :mod:`advisor.policy`: ``[tool.advisor.policy]`` parsed once, one waiver rule.

The parser's values and messages, the configuration loader that calls it, and the promise
that ``advisor check`` and the scoring units of ``advise`` judge the same waiver the same way
(before one parser and one matching rule, one matched case-sensitively and ended a waiver at
the end of the day while the other casefolded and ended it at the given instant).
"""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from packaging.version import Version

from advisor.check import check_advisories
from advisor.config import load_config
from advisor.environment import RuntimeEnvironment
from advisor.errors import ConfigError
from advisor.knowledge.osv import fixed_versions, is_affected
from advisor.knowledge.schema import Advisory, Affected, Provenance, RangeEvent, VersionRange
from advisor.policy import Policy, Waiver, parse_policy
from advisor.scoring.base import ScoringContext
from advisor.scoring.knowledge_view import StaticKnowledge
from advisor.scoring.units.security import advisories_affecting

if TYPE_CHECKING:
    from pathlib import Path

_E = "pyproject.toml: tool.advisor.policy."
END_OF_DAY = (23, 59, 59, 999999)


def test_defaults() -> None:
    policy = parse_policy({}, source="pyproject.toml")
    assert policy == Policy()
    assert policy.minimum_release_age_days == 7
    assert policy.waivers == ()
    assert policy.max_advisory_age_days == 30
    assert policy.allowed_indexes is None


def test_values() -> None:
    raw: dict[str, Any] = {
        "minimum-release-age-days": 3,
        "allow-prereleases": ["Torch_Vision", "jax"],
        "allow-advisories": [
            {"id": "GHSA-j8r2-6x86-q33q", "reason": "proxy\n  unused", "until": date(2025, 6, 30)},
            {"id": "PYSEC-2023-74", "reason": "r", "until": "2025-01-31"},
            {"id": "A", "reason": "r", "until": datetime(2025, 1, 1, 8, 0)},
            {
                "id": "B",
                "reason": "r",
                "until": datetime(2025, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=2))),
            },
            {"id": "C", "reason": "forever"},
        ],
        "max-advisory-age-days": 7,
        "allowed-indexes": ["http://127.0.0.1:8080/simple"],
    }
    policy = parse_policy(raw, source="pyproject.toml")
    assert policy.minimum_release_age_days == 3.0
    assert policy.allow_prereleases == frozenset({"torch-vision", "jax"})
    assert policy.waivers == (
        Waiver(
            id="GHSA-j8r2-6x86-q33q",
            reason="proxy unused",
            until=datetime(2025, 6, 30, *END_OF_DAY, tzinfo=UTC),
        ),
        Waiver(
            id="PYSEC-2023-74", reason="r", until=datetime(2025, 1, 31, *END_OF_DAY, tzinfo=UTC)
        ),
        Waiver(id="A", reason="r", until=datetime(2025, 1, 1, 8, 0, tzinfo=UTC)),
        Waiver(id="B", reason="r", until=datetime(2025, 1, 1, 6, 0, tzinfo=UTC)),
        Waiver(id="C", reason="forever", until=None),
    )
    assert policy.max_advisory_age_days == 7
    assert policy.allowed_indexes == ("http://127.0.0.1:8080/simple",)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"minimum-release-age-days": -1},
            f"{_E}minimum-release-age-days must be a number of days >= 0 (got -1)",
        ),
        (
            {"minimum-release-age-days": True},
            f"{_E}minimum-release-age-days must be a number of days >= 0 (got True)",
        ),
        (
            {"minimum-release-age-days": "7"},
            f"{_E}minimum-release-age-days must be a number of days >= 0 (got '7')",
        ),
        (
            {"minimum-release-age-days": float("nan")},
            f"{_E}minimum-release-age-days must be a number of days >= 0 (got nan)",
        ),
        (
            {"allow-prereleases": "torch"},
            f"{_E}allow-prereleases must be an array of project names",
        ),
        (
            {"allow-prereleases": ["torch", "not valid!"]},
            f"{_E}allow-prereleases[1] has 'not valid!', which is not a valid project name",
        ),
        (
            {"allow-advisories": {"id": "X"}},
            f"{_E}allow-advisories must be an array of tables {{id, reason, until}}",
        ),
        (
            {"allow-advisories": ["GHSA-x"]},
            f"{_E}allow-advisories[0] must be a table {{id, reason, until}}",
        ),
        (
            {"allow-advisories": [{"reason": "r"}]},
            f"{_E}allow-advisories[0].id is required: the advisory id or one of its aliases",
        ),
        (
            {"allow-advisories": [{"id": 7, "reason": "r"}]},
            f"{_E}allow-advisories[0].id is required: the advisory id or one of its aliases",
        ),
        (
            {"allow-advisories": [{"id": "X", "reason": "ok"}, {"id": "Y"}]},
            f"{_E}allow-advisories[1].reason is required: a waiver says why the advisory is "
            "accepted",
        ),
        (
            {"allow-advisories": [{"id": "X", "reason": "r", "until": "next year"}]},
            f'{_E}allow-advisories[0].until must be a date like 2025-06-30 (got "next year")',
        ),
        (
            {"allow-advisories": [{"id": "X", "reason": "r", "until": 20250101}]},
            f"{_E}allow-advisories[0].until must be a date like 2025-06-30 (got 20250101)",
        ),
        (
            {"allow-advisories": [{"id": "X", "reason": "r", "untill": "2025-01-01"}]},
            f"{_E}allow-advisories[0].untill is not a known key (known: id, reason, until)",
        ),
        (
            {"max-advisory-age-days": "30"},
            f"{_E}max-advisory-age-days must be a whole number of days >= 0 (got '30')",
        ),
        (
            {"max-advisory-age-days": -1},
            f"{_E}max-advisory-age-days must be a whole number of days >= 0 (got -1)",
        ),
        (
            {"max-advisory-age-days": True},
            f"{_E}max-advisory-age-days must be a whole number of days >= 0 (got True)",
        ),
        (
            {"allowed-indexes": "http://127.0.0.1/simple"},
            f"{_E}allowed-indexes must be an array of index URLs",
        ),
        (
            {"allowed-indexes": ["http://127.0.0.1/simple", 3]},
            f"{_E}allowed-indexes must be an array of index URLs",
        ),
        (
            {"minimum-release-age": 3},
            f"{_E}minimum-release-age is not a known key; did you mean "
            "'minimum-release-age-days'? (known: minimum-release-age-days, allow-advisories, "
            "allow-prereleases, max-advisory-age-days, allowed-indexes, cooldown-exemptions)",
        ),
        (
            {"cooldown-exemptions": {"package": "x"}},
            f"{_E}cooldown-exemptions must be an array of tables {{package, reason, until}}",
        ),
        (
            {"cooldown-exemptions": [{"reason": "r", "until": "2030-01-01"}]},
            f"{_E}cooldown-exemptions[0].package is required: the project the cooldown lets "
            "through",
        ),
        (
            {"cooldown-exemptions": [{"package": "no!", "reason": "r", "until": "2030-01-01"}]},
            f"{_E}cooldown-exemptions[0].package has 'no!', which is not a valid project name",
        ),
        (
            {"cooldown-exemptions": [{"package": "x", "until": "2030-01-01"}]},
            f"{_E}cooldown-exemptions[0].reason is required: an exemption says why the cooldown"
            " is skipped",
        ),
        (
            {"cooldown-exemptions": [{"package": "x", "reason": "r"}]},
            f"{_E}cooldown-exemptions[0].until is required: a date like 2025-06-30, after which "
            "it expires",
        ),
        (
            {"cooldown-exemptions": [{"package": "x", "reason": "r", "until": "soon"}]},
            f'{_E}cooldown-exemptions[0].until must be a date like 2025-06-30 (got "soon")',
        ),
        (
            {
                "cooldown-exemptions": [
                    {"package": "x", "reason": "r", "id": "X", "until": "2030-01-01"}
                ]
            },
            f"{_E}cooldown-exemptions[0].id is not a known key (known: package, reason, until)",
        ),
    ],
)
def test_errors_name_the_file_and_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy(raw, source="pyproject.toml")
    assert str(info.value) == message


def test_key_prefix_follows_the_file() -> None:
    with pytest.raises(ConfigError, match=re.escape("advisor.toml: policy.allow-prereleases ")):
        parse_policy({"allow-prereleases": 1}, source="advisor.toml")
    with pytest.raises(ConfigError, match=re.escape("x.toml: [p].minimum-release-age-days ")):
        parse_policy({"minimum-release-age-days": -2}, source="x.toml", prefix="[p].")


def test_the_configuration_parses_it_once(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "demo"

            [tool.advisor.policy]
            minimum-release-age-days = 14
            allow-prereleases = ["torch"]
            allow-advisories = [
              { id = "CVE-2023-32681", reason = "no proxies here", until = 2025-06-30 },
            ]
            """
        ),
        encoding="utf-8",
    )
    policy = load_config(tmp_path).policy
    assert policy.minimum_release_age_days == 14
    (waiver,) = policy.waivers
    assert waiver.until == datetime(2025, 6, 30, *END_OF_DAY, tzinfo=UTC)


def test_a_bad_policy_fails_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "advisor.toml").write_text("[policy]\nallowed-advisories = []\n")
    with pytest.raises(ConfigError, match=re.escape("advisor.toml: policy.allowed-advisories")):
        load_config(tmp_path)


# -- one matching rule ------------------------------------------------------------------------


def test_waiver_matching_is_by_id_or_alias_whatever_the_case() -> None:
    waiver = Waiver(id="ghsa-abcd-efgh-ijkl", reason="r")
    assert waiver.matches(["GHSA-ABCD-EFGH-IJKL"])
    assert waiver.matches(["PYSEC-1", "GHSA-abcd-efgh-ijkl"])
    assert not waiver.matches(["GHSA-abcd-efgh-ijk"])


def test_waiver_holds_until_its_instant() -> None:
    noon = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
    waiver = Waiver(id="X", reason="r", until=noon)
    assert waiver.holds_at(noon)
    assert waiver.holds_at(datetime(2027, 1, 31, 12, 0))  # naive: UTC
    assert not waiver.holds_at(noon + timedelta(seconds=1))
    assert Waiver(id="X", reason="r").holds_at(datetime(9999, 1, 1, tzinfo=UTC))


def _advisory(adv_id: str, *, aliases: tuple[str, ...] = ()) -> Advisory:
    return Advisory(
        id=adv_id,
        aliases=aliases,
        affected=(
            Affected(
                package="tinyhttp",
                ranges=(
                    VersionRange(
                        type="ECOSYSTEM",
                        events=(RangeEvent(introduced="0"), RangeEvent(fixed="1.3")),
                    ),
                ),
            ),
        ),
        provenance=Provenance(source="osv:test", date="2026-01-01"),
    )


def _check_waives(advisory: Advisory, policy: Policy, now: datetime) -> bool:
    findings = check_advisories(
        path="pylock.toml",
        pins={"tinyhttp": Version("1.2")},
        advisories={"tinyhttp": [advisory]},
        is_affected=is_affected,
        fixed_versions=fixed_versions,
        policy=policy,
        now=now,
    )
    return findings == []


def _advise_waives(advisory: Advisory, policy: Policy, now: datetime) -> bool:
    ctx = ScoringContext(
        env=RuntimeEnvironment.for_target(
            host=RuntimeEnvironment.detect(), python="3.12", platform="manylinux_2_28_x86_64"
        ),
        recommendation="security",
        now=now,
        knowledge=StaticKnowledge([advisory]),
        policy=policy,
    )
    (hit,) = advisories_affecting("tinyhttp", "1.2", ctx)
    return hit.waiver is not None


@pytest.mark.parametrize(
    ("waiver_id", "until", "now"),
    [
        # case: check compared ids as written, advise casefolded them
        ("ghsa-aaaa-bbbb-cccc", None, datetime(2026, 3, 1, tzinfo=UTC)),
        ("cve-2024-0001", None, datetime(2026, 3, 1, tzinfo=UTC)),
        # an instant: check kept the waiver for the rest of the day, advise did not
        ("GHSA-aaaa-bbbb-cccc", "2026-03-01T08:00:00+00:00", datetime(2026, 3, 1, 9, tzinfo=UTC)),
        ("GHSA-aaaa-bbbb-cccc", "2026-03-01T08:00:00+00:00", datetime(2026, 3, 1, 7, tzinfo=UTC)),
        # a date: the whole of that day, UTC, in both
        ("GHSA-aaaa-bbbb-cccc", "2026-03-01", datetime(2026, 3, 1, 23, 59, tzinfo=UTC)),
        ("GHSA-aaaa-bbbb-cccc", "2026-03-01", datetime(2026, 3, 2, 0, 1, tzinfo=UTC)),
    ],
)
def test_check_and_advise_judge_a_waiver_alike(
    waiver_id: str, until: str | None, now: datetime
) -> None:
    entry: dict[str, Any] = {"id": waiver_id, "reason": "not reachable"}
    if until is not None:
        entry["until"] = until
    policy = parse_policy({"allow-advisories": [entry]}, source="pyproject.toml")
    advisory = _advisory("GHSA-aaaa-bbbb-cccc", aliases=("CVE-2024-0001",))
    assert _check_waives(advisory, policy, now) == _advise_waives(advisory, policy, now)


def test_cooldown_exemptions_parse_and_expire() -> None:
    policy = parse_policy(
        {
            "cooldown-exemptions": [
                {"package": "Django", "reason": "  security   releases ", "until": "2030-06-30"}
            ]
        },
        source="advisor.toml",
    )
    (item,) = policy.cooldown_exemptions
    assert (item.package, item.reason) == ("django", "security releases")
    assert item.holds_at(datetime(2030, 6, 30, 23, 59))  # to the end of that day, UTC
    assert not item.holds_at(datetime(2030, 7, 1, tzinfo=UTC))
