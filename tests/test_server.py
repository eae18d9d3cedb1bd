"""The team server over real HTTP: OSV-compatible endpoints, knowledge, tokens and limits.

Every test starts the real app under uvicorn on 127.0.0.1 (a thread, a free port) over a
real store (each test taking ``knowledge_store_url`` runs on SQLite and on PostgreSQL) and
talks to it with httpx. Tokens are made in the store as ``advisor server token create``
makes them; what a refused request would have stored is read back from the store.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import msgspec
import pytest

from advisor.knowledge.migrations import latest_version
from advisor.knowledge.osv import parse_osv
from advisor.knowledge.package_facts import package_knowledge
from advisor.knowledge.schema import (
    Advisory,
    Affected,
    Provenance,
    RangeEvent,
    Severity,
    VersionRange,
)
from advisor.knowledge.team_store import open_team_store
from advisor.knowledge.tokens import Scope, issue_token, revoke_token
from advisor.server.app import create_app
from advisor.server.settings import ServerSettings
from tests.support.asgi import serve_in_thread

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from advisor.knowledge.team_store import TeamStore

OSV = Provenance(source="osv:test", date="2026-01-01", tool="test")


def _range(*events: RangeEvent) -> VersionRange:
    return VersionRange(type="ECOSYSTEM", events=events)


ADVISORIES = (
    Advisory(
        id="GHSA-aaaa-bbbb-cccc",
        summary="urllib3 leaks a header",
        aliases=("CVE-2026-0001",),
        affected=(
            Affected(
                package="urllib3",
                ranges=(_range(RangeEvent(introduced="0"), RangeEvent(fixed="2.2.2")),),
            ),
        ),
        severity=(
            Severity(type="CVSS_V3", score="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"),
            Severity(type="HIGH", score="high"),
        ),
        published="2026-01-01T00:00:00Z",
        modified="2026-01-05T10:00:00Z",
        references=("https://example.invalid/advisory",),
        provenance=OSV,
    ),
    Advisory(
        id="PYSEC-2020-1",
        summary="an old one",
        affected=(
            Affected(
                package="urllib3",
                ranges=(_range(RangeEvent(introduced="0"), RangeEvent(fixed="1.26.0")),),
            ),
        ),
        provenance=OSV,
    ),
    Advisory(
        id="PYSEC-2020-2",
        summary="withdrawn",
        withdrawn="2026-01-02",
        affected=(Affected(package="urllib3", ranges=(_range(RangeEvent(introduced="0")),)),),
        provenance=OSV,
    ),
    Advisory(
        id="GHSA-rrrr-ssss-tttt",
        summary="one requests release",
        affected=(Affected(package="requests", versions=("2.31.0",)),),
        provenance=OSV,
    ),
)


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Served:
    """A running server: its base URL, its store's URL, and a token of each scope."""

    url: str
    store_url: str
    secrets: dict[str, str] = field(default_factory=dict)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {self.secrets[token]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def get(self, path: str, *, token: str | None = "reader", **kw: Any) -> httpx.Response:
        with self.client(token) as client:
            return client.get(path, **kw)

    def post(self, path: str, body: Any, *, token: str | None = "reader") -> httpx.Response:
        with self.client(token) as client:
            if isinstance(body, bytes | str):
                return client.post(path, content=body)
            return client.post(path, json=body)

    def store(self) -> TeamStore:
        return open_team_store(self.store_url)


ServeFactory = "Callable[..., contextlib.AbstractContextManager[Served]]"


@pytest.fixture
def serve(knowledge_store_url: str) -> Callable[..., contextlib.AbstractContextManager[Served]]:
    """``with serve(**settings) as served:``: the app over this test's store, with tokens
    ``reader``, ``writer`` and ``admin`` and the advisories above in the store."""
    with open_team_store(knowledge_store_url) as store:
        store.put(ADVISORIES, replace_source="osv:test")
        secrets = {
            name: issue_token(store, name, scope, created="2026-01-01T00:00:00Z").secret
            for name, scope in (
                ("reader", Scope.READ),
                ("writer", Scope.WRITE),
                ("admin", Scope.ADMIN),
            )
        }

    @contextlib.contextmanager
    def start(*, clock: Callable[[], float] | None = None, **options: Any) -> Iterator[Served]:
        settings = ServerSettings(store_url=knowledge_store_url, pool_size=4, **options)
        extra: dict[str, Any] = {"today": lambda: "2026-06-01"}
        if clock is not None:
            extra["clock"] = clock
        with serve_in_thread(create_app(settings, **extra)) as url:
            yield Served(url=url, store_url=knowledge_store_url, secrets=dict(secrets))

    return start


def _error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/json"
    body: dict[str, Any] = resp.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return body


def _ids(answer: dict[str, Any]) -> list[str]:
    return [v["id"] for v in answer.get("vulns", [])]


# -- OSV -----------------------------------------------------------------------------------


def test_query_answers_osv_records(serve: Callable[..., Any]) -> None:
    with serve() as served:
        one = served.post(
            "/v1/query", {"package": {"name": "URLLib3", "ecosystem": "PyPI"}, "version": "2.2.1"}
        )
        assert one.status_code == 200, one.text
        assert one.json() == {
            "vulns": [
                {
                    "id": "GHSA-aaaa-bbbb-cccc",
                    "modified": "2026-01-05T10:00:00Z",
                    "published": "2026-01-01T00:00:00Z",
                    "aliases": ["CVE-2026-0001"],
                    "summary": "urllib3 leaks a header",
                    "affected": [
                        {
                            "package": {
                                "ecosystem": "PyPI",
                                "name": "urllib3",
                                "purl": "pkg:pypi/urllib3",
                            },
                            "ranges": [
                                {
                                    "type": "ECOSYSTEM",
                                    "events": [{"introduced": "0"}, {"fixed": "2.2.2"}],
                                }
                            ],
                        }
                    ],
                    "severity": [
                        {
                            "type": "CVSS_V3",
                            "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
                        }
                    ],
                    "references": [{"type": "WEB", "url": "https://example.invalid/advisory"}],
                    "database_specific": {
                        "provenance": {"source": "osv:test", "date": "2026-01-01"},
                        "severity": [{"type": "HIGH", "score": "high"}],
                    },
                }
            ]
        }
        fixed = served.post(
            "/v1/query", {"package": {"name": "urllib3", "ecosystem": "PyPI"}, "version": "2.2.2"}
        )
        assert fixed.json() == {}
        every = served.post("/v1/query", {"package": {"name": "urllib3", "ecosystem": "PyPI"}})
        assert _ids(every.json()) == ["GHSA-aaaa-bbbb-cccc", "PYSEC-2020-1"]  # not withdrawn
        purl = served.post("/v1/query", {"package": {"purl": "pkg:pypi/urllib3@1.25"}})
        assert _ids(purl.json()) == ["GHSA-aaaa-bbbb-cccc", "PYSEC-2020-1"]
        purl_and_version = served.post(
            "/v1/query", {"package": {"purl": "pkg:pypi/urllib3"}, "version": "1.25"}
        )
        assert _ids(purl_and_version.json()) == ["GHSA-aaaa-bbbb-cccc", "PYSEC-2020-1"]
        npm = served.post("/v1/query", {"package": {"name": "urllib3", "ecosystem": "npm"}})
        assert npm.json() == {}


def test_querybatch_answers_ids_in_the_order_asked(serve: Callable[..., Any]) -> None:
    queries = [
        {"package": {"name": "urllib3", "ecosystem": "PyPI"}, "version": "2.2.1"},
        {"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "2.31.0"},
        {"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "2.32.0"},
        {"package": {"purl": "pkg:npm/left-pad@1.0.0"}},
        {"package": {"name": "unknown-project", "ecosystem": "PyPI"}},
    ]
    with serve() as served:
        answer = served.post("/v1/querybatch", {"queries": queries})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "results": [
            {"vulns": [{"id": "GHSA-aaaa-bbbb-cccc", "modified": "2026-01-05T10:00:00Z"}]},
            {"vulns": [{"id": "GHSA-rrrr-ssss-tttt", "modified": "2026-01-01T00:00:00Z"}]},
            {},
            {},
            {},
        ]
    }


def test_vulns_by_id_round_trips_through_the_osv_parser(serve: Callable[..., Any]) -> None:
    with serve() as served:
        for stored in ADVISORIES:
            resp = served.get(f"/v1/vulns/{stored.id}")
            assert resp.status_code == 200, resp.text
            parsed = parse_osv(resp.json(), file="x", origin="server", date="2026-02-02")
            assert parsed.problems == ()
            assert parsed.advisory is not None
            # what the server answers reads back as the advisory it stores (severity types
            # outside OSV's enumeration stay in database_specific)
            expected = msgspec.structs.replace(
                stored,
                severity=tuple(s for s in stored.severity if s.type != "HIGH"),
                withdrawn=stored.withdrawn and f"{stored.withdrawn}T00:00:00Z",
                modified=stored.modified or "2026-01-01T00:00:00Z",
                provenance=parsed.advisory.provenance,
            )
            assert parsed.advisory == expected
        _error(served.get("/v1/vulns/GHSA-none"), 404, "not-found")


REFUSED_QUERIES: list[tuple[dict[str, Any], str]] = [
    ({"commit": "6879efc2c1596d11a6a6ad296f80063b558d5e0f"}, "unsupported-query"),
    ({"package": {"purl": "pkg:pypi/urllib3@1.0"}, "version": "1.0"}, "invalid-request"),
    ({"package": {"purl": "pkg:pypi/urllib3", "name": "urllib3"}}, "invalid-request"),
    ({"package": {"name": "urllib3", "ecosystem": "pypi"}}, "invalid-request"),
    ({"package": {"name": "urllib3"}}, "invalid-request"),
    ({"version": "1.0"}, "invalid-request"),
    ({"package": {"name": "urllib3", "ecosystem": "PyPI"}, "page_token": "x"}, "invalid-request"),
    ({"package": {"name": "not a name!", "ecosystem": "PyPI"}}, "invalid-request"),
    ({"package": {"purl": "urllib3@1.0"}}, "invalid-request"),
    ({"package": "urllib3"}, "invalid-request"),
]


def test_queries_osv_refuses_are_refused(serve: Callable[..., Any]) -> None:
    good = {"package": {"name": "urllib3", "ecosystem": "PyPI"}}
    with serve() as served:
        for query, code in REFUSED_QUERIES:
            _error(served.post("/v1/query", query), 400, code)
            batch = served.post("/v1/querybatch", {"queries": [good, query]})
            message = _error(batch, 400, code)["message"]
            # a field of the wrong type is named by its JSON path, anything else by its query
            assert "queries[1]" in message, message


def test_a_batch_of_more_than_a_thousand_is_refused(serve: Callable[..., Any]) -> None:
    query = {"package": {"name": "urllib3", "ecosystem": "PyPI"}}
    with serve() as served:
        ok = served.post("/v1/querybatch", {"queries": [query] * 1000})
        assert ok.status_code == 200 and len(ok.json()["results"]) == 1000
        _error(served.post("/v1/querybatch", {"queries": [query] * 1001}), 400, "invalid-request")


# -- knowledge -------------------------------------------------------------------------------


def test_packages_and_stats_answer_what_the_cli_shows(serve: Callable[..., Any]) -> None:
    with serve() as served:
        shown = served.get("/v1/packages/URLLIB3", params={"version": "2.2.1"})
        assert shown.status_code == 200, shown.text
        with served.store() as store:
            expected = package_knowledge(store, "urllib3", "2.2.1").to_dict()
            counts = store.stats()
        assert shown.json() == json.loads(json.dumps(expected))
        applies = {f["observation"]["id"]: f["applies"] for f in shown.json()["kinds"]["advisory"]}
        assert applies == {
            "GHSA-aaaa-bbbb-cccc": True,
            "PYSEC-2020-1": False,
            "PYSEC-2020-2": False,
        }
        assert served.get("/v1/packages/nothing-known").json() == {
            "name": "nothing-known",
            "version": None,
            "kinds": {},
        }
        _error(served.get("/v1/packages/not%20a%20name"), 400, "invalid-request")
        stats = served.get("/v1/stats").json()
        assert stats["total"] == counts.total == 4
        assert stats["kinds"]["advisory"] == {"count": 4, "newest": "2026-01-01"}
        assert stats["sources"] == {"osv:test": 4}
        assert stats["schema-version"] == latest_version()
        assert "store" not in stats  # a client has no business with the store's URL
        health = served.get("/v1/health", token=None)
        assert health.status_code == 200 and health.json()["status"] == "ok"


def _measurement(**provenance: str) -> dict[str, Any]:
    return {
        "type": "build",
        "package": "numpy",
        "version": "2.1.0",
        "outcome": "failed",
        "failure_class": "missing-compiler",
        "provenance": provenance,
    }


def test_an_upload_is_stored_under_its_tokens_name(serve: Callable[..., Any]) -> None:
    body = {
        "observations": [
            _measurement(source="osv", date="2026-03-03", tool="advisor 0.1"),
            {**_measurement(), "version": "2.0.0"},  # no provenance: dated today
        ]
    }
    with serve() as served:
        resp = served.post("/v1/observations", body, token="writer")
        assert resp.status_code == 200, resp.text
        assert resp.json() == {
            "source": "upload:writer",
            "received": 2,
            "added": 2,
            "replaced": 0,
            "unchanged": 0,
        }
        again = served.post("/v1/observations", body, token="writer").json()
        assert (again["added"], again["unchanged"]) == (0, 2)
        with served.store() as store:
            found = store.for_package("numpy", kinds=["build"])
        assert sorted((o.provenance.source, o.provenance.date) for o in found) == [
            ("upload:writer", "2026-03-03"),
            ("upload:writer", "2026-06-01"),
        ]
        assert {o.provenance.tool for o in found} == {"advisor 0.1", ""}
        stats = served.get("/v1/stats").json()
        assert stats["sources"]["upload:writer"] == 2


def test_an_upload_keeps_the_recorder_that_measured_it(serve: Callable[..., Any]) -> None:
    """The source becomes the token's, but the recorder (the machine that measured) stays:
    a sweep worker's or a CI runner's measurement is still told apart from another's."""
    measured = _measurement(source="observe", date="2026-03-03", recorder="0123456789abcdef")
    with serve() as served:
        resp = served.post("/v1/observations", {"observations": [measured]}, token="writer")
        assert resp.status_code == 200, resp.text
        with served.store() as store:
            (found,) = store.for_package("numpy", kinds=["build"])
        assert (found.provenance.source, found.provenance.recorder) == (
            "upload:writer",
            "0123456789abcdef",
        )
        bad = _measurement(source="observe", date="2026-03-03", recorder="no spaces allowed")
        refused = served.post("/v1/observations", {"observations": [bad]}, token="writer")
        assert "recorder" in _error(refused, 400, "invalid-request")["message"]


def test_a_team_advisory_is_served_to_osv_clients(serve: Callable[..., Any]) -> None:
    advisory = {
        "type": "advisory",
        "id": "TEAM-2026-1",
        "summary": "our fork of requests must not be used below 2.32",
        "affected": [
            {
                "package": "requests",
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.32.0"}]}
                ],
            }
        ],
    }
    with serve() as served:
        _error(
            served.post("/v1/observations", {"observations": [advisory]}, token="writer"),
            403,
            "forbidden",
        )
        stored = served.post("/v1/observations", {"observations": [advisory]}, token="admin")
        assert stored.status_code == 200, stored.text
        batch = served.post(
            "/v1/querybatch",
            {
                "queries": [
                    {"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "2.31.0"}
                ]
            },
        ).json()
        assert [v["id"] for v in batch["results"][0]["vulns"]] == [
            "GHSA-rrrr-ssss-tttt",
            "TEAM-2026-1",
        ]
        record = served.get("/v1/vulns/TEAM-2026-1").json()
        assert record["modified"] == "2026-06-01T00:00:00Z"
        assert record["database_specific"]["provenance"]["source"] == "upload:admin"


# -- security ----------------------------------------------------------------------------------


def _store_state(served: Served) -> tuple[int, tuple[tuple[str, int], ...]]:
    with served.store() as store:
        stats = store.stats()
    return stats.total, tuple((s.source, s.count) for s in stats.sources)


def test_reads_need_a_token_unless_anonymous_reads_are_on(serve: Callable[..., Any]) -> None:
    query = {"package": {"name": "urllib3", "ecosystem": "PyPI"}}
    with serve() as served:
        refused = served.post("/v1/query", query, token=None)
        _error(refused, 401, "unauthorized")
        assert "Bearer" in refused.headers["www-authenticate"]
        _error(served.get("/v1/stats", token=None), 401, "unauthorized")
        _error(served.get("/v1/vulns/PYSEC-2020-1", token=None), 401, "unauthorized")
    with serve(allow_anonymous_reads=True) as served:
        assert _ids(served.post("/v1/query", query, token=None).json())
        assert served.get("/v1/stats", token=None).status_code == 200
        # a token that is presented must be valid even here
        with httpx.Client(base_url=served.url, headers={"Authorization": "Bearer adv_x"}) as c:
            _error(c.post("/v1/query", json=query), 401, "unauthorized")


def test_anonymous_writes_are_refused_and_store_nothing(serve: Callable[..., Any]) -> None:
    body = {"observations": [_measurement(date="2026-01-01")]}
    with serve(allow_anonymous_reads=True) as served:
        before = _store_state(served)
        _error(served.post("/v1/observations", body, token=None), 401, "unauthorized")
        assert _store_state(served) == before


def test_a_read_token_cannot_write(serve: Callable[..., Any]) -> None:
    body = {"observations": [_measurement(date="2026-01-01")]}
    with serve() as served:
        before = _store_state(served)
        refused = _error(served.post("/v1/observations", body, token="reader"), 403, "forbidden")
        assert "scope read" in refused["message"]
        assert _store_state(served) == before


def test_revoked_and_unknown_tokens_are_refused(serve: Callable[..., Any]) -> None:
    with serve() as served:
        assert served.get("/v1/stats", token="writer").status_code == 200
        with served.store() as store:
            revoke_token(store, "writer", when="2026-02-02T00:00:00Z")
        refused = _error(served.get("/v1/stats", token="writer"), 401, "unauthorized")
        assert "revoked" in refused["message"]
        body = {"observations": [_measurement(date="2026-01-01")]}
        before = _store_state(served)
        _error(served.post("/v1/observations", body, token="writer"), 401, "unauthorized")
        assert _store_state(served) == before
        served.secrets["forged"] = "adv_" + "A" * 43
        _error(served.get("/v1/stats", token="forged"), 401, "unauthorized")
        with httpx.Client(base_url=served.url, headers={"Authorization": "Token abc"}) as c:
            _error(c.get("/v1/stats"), 401, "unauthorized")


def test_basic_credentials_carry_the_token(serve: Callable[..., Any]) -> None:
    """For tools that take credentials in a URL only (``https://token:SECRET@host``)."""
    with serve() as served:
        secret = served.secrets["reader"]
        for user, password in (("token", secret), (secret, "")):
            auth = base64.b64encode(f"{user}:{password}".encode()).decode()
            with httpx.Client(base_url=served.url, headers={"Authorization": f"Basic {auth}"}) as c:
                assert c.get("/v1/stats").status_code == 200
        with httpx.Client(base_url=served.url, headers={"Authorization": "Basic !!!"}) as c:
            _error(c.get("/v1/stats"), 401, "unauthorized")


def test_oversized_bodies_are_refused_and_store_nothing(serve: Callable[..., Any]) -> None:
    many = {
        "observations": [
            {**_measurement(date="2026-01-01"), "version": f"1.{i}"} for i in range(200)
        ]
    }
    data = json.dumps(many).encode()
    assert len(data) > 8192
    with serve(max_request_bytes=8192) as served:
        before = _store_state(served)
        _error(served.post("/v1/observations", data, token="writer"), 413, "request-too-large")

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            for start in range(0, len(data), 1000):
                yield data[start : start + 1000]

        with served.client("writer") as client:
            streamed = client.post("/v1/observations", content=chunks())
        _error(streamed, 413, "request-too-large")
        assert _store_state(served) == before
        small = {"observations": many["observations"][:5]}
        assert served.post("/v1/observations", small, token="writer").status_code == 200


MALFORMED_UPLOADS: list[tuple[bytes, str, str]] = [
    (b"{not json", "malformed-json", "not JSON"),
    (b"", "malformed-json", "no JSON body"),
    (b"[]", "invalid-request", "Expected `object`"),
    (b'{"observations": [1]}', "invalid-request", "observations[0]"),
    # the second observation has no outcome: the first is not stored either
    (
        json.dumps({"observations": [_measurement(date="2026-01-01"), {"type": "build"}]}).encode(),
        "invalid-request",
        "observations[1]",
    ),
    (
        json.dumps({"observations": [{**_measurement(), "type": "nonsense"}]}).encode(),
        "invalid-request",
        "observations[0]",
    ),
    # well-formed, but the version is no version: found by the semantic check
    (
        json.dumps(
            {"observations": [_measurement(), {**_measurement(), "version": "not a version"}]}
        ).encode(),
        "invalid-request",
        "observations[1].version",
    ),
]


def test_malformed_bodies_are_refused_and_store_nothing(serve: Callable[..., Any]) -> None:
    with serve() as served:
        before = _store_state(served)
        for body, code, where in MALFORMED_UPLOADS:
            refused = _error(served.post("/v1/observations", body, token="writer"), 400, code)
            assert where in refused["message"], refused
        assert _store_state(served) == before


def test_the_rate_limit_is_per_token(serve: Callable[..., Any]) -> None:
    clock = FakeClock()
    with serve(rate_limit=3, clock=clock) as served:
        with served.client("reader") as reader:
            assert [reader.get("/v1/stats").status_code for _ in range(3)] == [200] * 3
            limited = _error(reader.get("/v1/stats"), 429, "rate-limited")
            assert reader.get("/v1/stats").headers["retry-after"] == "20"
            assert "try again" in limited["message"]
            # another token has its own bucket
            assert served.get("/v1/stats", token="writer").status_code == 200
            clock.now += 20  # 3 per minute: one more request after 20 s
            assert reader.get("/v1/stats").status_code == 200
            _error(reader.get("/v1/stats"), 429, "rate-limited")
        # without a token, the client's address is counted (failures included)
        for _ in range(3):
            _error(served.get("/v1/stats", token=None), 401, "unauthorized")
        _error(served.get("/v1/stats", token=None), 429, "rate-limited")


def test_every_error_is_json_with_a_code(serve: Callable[..., Any]) -> None:
    with serve() as served:
        _error(served.get("/nothing/here"), 404, "not-found")
        _error(served.get("/v1/query"), 405, "method-not-allowed")
        _error(served.post("/v1/query", b'{"package": '), 400, "malformed-json")
        _error(served.post("/v1/query", b'{"package": 1}'), 400, "invalid-request")


def test_secrets_never_reach_the_log(
    serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with serve() as served:
        served.get("/v1/stats", token="reader")
        served.post("/v1/observations", {"observations": []}, token="reader")
        with served.store() as store:
            revoke_token(store, "admin", when="2026-02-02T00:00:00Z")
        served.get("/v1/stats", token="admin")
        text = caplog.text
    assert text  # uvicorn logged something
    for secret in served.secrets.values():
        assert secret not in text


def test_a_store_that_cannot_answer_gives_503(knowledge_store_url: str) -> None:
    """The store failing under a running server (here: closed, as a pool is when its
    database went away): JSON 503 with Retry-After, and the health probe fails."""
    with open_team_store(knowledge_store_url) as store:
        secret = issue_token(store, "reader", Scope.READ, created="2026-01-01T00:00:00Z").secret
    store = open_team_store(knowledge_store_url)
    settings = ServerSettings(store_url=knowledge_store_url)
    with serve_in_thread(create_app(settings, store=store)) as url:
        headers = {"Authorization": f"Bearer {secret}"}
        assert httpx.get(f"{url}/v1/stats", headers=headers).status_code == 200
        store.close()
        failed = _error(httpx.get(f"{url}/v1/stats", headers=headers), 503, "store-unavailable")
        assert "unavailable" in failed["message"]
        health = httpx.get(f"{url}/v1/health")
        _error(health, 503, "store-unavailable")
        assert health.headers["retry-after"] == "5"


def test_accepted_connections_do_not_wait_for_nagle() -> None:
    """The listening socket names its protocol, so asyncio sets TCP_NODELAY on every
    connection it accepts: a keep-alive client is not stalled ~40 ms per response by Nagle's
    algorithm meeting delayed ACKs."""
    import asyncio
    import socket

    from advisor.server.runner import _listen

    async def main() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = writer.get_extra_info("socket")
            seen.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        sock = _listen("127.0.0.1", 0)
        server = await asyncio.start_server(accepted, sock=sock)
        async with server:
            port = sock.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            value = await asyncio.wait_for(seen, 30)
            writer.close()
            await writer.wait_closed()
        return value

    assert asyncio.run(main()) != 0
