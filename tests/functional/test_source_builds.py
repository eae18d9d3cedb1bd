"""Source builds end to end: avoided, remembered, bounded and cancellable (``advisor lock``).

Each test builds a fixture index (a real ``file://`` tree) whose sdists carry an in-tree build
backend that does something observable: it writes a marker or appends to a counter file,
fails, or writes its pid and sleeps. The advisor runs for real: in-process through the CLI's
``main``, or, where signals matter, as its own process. Builds are real too (``build`` in a
child interpreter, pip installing the empty build requirements).

What is checked: a conflict that wheel metadata proves is explained without any build, while
pins stay pip's where the order of pins decides (checked against pip itself); a failed build
is remembered in the cache (the next run does not run the backend and says the failure is
cached) and ``--refresh`` retries it; SIGINT and SIGTERM stop a running build's whole
process group, remove its ``advisor-build-*`` folder and exit 130/143 without a
traceback; ``--build-timeout`` and ``advise --time-limit`` stop a slow build.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.functional.helpers import (
    REPO,
    clean_environ,
    lock_pins,
    pip_report_pins,
    read_lock,
    run_cli,
)
from tests.support import Project, build_index, release
from tests.support.dists import make_backend_sdist
from tests.support.index import add_files

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.functional.helpers import CliResult
    from tests.support.index import FixtureIndex

pytestmark = pytest.mark.slow


def _failing_backend(counter: Path) -> str:
    """A backend that appends a line to ``counter`` each time it runs, then fails."""
    return (
        "def get_requires_for_build_wheel(config_settings=None):\n"
        "    return []\n"
        "def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):\n"
        f"    with open({str(counter)!r}, 'a') as fh:\n"
        "        fh.write('built\\n')\n"
        "    raise RuntimeError('libfoo headers not found')\n"
    )


def _sleeping_backend(pid_file: Path, seconds: int = 120) -> str:
    """A backend that writes its pid to ``pid_file`` and then sleeps."""
    return (
        "import os, time\n"
        "def get_requires_for_build_wheel(config_settings=None):\n"
        "    return []\n"
        "def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):\n"
        f"    with open({str(pid_file) + '.tmp'!r}, 'w') as fh:\n"
        "        fh.write(str(os.getpid()))\n"
        f"    os.replace({str(pid_file) + '.tmp'!r}, {str(pid_file)!r})\n"
        "    print('preparing metadata, slowly', flush=True)\n"
        f"    time.sleep({seconds})\n"
    )


def _index(root: Path, projects: list[Project], sdists: dict[str, str]) -> FixtureIndex:
    """``projects`` (wheels) plus one backend sdist per ``"name==version": backend source``."""
    index = build_index(root, projects)
    paths = []
    for pin, backend in sdists.items():
        name, version = pin.split("==")
        paths.append(
            make_backend_sdist(index.files_dir, name=name, version=version, backend=backend)
        )
    return add_files(index, paths)


def _alive(pid: int) -> bool:
    """``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _gone(pid: int, *, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def _lock(index: FixtureIndex, work: Path, text: str, *args: object) -> CliResult:
    req = work / "requirements.in"
    req.write_text(text)
    env = clean_environ(work / "home", TMPDIR=str(_tmp(work)))
    return run_cli(
        [
            "lock",
            req,
            "--index-url",
            index.file_url,
            "--cache-dir",
            work / "cache",
            "-o",
            work / "pylock.toml",
            *args,
        ],
        env=env,
    )


def _tmp(work: Path) -> Path:
    tmp = work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return tmp


def _build_folders(work: Path) -> list[str]:
    return sorted(p.name for p in _tmp(work).glob("advisor-build-*"))


def test_a_conflict_that_wheels_prove_is_explained_without_building(tmp_path: Path) -> None:
    """Regression: the sdists of every ``a<2`` were built (one after another) before the
    resolver looked at ``b``, whose wheels alone prove the conflict."""
    marker = tmp_path / "built.txt"
    projects = [
        Project(name="a", files=release("2.0", sdist=False)),
        Project(name="b", files=release("1.0", sdist=False, requires_dist=["a>=2"])),
    ]
    backend = _failing_backend(marker)
    index = _index(tmp_path / "index", projects, {"a==1.0": backend, "a==1.1": backend})
    result = _lock(index, tmp_path, "a<2\nb\n")
    assert result.exit_code == 1, result.output
    assert not marker.exists(), "a build ran"
    assert "a: no version satisfies every requirement on it" in result.stderr
    assert "a>=2  <- required by b==1.0" in result.stderr
    assert _build_folders(tmp_path) == []


def test_pins_stay_pips_when_a_project_that_needs_builds_meets_a_backtrack(
    tmp_path: Path, run_pip: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    """The order of pins decides here: ``a`` first (pip's input order) gives a 2.0, c 1,
    b 1.0; ``b`` first (wheels before sdists) would give b 2.0, c 2, a 1.0. The probe ranks
    ``a`` last, needs its build, and so the resolution runs again in pip's order."""
    projects = [
        Project(
            name="a",
            files=[
                *release("1.0", wheel_tags=(), requires_dist=["c==2"]),
                *release("2.0", wheel_tags=(), requires_dist=["c==1"]),
            ],
        ),
        Project(
            name="b",
            files=[
                *release("1.0", sdist=False, requires_dist=["c==1"]),
                *release("2.0", sdist=False, requires_dist=["c==2"]),
            ],
        ),
        Project(name="c", files=[*release("1", sdist=False), *release("2", sdist=False)]),
    ]
    index = build_index(tmp_path / "index", projects)
    result = _lock(index, tmp_path, "a\nb\n")
    assert result.exit_code == 0, result.output
    ours = lock_pins(read_lock(tmp_path / "pylock.toml"))
    report = tmp_path / "pip.json"
    done = run_pip(
        "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
        "--index-url", index.file_url, "-r", str(tmp_path / "requirements.in"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert ours == pip_report_pins(report) == {"a": "2.0", "b": "1.0", "c": "1"}


def test_a_failed_build_is_remembered_and_refresh_retries_it(tmp_path: Path) -> None:
    counter = tmp_path / "runs.txt"
    projects = [Project(name="app", files=release("1.0", sdist=False, requires_dist=["a"]))]
    index = _index(tmp_path / "index", projects, {"a==1.0": _failing_backend(counter)})

    first = _lock(index, tmp_path, "app\n")
    assert first.exit_code == 1, first.output
    assert counter.read_text().count("built") == 1

    second = _lock(index, tmp_path, "app\n")
    assert second.exit_code == 1, second.output
    assert counter.read_text().count("built") == 1, "the failed build ran again"
    assert "metadata build failed (backend-failed" in first.stderr
    assert "libfoo headers not found" in first.stderr
    assert "the failure of an earlier build is cached (--refresh retries it)" in second.stderr
    assert "libfoo headers not found" in second.stderr

    third = _lock(index, tmp_path, "app\n", "--refresh")
    assert third.exit_code == 1, third.output
    assert counter.read_text().count("built") == 2
    assert "is cached" not in third.stderr


def test_build_timeout_stops_a_slow_build(tmp_path: Path) -> None:
    pid_file = tmp_path / "backend.pid"
    projects = [
        Project(name="app", files=release("1.0", sdist=False, requires_dist=["a"])),
        Project(name="a", files=release("0.9", sdist=False)),
    ]
    index = _index(tmp_path / "index", projects, {"a==1.0": _sleeping_backend(pid_file)})
    started = time.monotonic()
    result = _lock(index, tmp_path, "app\n", "--build-timeout", "3")
    assert time.monotonic() - started < 60
    assert result.exit_code == 0, result.output
    # a 1.0 could not be built in time: the resolver took the next version, as pip does
    assert {p["name"]: p["version"] for p in read_lock(tmp_path / "pylock.toml")["packages"]}[
        "a"
    ] == "0.9"
    assert _gone(int(pid_file.read_text()))
    assert _build_folders(tmp_path) == []


def test_advise_time_limit_stops_a_slow_build(tmp_path: Path) -> None:
    pid_file = tmp_path / "backend.pid"
    projects = [
        Project(name="app", files=release("1.0", sdist=False, requires_dist=["a"])),
        Project(name="a", files=release("0.9", sdist=False)),
    ]
    index = _index(tmp_path / "index", projects, {"a==1.0": _sleeping_backend(pid_file)})
    req = tmp_path / "requirements.in"
    req.write_text("app\n")
    env = clean_environ(tmp_path / "home", TMPDIR=str(_tmp(tmp_path)))
    started = time.monotonic()
    result = run_cli(
        [
            "advise",
            req,
            "--index-url",
            index.file_url,
            "--cache-dir",
            tmp_path / "cache",
            "--knowledge",
            f"sqlite:///{tmp_path / 'k.db'}",
            "--recommendation",
            "latest",
            "--time-limit",
            "5",
            "-o",
            tmp_path / "pylock.toml",
        ],
        env=env,
    )
    assert time.monotonic() - started < 60
    assert result.exit_code == 0, result.output
    assert "--time-limit 5 s stopped or refused the metadata build of a-1.0.tar.gz" in (
        result.output
    )
    assert _gone(int(pid_file.read_text()))
    assert _build_folders(tmp_path) == []


def _spawn_lock(index: FixtureIndex, work: Path) -> subprocess.Popen[str]:
    """``advisor lock`` in its own interpreter, with Ctrl-C raising KeyboardInterrupt even
    when this test runs where SIGINT is ignored (a background job)."""
    req = work / "requirements.in"
    req.write_text("app\n")
    env = clean_environ(work / "home", TMPDIR=str(_tmp(work)))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv[0] = 'advisor'; from advisor.cli import main; main()"
    )
    args = ["lock", str(req), "--index-url", index.file_url, "--cache-dir", str(work / "cache")]
    return subprocess.Popen(
        [sys.executable, "-c", code, *args, "-o", str(work / "pylock.toml")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    ("signum", "code"),
    [
        pytest.param(signal.SIGINT, 130, id="SIGINT"),
        pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
    ],
)
def test_a_signal_stops_the_build_process_group_and_removes_its_folder(
    tmp_path: Path, signum: int, code: int
) -> None:
    pid_file = tmp_path / "backend.pid"
    projects = [Project(name="app", files=release("1.0", sdist=False, requires_dist=["a"]))]
    index = _index(tmp_path / "index", projects, {"a==1.0": _sleeping_backend(pid_file)})
    proc = _spawn_lock(index, tmp_path)
    backend = None
    try:
        deadline = time.monotonic() + 90
        while not pid_file.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pid_file.exists(), proc.communicate(timeout=30)
        backend = int(pid_file.read_text())
        assert _build_folders(tmp_path), "the build should be running in its folder"
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
        stopped = _gone(backend)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        if backend is not None and _alive(backend):  # the unfixed advisor leaves it running
            os.kill(backend, signal.SIGKILL)
            _gone(backend)
    assert stopped, "the build backend survived the advisor"
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert _build_folders(tmp_path) == []


def _slow_backend(counter: Path, *, version: str, seconds: float) -> str:
    """A backend that appends ``version`` to ``counter``, sleeps, then gives metadata."""
    metadata = f"Metadata-Version: 2.1\nName: a\nVersion: {version}\n"
    return (
        "import os, time\n"
        "def get_requires_for_build_wheel(config_settings=None):\n"
        "    return []\n"
        "def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):\n"
        f"    with open({str(counter)!r}, 'a') as fh:\n"
        f"        fh.write({version + chr(10)!r})\n"
        f"    time.sleep({seconds})\n"
        f"    d = os.path.join(metadata_directory, 'a-{version}.dist-info')\n"
        "    os.makedirs(d)\n"
        f"    open(os.path.join(d, 'METADATA'), 'w').write({metadata!r})\n"
        f"    return 'a-{version}.dist-info'\n"
    )


def test_a_build_known_to_be_slow_is_skipped_from_the_history_of_earlier_runs(
    tmp_path: Path,
) -> None:
    """A first ``lock`` builds ``a`` 1.0 from its sdist (it sleeps 6 s, so it takes longer
    than that) and the cache keeps how long it took. ``a`` 1.1 is then released, also as an
    sdist only: ``advise --time-limit 5`` has less time left than ``a``'s builds take, so it
    does not start the build (it used to start it, as the first build of the run, only to
    stop it), says why, and takes ``a`` 1.0, whose metadata the cache remembers."""
    counter = tmp_path / "runs"
    projects = [
        Project(name="app", files=release("1.0", sdist=False, requires_dist=["a"])),
        Project(name="a", files=release("0.9", sdist=False)),
    ]
    index = _index(
        tmp_path / "index", projects, {"a==1.0": _slow_backend(counter, version="1.0", seconds=6)}
    )
    first = _lock(index, tmp_path, "app\n")
    assert first.exit_code == 0, first.output
    assert counter.read_text().split() == ["1.0"]
    later = make_backend_sdist(
        index.files_dir,
        name="a",
        version="1.1",
        backend=_slow_backend(counter, version="1.1", seconds=6),
    )
    index = add_files(index, [later])
    env = clean_environ(tmp_path / "home", TMPDIR=str(_tmp(tmp_path)))
    result = run_cli(
        [
            "advise", tmp_path / "requirements.in", "--index-url", index.file_url,
            "--cache-dir", tmp_path / "cache", "--knowledge", f"sqlite:///{tmp_path / 'k.db'}",
            "--recommendation", "latest", "--time-limit", "5", "-o", tmp_path / "advised.toml",
        ],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())  # the warning may be wrapped
    assert "stopped or refused the metadata build of a-1.1.tar.gz (not started:" in output
    assert "less than earlier builds of a took (median" in output
    assert counter.read_text().split() == ["1.0"]  # the backend of 1.1 never ran
    pins = {p["name"]: p["version"] for p in read_lock(tmp_path / "advised.toml")["packages"]}
    assert pins["a"] == "1.0"
    assert _build_folders(tmp_path) == []
