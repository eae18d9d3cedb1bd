"""Release facts from a real fixture index (served over HTTP), and the CLI that stores them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from advisor.environment import RuntimeEnvironment
from advisor.index.fetch import Fetcher, NetworkSettings
from advisor.index.finder import PackageFinder
from advisor.knowledge.schema import ReleaseObservation
from advisor.knowledge.sources.index_facts import release_facts
from advisor.knowledge.store import open_store
from tests.functional.helpers import clean_environ, run_cli
from tests.support.index import FileSpec, Project, build_index
from tests.support.server import IndexServer

if TYPE_CHECKING:
    from pathlib import Path

LINUX_WHEEL = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"


def _index(root: Path):  # type: ignore[no-untyped-def]
    return build_index(
        root,
        [
            Project(
                name="Fact-Pkg",
                files=[
                    FileSpec(version="1.0", kind="sdist", upload_time=datetime(2024, 1, 2)),
                    FileSpec(version="2.0", kind=LINUX_WHEEL, upload_time=datetime(2024, 3, 4)),
                    FileSpec(version="2.0", kind="sdist", upload_time=datetime(2024, 3, 3)),
                    FileSpec(version="3.0", kind="py3-none-any", yanked="broken build"),
                ],
            )
        ],
    )


def test_release_facts_cover_targets_uploads_and_yanks(tmp_path: Path) -> None:
    index = _index(tmp_path / "index")
    host = RuntimeEnvironment.detect()
    linux = RuntimeEnvironment.for_target(
        host=host, python="3.11", platform="manylinux_2_28_x86_64"
    )
    mac = RuntimeEnvironment.for_target(host=host, python="3.11", platform="macosx_14_0_arm64")
    with IndexServer(index) as server, Fetcher(NetworkSettings(retries=0)) as fetcher:
        files = PackageFinder(fetcher=fetcher, indexes=[server.url]).find("fact-pkg")
        facts = release_facts("Fact-Pkg", files, targets=[linux, mac], date="2026-11-27", tool="t")
    by_version = {f.version: f for f in facts}
    assert [f.version for f in facts] == ["3.0", "2.0", "1.0"]
    assert by_version["2.0"].wheel_targets == ("manylinux_2_28_x86_64",)
    assert by_version["2.0"].sdist and by_version["2.0"].upload_time.startswith("2024-03-03")
    assert by_version["1.0"].wheel_targets == () and by_version["1.0"].sdist
    assert by_version["3.0"].yanked and by_version["3.0"].yanked_reason == "broken build"
    assert by_version["3.0"].wheel_targets == ("manylinux_2_28_x86_64", "macosx_14_0_arm64")
    assert all(f.package == "fact-pkg" and f.provenance.source.startswith("index:") for f in facts)


def test_cli_stores_release_facts(tmp_path: Path) -> None:
    index = _index(tmp_path / "index")
    store = tmp_path / "k.db"
    env = clean_environ(tmp_path / "home")
    url = f"sqlite:///{store}"
    args = ["knowledge", "index-facts", "fact-pkg", "--index-url", index.file_url,
            "--knowledge", url, "--platform", "macosx_14_0_arm64", "--json"]  # fmt: skip
    first = run_cli(args, env=env)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["added"] == 3
    again = run_cli(args, env=env)
    assert json.loads(again.stdout)["unchanged"] == 3  # idempotent
    with open_store(f"sqlite:///{store}") as opened:
        facts = [o for o in opened.for_package("fact-pkg") if isinstance(o, ReleaseObservation)]
    assert {f.version: f.wheel_targets for f in facts}["3.0"] == ("macosx_14_0_arm64",)
    shown = run_cli(["knowledge", "show", "fact-pkg", "--knowledge", f"sqlite:///{store}"], env=env)
    assert shown.exit_code == 0 and "broken build" in shown.stdout
