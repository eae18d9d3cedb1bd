"""The dashboard's pages: what each shows, read from the store, then rendered as HTML.

Sits between the dashboard's routes (:mod:`.views`, which authorize and run these off the
event loop) and the store. Each page has a reader (``read_*``: store reads only, returning a
frozen value) and a renderer (``render_*``: pure, building escaped markup with
:mod:`.html`). The home page shows the store's counts, how current its advisories are, and
the newest measurements and image builds; a package's page shows its versions against its
advisories, build outcomes and measurements, and one plot (:mod:`.plot`) per probe.

**Cost.** The home page reads the newest ``limit`` builds and measurements along the
store's index by date (:meth:`~advisor.knowledge.store.KnowledgeStore.newest`), never the
older ones; a package's page is one indexed read.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from advisor.knowledge.freshness import advisory_data
from advisor.knowledge.package_facts import fact_applies, package_knowledge
from advisor.knowledge.schema import (
    Advisory,
    BuildObservation,
    PerformanceObservation,
    ReleaseObservation,
    observation_key,
)
from advisor.scoring.series import probe_series
from advisor.server.dashboard.html import Child, Markup, document, element, package_path, safe_link
from advisor.server.dashboard.plot import render_plot

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable

    from advisor.knowledge.package_facts import PackageKnowledge
    from advisor.knowledge.store import KnowledgeStore, StoreStats
    from advisor.scoring.series import ProbeSeries

__all__ = [
    "STALE_AFTER_DAYS",
    "Home",
    "PackagePage",
    "Viewer",
    "read_home",
    "read_package",
    "render_home",
    "render_login",
    "render_message",
    "render_package",
]

STALE_AFTER_DAYS = 7  # advisory data older than this is shown as stale (as `check` warns)
_NONE = "\u2013"  # an en dash: nothing to show
_TIMES = "\u00d7"  # a multiplication sign: a factor
RECENT = 20  # newest measurements and image builds shown on the home page
_MEASURED = (BuildObservation, PerformanceObservation)


@dataclass(frozen=True, slots=True, kw_only=True)
class Viewer:
    """Who looks: a token's name, or nobody (anonymous reads)."""

    name: str | None
    anonymous_reads: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Home:
    stats: StoreStats
    advisories: int
    advisories_as_of: dt.date | None
    today: dt.date
    measurements: tuple[BuildObservation | PerformanceObservation, ...]
    image_builds: tuple[BuildObservation, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PackagePage:
    knowledge: PackageKnowledge
    versions: tuple[str, ...]  # newest first
    series: tuple[ProbeSeries, ...]


def read_home(store: KnowledgeStore, *, today: dt.date, limit: int = RECENT) -> Home:
    """The home page's facts: counts, advisory freshness, the newest ``limit`` package
    measurements (probes, and builds of a package, in an image or not) and image builds
    (builds of a whole stack), by provenance date, then key."""
    count, as_of = advisory_data(store)
    measured = store.newest("build", limit, packaged=True)
    measured += store.newest("performance", limit)
    measurements = heapq.nlargest(
        limit, measured, key=lambda o: (o.provenance.date, observation_key(o))
    )
    images = store.newest("build", limit, packaged=False)
    return Home(
        stats=store.stats(),
        advisories=count,
        advisories_as_of=as_of,
        today=today,
        measurements=tuple(o for o in measurements if isinstance(o, _MEASURED)),
        image_builds=tuple(o for o in images if isinstance(o, BuildObservation)),
    )


def _sort_versions(versions: Iterable[str]) -> tuple[str, ...]:
    def key(text: str) -> tuple[int, Version | str]:
        try:
            return (1, Version(text))
        except InvalidVersion:
            return (0, text)

    return tuple(sorted(set(versions), key=key, reverse=True))


def read_package(store: KnowledgeStore, name: str) -> PackagePage:
    """A package's page: its facts, the versions they name, its probe series."""
    known = package_knowledge(store, name)
    versions: list[str] = []
    for fact in known.facts:
        obs = fact.observation
        if isinstance(obs, ReleaseObservation | PerformanceObservation | BuildObservation):
            if obs.version is not None:
                versions.append(obs.version)
    performance = [f.observation for f in known.of_kind("performance")]
    return PackagePage(
        knowledge=known,
        versions=_sort_versions(versions),
        series=probe_series(o for o in performance if isinstance(o, PerformanceObservation)),
    )


# -- rendering --------------------------------------------------------------------------------


def _table(head: Iterable[str], rows: Iterable[Iterable[Child]], **attrs: str) -> Markup:
    return element(
        "table",
        element("thead", element("tr", [element("th", h) for h in head])),
        element("tbody", [element("tr", [element("td", c) for c in row]) for row in rows]),
        **attrs,
    )


def _freshness(home: Home) -> Markup:
    if home.advisories_as_of is None:
        return element(
            "p",
            element("span", "no advisory data imported", class_="stale"),
            " (advisor knowledge import-osv or knowledge update)",
            id="freshness",
        )
    age = (home.today - home.advisories_as_of).days
    stale = age > STALE_AFTER_DAYS
    return element(
        "p",
        f"{home.advisories} advisories, data as of {home.advisories_as_of.isoformat()}: ",
        element("span", f"{age} days old", class_="stale" if stale else "ok"),
        id="freshness",
        data_age_days=age,
    )


def _short(digest: str | None) -> str:
    """A stack's digest as people compare them: 12 hex digits."""
    return _NONE if not digest else digest.removeprefix("sha256:")[:12]


def _subject(obs: BuildObservation | PerformanceObservation) -> Child:
    if obs.package is None:
        return element("span", f"stack {_short(obs.stack_digest)}", class_="muted")
    label = obs.package if obs.version is None else f"{obs.package} {obs.version}"
    return element("a", label, href=package_path(obs.package))


def _outcome(outcome: str) -> Markup:
    return element("span", outcome, class_="ok" if outcome == "ok" else "bad")


def _what(obs: BuildObservation | PerformanceObservation) -> Child:
    if isinstance(obs, BuildObservation):
        return ["build ", _outcome(obs.outcome)]
    return f"{obs.probe}: {obs.value:.4g} {obs.unit}"


def render_home(home: Home, viewer: Viewer) -> Markup:
    stats = home.stats
    kinds = _table(
        ("kind", "count", "newest"),
        ((k.kind, element("span", k.count, class_="num"), k.newest or _NONE) for k in stats.kinds),
        id="kinds",
    )
    sources = _table(("source", "count"), ((s.source, s.count) for s in stats.sources))
    recent = _table(
        ("date", "package", "what", "source"),
        (
            (o.provenance.date, _subject(o), _what(o), o.provenance.source)
            for o in home.measurements
        ),
        id="recent",
    )
    images = _table(
        ("date", "image", "stack", "outcome", "python"),
        (
            (
                o.provenance.date,
                o.image or _NONE,
                _short(o.stack_digest),
                _outcome(o.outcome),
                o.interpreter or o.environment.python or _NONE,
            )
            for o in home.image_builds
        ),
        id="images",
    )
    body = (
        element("h1", "Knowledge"),
        element("p", f"{stats.total} observations in the store (schema {stats.schema_version})."),
        _freshness(home),
        kinds,
        element("h2", "Recent measurements"),
        recent if home.measurements else element("p", "none yet", class_="muted"),
        element("h2", "Recent image builds"),
        images if home.image_builds else element("p", "none yet", class_="muted"),
        element("h2", "Sources"),
        sources,
        _package_form(),
    )
    return document(
        "Knowledge",
        *body,
        who=viewer.name,
        anonymous=viewer.name is None and viewer.anonymous_reads,
    )


def _package_form() -> Markup:
    return element(
        "form",
        element("label", "package ", element("input", name="name", required=True)),
        " ",
        element("button", "show", type="submit"),
        method="get",
        action="/packages",
    )


def _version_row(page: PackagePage, version: str) -> list[Child]:
    name = page.knowledge.name
    advisories = [
        f.observation
        for f in page.knowledge.of_kind("advisory")
        if isinstance(f.observation, Advisory) and fact_applies(f.observation, name, version)
    ]
    outcomes: Counter[str] = Counter()
    probes: list[str] = []
    for fact in page.knowledge.facts:
        obs = fact.observation
        if isinstance(obs, BuildObservation) and obs.version == version:
            outcomes[obs.outcome] += 1
        elif isinstance(obs, PerformanceObservation) and obs.version == version:
            probes.append(f"{obs.probe} {obs.value:.4g} {obs.unit}")
    return [
        version,
        [
            [element("a", a.id, href=f"#{a.id}", class_="bad"), " "]
            for a in sorted(advisories, key=lambda a: a.id)
        ]
        or element("span", "none known", class_="ok"),
        [[_outcome(k), f" {_TIMES}{n} "] for k, n in sorted(outcomes.items())] or _NONE,
        "; ".join(sorted(set(probes))) or _NONE,
    ]


def _advisory(adv: Advisory) -> Markup:
    return element(
        "li",
        element("strong", adv.id),
        f" {adv.summary}" if adv.summary else None,
        element("span", f" (withdrawn {adv.withdrawn})", class_="muted") if adv.withdrawn else None,
        element("ul", [element("li", safe_link(r)) for r in adv.references])
        if adv.references
        else None,
        id=adv.id,
    )


def _series_figure(series: ProbeSeries) -> Markup:
    rows = [
        (
            p.version,
            f"{p.median:.4g} {series.unit}",
            p.n,
            "reference"
            if p.version == series.reference
            else (_NONE if p.ratio is None else f"{_TIMES}{p.ratio:.3g}"),
            _NONE
            if p.low is None or p.high is None
            else f"{_TIMES}{p.low:.3g} to {_TIMES}{p.high:.3g}",
        )
        for p in series.points
    ]
    level = f"{series.confidence:.0%}"
    return element(
        "figure",
        render_plot(series),
        element(
            "figcaption",
            element("strong", series.probe),
            f" on {series.setting}: each version's median against {series.reference}"
            f" (the best), with its {level} interval; a filled point differs from it.",
        ),
        _table(("version", "median", "samples", "factor", f"{level} interval"), rows),
        class_="probe",
        data_probe=series.probe,
    )


def render_package(page: PackagePage, viewer: Viewer) -> Markup:
    known = page.knowledge
    advisories = [
        f.observation for f in known.of_kind("advisory") if isinstance(f.observation, Advisory)
    ]
    versions = _table(
        ("version", "advisories", "builds", "performance"),
        (_version_row(page, v) for v in page.versions),
        id="versions",
    )
    counts = Counter(f.kind for f in known.facts)
    body = (
        element("h1", known.name),
        element("p", ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing known"),
        element("h2", "Versions"),
        versions if page.versions else element("p", "no version known", class_="muted"),
        element("h2", "Performance"),
        [_series_figure(s) for s in page.series]
        or element("p", "no probe measured on two versions", class_="muted"),
        element("h2", "Advisories"),
        element("ul", [_advisory(a) for a in advisories], id="advisories")
        if advisories
        else element("p", "none known", class_="muted"),
    )
    return document(
        known.name, *body, who=viewer.name, anonymous=viewer.name is None and viewer.anonymous_reads
    )


def render_login(*, message: str | None, next_path: str) -> Markup:
    """The sign-in form; ``message`` says why it is shown again."""
    form = element(
        "form",
        element(
            "label",
            "token ",
            element(
                "input",
                type="password",
                name="token",
                required=True,
                autocomplete="current-password",
            ),
        ),
        element("input", type="hidden", name="next", value=next_path),
        element("button", "sign in", type="submit"),
        method="post",
        action="/login",
        class_="login",
    )
    return document(
        "Sign in",
        element("h1", "Sign in"),
        element("p", message, class_="error", id="login-error") if message else None,
        element("p", "Paste a token (advisor server token create NAME --scope read)."),
        form,
        who=None,
    )


def render_message(title: str, message: str, *, viewer: Viewer | None) -> Markup:
    """A page that only says something went wrong (no such package, a rate limit …)."""
    return document(
        title,
        element("h1", title),
        element("p", message, class_="error"),
        who=None if viewer is None else viewer.name,
    )
