"""Tests of :mod:`advisor.index.session`: which indexes a run uses, by priority, and the
cache it opens (real folders)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import pytest

from advisor.errors import UnusableCacheDir
from advisor.index.session import IndexChoice, IndexConfig, choose_indexes, open_cache
from advisor.models import IndexStrategy

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT = "https://default.example/simple"
CLI = IndexChoice(index_url="https://cli.example/simple", find_links=("/cli",))
FILE = IndexChoice(extra_index_urls=("https://extra.example/simple",), find_links=("/file",))
CONFIG = IndexChoice(index_url="https://config.example/simple")
PIP = IndexChoice(index_url="https://pip.example/simple", find_links=("/pip", "/cli"))
QUIET = IndexChoice()


def test_the_first_explicit_choice_wins_and_find_links_of_all_are_kept() -> None:
    got = choose_indexes([CLI, FILE, CONFIG, PIP], default_index=DEFAULT)
    assert got.indexes == ("https://cli.example/simple",)
    assert got.find_links == ("/cli", "/file", "/pip")
    assert got.strategy is IndexStrategy.FIRST_INDEX


def test_extra_indexes_alone_take_the_primary_of_a_later_choice() -> None:
    got = choose_indexes([QUIET, FILE, CONFIG, PIP], default_index=DEFAULT)
    assert got.indexes == ("https://config.example/simple", "https://extra.example/simple")
    only_extras = choose_indexes([FILE, QUIET, IndexChoice()], default_index=DEFAULT)
    assert only_extras.indexes == (DEFAULT, "https://extra.example/simple")


def test_no_index_leaves_out_every_index_and_pip_is_taken_last() -> None:
    cut = IndexChoice(no_index=True, extra_index_urls=("https://x.example/simple",))
    assert choose_indexes([cut, CONFIG, PIP], default_index=DEFAULT).indexes == ()
    assert choose_indexes([QUIET, QUIET, PIP], default_index=DEFAULT).indexes == (
        "https://pip.example/simple",
    )
    assert choose_indexes([QUIET, IndexChoice()], default_index=DEFAULT).indexes == (DEFAULT,)
    pip_off = IndexChoice(no_index=True, index_url="https://pip.example/simple")
    assert choose_indexes([QUIET, pip_off], default_index=DEFAULT).indexes == ()


def test_strategy_and_pinned_are_passed_through_and_redacted_drops_credentials() -> None:
    secret = IndexChoice(index_url="https://user:pw@private.example/simple")
    got = choose_indexes(
        [secret, QUIET],
        default_index=DEFAULT,
        strategy=IndexStrategy.UNSAFE_BEST_MATCH,
        pinned={"torch": "https://user:pw@private.example/simple"},
    )
    assert got.strategy is IndexStrategy.UNSAFE_BEST_MATCH
    public = got.redacted()
    assert isinstance(public, IndexConfig)
    assert "pw" not in " ".join([*public.indexes, *public.pinned.values()])
    assert public.indexes == ("https://private.example/simple",)


def test_open_cache_creates_the_chosen_folder(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "c", {})
    assert cache is not None
    assert (tmp_path / "c").is_dir()
    from_env = open_cache(None, {"ADVISOR_CACHE_DIR": str(tmp_path / "env")})
    assert from_env is not None
    assert from_env.root == tmp_path / "env"


def test_an_unusable_chosen_cache_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UnusableCacheDir):
        open_cache(blocker, {})
    with pytest.raises(UnusableCacheDir):
        open_cache(None, {"ADVISOR_CACHE_DIR": str(blocker)})


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG cache folder is Linux's default")
def test_an_unusable_default_cache_is_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the platform's default, under it
    with caplog.at_level(logging.WARNING, logger="advisor.index.session"):
        assert open_cache(None, {}) is None
    assert "running without a cache" in caplog.text
