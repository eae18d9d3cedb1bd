"""``advisor.index.builds`` and the live-build registry of ``advisor.index.sdist``.

Real builds of fixture sdists whose in-tree backend counts its runs, fails, or sleeps after
writing its pid; a real on-disk cache. Checked: which failures are remembered and under which
key (sdist sha256 and build interpreter; a time-out with its timeout), ``retry_failed``, the
deadline, and cancellation: from another thread, and by leaving a :class:`MetadataFetcher`
on an interrupt while its worker thread builds (process group gone, folder removed).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import TYPE_CHECKING

import pytest

from advisor.errors import BuildFailed, BuildFailure, MetadataUnavailable
from advisor.index.builds import BuildSettings, SdistBuilds
from advisor.index.cache import Cache
from advisor.index.fetch import Fetcher, NetworkSettings
from advisor.index.metadata import MetadataFetcher
from advisor.models import DistFile
from tests.support.dists import make_backend_sdist

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = pytest.mark.slow

_OK_METADATA = "Metadata-Version: 2.1\nName: a\nVersion: 1.0\nRequires-Dist: b>=2\n"


def _counting(counter: Path, *, fail: bool, sleep: float = 0) -> str:
    """A backend that appends to ``counter`` per run, sleeps, then fails or succeeds."""
    return (
        "import os, time\n"
        "def get_requires_for_build_wheel(config_settings=None):\n"
        "    return []\n"
        "def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):\n"
        f"    with open({str(counter)!r}, 'a') as fh:\n"
        "        fh.write(f'{os.getpid()}\\n')\n"
        f"    time.sleep({sleep})\n"
        + (
            "    raise RuntimeError('no compiler')\n"
            if fail
            else "    d = os.path.join(metadata_directory, 'a-1.0.dist-info')\n"
            "    os.makedirs(d)\n"
            f"    open(os.path.join(d, 'METADATA'), 'w').write({_OK_METADATA!r})\n"
            "    return 'a-1.0.dist-info'\n"
        )
    )


def _runs(counter: Path) -> list[int]:
    return [int(x) for x in counter.read_text().split()] if counter.exists() else []


def _alive(pid: int) -> bool:
    """``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _wait_for(predicate: Callable[[], object], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _builds(
    tmp_path: Path, pip_env: dict[str, str], cache: Cache | None, **settings: object
) -> SdistBuilds:
    return SdistBuilds(
        BuildSettings(env=pip_env, temp_dir=tmp_path / "tmp", **settings),  # type: ignore[arg-type]
        cache=cache,
    )


def _sdist(tmp_path: Path, backend: str, **options: object) -> tuple[str, bytes]:
    path = make_backend_sdist(
        tmp_path / "dists", name="a", version="1.0", backend=backend, **options
    )  # type: ignore[arg-type]
    return path.name, path.read_bytes()


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    (tmp_path / "tmp").mkdir()
    return tmp_path / "tmp"


def test_an_outcome_is_remembered_per_sdist_and_build_interpreter(
    tmp_path: Path, tmp: Path, pip_env: dict[str, str]
) -> None:
    counter = tmp_path / "runs"
    cache = Cache(tmp_path / "cache")
    name, archive = _sdist(tmp_path, _counting(counter, fail=False))
    first = _builds(tmp_path, pip_env, cache, interpreter="cpython-311-x")
    assert first.remembered(archive, filename=name) is None
    data = first.build(archive, filename=name)
    assert b"Requires-Dist: b>=2" in data
    again = _builds(tmp_path, pip_env, cache, interpreter="cpython-311-x")
    assert again.remembered(archive, filename=name) == data
    other = _builds(tmp_path, pip_env, cache, interpreter="cpython-312-x")
    assert other.remembered(archive, filename=name) is None  # another interpreter builds anew
    assert len(_runs(counter)) == 1
    assert list(tmp.iterdir()) == []


def test_a_failure_is_remembered_and_retry_failed_builds_again(
    tmp_path: Path, tmp: Path, pip_env: dict[str, str]
) -> None:
    counter = tmp_path / "runs"
    cache = Cache(tmp_path / "cache")
    name, archive = _sdist(tmp_path, _counting(counter, fail=True))
    with pytest.raises(BuildFailed) as info:
        _builds(tmp_path, pip_env, cache).build(archive, filename=name)
    assert (info.value.kind, info.value.cached) == (BuildFailure.BACKEND_FAILED, False)
    with pytest.raises(BuildFailed, match="no compiler") as info:
        _builds(tmp_path, pip_env, cache).remembered(archive, filename=name)
    assert (info.value.kind, info.value.cached) == (BuildFailure.BACKEND_FAILED, True)
    assert "--refresh retries it" in str(info.value)
    retrying = _builds(tmp_path, pip_env, cache, retry_failed=True)
    assert retrying.remembered(archive, filename=name) is None
    with pytest.raises(BuildFailed):
        retrying.build(archive, filename=name)
    assert len(_runs(counter)) == 2


def test_a_timeout_is_remembered_with_its_timeout(
    tmp_path: Path, tmp: Path, pip_env: dict[str, str]
) -> None:
    counter = tmp_path / "runs"
    cache = Cache(tmp_path / "cache")
    name, archive = _sdist(tmp_path, _counting(counter, fail=False, sleep=60))
    with pytest.raises(BuildFailed, match="timed out after 2 s") as info:
        _builds(tmp_path, pip_env, cache, timeout=2).build(archive, filename=name)
    assert info.value.kind is BuildFailure.TIMEOUT
    assert _wait_for(lambda: not _alive(_runs(counter)[0]), 5)
    with pytest.raises(BuildFailed, match="a --build-timeout above the one it had"):
        _builds(tmp_path, pip_env, cache, timeout=2).remembered(archive, filename=name)
    assert _builds(tmp_path, pip_env, cache, timeout=3).remembered(archive, filename=name) is None
    assert list(tmp.iterdir()) == []


def test_a_missing_build_requirement_is_remembered(
    tmp_path: Path, tmp: Path, pip_env: dict[str, str]
) -> None:
    cache = Cache(tmp_path / "cache")
    backend = _counting(tmp_path / "runs", fail=False)
    name, archive = _sdist(tmp_path, backend, requires=["no-such-build-tool"])
    env = {**pip_env, "PIP_NO_INDEX": "1"}
    with pytest.raises(BuildFailed, match="No matching distribution found") as info:
        SdistBuilds(BuildSettings(env=env, temp_dir=tmp), cache=cache).build(archive, filename=name)
    assert info.value.kind is BuildFailure.MISSING_BUILD_REQUIREMENT
    with pytest.raises(BuildFailed) as info:
        SdistBuilds(BuildSettings(env=env), cache=cache).remembered(archive, filename=name)
    assert info.value.cached


def test_a_network_failure_installing_build_requirements_is_not_remembered(
    tmp_path: Path, tmp: Path, pip_env: dict[str, str]
) -> None:
    with socket.socket() as sock:  # a port nothing listens on: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cache = Cache(tmp_path / "cache")
    backend = _counting(tmp_path / "runs", fail=False)
    name, archive = _sdist(tmp_path, backend, requires=["some-build-tool"])
    env = {**pip_env, "PIP_INDEX_URL": f"http://127.0.0.1:{port}/simple", "PIP_RETRIES": "1"}
    with pytest.raises(BuildFailed, match="installing the build requirements failed") as info:
        SdistBuilds(BuildSettings(env=env, temp_dir=tmp), cache=cache).build(archive, filename=name)
    assert info.value.kind is BuildFailure.REQUIREMENTS_INSTALL
    assert (
        SdistBuilds(BuildSettings(env=env), cache=cache).remembered(archive, filename=name) is None
    )


def test_past_the_deadline_no_build_runs_and_nothing_is_remembered(
    tmp_path: Path, tmp: Path, pip_env: dict[str, str]
) -> None:
    """A build running at the deadline is stopped; after it, none starts.

    The deadline must fall after the backend has started (its run is what shows that the
    second call starts none), but pip's start-up may take more than any fixed time on a
    loaded machine: so the time left doubles, from 2 s, until a stopped build had reached
    the backend. Every round checks the stop; the first call returns only at the deadline,
    so the second call always comes after it."""
    counter = tmp_path / "runs"
    cache = Cache(tmp_path / "cache")
    name, archive = _sdist(tmp_path, _counting(counter, fail=False, sleep=60))
    left = 2.0
    while True:
        builds = _builds(tmp_path, pip_env, cache, deadline=time.monotonic() + left)
        with pytest.raises(
            BuildFailed, match=r"stopped after .* s: the command's time limit"
        ) as info:
            builds.build(archive, filename=name)
        assert info.value.kind is BuildFailure.TIME_LIMIT
        if _runs(counter):
            break
        assert left < 64, "the build never reached its backend in 64 s"
        left *= 2
    with pytest.raises(BuildFailed, match="not built: the command's time limit"):
        builds.build(archive, filename=name)
    assert builds.time_limited == [name, name]
    assert len(_runs(counter)) == 1
    assert _builds(tmp_path, pip_env, cache).remembered(archive, filename=name) is None


def test_a_build_that_would_overrun_the_time_left_is_skipped(
    tmp_path: Path, tmp: Path, pip_env: dict[str, str]
) -> None:
    """Once a build has taken T seconds, a build with less than T seconds left before the
    deadline is not started (it would only be stopped): it is skipped and reported. The
    clock is the real one, moved forward to the last half second before the deadline. The
    later sdist is of another project, which has no history: the run's quickest build is the
    estimate."""
    counter = tmp_path / "runs"
    name, archive = _sdist(tmp_path, _counting(counter, fail=False, sleep=1))
    later = make_backend_sdist(
        tmp_path / "later", name="b", version="1.1", backend=_counting(counter, fail=False)
    )
    ahead = [0.0]
    deadline = time.monotonic() + 600
    builds = SdistBuilds(
        BuildSettings(env=pip_env, temp_dir=tmp, deadline=deadline),
        cache=None,
        clock=lambda: time.monotonic() + ahead[0],
    )
    builds.build(archive, filename=name)
    assert len(_runs(counter)) == 1
    ahead[0] = deadline - time.monotonic() - 0.5
    with pytest.raises(
        BuildFailed, match=r"not built: 0\.\d s of the command's time limit"
    ) as info:
        builds.build(later.read_bytes(), filename=later.name)
    assert info.value.kind is BuildFailure.TIME_LIMIT
    assert "less than the quickest build so far took" in str(info.value)
    assert builds.time_limited == [later.name]
    assert len(_runs(counter)) == 1  # never started


def test_a_project_known_to_build_slowly_is_skipped_in_a_later_run(
    tmp_path: Path, tmp: Path, pip_env: dict[str, str]
) -> None:
    """A build's duration is kept in the cache per project and build interpreter. A later
    run (a new :class:`SdistBuilds`, nothing built yet) skips the first build of another
    version of that project when less time is left than its past builds took, and says so;
    a build interpreter without a history has no estimate, so it would start."""
    counter = tmp_path / "runs"
    cache = Cache(tmp_path / "cache")
    name, archive = _sdist(tmp_path, _counting(counter, fail=False, sleep=1))
    _builds(tmp_path, pip_env, cache, interpreter="cpython-311-x").build(archive, filename=name)
    later = make_backend_sdist(
        tmp_path / "later", name="a", version="1.1", backend=_counting(counter, fail=False)
    )
    ahead = [0.0]
    deadline = time.monotonic() + 600
    builds = SdistBuilds(
        BuildSettings(env=pip_env, temp_dir=tmp, deadline=deadline, interpreter="cpython-311-x"),
        cache=cache,
        clock=lambda: time.monotonic() + ahead[0],
    )
    assert len(builds.history("a")) == 1
    ahead[0] = deadline - time.monotonic() - 0.5
    with pytest.raises(
        BuildFailed, match=r"less than earlier builds of a took \(median \d+\.\d s of 1 build\)"
    ) as info:
        builds.build(later.read_bytes(), filename=later.name)
    assert info.value.kind is BuildFailure.TIME_LIMIT
    assert builds.time_limited == [later.name]
    assert builds.skipped[later.name].startswith("not started: 0.")
    assert len(_runs(counter)) == 1  # never started
    other = _builds(tmp_path, pip_env, cache, interpreter="cpython-312-x")
    assert other.history("a") == ()
    assert other.estimate(later.name) is None


def test_the_history_keeps_the_latest_builds_and_a_timeout(
    tmp_path: Path, tmp: Path, pip_env: dict[str, str]
) -> None:
    """A build that times out took at least its timeout: that goes into the history too."""
    counter = tmp_path / "runs"
    cache = Cache(tmp_path / "cache")
    name, archive = _sdist(tmp_path, _counting(counter, fail=False, sleep=30))
    builds = _builds(tmp_path, pip_env, cache, timeout=2.0)
    with pytest.raises(BuildFailed) as info:
        builds.build(archive, filename=name)
    assert info.value.kind is BuildFailure.TIMEOUT
    assert _builds(tmp_path, pip_env, cache).history("a") == (2.0,)


def test_no_build_refuses_but_uses_a_remembered_outcome(
    tmp_path: Path, tmp: Path, pip_env: dict[str, str]
) -> None:
    cache = Cache(tmp_path / "cache")
    name, archive = _sdist(tmp_path, _counting(tmp_path / "runs", fail=False))
    with pytest.raises(MetadataUnavailable, match="--no-build"):
        _builds(tmp_path, pip_env, cache, allow=False).build(archive, filename=name)
    data = _builds(tmp_path, pip_env, cache).build(archive, filename=name)
    assert _builds(tmp_path, pip_env, cache, allow=False).remembered(archive, filename=name) == data


def test_cancel_from_another_thread_stops_the_group_and_removes_the_folder(
    tmp_path: Path, tmp: Path, pip_env: dict[str, str]
) -> None:
    counter = tmp_path / "runs"
    cache = Cache(tmp_path / "cache")
    name, archive = _sdist(tmp_path, _counting(counter, fail=False, sleep=60))
    builds = _builds(tmp_path, pip_env, cache)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            builds.build(archive, filename=name)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    assert _wait_for(lambda: _runs(counter), 60)
    builds.cancel()
    assert list(tmp.iterdir()) == []  # cancel() returns once the folder is gone
    worker.join(10)
    assert not _alive(_runs(counter)[0])
    assert isinstance(errors[0], BuildFailed) and errors[0].kind is BuildFailure.CANCELLED
    with pytest.raises(BuildFailed, match="cancelled"):
        builds.build(archive, filename=name)  # no new build after a cancel
    assert _builds(tmp_path, pip_env, cache).remembered(archive, filename=name) is None


def test_an_interrupt_leaving_the_fetcher_stops_builds_of_its_workers(
    tmp_path: Path, tmp: Path, pip_env: dict[str, str]
) -> None:
    counter = tmp_path / "runs"
    path = make_backend_sdist(
        tmp_path / "dists",
        name="a",
        version="1.0",
        backend=_counting(counter, fail=False, sleep=60),
    )
    dist = DistFile(filename=path.name, url=path.as_uri(), index="")
    started = time.monotonic()
    with Fetcher(NetworkSettings(retries=0, timeout=20)) as fetcher:
        with pytest.raises(KeyboardInterrupt):
            with MetadataFetcher(
                fetcher=fetcher, cache=None, builds=BuildSettings(env=pip_env, temp_dir=tmp)
            ) as mf:
                mf.prefetch([dist])  # the build runs in a worker thread
                assert _wait_for(lambda: _runs(counter), 60)
                raise KeyboardInterrupt  # as Ctrl-C does, in the main thread
    assert time.monotonic() - started < 30
    assert _wait_for(lambda: not _alive(_runs(counter)[0]), 5)
    assert list(tmp.iterdir()) == []


def test_an_error_leaving_an_index_session_stops_its_builds(
    tmp_path: Path, tmp: Path, pip_env: dict[str, str]
) -> None:
    """``with`` an index :class:`~advisor.index.session.Session` (how every job of the
    composition root holds one): an error inside stops the running builds and closes it,
    as an interrupt leaving the metadata fetcher does above."""
    from advisor.index.finder import PackageFinder
    from advisor.index.session import Session

    counter = tmp_path / "runs"
    path = make_backend_sdist(
        tmp_path / "dists", name="a", version="1.0",
        backend=_counting(counter, fail=False, sleep=60),
    )  # fmt: skip
    dist = DistFile(filename=path.name, url=path.as_uri(), index="")
    fetcher = Fetcher(NetworkSettings(retries=0, timeout=20))
    metadata = MetadataFetcher(
        fetcher=fetcher, cache=None, builds=BuildSettings(env=pip_env, temp_dir=tmp)
    )
    finder = PackageFinder(fetcher=fetcher, indexes=())
    started = time.monotonic()
    with pytest.raises(LookupError, match="the job failed"):
        with Session(fetcher=fetcher, finder=finder, metadata=metadata):
            metadata.prefetch([dist])  # the build runs in a worker thread
            assert _wait_for(lambda: _runs(counter), 60)
            raise LookupError("the job failed")
    assert time.monotonic() - started < 30
    assert _wait_for(lambda: not _alive(_runs(counter)[0]), 5)
    assert list(tmp.iterdir()) == []
