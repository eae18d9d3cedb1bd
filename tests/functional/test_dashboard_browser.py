"""The dashboard in a real headless Chromium, served by a real ``advisor serve`` process.

The store (SQLite) holds one package seen every way (``tests/support/dashboard.py``); the
server runs with anonymous reads so that Chromium's command line (``--dump-dom``,
``--screenshot``: no interaction) can load the pages. The DOM Chromium built is parsed with
the standard library; a screenshot of the package page is kept under the test's tmp dir and
copied to ``$ADVISOR_TEST_ARTEFACTS`` when that is set. Skipped with the reason when
``chromium`` is not installed (``.ci/run`` installs it), failed under ``CI=true``.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import TYPE_CHECKING

import pytest

from advisor.knowledge.freshness import record_advisory_data
from advisor.knowledge.team_store import open_team_store
from tests.functional.helpers import clean_environ
from tests.functional.serving import running, skip_or_fail
from tests.support.chromium import copy_artefact, dump_dom, find_chromium, screenshot
from tests.support.dashboard import HOSTILE, PACKAGE, PROBE, VERSIONS, dashboard_observations
from tests.support.dom import parse_dom

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_the_dashboard_renders_in_chromium(tmp_path: Path) -> None:
    chromium = find_chromium()
    if chromium is None:
        skip_or_fail("chromium is not installed (apt-get install chromium)")
        return
    store_url = f"sqlite:///{tmp_path / 'knowledge.db'}"
    with open_team_store(store_url) as store:
        store.put(dashboard_observations())
        today = dt.datetime.now(dt.UTC).date()  # the server's day
        record_advisory_data(store, as_of=today, today=today.isoformat())
    env = clean_environ(tmp_path / "home")
    args = ["--knowledge", store_url, "--allow-anonymous-reads"]
    with running(args, env=env, folder=tmp_path / "server") as server:
        home = parse_dom(dump_dom(chromium, f"{server.url}/", profile=tmp_path / "p1"))
        package_url = f"{server.url}/packages/{PACKAGE}"
        page = parse_dom(dump_dom(chromium, package_url, profile=tmp_path / "p2"))
        shot = screenshot(
            chromium, package_url, tmp_path / "dashboard-package.png", profile=tmp_path / "p3"
        )
        login = parse_dom(dump_dom(chromium, f"{server.url}/login", profile=tmp_path / "p4"))
    copy_artefact(shot)

    assert home.find("title").text.startswith("Knowledge")
    assert home.find("p", id="freshness").attrs["data-age-days"] == "0"
    assert home.find_all("table", id="images") and home.find_all("table", id="recent")
    assert f"/packages/{PACKAGE}" in {a.attrs.get("href") for a in home.find_all("a")}

    rows = page.find("table", id="versions").find_all("tr")[1:]
    assert [r.find("td").text for r in rows] == list(reversed(VERSIONS))
    # what the browser built holds no script from the data: the advisory's summary is text
    assert not page.find_all("script")
    assert HOSTILE in page.find("li", id="GHSA-fast-json-0001").text
    plots = page.find_all("svg", class_="probe-plot")
    assert len(plots) == 2 and {p.attrs["data-probe"] for p in plots} == {PROBE}
    for plot in plots:
        assert len(plot.find_all("circle", class_="point")) == len(VERSIONS)
        assert len(plot.find_all("line", class_="ci")) == len(VERSIONS) - 1

    assert login.find("input", name="token").attrs["type"] == "password"

    width, height = _png_size(shot)
    assert (width, height) == (1200, 1600)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
