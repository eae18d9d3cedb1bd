"""Under ``--recommendation security``, a conflict says which advisory removed each version and
opens with the root cause; an advisory that no release fixes is kept (the fewest of them),
with a loud warning, unless ``--strict``.

A fixture index (``file://``) and a folder of OSV records written here (so the advisories are
exactly the ones the cases need): ``vuln`` is affected below 2.0 by one advisory (and 1.0 to 1.2
by a second one), and its root requirement caps it below 2.0, so no release is left;
``tinyparse`` has an advisory without a fixed release and sits under ``frame`` 2.0 → ``mid``,
while ``frame`` 1.0 wants ``numlib<2``; ``app`` 2.0 needs ``glue``, which caps ``oldparse``
below 2.0, its first release without an advisory, while ``app`` 1.0 wants ``numlib<2``, which
a root requirement forbids: resolvelib reports the conflict on ``numlib``, but ``oldparse`` is
why the newer ``app`` cannot be used.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.functional.helpers import CliResult, clean_environ, lock_pins, read_lock, run_cli
from tests.support import FixtureIndex, Project, build_index, release

if TYPE_CHECKING:
    from pathlib import Path

VULN = "GHSA-4x2q-9p7c-m3vw"
OLDER = "PYSEC-2099-17"
NO_FIX = "GHSA-8hq3-v6cw-2f5j"
LATE_FIX = "GHSA-2c7v-9f4q-x8mr"
OLD_VULN = ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10", "1.11"]


def _wheel(version: str, *deps: str) -> tuple[object, ...]:
    return release(version, sdist=False, requires_dist=list(deps))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FixtureIndex:
    return build_index(
        tmp_path_factory.mktemp("security-explanation") / "index",
        [
            Project(name="vuln", files=[f for v in [*OLD_VULN, "2.0", "2.1"] for f in _wheel(v)]),
            Project(name="frame", files=[*_wheel("1.0", "numlib<2"), *_wheel("2.0", "mid")]),
            Project(name="mid", files=[*_wheel("1.0", "tinyparse")]),
            Project(name="numlib", files=[*_wheel("1.0"), *_wheel("2.0")]),
            Project(name="tinyparse", files=[*_wheel("0.5"), *_wheel("1.0"), *_wheel("1.1")]),
            Project(name="app", files=[*_wheel("1.0", "numlib<2"), *_wheel("2.0", "glue")]),
            Project(name="glue", files=[*_wheel("1.0", "oldparse<2")]),
            Project(name="oldparse", files=[*_wheel("1.0"), *_wheel("1.5"), *_wheel("2.0")]),
        ],
    )


def _advisory(folder: Path, ident: str, package: str, events: list[dict[str, str]]) -> None:
    record = {
        "id": ident,
        "modified": "2024-01-01T00:00:00Z",
        "summary": f"a flaw in {package}",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ],
    }
    (folder / f"{ident}.json").write_text(json.dumps(record))


@pytest.fixture(scope="module")
def osv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("osv")
    _advisory(folder, VULN, "vuln", [{"introduced": "0"}, {"fixed": "2.0"}])
    _advisory(folder, OLDER, "vuln", [{"introduced": "1.0"}, {"fixed": "1.3"}])
    _advisory(folder, NO_FIX, "tinyparse", [{"introduced": "0"}])
    _advisory(folder, LATE_FIX, "oldparse", [{"introduced": "0"}, {"fixed": "2.0"}])
    return folder


def _run(index: FixtureIndex, osv: Path, work: Path, text: str, kind: str, *args: str) -> CliResult:
    req = work / "requirements.in"
    req.write_text(text)
    return run_cli(
        [
            "advise",
            req,
            "--index-url",
            index.file_url,
            "--knowledge",
            f"sqlite:///{work / 'k.db'}",
            "--osv",
            osv,
            "--recommendation",
            kind,
            "-o",
            work / "pylock.toml",
            *args,
        ],
        env=clean_environ(work / "home"),
    )


def _explanation(result: CliResult) -> list[str]:
    """The lines after the error line ``no stack satisfies the requirements for …``."""
    lines = result.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if "no stack satisfies" in line)
    return lines[start + 1 :]


def test_every_version_of_a_capped_project_is_attributed(
    index: FixtureIndex, osv: Path, tmp_path: Path
) -> None:
    result = _run(index, osv, tmp_path, "vuln<2\n", "security")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "pylock.toml").exists()
    lines = _explanation(result)
    assert lines[0].startswith("vuln: every version the requirements allow is removed by a filter")
    assert VULN in lines[0]
    versions = [line.strip() for line in lines if line.startswith("    ")]
    assert len(versions) == 3, versions
    # newest first, one line per run of versions with the same reason
    assert versions[0].startswith("2.0\u20132.1 (2 versions): excluded by vuln<2 (from ")
    assert versions[1].startswith(f"1.3\u20131.11 (9 versions): affected by {VULN} (fixed in 2.0)")
    assert OLDER not in versions[1]
    assert versions[2].startswith(
        f"1.0\u20131.2 (3 versions): affected by {VULN} (fixed in 2.0), {OLDER} (fixed in 1.3)"
    )
    assert all("nearest unaffected release: 2.0" in line for line in versions[1:])


def test_a_transitive_advisory_with_an_unreachable_fix_comes_first(
    index: FixtureIndex, osv: Path, tmp_path: Path
) -> None:
    """resolvelib reports the conflict on ``numlib`` (a root requirement against ``app``
    1.0); the cause is that no ``oldparse`` below 2.0 escapes its advisory."""
    latest = _run(index, osv, tmp_path, "numlib>=2\napp\n", "latest")
    assert latest.exit_code == 0, latest.output
    assert lock_pins(read_lock(tmp_path / "pylock.toml"))["oldparse"] == "1.5"
    (tmp_path / "pylock.toml").unlink()
    result = _run(index, osv, tmp_path, "numlib>=2\napp\n", "security")
    assert result.exit_code == 1, result.output
    lines = _explanation(result)
    assert lines[0].startswith(
        "oldparse: every version the requirements allow is removed by a filter: affected by "
        f"{LATE_FIX} (fixed in 2.0)"
    ), lines
    assert "numlib" not in lines[0]
    assert "required by glue==1.0, required by app==2.0, required by" in lines[1]
    # the conflict resolvelib reported is still explained, after the root cause
    assert any(line.startswith("numlib: no version satisfies") for line in lines[2:])


def test_an_advisory_no_release_fixes_is_kept_with_a_loud_warning(
    index: FixtureIndex, osv: Path, tmp_path: Path
) -> None:
    """Every ``tinyparse`` is affected by NO_FIX and ``numlib>=2`` rules out ``frame`` 1.0:
    security keeps ``tinyparse``, exits 0 and warns naming the advisory; ``--strict``
    fails instead and writes nothing."""
    result = _run(index, osv, tmp_path, "numlib>=2\nframe\n", "security")
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(tmp_path / "pylock.toml"))["tinyparse"] == "1.1"
    warning = next(line for line in result.stderr.splitlines() if "UNFIXABLE ADVISORY" in line)
    assert NO_FIX in warning and "tinyparse 1.1" in warning, warning
    # advisor check still reports the advisory the lock keeps
    env = clean_environ(tmp_path / "home")
    check = run_cli(["check", tmp_path / "pylock.toml", "--osv", osv], env=env)
    assert check.exit_code != 0, check.output
    assert NO_FIX in check.output
    (tmp_path / "pylock.toml").unlink()
    strict = _run(index, osv, tmp_path, "numlib>=2\nframe\n", "security", "--strict")
    assert strict.exit_code == 1, strict.output
    assert "Traceback" not in strict.output
    assert NO_FIX in strict.stderr and "--strict" in strict.stderr
    assert not (tmp_path / "pylock.toml").exists()


def test_security_prefers_the_stack_without_an_unfixable_advisory(
    index: FixtureIndex, osv: Path, tmp_path: Path
) -> None:
    """``frame`` 2.0 (latest's) brings ``tinyparse`` and its advisory; ``frame`` 1.0 brings
    none: security takes it, with no warning."""
    latest = _run(index, osv, tmp_path, "frame\n", "latest")
    assert latest.exit_code == 0, latest.output
    assert lock_pins(read_lock(tmp_path / "pylock.toml"))["frame"] == "2.0"
    (tmp_path / "pylock.toml").unlink()
    result = _run(index, osv, tmp_path, "frame\n", "security")
    assert result.exit_code == 0, result.output
    assert lock_pins(read_lock(tmp_path / "pylock.toml")) == {"frame": "1.0", "numlib": "1.0"}
    assert "UNFIXABLE ADVISORY" not in result.stderr
