"""``advisor advise`` knows every package's release facts, from the pages it reads anyway.

A fixture index behind a real :class:`IndexServer` on 127.0.0.1 (PEP 691 JSON pages with
PEP 700 upload times and PEP 792 project status) and the same tree as a ``file://`` index
(PEP 503 HTML, no upload times). What is checked: an archived or deprecated project gets
the stability term and a warning with the index's reason; a quarantined one is filtered
(``latest``, pip's choice, keeps it and warns); the report counts the pins with release
facts, upload times, advisories and observations; and a warm run makes no request at all:
the status and the facts come from the cached pages.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.functional.helpers import CliResult, clean_environ, run_cli
from tests.support import IndexServer, Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from tests.support import FixtureIndex

OLD = datetime.now(UTC) - timedelta(days=400)


def _projects() -> list[Project]:
    return [
        Project(
            name="app",
            files=release("1.0", requires_dist=["oldlib>=1", "gonelib"], upload_time=OLD),
        ),
        Project(
            name="oldlib",
            files=[*release("1.0", upload_time=OLD), *release("1.1", upload_time=OLD)],
            status="archived",
            status_reason="superseded by newlib",
        ),
        Project(name="gonelib", files=release("2.0", upload_time=OLD), status="deprecated"),
        Project(name="badlib", files=release("0.1", upload_time=OLD), status="quarantined"),
    ]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FixtureIndex, IndexServer]]:
    index = build_index(tmp_path_factory.mktemp("facts") / "index", _projects())
    with IndexServer(index) as server:
        yield index, server


def _advise(
    index_url: str, work: Path, req: str, *args: object, env: Mapping[str, str]
) -> CliResult:
    (work / "requirements.in").write_text(req)
    return run_cli(
        [
            "advise",
            work / "requirements.in",
            "--index-url",
            index_url,
            "--knowledge",
            f"sqlite:///{work / 'k.db'}",
            "--dry-run",
            *args,
        ],
        env=env,
    )


def _pin(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in report["best"]["pins"] if p["name"] == name)


def test_archived_and_deprecated_projects_get_their_terms_and_the_counts_are_right(
    served: tuple[FixtureIndex, IndexServer], tmp_path: Path
) -> None:
    _, server = served
    env = clean_environ(tmp_path / "home")
    result = _advise(server.url, tmp_path, "app\n", "--report", "json", env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    old = _pin(report, "oldlib")
    assert old["version"] == "1.1"  # a status changes no choice between its versions
    (term,) = [t for t in old["terms"] if t["unit"] == "stability"]
    assert (term["value"], term["reason"]) == (
        -0.3,
        "project archived on its index (no further releases expected): superseded by newlib",
    )
    assert [j["message"] for j in old["justifications"]] == [
        "the project is archived on its index: superseded by newlib"
    ]
    (gone,) = [t for t in _pin(report, "gonelib")["terms"] if t["unit"] == "stability"]
    assert gone["value"] == -0.5 and gone["reason"].startswith("project deprecated on its index")
    assert _pin(report, "app")["terms"] == []
    assert report["knowledge"] == {
        "packages": 3,
        "release_facts": 3,
        "upload_times": 3,
        "advisories": 0,
        "advisories_as_of": None,
        "observations": 0,
        "no_release_facts": [],
    }
    assert report["unknown"] == []
    # the text report says it in one line, and the warnings name the status
    text = _advise(server.url, tmp_path, "app\n", env=env)
    assert text.exit_code == 0, text.output
    flat = " ".join(text.stdout.split())
    assert (
        "knowledge: release facts for 3 of 3, advisories checked for 0 (no advisory data "
        "loaded: advisor knowledge update), observations for 0"
    ) in flat
    assert "the project is archived on its index: superseded by newlib [index]" in flat
    assert "no knowledge about" not in flat


def test_a_warm_run_makes_no_request_and_knows_as_much(
    served: tuple[FixtureIndex, IndexServer], tmp_path: Path
) -> None:
    _, server = served
    env = clean_environ(tmp_path / "home")
    before = len(server.requests)
    cold = _advise(server.url, tmp_path, "app\n", "--report", "json", env=env)
    assert cold.exit_code == 0, cold.output
    assert len(server.requests) > before
    before = len(server.requests)
    warm = _advise(server.url, tmp_path, "app\n", "--report", "json", env=env)
    assert warm.exit_code == 0, warm.output
    assert server.requests[before:] == []  # pages, status and metadata all from the cache
    cold_report, warm_report = json.loads(cold.stdout), json.loads(warm.stdout)
    assert warm_report["knowledge"] == cold_report["knowledge"]
    assert warm_report["best"] == cold_report["best"]


def test_a_quarantined_project_is_filtered_and_latest_warns(
    served: tuple[FixtureIndex, IndexServer], tmp_path: Path
) -> None:
    _, server = served
    env = clean_environ(tmp_path / "home")
    stable = _advise(server.url, tmp_path, "badlib\n", env=env)
    assert stable.exit_code != 0
    assert "project quarantined on its index (considered unsafe)" in " ".join(stable.output.split())
    latest = _advise(server.url, tmp_path, "badlib\n", "--recommendation", "latest", env=env)
    assert latest.exit_code == 0, latest.output
    assert "the project is quarantined on its index [index]" in " ".join(latest.stdout.split())


def test_html_pages_give_the_status_but_no_upload_times(
    served: tuple[FixtureIndex, IndexServer], tmp_path: Path
) -> None:
    index, _ = served
    env = clean_environ(tmp_path / "home")
    result = _advise(index.file_url, tmp_path, "app\n", "--report", "json", env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["knowledge"]["release_facts"] == 3 and report["knowledge"]["upload_times"] == 0
    assert [j["message"] for j in _pin(report, "oldlib")["justifications"]] == [
        "the project is archived on its index: superseded by newlib"
    ]
