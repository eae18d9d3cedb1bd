"""The dashboard over real HTTP: pages, escaping, the probe plot, sign-in and the read rule.

The app runs under uvicorn on 127.0.0.1 over a real store (SQLite and PostgreSQL, through
``test_server``'s ``serve`` fixture); pages are fetched with httpx (cookies kept by its
client, as a browser keeps them) and parsed with the standard library's HTML parser. The
series and the plot are also checked on their own against :func:`estimate_ratio`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import msgspec

from advisor.knowledge.freshness import record_advisory_data
from advisor.knowledge.schema import (
    BuildObservation,
    PerformanceObservation,
    Provenance,
    observation_key,
)
from advisor.knowledge.tokens import revoke_token
from advisor.scoring.series import probe_series
from advisor.scoring.stats import estimate_ratio
from advisor.server.dashboard.html import Markup, element, safe_link
from advisor.server.dashboard.pages import read_home
from advisor.server.dashboard.plot import render_plot
from tests.support.dashboard import (
    HOSTILE,
    PACKAGE,
    PROBE,
    VERSIONS,
    dashboard_observations,
    samples,
)
from tests.support.dom import Node, parse_dom
from tests.test_server import serve  # noqa: F401  (the fixture)

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from tests.test_server import Served


def _performance() -> list[PerformanceObservation]:
    return [o for o in dashboard_observations() if isinstance(o, PerformanceObservation)]


# -- the series and the plot ---------------------------------------------------------------


def test_series_compare_each_version_with_the_best_within_one_setting() -> None:
    found = probe_series(_performance())
    assert [(s.probe, s.setting.split()[0]) for s in found] == [
        (PROBE, "cp3.11"),
        (PROBE, "cp3.12"),
    ]
    series = found[1]
    assert series.lower_is_better and series.reference == "1.1"
    assert [p.version for p in series.points] == list(VERSIONS)
    by_version = {p.version: p for p in series.points}
    assert by_version["1.1"].ratio == 1.0 and by_version["1.1"].low is None
    for version in ("1.0", "2.0"):
        expected = estimate_ratio(samples(version), samples("1.1"))
        assert expected is not None
        point = by_version[version]
        assert (point.ratio, point.low, point.high) == (expected.ratio, expected.low, expected.high)
        assert point.differs and point.n == 8


def test_a_version_with_too_few_samples_has_no_factor() -> None:
    # one sample gives no interval against any other
    few = [
        o if o.version != "2.0" else msgspec.structs.replace(o, samples=(10.0,))
        for o in _performance()
        if o.environment.python.startswith("3.12")
    ]
    (series,) = probe_series(few)
    point = next(p for p in series.points if p.version == "2.0")
    assert point.ratio is None and point.n == 1
    svg = parse_dom(render_plot(series))
    assert {c.attrs["data-version"] for c in svg.find_all("circle")} == {"1.0", "1.1"}


def test_the_plot_draws_every_interval_around_the_reference_line() -> None:
    series = probe_series(_performance())[1]
    svg = parse_dom(render_plot(series)).find("svg")
    points = {c.attrs["data-version"]: c for c in svg.find_all("circle", class_="point")}
    intervals = {line.attrs["data-version"]: line for line in svg.find_all("line", class_="ci")}
    assert sorted(points) == list(VERSIONS) and sorted(intervals) == ["1.0", "2.0"]
    reference = svg.find("line", class_="reference")
    assert points["1.1"].attrs["cy"] == reference.attrs["y1"]
    for version, line in intervals.items():
        y_high, y_low = float(line.attrs["y1"]), float(line.attrs["y2"])
        # slower than the reference: drawn above its line (a larger factor), the interval
        # around the point, a filled mark (the interval excludes 1)
        assert y_high < float(points[version].attrs["cy"]) < y_low < float(reference.attrs["y1"])
        assert points[version].attrs["fill"] != "#fff"
        assert "interval" in line.find("title").text


def test_markup_is_escaped_and_only_web_links_are_links() -> None:
    page = element("p", HOSTILE, element("b", "ok"), title='"><x>')
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>ok</b>" in page
    assert 'title="&quot;&gt;&lt;x&gt;"' in page
    assert safe_link("javascript:alert(1)") == Markup("javascript:alert(1)")
    assert "<a" not in safe_link("http://user:pw@example.invalid/")
    assert 'href="https://example.invalid/a?b=1&amp;c=2"' in safe_link(
        "https://example.invalid/a?b=1&c=2"
    )


# -- pages over a real server --------------------------------------------------------------


def _seed(served: Served) -> None:
    with served.store() as store:
        store.put(dashboard_observations())
        record_advisory_data(store, as_of=dt.date(2026, 5, 20), today="2026-05-20")


def _page(resp: httpx.Response, status: int = 200) -> Node:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("text/html")
    assert "script-src" not in resp.headers["content-security-policy"]  # default-src 'none'
    assert "default-src 'none'" in resp.headers["content-security-policy"]
    return parse_dom(resp.text)


def test_without_a_token_the_dashboard_asks_for_one(serve: Callable[..., Any]) -> None:  # noqa: F811
    with serve() as served:
        _seed(served)
        resp = served.get("/", token=None)
        assert resp.headers["www-authenticate"].startswith("Bearer")  # no browser prompt
        dom = _page(resp, 401)
        assert dom.find("form", class_="login").attrs["action"] == "/login"
        assert not dom.find_all("table", id="kinds")
        dom = _page(served.get(f"/packages/{PACKAGE}", token=None), 401)
        assert dom.find("input", name="next").attrs["value"] == f"/packages/{PACKAGE}"


def test_the_home_page_shows_counts_freshness_and_recent_work(
    serve: Callable[..., Any],  # noqa: F811
) -> None:
    with serve(allow_anonymous_reads=True) as served:
        _seed(served)
        dom = _page(served.get("/", token=None))
    kinds = {
        row.find_all("td")[0].text: row.find_all("td")[1].text
        for row in dom.find("table", id="kinds").find_all("tr")[1:]
    }
    assert kinds["advisory"] == "5" and kinds["performance"] == "6" and kinds["release"] == "3"
    freshness = dom.find("p", id="freshness")
    assert freshness.attrs["data-age-days"] == "12"  # as of 2026-05-20, today 2026-06-01
    assert dom.find("span", class_="stale").text == "12 days old"
    recent = dom.find("table", id="recent")
    assert {a.attrs["href"] for a in recent.find_all("a")} == {f"/packages/{PACKAGE}"}
    assert len(recent.find_all("tr")) == 1 + 8  # two builds and six measurements
    (image,) = dom.find("table", id="images").find_all("tr")[1:]
    assert [td.text for td in image.find_all("td")][1:4] == ["datascience", "ab" * 6, "ok"]
    assert dom.find_all("span", class_="who")[0].text.startswith("anonymous reads")
    assert not dom.find_all("script")


def _many(n: int, *, image: bool) -> BuildObservation:
    when = dt.date(2026, 1, 1) + dt.timedelta(days=n)
    return BuildObservation(
        package=None if image else f"pkg-{n}",
        version=None if image else "1.0",
        image="datascience" if image else None,
        stack_digest=f"{n:012x}" if image else None,
        outcome="ok",
        provenance=Provenance(source="observe", date=when.isoformat(), tool="stack-advisor 0.1"),
    )


def test_the_home_page_shows_the_newest_twenty_without_reading_the_rest(
    serve: Callable[..., Any],  # noqa: F811
    knowledge_store_url: str,
) -> None:
    """Of 60 package builds and 30 image builds, the 20 newest of each, newest first; the
    older ones are never decoded (an undecodable old row is never met)."""
    from tests.test_store import raw

    measured = [_many(n, image=False) for n in range(60)]
    images = [_many(n, image=True) for n in range(30)]
    with serve(allow_anonymous_reads=True) as served:
        with served.store() as store:
            store.put([*measured, *images])
        update = "UPDATE observations SET payload = ? WHERE key = ?"
        raw(knowledge_store_url, update, ("{not json", observation_key(measured[0])))
        dom = _page(served.get("/", token=None))
        with served.store() as store:
            read_home(store, today=dt.date(2026, 6, 1))
            assert store.problems == ()  # the oldest build was not read
    rows = dom.find("table", id="recent").find_all("tr")[1:]
    assert [r.find_all("td")[1].text for r in rows] == [f"pkg-{n} 1.0" for n in range(59, 39, -1)]
    rows = dom.find("table", id="images").find_all("tr")[1:]
    newest = [o.provenance.date for o in reversed(images)][:20]
    assert [r.find_all("td")[0].text for r in rows] == newest


def test_a_package_page_crosses_versions_advisories_builds_and_probes(
    serve: Callable[..., Any],  # noqa: F811
) -> None:
    with serve() as served:
        _seed(served)
        resp = served.get(f"/packages/{PACKAGE.upper()}")
    dom = _page(resp)
    assert HOSTILE not in resp.text  # escaped wherever it came from
    assert not dom.find_all("script")
    rows = {
        row.find_all("td")[0].text: row.find_all("td")
        for row in dom.find("table", id="versions").find_all("tr")[1:]
    }
    assert list(rows) == ["2.0", "1.1", "1.0"]
    assert [a.text for a in rows["1.0"][1].find_all("a")] == ["GHSA-fast-json-0001"]
    assert rows["2.0"][1].text == "none known"
    assert "failed" in rows["1.0"][2].text and "ok" in rows["2.0"][2].text
    assert rows["1.1"][2].text == "\u2013" and PROBE in rows["1.1"][3].text
    figures = dom.find_all("figure", class_="probe")
    assert len(figures) == 2 and all(f.find_all("svg") for f in figures)
    advisory = dom.find("li", id="GHSA-fast-json-0001")
    assert HOSTILE in advisory.text  # shown as text
    assert [a.attrs["href"] for a in advisory.find_all("a")] == [
        "https://example.invalid/GHSA-fast-json-0001"
    ]


def test_unknown_and_invalid_packages(serve: Callable[..., Any]) -> None:  # noqa: F811
    with serve() as served:
        assert "nothing is known" in _page(served.get("/packages/nosuchthing"), 404).text
        assert "not a valid" in _page(served.get("/packages/-bad-"), 400).text
        found = served.get("/packages", params={"name": "Fast_JSON"}, follow_redirects=False)
        assert found.status_code == 303 and found.headers["location"] == "/packages/fast-json"


def _sign_in(served: Served, client: httpx.Client, secret: str, **extra: str) -> httpx.Response:
    return client.post("/login", data={"token": secret, **extra}, headers={"Origin": served.url})


def test_signing_in_keeps_the_token_in_an_http_only_cookie(
    serve: Callable[..., Any],  # noqa: F811
) -> None:
    with serve() as served, served.client() as client:
        signed = _sign_in(served, client, served.secrets["reader"], next=f"/packages/{PACKAGE}")
        assert signed.status_code == 303 and signed.headers["location"] == f"/packages/{PACKAGE}"
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        dom = _page(client.get("/"))
        assert "signed in as reader" in dom.find("form", class_="who").text
        out = client.post("/logout")
        assert out.status_code == 303
        _page(client.get("/"), 401)


def test_sign_in_refuses_bad_tokens_foreign_origins_and_open_redirects(
    serve: Callable[..., Any],  # noqa: F811
) -> None:
    with serve() as served, served.client() as client:
        refused = _page(_sign_in(served, client, "adv_not-a-token"), 401)
        assert "unknown token" in refused.find("p", id="login-error").text
        assert not client.cookies
        foreign = client.post(
            "/login",
            data={"token": served.secrets["reader"]},
            headers={"Origin": "http://evil.invalid"},
        )
        assert foreign.status_code == 403 and not client.cookies
        for target in ("//evil.invalid/x", "https://evil.invalid/", "/\\evil.invalid"):
            signed = _sign_in(served, client, served.secrets["reader"], next=target)
            assert signed.headers["location"] == "/", target


def test_a_revoked_token_is_signed_out_on_its_next_page(
    serve: Callable[..., Any],  # noqa: F811
) -> None:
    with serve() as served, served.client() as client:
        assert _sign_in(served, client, served.secrets["reader"]).status_code == 303
        _page(client.get("/"))
        with served.store() as store:
            revoke_token(store, "reader", when="2026-06-01T00:00:00Z")
        dom = _page(client.get("/"), 401)
        assert "revoked" in dom.find("p", id="login-error").text
        assert not client.cookies  # the server deleted it


def test_basic_credentials_open_the_dashboard_too(serve: Callable[..., Any]) -> None:  # noqa: F811
    with serve() as served:
        resp = served.get("/", token=None, auth=("token", served.secrets["reader"]))
        _page(resp)
