"""Unit tests of the cooldown: :mod:`advisor.resolution.cooldown` (the filter's exemptions)
as :func:`advisor.advice.cooldown.build_cooldown` assembles it, applied by the real
:class:`~advisor.resolution.candidates.FileFilter`.

Advisories are real :class:`~advisor.knowledge.schema.Advisory` values in a
:class:`~advisor.scoring.knowledge_view.StaticKnowledge`, judged by the real OSV rules.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from advisor.advice.cooldown import build_cooldown
from advisor.environment import RuntimeEnvironment
from advisor.knowledge.schema import Advisory, Affected, Provenance, RangeEvent, VersionRange
from advisor.models import DistFile
from advisor.policy import CooldownExemption, Policy, Waiver
from advisor.resolution.candidates import FileFilter
from advisor.scoring.knowledge_view import StaticKnowledge

if TYPE_CHECKING:
    from pathlib import Path

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ENV = RuntimeEnvironment.for_target(
    host=RuntimeEnvironment.detect(), python="3.12", platform="manylinux_2_28_x86_64"
)
LIB = canonicalize_name("lib")


def _advisory(adv_id: str, *, introduced: str = "0", fixed: str | None = None) -> Advisory:
    events = [RangeEvent(introduced=introduced)]
    if fixed is not None:
        events.append(RangeEvent(fixed=fixed))
    return Advisory(
        id=adv_id,
        affected=(
            Affected(package="lib", ranges=(VersionRange(type="ECOSYSTEM", events=tuple(events)),)),
        ),
        provenance=Provenance(source="osv:test", date="2026-01-01"),
    )


def _project(ages: dict[str, float | None]) -> dict[Version, list[DistFile]]:
    """``lib`` with one wheel per version, uploaded ``age`` days before NOW (None: unknown)."""
    return {
        Version(v): [
            DistFile(
                filename=f"lib-{v}-py3-none-any.whl",
                url=f"https://files.example/lib-{v}-py3-none-any.whl",
                index="",
                upload_time=None if age is None else NOW - timedelta(days=age),
            )
        ]
        for v, age in ages.items()
    }


def _filter(policy: Policy = Policy(), advisories: tuple[Advisory, ...] = ()) -> FileFilter:  # noqa: B008
    cooldown = build_cooldown(
        7, now=NOW, policy=policy, knowledge=StaticKnowledge(advisories), env=ENV
    )
    return FileFilter(
        tags=[Tag("py3", "none", "any")], python=Version("3.12.0"), platform="x", cooldown=cooldown
    )


def _usable(fil: FileFilter, project: dict[Version, list[DistFile]]) -> dict[str, str | None]:
    """version → None when usable, else the rejection."""
    out = {}
    for v, files in project.items():
        choice = fil.choose_version(LIB, v, files, project=project)
        out[str(v)] = None if choice.files else choice.rejection
    return out


def test_young_releases_are_left_out_and_unknown_times_kept() -> None:
    project = _project({"1.0": 100, "1.1": 2, "1.2": None})
    assert _usable(_filter(), project) == {
        "1.0": None,
        "1.1": "uploaded less than 7 days ago (--cooldown)",
        "1.2": None,
    }


def test_a_fix_of_an_advisory_affecting_every_older_release_is_let_through() -> None:
    project = _project({"1.0": 100, "1.1": 50, "1.2": 2})
    every = _filter(advisories=(_advisory("GHSA-all", fixed="1.2"),))
    assert _usable(every, project)["1.2"] is None
    note = every.choose_version(LIB, Version("1.2"), project[Version("1.2")], project=project).note
    assert note == (
        "lib 1.2 is younger than the 7-day cooldown, used because it fixes GHSA-all, which "
        "affects every older release"
    )
    # 1.0 is outside the advisory's range: an older release is safe, so 1.2 waits
    some = _filter(advisories=(_advisory("GHSA-some", introduced="1.1", fixed="1.2"),))
    assert _usable(some, project)["1.2"] is not None
    # a young release affected too fixes nothing
    still = _filter(advisories=(_advisory("GHSA-open"),))
    assert _usable(still, project)["1.2"] is not None
    # without the project's other versions no exemption can be judged
    alone = every.choose_version(LIB, Version("1.2"), project[Version("1.2")])
    assert alone.files == ()


def test_only_the_oldest_young_fix_is_let_through() -> None:
    project = _project({"1.0": 100, "1.1": 5, "1.2": 3, "1.3": 1})
    fil = _filter(advisories=(_advisory("GHSA-all", fixed="1.1"),))
    usable = _usable(fil, project)
    assert usable["1.1"] is None  # the oldest release that fixes it
    assert usable["1.2"] == usable["1.3"] == "uploaded less than 7 days ago (--cooldown)"
    # a young fix affected by a second advisory: the release that fixes that one gets in too
    second = _filter(
        advisories=(
            _advisory("GHSA-all", fixed="1.1"),
            _advisory("GHSA-new", introduced="0", fixed="1.2"),
        )
    )
    usable = _usable(second, project)
    assert usable["1.1"] is None and usable["1.2"] is None
    assert usable["1.3"] is not None


def test_a_waived_advisory_is_no_reason_to_skip_the_cooldown() -> None:
    project = _project({"1.0": 100, "1.2": 2})
    waived = Policy(waivers=(Waiver(id="GHSA-all", reason="not reachable"),))
    fil = _filter(waived, advisories=(_advisory("GHSA-all", fixed="1.2"),))
    assert _usable(fil, project)["1.2"] is not None


def test_policy_exemptions_hold_until_their_end_then_warn() -> None:
    project = _project({"1.0": 100, "1.1": 2})
    until = NOW + timedelta(days=1)
    exempt = Policy(
        cooldown_exemptions=(
            CooldownExemption(package=NormalizedName("lib"), reason="we trust it", until=until),
        )
    )
    fil = _filter(exempt)
    assert _usable(fil, project) == {"1.0": None, "1.1": None}
    assert fil.cooldown is not None and fil.cooldown.warnings == ()
    past = Policy(
        cooldown_exemptions=(
            CooldownExemption(
                package=NormalizedName("lib"), reason="we trust it", until=NOW - timedelta(days=1)
            ),
        )
    )
    expired = _filter(past)
    assert _usable(expired, project)["1.1"] is not None
    assert expired.cooldown is not None
    assert expired.cooldown.warnings == (
        "the cooldown exemption of lib expired on 2026-02-28 (we trust it): it no longer applies",
    )


def test_without_knowledge_no_security_fix_is_let_through_and_it_says_so() -> None:
    project = _project({"1.0": 100, "1.2": 2})
    cooldown = build_cooldown(7, now=NOW, policy=Policy(), knowledge=None, env=ENV)
    assert cooldown.advisories is None
    assert cooldown.exemption(LIB, Version("1.2"), project) is None
    assert cooldown.warnings == (
        "no knowledge store with advisories: the 7-day cooldown lets no security fix through"
        " (fill one with `advisor knowledge update`)",
    )


def test_a_cooldown_reads_the_advisories_of_a_store_that_exists(tmp_path: Path) -> None:
    """:func:`~advisor.scoring.knowledge_view.advisory_view`: a missing SQLite store is not
    created (no view: no fix is let through); an existing one is read, advisories only."""
    from advisor.knowledge.store import open_store
    from advisor.scoring.knowledge_view import advisory_view

    url = f"sqlite:///{tmp_path / 'k.db'}"
    with advisory_view(url) as view:
        assert view is None
    assert not (tmp_path / "k.db").exists()
    with open_store(url) as store:
        store.put([_advisory("GHSA-1", fixed="2.0")])
    with advisory_view(url) as view:
        assert view is not None
        assert [a.id for a in view.for_package(canonicalize_name("lib"))] == ["GHSA-1"]


def test_open_cooldown_opens_nothing_without_days_and_the_store_only_without_knowledge(
    tmp_path: Path,
) -> None:
    """:func:`~advisor.advice.cooldown.open_cooldown`, the planning step's: no ``days``, no
    cooldown and no store asked; ``knowledge`` given, the store is not asked; else the
    store's advisories (a missing SQLite store not created: it says no fix gets through)."""
    from advisor.advice.cooldown import open_cooldown
    from advisor.knowledge.store import open_store

    asked: list[str] = []
    url = f"sqlite:///{tmp_path / 'k.db'}"

    def store_url() -> str:
        asked.append(url)
        return url

    step = partial(open_cooldown, now=NOW, policy=Policy(), store_url=store_url, env=ENV)
    with step(None, knowledge=None) as cooldown:
        assert cooldown is None
    assert asked == []
    known = StaticKnowledge([_advisory("GHSA-1", fixed="1.2")])
    with step(7, knowledge=known) as cooldown:
        assert cooldown is not None and cooldown.advisories is not None
    assert asked == []
    with step(7, knowledge=None) as cooldown:
        assert cooldown is not None and cooldown.advisories is None and cooldown.warnings
    assert asked == [url] and not (tmp_path / "k.db").exists()
    with open_store(url) as store:
        store.put([_advisory("GHSA-1", fixed="1.2")])
    project = _project({"1.0": 100, "1.2": 2})
    with step(7, knowledge=None) as cooldown:
        assert cooldown is not None and cooldown.warnings == ()
        assert cooldown.exemption(LIB, Version("1.2"), project) is not None
