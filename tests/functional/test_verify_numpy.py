"""The measure that matters (issue 14): the advised stack installs *and imports*.

Fixture wheels reproduce the NumPy 1/NumPy 2 failure offline: ``numpy`` 1.0 and 2.0, and
``oldext`` 1.0, "built against NumPy 1" with no upper bound in its metadata, whose module
raises ``ImportError("numpy.core.multiarray failed to import")`` when NumPy 2 is installed.
pip's choice (``latest``) installs and then fails at import. ``stable --verify`` installs each
stack into a throwaway venv here, learns the failing pair (a compatibility observation in the
store, a nogood for the search) and advises a stack that a fresh venv, installed with real
pip from the written lock, imports. The next ``stable`` run, without ``--verify``, avoids the
pair from the recorded observation alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from advisor.knowledge.schema import BuildObservation, CompatibilityObservation
from advisor.knowledge.sqlite_store import SQLiteStore
from tests.functional.helpers import clean_environ, run_cli
from tests.support import IndexServer, Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.support.index import FixtureIndex

OLD = datetime(2024, 1, 1, tzinfo=UTC)

OLDEXT = b'''"""An extension built against NumPy 1 (a fixture)."""
import numpy

if int(numpy.__version__.split(".")[0]) >= 2:
    raise ImportError("numpy.core.multiarray failed to import")
'''


SOLO = b'raise ImportError("solo 2.0 needs a library this machine lacks")\n'


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("numpy12")
    projects = [
        Project(name="numpy", files=[*release("1.0", sdist=False, upload_time=OLD),
                                     *release("2.0", sdist=False, upload_time=OLD)]),
        Project(name="oldext", files=[*release("1.0", sdist=False, upload_time=OLD,
                                               requires_dist=["numpy>=1"],
                                               files={"oldext/__init__.py": OLDEXT})]),
        Project(name="solo", files=[*release("1.0", sdist=False, upload_time=OLD),
                                    *release("2.0", sdist=False, upload_time=OLD,
                                             files={"solo/__init__.py": SOLO})]),
    ]  # fmt: skip
    with IndexServer(build_index(root / "index", projects)) as server:
        yield server.url


def _pins(lock: Path) -> dict[str, str]:
    found = {}
    for line in lock.read_text().splitlines():
        if "==" in line and not line.lstrip().startswith(("#", "-")):
            name, _, rest = line.partition("==")
            found[name.strip()] = rest.split()[0].rstrip("\\").strip()
    return found


def _install_and_import(lock: Path, site: str, venv: Path, env: dict[str, str]) -> str:
    """Install ``lock`` (a requirements lock with hashes) into a fresh venv with real pip,
    then import ``oldext`` there: its output ("" when it imported)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   env=env)  # fmt: skip
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--require-hashes", "--disable-pip-version-check", "--index-url", site, "-r", str(lock)],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    done = subprocess.run([str(python), "-I", "-c", "import oldext, numpy"], env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    return "" if done.returncode == 0 else done.stderr


@pytest.mark.slow
def test_stable_with_verify_installs_and_imports_where_latest_fails(
    site: str, tmp_path: Path
) -> None:
    env = clean_environ(tmp_path / "home")
    store = tmp_path / "k.db"
    req = tmp_path / "requirements.in"
    req.write_text("oldext\nnumpy\n")

    def advise(kind: str, out: str, *extra: str) -> dict:  # type: ignore[type-arg]
        result = run_cli(
            ["advise", req, "--index-url", site, "--knowledge", f"sqlite:///{store}",
             "--recommendation", kind, "-o", tmp_path / out, "--report", "json", *extra],
            env=env,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    # pip's choice: numpy 2 beside an extension built against numpy 1; it installs, then fails
    advise("latest", "latest.txt")
    assert _pins(tmp_path / "latest.txt") == {"numpy": "2.0", "oldext": "1.0"}
    failed = _install_and_import(tmp_path / "latest.txt", site, tmp_path / "v-latest", env)
    assert "numpy.core.multiarray failed to import" in failed
    # stable, knowing nothing, makes the same choice: the knowledge is what changes it
    plain = advise("stable", "plain.txt")
    assert _pins(tmp_path / "plain.txt")["numpy"] == "2.0"
    assert plain["verified"] is None
    # stable --verify: the failing pair is learnt, and the advised stack imports
    report = advise("stable", "stable.txt", "--verify")
    assert _pins(tmp_path / "stable.txt") == {"numpy": "1.0", "oldext": "1.0"}
    assert _install_and_import(tmp_path / "stable.txt", site, tmp_path / "v-stable", env) == ""
    assert report["verified"] >= 2
    (lesson,) = report["lessons"]
    assert "oldext==1.0 with numpy==2.0 fails to import (abi-mismatch)" in lesson
    with SQLiteStore(store) as opened:
        recorded = [o for o in opened.for_package("oldext")
                    if isinstance(o, CompatibilityObservation)]  # fmt: skip
    assert [(o.package, o.version, o.other, o.other_version, o.outcome) for o in recorded] == [
        ("numpy", "2.0", "oldext", "1.0", "failed")
    ]
    assert recorded[0].provenance.source == "verify"
    # the next stable advice, without --verify, avoids the pair from the observation alone
    again = advise("stable", "again.txt")
    assert _pins(tmp_path / "again.txt") == {"numpy": "1.0", "oldext": "1.0"}
    assert "numpy==2.0 with oldext==1.0 failed together" in json.dumps(again)


@pytest.mark.slow
def test_a_release_that_fails_alone_is_banned_and_recorded_as_a_failed_import(
    site: str, tmp_path: Path
) -> None:
    env = clean_environ(tmp_path / "home")
    store = tmp_path / "k.db"
    req = tmp_path / "requirements.in"
    req.write_text("solo\n")
    result = run_cli(
        ["advise", req, "--index-url", site, "--knowledge", f"sqlite:///{store}", "--verify",
         "-o", tmp_path / "stable.txt", "--report", "json"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert _pins(tmp_path / "stable.txt") == {"solo": "1.0"}
    assert report["lessons"] == [
        "solo==2.0 does not import on this machine "
        "(ImportError: solo 2.0 needs a library this machine lacks)"
    ]
    with SQLiteStore(store) as opened:
        (failed,) = [o for o in opened.for_package("solo") if isinstance(o, BuildObservation)]
    assert (failed.version, failed.outcome, failed.failure_class) == ("2.0", "failed",
                                                                      "import-error")  # fmt: skip


NUMPY_2_OUT = datetime(2024, 6, 16, tzinfo=UTC)


def _abi_site(root: Path, *, numpy_2_uploaded: datetime | None) -> FixtureIndex:
    """``oldext`` 1.0, 1.1 and 1.2, each with wheels uploaded before NumPy 2 came out and
    each failing to import under it; ``numpy`` 2.0 uploaded at ``numpy_2_uploaded`` (``None``:
    the index does not say)."""
    old = [datetime(2023, m, 1, tzinfo=UTC) for m in (3, 6, 9)]
    oldext = [
        f
        for v, t in zip(("1.0", "1.1", "1.2"), old, strict=True)
        for f in release(v, sdist=False, upload_time=t, requires_dist=["numpy>=1"],
                         files={"oldext/__init__.py": OLDEXT})
    ]  # fmt: skip
    numpy = [*release("1.0", sdist=False, upload_time=OLD - timedelta(days=400)),
             *release("2.0", sdist=False, upload_time=numpy_2_uploaded)]  # fmt: skip
    return build_index(
        root, [Project(name="numpy", files=numpy), Project(name="oldext", files=oldext)]
    )


def _verified(index: FixtureIndex, tmp_path: Path) -> dict:  # type: ignore[type-arg]
    tmp_path.mkdir(parents=True, exist_ok=True)
    env = clean_environ(tmp_path / "home")
    req = tmp_path / "requirements.in"
    req.write_text("oldext\nnumpy\n")
    with IndexServer(index) as server:
        result = run_cli(
            ["advise", req, "--index-url", server.url, "--knowledge",
             f"sqlite:///{tmp_path / 'k.db'}", "--verify", "--report", "json",
             "-o", tmp_path / "stable.txt"],
            env=env,
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    report["pins"] = _pins(tmp_path / "stable.txt")
    return report  # type: ignore[no-any-return]


@pytest.mark.slow
def test_an_abi_mismatch_is_widened_to_the_releases_built_before_the_new_major(
    tmp_path: Path,
) -> None:
    """The first stack (``oldext`` 1.2, ``numpy`` 2.0) fails with an ABI mismatch. Every
    ``oldext`` wheel was uploaded before NumPy 2 came out, so the nogood learnt is
    ``not (numpy>=2 and oldext<=1.2)``: no other ``oldext`` release is installed beside NumPy
    2 to learn the same thing again. Where the index does not say when NumPy 2 came out, the
    nogood stays per release, and the search installs more stacks to reach the same advice."""
    widened = _verified(_abi_site(tmp_path / "i1", numpy_2_uploaded=NUMPY_2_OUT), tmp_path / "w")
    narrow = _verified(_abi_site(tmp_path / "i2", numpy_2_uploaded=None), tmp_path / "n")
    assert widened["pins"]["numpy"] == narrow["pins"]["numpy"] == "1.0"
    (lesson,) = widened["lessons"]
    assert (
        "widened to oldext<=1.2, every release of oldext whose wheels were all uploaded "
        "before the first numpy 2 release" in lesson
    )
    assert not any("widened" in x for x in narrow["lessons"])
    assert len(narrow["lessons"]) > 1  # one abi-mismatch learnt per oldext release
    # count 3: the failing stack, then three accepted ones; per release, two more failures
    assert (widened["verified"], narrow["verified"]) == (4, 6)
