"""Progress on stderr (``advisor.events`` and ``advisor.cli._progress``).

The emitters are driven for real (the fetcher against the fixture server on 127.0.0.1) with a
sink that records what it hears. The display is checked end to end: the real ``advisor`` CLI
runs in a fresh interpreter with its stderr on a pseudo-terminal (``pty``), against a fixture
index whose first answers are slow failures or whose sdist takes seconds to build; the text
read back (ANSI escapes stripped) must name the step in our words. The same runs with stderr
on a pipe, or with ``-q``, must show no progress (warnings still print on the pipe).
"""

from __future__ import annotations

import io
import re
import time
from typing import TYPE_CHECKING, Any

import pytest

from advisor.cli._progress import TerminalProgress
from advisor.errors import LockfileError
from advisor.index.fetch import Fetcher, NetworkSettings
from advisor.install import install_lock
from tests.functional.helpers import clean_environ
from tests.support.dists import make_wheel
from tests.support.events import Recorder
from tests.support.index import FileSpec, Project, release
from tests.support.terminal import ANSI, run_on_pty

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.support.index import FixtureIndex
    from tests.support.server import IndexServer

pytest.importorskip("pty")


# -- emitters --------------------------------------------------------------------------------


@pytest.fixture
def served(
    fixture_index_factory: Callable[..., FixtureIndex],
    index_server: Callable[..., IndexServer],
) -> tuple[FixtureIndex, IndexServer]:
    index = fixture_index_factory([Project(name="alpha", files=release("1.0", extra_size=3 << 20))])
    return index, index_server(index)


def test_fetcher_announces_each_retry_and_its_end(
    served: tuple[FixtureIndex, IndexServer],
) -> None:
    _, server = served
    server.fail_next(2, status=503)
    events = Recorder()
    url = server.url + "/alpha/"
    with Fetcher(NetworkSettings(timeout=5.0, retries=2), events=events) as fetcher:
        assert fetcher.get(url).status == 200
        assert fetcher.get(url).status == 200  # no failure: nothing to announce
    assert events.calls == [
        ("retrying", url, 2, 3, 0.25, "HTTP 503"),
        ("retrying", url, 3, 3, 0.5, "HTTP 503"),
        ("retry_finished", url),
    ]


def test_streamed_download_reports_bytes_without_credentials(
    served: tuple[FixtureIndex, IndexServer], tmp_path: Path
) -> None:
    index, server = served
    wheel = next(f for f in index.files if f.filename.endswith(".whl"))
    server.require_auth = ("user", "s3cret")
    url = server.file_url(wheel.filename).replace("://", "://user:s3cret@")
    events = Recorder()
    with Fetcher(NetworkSettings(timeout=5.0, retries=0), events=events) as fetcher:
        fetcher.download(url, tmp_path / wheel.filename, sha256=wheel.sha256)
    clean = server.file_url(wheel.filename)
    progress = [c for c in events.calls if c[0] == "downloading"]
    # announced before the server answers, then with the size it gave
    assert progress[:2] == [("downloading", clean, 0, None), ("downloading", clean, 0, wheel.size)]
    assert progress[-1] == ("downloading", clean, wheel.size, wheel.size)
    assert len(progress) >= 3  # more than one chunk of 1 MiB: reported as it goes
    assert events.calls[-1] == ("download_finished", clean)
    assert "s3cret" not in repr(events.calls)


@pytest.mark.slow
def test_installer_announces_the_pip_run_and_its_end_even_when_pip_fails(
    tmp_path: Path, make_venv: Callable[..., Path], pip_env: dict[str, str]
) -> None:
    wheel = make_wheel(tmp_path / "dists", name="beta", version="2.0")
    lock = tmp_path / "pylock.toml"
    lock.write_text(
        'lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\nname = "beta"\nversion = "2.0"\n'
        f'[[packages.wheels]]\nname = "{wheel.name}"\npath = "dists/{wheel.name}"\n'
        'hashes = { sha256 = "' + "0" * 64 + '" }\n',
        encoding="utf-8",
    )
    python = make_venv()
    events = Recorder()
    env = {**pip_env, "PIP_CACHE_DIR": str(tmp_path / "pip-cache")}
    with pytest.raises(LockfileError, match="pip failed"):
        install_lock(lock, python=str(python), environ=env, pip_args=["--no-index"], events=events)
    assert [c[0] for c in events.calls] == ["installing", "install_finished"]
    assert events.calls[0][1] == events.calls[1][1]
    assert re.fullmatch(r"1 package into \S+python\S*", str(events.calls[0][1]))


# -- the display -----------------------------------------------------------------------------


def _console() -> tuple[Any, io.StringIO]:
    from rich.console import Console

    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=200, highlight=False), out


def test_a_step_shorter_than_the_delay_prints_nothing() -> None:
    console, out = _console()
    with TerminalProgress(console, show_after=1.0) as display:
        display.resolving("host", seen=3, backtracks=0)
        time.sleep(0.1)
        display.resolve_finished("host")
    assert out.getvalue() == ""


def test_the_display_names_each_step_and_hides_credentials() -> None:
    console, out = _console()
    with TerminalProgress(console, show_after=0.05) as display:
        display.resolving("host (linux)", seen=12, backtracks=2)
        display.build_started("slow-pkg", "1.0", filename="slow_pkg-1.0.tar.gz")
        display.retrying(
            "https://user:s3cret@example.invalid/simple/x/",
            attempt=2,
            attempts=6,
            delay=30.0,
            reason="HTTP 503",
        )
        display.downloading("https://example.invalid/f.whl", done=3 << 20, total=8 << 20)
        display.installing("2 packages into /venv/bin/python")
        time.sleep(0.5)
    text = ANSI.sub("", out.getvalue())
    assert "resolving host (linux): 12 packages seen, 2 backtracks" in text
    assert "building metadata for slow-pkg 1.0 (sdist, 0 s)" in text
    retry = r"retrying https://example\.invalid/simple/x/ \(attempt 2 of 6, next in 29\.\d s\)"
    assert re.search(retry + ": HTTP 503", text)
    assert "downloading https://example.invalid/f.whl (3.0 MiB of 8.0 MiB)" in text
    assert "installing 2 packages into /venv/bin/python (0 s)" in text
    assert "s3cret" not in text


# -- the display, through a real terminal ---------------------------------------------------


@pytest.fixture
def slow_retries(
    fixture_index_factory: Callable[..., FixtureIndex],
    index_server: Callable[..., IndexServer],
    tmp_path: Path,
) -> tuple[IndexServer, list[object], dict[str, str]]:
    """A lock whose first two index requests fail after 0.7 s each (3 attempts allowed),
    against an index URL with credentials, after a missing file:// index (a warning)."""
    index = fixture_index_factory([Project(name="alpha", files=release("1.0", sdist=False))])
    server = index_server(index)
    server.require_auth = ("user", "s3cret")
    server.fail_next(2, status=503, after=0.7)
    (tmp_path / "requirements.in").write_text("alpha\n", encoding="utf-8")
    missing = (tmp_path / "no-such-index").as_uri()
    args: list[object] = [
        "lock",
        "requirements.in",
        "--dry-run",
        "--index-url",
        missing,
        "--extra-index-url",
        server.auth_url("user", "s3cret"),
    ]
    env = clean_environ(tmp_path / "home", PIP_RETRIES="2", ADVISOR_CACHE_DIR=str(tmp_path / "c"))
    return server, args, env


_RETRY = r"retrying http://127\.0\.0\.1:\d+/simple/alpha/ \(attempt [23] of 3"
_WARNING = "does not exist on disk; skipping it"


def test_terminal_shows_the_retried_url_without_credentials(
    slow_retries: tuple[IndexServer, list[object], dict[str, str]], tmp_path: Path
) -> None:
    server, args, env = slow_retries
    code, stdout, text = run_on_pty(args, env=env, cwd=tmp_path)
    assert code == 0, text
    assert re.search(_RETRY, text), text
    assert "s3cret" not in text
    assert _WARNING in text  # warnings print as well
    assert "Locked 1 packages" in text
    assert 'name = "alpha"' in stdout  # the lock on stdout, untouched by the display
    assert [r.status for r in server.requests][:3] == [503, 503, 200]


def test_no_progress_when_stderr_is_not_a_terminal(
    slow_retries: tuple[IndexServer, list[object], dict[str, str]], tmp_path: Path
) -> None:
    server, args, env = slow_retries
    env = {**env, "FORCE_COLOR": "1"}  # rich would take the pipe for a terminal: we do not
    code, _, stderr = run_on_pty(args, env=env, cwd=tmp_path, terminal=False)
    assert code == 0, stderr
    assert [r.status for r in server.requests][:3] == [503, 503, 200]  # as slow as above
    assert _WARNING in stderr
    assert "retrying" not in stderr
    assert "resolving" not in stderr
    assert "\x1b" not in stderr


def test_quiet_prints_nothing_on_a_terminal(
    slow_retries: tuple[IndexServer, list[object], dict[str, str]], tmp_path: Path
) -> None:
    server, args, env = slow_retries
    code, stdout, text = run_on_pty([*args, "-q"], env=env, cwd=tmp_path)
    assert code == 0
    assert [r.status for r in server.requests][:3] == [503, 503, 200]
    assert text == ""
    assert 'name = "alpha"' in stdout


@pytest.mark.slow
def test_terminal_shows_a_long_sdist_build_while_resolving(
    fixture_index_factory: Callable[..., FixtureIndex],
    index_server: Callable[..., IndexServer],
    tmp_path: Path,
) -> None:
    slow = FileSpec(version="1.0", kind="sdist", dynamic=True, build_seconds=2.0)
    index = fixture_index_factory([Project(name="Slow.Pkg", files=(slow,))])
    server = index_server(index)
    (tmp_path / "requirements.in").write_text("slow-pkg\n", encoding="utf-8")
    env = clean_environ(tmp_path / "home", ADVISOR_CACHE_DIR=str(tmp_path / "c"))
    args = ["lock", "requirements.in", "--dry-run", "--index-url", server.url]
    code, stdout, text = run_on_pty(args, env=env, cwd=tmp_path)
    assert code == 0, text
    assert re.search(r"building metadata for slow-pkg 1\.0 \(sdist, \d+ s\)", text), text
    assert re.search(r"resolving host \([^)]*\): \d+ packages? seen, 0 backtracks", text), text
    assert 'name = "slow-pkg"' in stdout
