"""End to end through ``advisor knowledge update``: OSV's PyPI dump over HTTP into the store.

The dump is the shared snapshot ``../shared/data/osv-pypi-2024-10-10.zip`` (2,661 advisories,
the layout of OSV's ``PyPI/all.zip``), served by the fixture server on 127.0.0.1 as
``/files/all.zip`` with an ETag (``If-None-Match`` → 304). Without the snapshot those tests
skip, saying so, except under ``CI=true``, where they fail. The stores are SQLite and a real
PostgreSQL (``knowledge_store_url``): both must behave the same. A few cases use small zips
written here (corrupt members, no records).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from advisor.api.advisory_update import ENV_VAR, dump_url, update_advisories
from advisor.errors import CacheError
from advisor.knowledge.freshness import advisory_data
from advisor.knowledge.sources.osv_dump import (
    DEFAULT_OSV_DUMP_URL,
    choose_dump_url,
    dump_download_path,
)
from advisor.knowledge.store import open_store
from tests.functional.helpers import REPO, CliResult, clean_environ, run_cli
from tests.functional.test_check_cli import App, _projects, osv_record
from tests.support import IndexServer, build_index
from tests.support.events import Recorder
from tests.support.terminal import run_on_pty

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

SNAPSHOT = REPO.parent / "shared" / "data" / "osv-pypi-2024-10-10.zip"
SNAPSHOT_ADVISORIES = 2661
SNAPSHOT_NEWEST = date(2024, 10, 10)  # the newest `modified` in the snapshot


@pytest.fixture(scope="session")
def snapshot() -> Path:
    if not SNAPSHOT.is_file():
        reason = f"the shared OSV snapshot is missing: {SNAPSHOT} (../shared/data next to the repo)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return SNAPSHOT


@pytest.fixture
def served(tmp_path: Path, index_server: Callable[..., IndexServer]) -> IndexServer:
    """A server over ``served/``: ``/files/all.zip`` is whatever a test puts there."""
    (tmp_path / "served" / "files").mkdir(parents=True)
    return index_server(tmp_path / "served")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_environ(tmp_path / "home", ADVISOR_CACHE_DIR=str(tmp_path / "cache"))


def _serve(server: IndexServer, tmp_path: Path, data: bytes | Path) -> str:
    target = tmp_path / "served" / "files" / "all.zip"
    if isinstance(data, bytes):
        target.write_bytes(data)
    else:
        shutil.copyfile(data, target)
    return server.file_url("all.zip")


def _update(url: str, store: str, env: dict[str, str], *args: str) -> CliResult:
    return run_cli(["knowledge", "update", "--url", url, "--knowledge", store, *args], env=env)


def _json(result: CliResult) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _held(store: str) -> tuple[int, date | None]:
    with open_store(store) as opened:
        return advisory_data(opened)


def _statuses(server: IndexServer) -> list[int]:
    return [r.status for r in server.requests if r.path == "/files/all.zip"]


def _zip(tmp_path: Path, *records: dict[str, Any], name: str = "small.zip") -> bytes:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return path.read_bytes()


# --- the snapshot over HTTP ------------------------------------------------------------------


def test_first_update_imports_and_the_second_gets_304(
    snapshot: Path,
    served: IndexServer,
    tmp_path: Path,
    env: dict[str, str],
    knowledge_store_url: str,
) -> None:
    url = _serve(served, tmp_path, snapshot)
    first = _json(_update(url, knowledge_store_url, env, "--json"))
    assert first["changed"] is True
    assert first["advisories"] == SNAPSHOT_ADVISORIES == first["added"]
    assert first["as-of"] == SNAPSHOT_NEWEST.isoformat()
    assert _held(knowledge_store_url) == (SNAPSHOT_ADVISORIES, SNAPSHOT_NEWEST)
    assert _statuses(served) == [200]
    # the second update sends the kept ETag, gets 304 and does nothing
    second = _update(url, knowledge_store_url, env)
    assert second.exit_code == 0, second.output
    assert "not modified since the last update, nothing to do" in second.stderr
    assert f"{SNAPSHOT_ADVISORIES} advisories" in second.stderr
    assert _statuses(served) == [200, 304]
    assert served.requests[-1].headers["if-none-match"].strip('"')
    assert _held(knowledge_store_url) == (SNAPSHOT_ADVISORIES, SNAPSHOT_NEWEST)
    # nothing is left in the cache folder
    assert list((tmp_path / "cache" / "osv").iterdir()) == []


def test_a_corrupt_download_leaves_the_old_data(
    snapshot: Path,
    served: IndexServer,
    tmp_path: Path,
    env: dict[str, str],
    knowledge_store_url: str,
) -> None:
    url = _serve(served, tmp_path, snapshot)
    _json(_update(url, knowledge_store_url, env, "--json"))
    good = snapshot.read_bytes()
    _serve(served, tmp_path, good[: len(good) // 2])  # truncated: a new ETag, so a 200
    result = _update(url, knowledge_store_url, env)
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    assert "the downloaded advisory dump is unusable (not a readable zip" in result.stderr
    assert "the advisories stored before are kept" in result.stderr
    assert _held(knowledge_store_url) == (SNAPSHOT_ADVISORIES, SNAPSHOT_NEWEST)
    # the kept validators are the good dump's: once it is back, it is not downloaded again
    _serve(served, tmp_path, good)
    assert "nothing to do" in _update(url, knowledge_store_url, env).stderr
    assert _statuses(served)[-1] == 304
    assert list((tmp_path / "cache" / "osv").iterdir()) == []


def test_a_503_is_retried(
    snapshot: Path, served: IndexServer, tmp_path: Path, env: dict[str, str]
) -> None:
    url = _serve(served, tmp_path, snapshot)
    store = f"sqlite:///{tmp_path / 'k.db'}"
    served.fail_next(1, status=503)
    assert _json(_update(url, store, env, "--json"))["added"] == SNAPSHOT_ADVISORIES
    assert _statuses(served) == [503, 200]


def test_a_fresh_update_of_old_data_is_reported_old(
    snapshot: Path,
    served: IndexServer,
    tmp_path: Path,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # imported today, but its newest record was modified on 2024-10-10: old
    store = f"sqlite:///{tmp_path / 'k.db'}"
    _json(_update(_serve(served, tmp_path, snapshot), store, env, "--json"))
    with IndexServer(build_index(tmp_path / "index", _projects())) as index:
        app = App(tmp_path / "app", env, index)
        app.lock(requirements="tinyhttp\n")
        monkeypatch.chdir(app.root)
        result = app.check("--knowledge", store, "--only", "advisories")
    assert result.exit_code == 1, result.output
    age = (date.today() - SNAPSHOT_NEWEST).days
    assert f"[advisory-data-old] the advisory data is {age} days old" in result.stdout
    assert "modified on 2024-10-10" in result.stdout


# --- small dumps -----------------------------------------------------------------------------


def test_dumps_that_are_no_usable_zip_are_refused(
    served: IndexServer, tmp_path: Path, env: dict[str, str]
) -> None:
    store = f"sqlite:///{tmp_path / 'k.db'}"
    url = _serve(served, tmp_path, _zip(tmp_path, osv_record()))
    assert _json(_update(url, store, env, "--json"))["added"] == 1
    before = _held(store)
    # one member's bytes flipped: the zip opens, its CRC does not match
    data = bytearray(_zip(tmp_path, osv_record(), osv_record("GHSA-2222", "jsonkit")))
    at = bytes(data).index(b"CRLF injection")
    data[at] ^= 0x20
    for body, reason in (
        (bytes(data), "is corrupt (CRC mismatch)"),
        (b"<html>maintenance</html>", "not a readable zip"),
        (_zip(tmp_path), "holds no OSV records"),
        (_zip(tmp_path, {"id": "BROKEN-1"}), "none of its 1 records is a usable advisory"),
    ):
        _serve(served, tmp_path, body)
        result = _update(url, store, env)
        assert result.exit_code == 3, result.output
        assert reason in result.stderr and "kept" in result.stderr
        assert _held(store) == before


def test_unchanged_bytes_without_validators_are_nothing_to_do(
    tmp_path: Path, env: dict[str, str]
) -> None:
    dump = tmp_path / "mirror" / "all.zip"
    dump.parent.mkdir()
    dump.write_bytes(_zip(tmp_path, osv_record()))
    store = f"sqlite:///{tmp_path / 'k.db'}"
    assert _json(_update(dump.as_uri(), store, env, "--json"))["changed"] is True
    assert _json(_update(dump.as_uri(), store, env, "--json"))["changed"] is False
    dump.write_bytes(_zip(tmp_path, osv_record(), osv_record("GHSA-2222", "jsonkit")))
    assert _json(_update(dump.as_uri(), store, env, "--json"))["added"] == 1


def test_an_unreachable_dump_is_a_clear_error(
    served: IndexServer, tmp_path: Path, env: dict[str, str]
) -> None:
    store = f"sqlite:///{tmp_path / 'k.db'}"
    result = _update(served.file_url("missing.zip"), store, env)
    assert result.exit_code == 3, result.output
    assert "HTTP 404" in result.stderr and "missing.zip" in result.stderr
    assert _held(store) == (0, None)


def test_progress_is_reported_to_the_events(
    served: IndexServer, tmp_path: Path, env: dict[str, str]
) -> None:
    events = Recorder()
    url = _serve(served, tmp_path, _zip(tmp_path, osv_record()))
    outcome = update_advisories(
        store_url=f"sqlite:///{tmp_path / 'k.db'}",
        url=url,
        environ=env,
        cwd=tmp_path,
        events=events,
    )
    assert outcome.changed and outcome.advisories == 1
    steps = ["verifying the OSV dump", "reading the advisories", "storing 1 advisories"]
    assert events.named("working") == [(s,) for s in steps]
    assert events.named("work_finished") == [(s,) for s in steps]
    downloads = events.named("downloading")
    assert downloads and downloads[-1] == (url, outcome.size, outcome.size)
    assert events.named("download_finished") == [(url,)]


# --- where the URL comes from ----------------------------------------------------------------


def test_the_dump_url_option_env_config_default(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # the configuration search stops here
    assert dump_url(None, environ={}, cwd=tmp_path) == DEFAULT_OSV_DUMP_URL
    (tmp_path / "advisor.toml").write_text(
        'osv-dump-url = "https://config.example/all.zip"\n', encoding="utf-8"
    )
    assert dump_url(None, environ={}, cwd=tmp_path) == "https://config.example/all.zip"
    environ = {ENV_VAR: "https://env.example/all.zip"}
    assert dump_url(None, environ=environ, cwd=tmp_path) == "https://env.example/all.zip"
    assert dump_url("file:///m/all.zip", environ=environ, cwd=tmp_path) == "file:///m/all.zip"


def test_the_configuration_is_read_only_when_no_url_is_given() -> None:
    """The sources layer's rule (:func:`choose_dump_url`): a bad configuration file does
    not stop an update whose URL the option or the environment gives; blanks count as none."""
    read: list[str] = []

    def configured() -> str | None:
        read.append("config")
        return None

    assert choose_dump_url(" file:///m/all.zip ", from_env="x", configured=configured) == (
        "file:///m/all.zip"
    )
    assert choose_dump_url(" ", from_env="https://env.example/a.zip", configured=configured) == (
        "https://env.example/a.zip"
    )
    assert read == []
    assert choose_dump_url(None, from_env=" ", configured=configured) == DEFAULT_OSV_DUMP_URL
    assert read == ["config"]


def test_the_download_path_is_one_file_per_dump_without_credentials(tmp_path: Path) -> None:
    folder = tmp_path / "cache" / "osv"
    plain = dump_download_path(folder, "https://mirror.example/PyPI/all.zip")
    assert folder.is_dir() and plain.parent == folder and plain.suffix == ".zip"
    secret = dump_download_path(folder, "https://me:s3cret@mirror.example/PyPI/all.zip")
    assert secret == plain  # the name is the redacted URL's digest: no secret in the cache
    assert dump_download_path(folder, "file:///m/all.zip") != plain
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    with pytest.raises(CacheError, match="cannot create"):
        dump_download_path(blocked / "osv", "file:///m/all.zip")


def test_a_store_imported_before_ages_were_recorded(knowledge_store_url: str) -> None:
    """An older advisor recorded only the import date: the data's own dates stand in."""
    from advisor.knowledge.osv import parse_osv

    parsed = parse_osv(
        osv_record(modified="2024-03-05T06:07:08Z"), file="x.json", origin="old", date="2026-01-01"
    )
    assert parsed.advisory is not None
    with open_store(knowledge_store_url) as store:
        store.put([parsed.advisory])
        store.set_meta("osv-imported-at", date.today().isoformat())
        store.set_meta("osv-advisories", "1")
        assert advisory_data(store) == (1, date(2024, 3, 5))


def test_problems_name_the_dump_by_its_url(
    served: IndexServer, tmp_path: Path, env: dict[str, str]
) -> None:
    bad = osv_record("GHSA-3333", "jsonkit")
    bad["affected"][0]["ranges"][0]["events"][1]["fixed"] = "not a version"
    url = _serve(served, tmp_path, _zip(tmp_path, osv_record(), bad))
    result = _json(_update(url, f"sqlite:///{tmp_path / 'k.db'}", env, "--json"))
    assert [p["file"] for p in result["problems"]] == [f"{url}/GHSA-3333.json"]


def test_a_slow_update_shows_progress_on_a_terminal_only(
    served: IndexServer, tmp_path: Path, env: dict[str, str]
) -> None:
    url = _serve(served, tmp_path, _zip(tmp_path, osv_record()))
    served.delay(1.5)  # the server answers after more than a second
    args = ["knowledge", "update", "--url", url, "--knowledge", f"sqlite:///{tmp_path / 'k.db'}"]
    code, _, text = run_on_pty(args, env=env, cwd=tmp_path)
    assert code == 0, text
    assert re.search(r"downloading http://127\.0\.0\.1:\d+/files/all\.zip", text), text
    assert "Updated " in text
    # the same slow update with stderr on a pipe (a CI log): only the summary
    args[-1] = f"sqlite:///{tmp_path / 'k2.db'}"
    code, _, stderr = run_on_pty(args, env=env, cwd=tmp_path, terminal=False)
    served.delay(0)
    assert code == 0, stderr
    assert stderr.startswith("Updated ") and "downloading" not in stderr
