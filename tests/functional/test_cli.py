"""End to end through the ``advisor`` command line, against a real index on 127.0.0.1.

Most tests run :func:`advisor.cli.main` in-process (click's ``CliRunner``, see
:mod:`tests.functional.helpers`) so exit codes and messages are the real ones; the tests
about tracebacks, logs and credentials run it in a fresh interpreter. One fixture index
(module scope) serves every test that does not change the index; tests that do build their
own.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import tomllib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.pylock import Pylock

from tests.functional.helpers import (
    CliResult,
    clean_environ,
    lock_pins,
    read_lock,
    run_advisor,
    run_cli,
)
from tests.support import FixtureIndex, IndexServer, Project, build_index, release
from tests.support.dists import make_wheel

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

MAC = "macosx_14_0_arm64"
DARWIN_ARM = 'sys_platform == "darwin" and platform_machine == "arm64"'


def _t(month: int) -> datetime:
    return datetime(2024, month, 1)


def _projects() -> list[Project]:
    return [
        Project(
            name="alpha",
            files=[
                *release("1.0", requires_dist=["beta>=1"], upload_time=_t(1)),
                *release(
                    "2.0",
                    requires_dist=[
                        "beta>=2",
                        'macdep; sys_platform == "darwin"',
                        'linuxdep; sys_platform == "linux"',
                    ],
                    upload_time=_t(3),
                ),
            ],
        ),
        Project(
            name="beta",
            files=[*release("1.0", upload_time=_t(1)), *release("2.0", upload_time=_t(2))],
        ),
        Project(name="macdep", files=[*release("1.0", upload_time=_t(1))]),
        Project(name="linuxdep", files=[*release("1.0", upload_time=_t(1))]),
        # 2.0 has binary wheels for macOS arm64 and manylinux x86_64 (CPython 3.12) only
        Project(
            name="native",
            files=[
                *release("1.0", sdist=False, upload_time=_t(1)),
                *release(
                    "2.0",
                    wheel_tags=[
                        "cp312-cp312-macosx_11_0_arm64",
                        "cp312-cp312-manylinux_2_17_x86_64",
                    ],
                    sdist=False,
                    upload_time=_t(2),
                ),
            ],
        ),
        # 2.0 installs on Linux x86_64 only
        Project(
            name="linonly",
            files=[
                *release("1.0", sdist=False, upload_time=_t(1)),
                *release(
                    "2.0",
                    wheel_tags=["cp312-cp312-manylinux_2_17_x86_64"],
                    sdist=False,
                    upload_time=_t(2),
                ),
            ],
        ),
        Project(
            name="pre",
            files=[*release("1.0", upload_time=_t(1)), *release("2.0a1", upload_time=_t(2))],
        ),
        # the newest release is an sdist only
        Project(
            name="src",
            files=[
                *release("1.0", sdist=False, upload_time=_t(1)),
                *release("2.0", wheel_tags=(), upload_time=_t(2)),
            ],
        ),
        Project(
            name="gamma",
            files=[*release("1.0", upload_time=_t(1)), *release("2.0", upload_time=_t(2))],
        ),
        Project(
            name="needsgamma",
            files=[*release("1.0", requires_dist=["gamma>=2"], upload_time=_t(1))],
        ),
        Project(name="conf", files=[*release("1.0", requires_dist=["beta<2"], upload_time=_t(1))]),
        Project(name="mltool", files=[*release("0.5", upload_time=_t(1))]),
        Project(name="testtool", files=[*release("7.0", upload_time=_t(1))]),
        Project(name="linttool", files=[*release("0.1", upload_time=_t(1))]),
        Project(name="delta", files=[*release("1.0", upload_time=_t(1))]),
        Project(
            name="ykpin",
            files=[
                *release("1.0", upload_time=_t(1)),
                *release("3.0", yanked="bad build", upload_time=_t(2)),
            ],
        ),
        Project(name="py312", files=[*release("1.0"), *release("2.0", requires_python=">=3.12")]),
    ]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> FixtureIndex:
    return build_index(tmp_path_factory.mktemp("cli") / "index", _projects())


@pytest.fixture(scope="module")
def server(index: FixtureIndex) -> Iterator[IndexServer]:
    with IndexServer(index) as srv:
        yield srv


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_environ(tmp_path / "home")


@pytest.fixture
def advisor(server: IndexServer, env: dict[str, str], tmp_path: Path) -> Callable[..., CliResult]:
    """``advisor(*args)``: run the CLI against the module's index with a per-test cache."""

    def run(*args: str | Path, index: bool = True) -> CliResult:
        extra: list[str | Path] = []
        if index:
            extra = ["--index-url", server.url, "--cache-dir", tmp_path / "cache"]
        return run_cli([*args, *extra], env=env)

    return run


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.output
    return result


def _stdout_pins(result: CliResult) -> dict[str, str]:
    return lock_pins(tomllib.loads(_ok(result).stdout))


# --- env detect ---------------------------------------------------------------------------


def test_env_detect_prints_toml(env: dict[str, str]) -> None:
    result = _ok(run_cli(["env", "detect"], env=env))
    data = tomllib.loads(result.stdout)
    assert data["python_version"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert data["implementation"] in {"cp", "pp"}
    assert data["platform"]
    assert "# marker: " in result.stdout


def test_env_detect_json(env: dict[str, str]) -> None:
    data = json.loads(_ok(run_cli(["env", "detect", "--json"], env=env)).stdout)
    assert data["markers"]["sys_platform"] == sys.platform
    assert data["markers"]["python_version"] == "{}.{}".format(*sys.version_info[:2])


def test_env_detect_for_a_target(env: dict[str, str]) -> None:
    args = ["env", "detect", "--json", "--python", "3.12", "--platform", MAC]
    data = json.loads(_ok(run_cli(args, env=env)).stdout)
    assert data["platform"] == MAC
    assert data["markers"]["sys_platform"] == "darwin"
    assert data["markers"]["platform_machine"] == "arm64"
    assert data["markers"]["python_version"] == "3.12"


def test_env_detect_for_a_target_has_the_cuda_stated(env: dict[str, str]) -> None:
    # another platform than this machine's: no CUDA but the one stated (never the host's)
    args = ["env", "detect", "--json", "--python", "3.12", "--platform", MAC]
    assert json.loads(_ok(run_cli(args, env=env)).stdout).get("cuda_version") is None
    stated = json.loads(_ok(run_cli([*args, "--cuda", "12.1"], env=env)).stdout)
    assert (stated["cuda_version"], stated["cuda_source"]) == ("12.1", "user")
    bad = run_cli(["env", "detect", "--cuda", "twelve"], env=env)
    assert bad.exit_code == 2 and "unknown CUDA version 'twelve'" in bad.stderr
    assert "Traceback" not in bad.stderr


# --- where the lock goes ------------------------------------------------------------------


def test_lock_writes_pylock_next_to_input(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    req = _write(tmp_path / "project" / "requirements.in", "alpha\n")
    result = _ok(advisor("lock", req))
    lock_path = tmp_path / "project" / "pylock.toml"
    assert str(lock_path) in result.stderr
    data = read_lock(lock_path)
    Pylock.from_dict(data).validate()
    expected = {"alpha": "2.0", "beta": "2.0"}
    expected |= {"linuxdep": "1.0"} if sys.platform == "linux" else {}
    expected |= {"macdep": "1.0"} if sys.platform == "darwin" else {}
    assert lock_pins(data) == expected
    assert data["tool"]["advisor"]["input-digest"]
    assert result.stdout == ""


def test_output_dash_writes_stdout(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.in", "beta\n")
    result = advisor("lock", req, "-o", "-")
    assert _stdout_pins(result) == {"beta": "2.0"}
    assert not (tmp_path / "pylock.toml").exists()


def test_dry_run_writes_nothing(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.in", "beta\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = advisor("lock", req, "--dry-run", "-o", tmp_path / "out.toml")
    assert _stdout_pins(result) == {"beta": "2.0"}
    assert "dry run" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == [
        n for n in before if n != "cache"
    ]


def test_requirements_format_has_hashes_and_via(
    advisor: Callable[..., CliResult], tmp_path: Path, index: FixtureIndex
) -> None:
    req = _write(tmp_path / "requirements.in", "alpha==1.0\n")
    _ok(advisor("lock", req, "--format", "requirements", "-o", tmp_path / "locked.txt"))
    text = (tmp_path / "locked.txt").read_text()
    assert "alpha==1.0 \\\n" in text
    assert "beta==2.0 \\\n" in text
    for filename in ("alpha-1.0-py3-none-any.whl", "alpha-1.0.tar.gz"):
        data = (index.files_dir / filename).read_bytes()
        assert f"--hash=sha256:{hashlib.sha256(data).hexdigest()}" in text
    assert "# via alpha" in text
    assert "# via -r " in text and "requirements.in" in text
    # a .txt output selects the requirements format on its own
    _ok(advisor("lock", req, "-o", tmp_path / "auto.txt"))
    assert "--hash=sha256:" in (tmp_path / "auto.txt").read_text()


# --- errors -------------------------------------------------------------------------------


def test_malformed_requirement_exit_2_names_line(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    req = _write(tmp_path / "bad.in", "alpha\n\n# a comment\nbeta >= = 2\n")
    result = advisor("lock", req)
    assert result.exit_code == 2, result.output
    assert "bad.in:4" in result.stderr
    assert "beta >= = 2" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "pylock.toml").exists()


def test_malformed_requirement_in_a_real_process(
    server: IndexServer, env: dict[str, str], tmp_path: Path
) -> None:
    req = _write(tmp_path / "bad.in", "alpha\nbeta[ == 2\n")
    proc = run_advisor(["lock", req, "--index-url", server.url, "--no-cache"], env=env)
    assert proc.returncode == 2, proc.stderr
    assert "bad.in:2" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_conflict_exit_1_names_requirement_and_parent(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    req = _write(tmp_path / "x.in", "alpha==2.0\nconf\n")
    result = advisor("lock", req)
    assert result.exit_code == 1, result.output
    err = result.stderr
    assert "beta>=2" in err and "alpha==2.0" in err
    assert "beta<2" in err and "conf==1.0" in err
    assert "x.in:1" in err and "x.in:2" in err
    assert "Traceback" not in result.output
    assert not (tmp_path / "pylock.toml").exists()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_index_exit_3_names_url(env: dict[str, str], tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.in", "alpha\n")
    url = f"http://127.0.0.1:{_closed_port()}/simple"
    # pip's own retries setting is honoured: no retries keeps the test fast
    result = run_cli(
        ["lock", req, "--index-url", url, "--no-cache"], env={**env, "PIP_RETRIES": "0"}
    )
    assert result.exit_code == 3, result.output
    assert url in result.stderr
    assert "Traceback" not in result.output


def test_offline_with_empty_cache_exit_3(
    server: IndexServer, env: dict[str, str], tmp_path: Path
) -> None:
    req = _write(tmp_path / "requirements.in", "alpha\n")
    args = ["lock", req, "--index-url", server.url, "--offline", "--cache-dir", tmp_path / "empty"]
    server.reset()
    result = run_cli(args, env=env)
    assert result.exit_code == 3, result.output
    assert "offline" in result.stderr
    assert server.url in result.stderr
    assert server.requests == []


def test_git_reference_rejected_naming_the_line(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    req = _write(tmp_path / "g.in", "beta\nfoo @ git+https://example.invalid/foo.git\n")
    result = advisor("lock", req)
    assert result.exit_code == 2, result.output
    assert "g.in:2" in result.stderr
    assert "git+https://example.invalid/foo.git" in result.stderr
    req = _write(tmp_path / "h.in", "beta\n\ngit+https://example.invalid/foo.git#egg=foo\n")
    result = advisor("lock", req)
    assert result.exit_code == 2, result.output
    assert "h.in:3" in result.stderr


def test_missing_input_exit_2(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    result = advisor("lock", tmp_path / "nope.in")
    assert result.exit_code == 2, result.output
    assert "nope.in" in result.stderr
    assert "Traceback" not in result.output


def test_transient_server_errors_are_retried(
    server: IndexServer, env: dict[str, str], tmp_path: Path
) -> None:
    req = _write(tmp_path / "requirements.in", "beta\n")
    server.reset()
    server.fail_next(2, status=503)
    result = run_cli(["lock", req, "--index-url", server.url, "--no-cache", "-o", "-"], env=env)
    server.reset()
    assert _stdout_pins(result) == {"beta": "2.0"}


def test_server_error_after_retries_exit_3(
    server: IndexServer, env: dict[str, str], tmp_path: Path
) -> None:
    req = _write(tmp_path / "requirements.in", "beta\n")
    server.reset()
    server.fail_next(10, status=500)
    args = ["lock", req, "--index-url", server.url, "--no-cache"]
    result = run_cli(args, env={**env, "PIP_RETRIES": "1"})
    server.reset()
    assert result.exit_code == 3, result.output
    assert f"{server.url}/beta/" in result.stderr
    assert "500" in result.stderr


# --- targets ------------------------------------------------------------------------------


def test_cross_target_macos_arm64(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.in", "alpha\nnative\n")
    result = advisor("lock", req, "--python", "3.12", "--platform", MAC, "-o", "-")
    data = tomllib.loads(_ok(result).stdout)
    assert lock_pins(data) == {"alpha": "2.0", "beta": "2.0", "macdep": "1.0", "native": "2.0"}
    native = next(p for p in data["packages"] if p["name"] == "native")
    assert [w["name"] for w in native["wheels"]] == ["native-2.0-cp312-cp312-macosx_11_0_arm64.whl"]
    assert data["environments"] == [
        f'{DARWIN_ARM} and implementation_name == "cpython" and python_version == "3.12"'
    ]


def test_named_environments_share_one_lock(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    pyproject = _write(
        tmp_path / "pyproject.toml",
        """\
[project]
name = "demo"
version = "0.1"
dependencies = ["alpha", "linonly"]

[tool.advisor.environments.linux]
python = "3.12"
platform = "manylinux_2_28_x86_64"

[tool.advisor.environments.mac]
python = "3.12"
platform = "macosx_14_0_arm64"
""",
    )
    _ok(advisor("lock", pyproject, "--env", "linux", "--env", "mac"))
    data = read_lock(tmp_path / "pylock.toml")
    Pylock.from_dict(data).validate()
    assert len(data["environments"]) == 2
    entries = {(p["name"], p["version"]): p.get("marker") for p in data["packages"]}
    assert entries[("alpha", "2.0")] is None
    assert entries[("beta", "2.0")] is None
    assert 'sys_platform == "linux"' in entries[("linonly", "2.0")]
    assert "darwin" not in entries[("linonly", "2.0")]
    assert 'sys_platform == "darwin"' in entries[("linonly", "1.0")]
    assert "darwin" in entries[("macdep", "1.0")]
    assert 'sys_platform == "linux"' in entries[("linuxdep", "1.0")]
    targets = [t["name"] for t in data["tool"]["advisor"]["targets"]]
    assert targets == ["linux", "mac"]


def test_unknown_environment_is_a_clear_error(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    req = _write(tmp_path / "requirements.in", "beta\n")
    result = advisor("lock", req, "--env", "gpu")
    assert result.exit_code == 2, result.output
    assert "gpu" in result.stderr
    assert "Traceback" not in result.output


def test_project_requires_python_checked_against_target(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    pyproject = _write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\nversion = "1"\nrequires-python = ">=3.12"\n'
        'dependencies = ["py312"]\n',
    )
    result = advisor("lock", pyproject, "--python", "3.10")
    assert result.exit_code == 2, result.output
    assert ">=3.12" in result.stderr and "3.10" in result.stderr
    data = tomllib.loads(_ok(advisor("lock", pyproject, "--python", "3.13", "-o", "-")).stdout)
    assert lock_pins(data) == {"py312": "2.0"}
    assert data["requires-python"] == ">=3.12"
    data = tomllib.loads(
        _ok(
            advisor("lock", _write(tmp_path / "r.in", "py312\n"), "--python", "3.11", "-o", "-")
        ).stdout
    )
    assert lock_pins(data) == {"py312": "1.0"}


# --- resolution options -------------------------------------------------------------------


def test_exclude_newer(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.in", "alpha\npre\n")
    assert _stdout_pins(advisor("lock", req, "-o", "-", "--exclude-newer", "2024-01-15")) == {
        "alpha": "1.0",
        "beta": "1.0",
        "pre": "1.0",
    }
    result = advisor("lock", req, "-o", "-", "--exclude-newer", "2024-02-15T00:00:00Z")
    assert _stdout_pins(result) == {"alpha": "1.0", "beta": "2.0", "pre": "1.0"}


def test_pre(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.in", "pre\nbeta\n")
    assert _stdout_pins(advisor("lock", req, "-o", "-"))["pre"] == "1.0"
    assert _stdout_pins(advisor("lock", req, "-o", "-", "--pre"))["pre"] == "2.0a1"
    result = advisor("lock", req, "-o", "-", "--prerelease-package", "pre")
    assert _stdout_pins(result)["pre"] == "2.0a1"
    result = advisor("lock", req, "-o", "-", "--prerelease-package", "beta")
    assert _stdout_pins(result)["pre"] == "1.0"


def test_sdist_used_when_allowed(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.in", "src\n")
    result = advisor("lock", req, "-o", "-")
    data = tomllib.loads(_ok(result).stdout)
    assert lock_pins(data) == {"src": "2.0"}
    assert data["packages"][0]["sdist"]["name"] == "src-2.0.tar.gz"
    assert "needs build" in result.stderr


@pytest.mark.parametrize(
    "option", [["--only-binary", ":all:"], ["--only-binary", "src"], ["--no-build"]]
)
def test_binary_only_options(
    advisor: Callable[..., CliResult], tmp_path: Path, option: list[str]
) -> None:
    req = _write(tmp_path / "requirements.in", "src\nbeta\n")
    result = advisor("lock", req, "-o", "-", *option)
    data = tomllib.loads(_ok(result).stdout)
    assert lock_pins(data) == {"src": "1.0", "beta": "2.0"}
    assert "needs build" not in result.stderr


def test_constraint(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.in", "needsgamma\nbeta\n")
    cons = _write(tmp_path / "constraints.txt", "beta<2\nunrelated==1.0\n")
    pins = _stdout_pins(advisor("lock", req, "-o", "-", "--constraint", cons))
    # a constraint limits versions but never adds a package
    assert pins == {"beta": "1.0", "gamma": "2.0", "needsgamma": "1.0"}
    bad = _write(tmp_path / "bad-constraints.txt", "gamma<2\n")
    result = advisor("lock", req, "-o", "-", "-c", bad)
    assert result.exit_code == 1, result.output
    assert "gamma>=2" in result.stderr and "needsgamma" in result.stderr


def test_override(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.in", "needsgamma\n")
    assert _stdout_pins(advisor("lock", req, "-o", "-"))["gamma"] == "2.0"
    over = _write(tmp_path / "overrides.txt", "gamma<2\n")
    pins = _stdout_pins(advisor("lock", req, "-o", "-", "--override", over))
    assert pins == {"gamma": "1.0", "needsgamma": "1.0"}


PYPROJECT = """\
[project]
name = "demo"
version = "0.1"
dependencies = ["beta<2"]

[project.optional-dependencies]
ml = ["mltool"]
unused = ["delta"]

[dependency-groups]
lint = ["linttool"]
test = ["testtool", {include-group = "lint"}]
"""


def test_pyproject_extras_and_groups(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    pyproject = _write(tmp_path / "pyproject.toml", PYPROJECT)
    assert _stdout_pins(advisor("lock", pyproject, "-o", "-")) == {"beta": "1.0"}
    pins = _stdout_pins(advisor("lock", pyproject, "--extra", "ml", "--group", "test", "-o", "-"))
    assert pins == {"beta": "1.0", "mltool": "0.5", "testtool": "7.0", "linttool": "0.1"}
    result = advisor("lock", pyproject, "--extra", "nope")
    assert result.exit_code == 2, result.output
    assert "nope" in result.stderr


def test_yanked_version_only_for_exact_pins(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    req = _write(tmp_path / "requirements.in", "ykpin\n")
    assert _stdout_pins(advisor("lock", req, "-o", "-"))["ykpin"] == "1.0"
    req = _write(tmp_path / "requirements.in", "ykpin>=2\n")
    result = advisor("lock", req, "-o", "-")
    assert result.exit_code == 1, result.output
    assert "yanked" in result.stderr
    req = _write(tmp_path / "requirements.in", "ykpin==3.0\n")
    assert _stdout_pins(advisor("lock", req, "-o", "-"))["ykpin"] == "3.0"


def test_yanked_exact_pin_warns(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.in", "ykpin==3.0\n")
    result = _ok(advisor("lock", req, "--json", "-o", "-"))
    warnings = json.loads(result.stdout)["warnings"]
    assert any("yanked" in w and "bad build" in w for w in warnings), warnings


def test_index_from_pip_configuration(
    server: IndexServer, env: dict[str, str], tmp_path: Path
) -> None:
    req = _write(tmp_path / "requirements.in", "beta\n")
    args = ["lock", req, "--no-cache", "-o", "-"]
    assert _stdout_pins(run_cli(args, env={**env, "PIP_INDEX_URL": server.url})) == {"beta": "2.0"}
    conf = _write(tmp_path / "pip.conf", f"[global]\nindex-url = {server.url}\n")
    assert _stdout_pins(run_cli(args, env={**env, "PIP_CONFIG_FILE": str(conf)})) == {"beta": "2.0"}
    inline = _write(tmp_path / "inline.in", f"--index-url {server.url}\nbeta<2\n")
    result = run_cli(["lock", inline, "--no-cache", "-o", "-"], env=env)
    data = tomllib.loads(_ok(result).stdout)
    assert lock_pins(data) == {"beta": "1.0"}
    assert data["packages"][0]["index"] == server.url


def test_netrc_credentials(
    index_server: Callable[..., IndexServer], env: dict[str, str], tmp_path: Path
) -> None:
    index = build_index(tmp_path / "index", [Project(name="beta", files=release("1.0"))])
    server = index_server(index, require_auth=("bob", "n3trc-secret"))
    _write(Path(env["HOME"]) / ".netrc", "machine 127.0.0.1\nlogin bob\npassword n3trc-secret\n")
    (Path(env["HOME"]) / ".netrc").chmod(0o600)
    req = _write(tmp_path / "requirements.in", "beta\n")
    result = run_cli(["lock", req, "--index-url", server.url, "--no-cache", "-o", "-"], env=env)
    assert _stdout_pins(result) == {"beta": "1.0"}
    assert "n3trc-secret" not in result.output


def test_missing_file_index_is_a_warning(
    index: FixtureIndex, env: dict[str, str], tmp_path: Path
) -> None:
    req = _write(tmp_path / "requirements.in", "beta\n")
    missing = (tmp_path / "missing").as_uri()
    args = ["lock", req, "--index-url", missing, "--extra-index-url", index.file_url]
    proc = run_advisor([*args, "--no-cache", "-o", "-"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert lock_pins(tomllib.loads(proc.stdout)) == {"beta": "2.0"}
    assert "warning" in proc.stderr.lower() and missing in proc.stderr


def test_find_links_folder_never_crashes(
    index: FixtureIndex, advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    """Whatever the outcome (see the xfail below), a clean exit code and no traceback."""
    req = _write(tmp_path / "requirements.in", "beta\n")
    result = advisor("lock", req, "--no-index", "--find-links", index.files_dir, index=False)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output


def test_find_links_folder_locks(index: FixtureIndex, env: dict[str, str], tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.in", "beta\n")
    args = ["lock", req, "--no-index", "--find-links", index.files_dir, "--no-cache", "-o", "-"]
    data = tomllib.loads(_ok(run_cli(args, env=env)).stdout)
    assert lock_pins(data) == {"beta": "2.0"}
    wheel = next(iter(data["packages"][0]["wheels"]))
    expected = index.file(wheel["name"]).sha256
    assert wheel["hashes"] == {"sha256": expected}


def test_quiet_prints_nothing(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    result = _ok(advisor("lock", _write(tmp_path / "requirements.in", "beta\n"), "-q"))
    assert result.stdout == result.stderr == ""
    assert (tmp_path / "pylock.toml").is_file()


def test_lock_json_output(advisor: Callable[..., CliResult], tmp_path: Path) -> None:
    req = _write(tmp_path / "requirements.in", "src\n")
    data = json.loads(_ok(advisor("lock", req, "--json")).stdout)
    assert data["path"] == str(tmp_path / "pylock.toml")
    assert data["targets"] == ["host"]
    assert data["packages"] == [
        {"name": "src", "version": "2.0", "marker": None, "needs-build": True}
    ]
    assert data["digest"] == read_lock(tmp_path / "pylock.toml")["tool"]["advisor"]["input-digest"]


# --- direct references --------------------------------------------------------------------


def test_direct_wheel_reference_is_an_archive(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    wheel = make_wheel(
        tmp_path / "wheels", name="localpkg", version="0.3", requires_dist=["beta<2"]
    )
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    req = _write(
        tmp_path / "requirements.in", f"localpkg @ {wheel.as_uri()} --hash=sha256:{digest}\n"
    )
    data = tomllib.loads(_ok(advisor("lock", req, "-o", "-")).stdout)
    Pylock.from_dict(data).validate()
    assert lock_pins(data) == {"localpkg": "0.3", "beta": "1.0"}
    local = next(p for p in data["packages"] if p["name"] == "localpkg")
    assert local["archive"]["url"] == wheel.as_uri()
    assert local["archive"]["hashes"] == {"sha256": digest}
    assert "index" not in local and "wheels" not in local


def test_direct_wheel_reference_without_hash_is_hashed(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path / "wheels", name="localpkg", version="0.3")
    req = _write(tmp_path / "requirements.in", f"localpkg @ {wheel.as_uri()}\n")
    data = tomllib.loads(_ok(advisor("lock", req, "-o", "-")).stdout)
    local = next(p for p in data["packages"] if p["name"] == "localpkg")
    assert local["archive"]["hashes"] == {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}


# --- re-locking ---------------------------------------------------------------------------


def _upgrade_projects(*, newer: bool) -> list[Project]:
    extra = ("3.0",) if newer else ()
    return [
        Project(
            name="up-a",
            files=[release(v, requires_dist=["up-b"])[0] for v in ("1.0", "2.0", *extra)],
        ),
        Project(name="up-b", files=[release(v)[0] for v in ("1.0", "2.0", *extra)]),
        Project(name="up-c", files=[release(v)[0] for v in ("1.0", *(("1.1",) if newer else ()))]),
    ]


def test_upgrade_package_moves_only_the_named_pin(
    index_server: Callable[..., IndexServer], env: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "index"
    server = index_server(build_index(root, _upgrade_projects(newer=False)))
    req = _write(tmp_path / "requirements.in", "up-a\nup-c\n")
    lock_path = tmp_path / "pylock.toml"
    base = ["--index-url", server.url, "--cache-dir", tmp_path / "cache"]

    def relock(*args: str) -> dict[str, str]:
        _ok(run_cli(["lock", req, *base, *args], env=env))
        return lock_pins(read_lock(lock_path))

    assert relock() == {"up-a": "2.0", "up-b": "2.0", "up-c": "1.0"}
    build_index(root, _upgrade_projects(newer=True))  # the index gains newer versions
    # a plain re-lock keeps every pin (and --refresh proves the new pages were seen)
    assert relock("--refresh") == {"up-a": "2.0", "up-b": "2.0", "up-c": "1.0"}
    assert relock("--refresh", "--upgrade-package", "up-c") == {
        "up-a": "2.0",
        "up-b": "2.0",
        "up-c": "1.1",
    }
    assert relock("-P", "up-b") == {"up-a": "2.0", "up-b": "3.0", "up-c": "1.1"}
    assert relock("--upgrade") == {"up-a": "3.0", "up-b": "3.0", "up-c": "1.1"}


def test_relock_keeps_pins_of_a_requirements_lock(
    index_server: Callable[..., IndexServer], env: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "index"
    server = index_server(build_index(root, _upgrade_projects(newer=False)))
    req = _write(tmp_path / "requirements.in", "up-a\nup-c\n")
    out = tmp_path / "requirements.txt"
    args = ["lock", req, "--index-url", server.url, "--no-cache", "-o", out]
    _ok(run_cli(args, env=env))
    build_index(root, _upgrade_projects(newer=True))
    _ok(run_cli([*args, "-P", "up-a"], env=env))
    text = out.read_text()
    assert "up-a==3.0" in text and "up-b==2.0" in text and "up-c==1.0" in text


def test_upgrade_package_reports_old_version(
    index_server: Callable[..., IndexServer], env: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "index"
    server = index_server(build_index(root, _upgrade_projects(newer=False)))
    req = _write(tmp_path / "requirements.in", "up-a\nup-c\n")
    args = ["lock", req, "--index-url", server.url, "--no-cache"]
    _ok(run_cli(args, env=env))
    build_index(root, _upgrade_projects(newer=True))
    result = _ok(run_cli([*args, "--upgrade-package", "up-c", "--json"], env=env))
    assert json.loads(result.stdout)["changed"] == [{"name": "up-c", "old": "1.0", "new": "1.1"}]


# --- credentials --------------------------------------------------------------------------


def test_credentials_never_written(
    index_server: Callable[..., IndexServer], env: dict[str, str], tmp_path: Path
) -> None:
    index = build_index(tmp_path / "index", [Project(name="beta", files=release("1.0"))])
    secret = "s3cr3t-Pa55"
    server = index_server(index, require_auth=("alice", secret))
    req = _write(tmp_path / "requirements.in", "beta\n")
    url = server.auth_url("alice", secret)
    cache = tmp_path / "cache"
    proc = run_advisor(["lock", req, "--index-url", url, "--cache-dir", cache, "-vv"], env=env)
    assert proc.returncode == 0, proc.stderr
    outputs = [proc.stdout, proc.stderr, (tmp_path / "pylock.toml").read_text()]
    args = ["lock", req, "--index-url", url, "--no-cache", "--json", "-o", "-"]
    proc = run_advisor(args, env=env)
    assert proc.returncode == 0, proc.stderr
    outputs += [proc.stdout, proc.stderr]
    # refused credentials: the error names the URL, not the password
    wrong = server.auth_url("alice", "wr0ng-Pa55")
    proc = run_advisor(["lock", req, "--index-url", wrong, "--no-cache"], env=env)
    assert proc.returncode == 3, proc.stderr
    assert server.url in proc.stderr
    outputs += [proc.stdout, proc.stderr.replace("wr0ng-Pa55", secret)]
    for text in outputs:
        assert secret not in text
        assert "alice:" not in text
    assert read_lock(tmp_path / "pylock.toml")["packages"][0]["index"] == server.url
    cached = [p for p in cache.rglob("*") if p.is_file()]
    assert cached and not any(secret.encode() in p.read_bytes() for p in cached)


def test_credentials_not_in_requirements_header(
    index_server: Callable[..., IndexServer], env: dict[str, str], tmp_path: Path
) -> None:
    index = build_index(tmp_path / "index", [Project(name="beta", files=release("1.0"))])
    secret = "s3cr3t-Pa55"
    server = index_server(index, require_auth=("alice", secret))
    req = _write(tmp_path / "requirements.in", "beta\n")
    out = tmp_path / "requirements.txt"
    args = ["lock", req, "--index-url", server.auth_url("alice", secret), "--no-cache", "-o", out]
    proc = run_advisor(args, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "beta==1.0" in out.read_text()
    assert secret not in out.read_text()


# --- cache commands -----------------------------------------------------------------------


def test_cache_dir_info_clean(
    advisor: Callable[..., CliResult], env: dict[str, str], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    assert _ok(run_cli(["cache", "dir", "--cache-dir", cache], env=env)).stdout.strip() == str(
        cache
    )
    other = tmp_path / "from-env"
    result = _ok(run_cli(["cache", "dir"], env={**env, "ADVISOR_CACHE_DIR": str(other)}))
    assert result.stdout.strip() == str(other)
    empty = json.loads(
        _ok(run_cli(["cache", "info", "--cache-dir", cache, "--json"], env=env)).stdout
    )
    assert empty["entries"] == 0
    _ok(advisor("lock", _write(tmp_path / "requirements.in", "alpha\n")))
    info = json.loads(
        _ok(run_cli(["cache", "info", "--cache-dir", cache, "--json"], env=env)).stdout
    )
    assert info["entries"] > 0 and info["size"] > 0
    assert sum(b["entries"] for b in info["buckets"].values()) == info["entries"]
    text = _ok(run_cli(["cache", "info", "--cache-dir", cache], env=env)).stdout
    assert f"entries: {info['entries']}" in text
    _ok(run_cli(["cache", "clean", "--cache-dir", cache], env=env))
    after = json.loads(
        _ok(run_cli(["cache", "info", "--cache-dir", cache, "--json"], env=env)).stdout
    )
    assert after["entries"] == 0


# --- install ------------------------------------------------------------------------------


@pytest.mark.slow
def test_install_lock_into_fresh_venv(
    advisor: Callable[..., CliResult],
    env: dict[str, str],
    tmp_path: Path,
    make_venv: Callable[..., Path],
) -> None:
    req = _write(tmp_path / "requirements.in", "alpha\nnative\nsrc\n")
    _ok(advisor("lock", req))
    python = make_venv()
    result = run_cli(
        ["install", tmp_path / "pylock.toml", "--python", python],
        env={**env, "PIP_CACHE_DIR": str(tmp_path / "pip-cache")},
    )
    assert result.exit_code == 0, result.output
    pins = lock_pins(read_lock(tmp_path / "pylock.toml"))
    names = ["alpha", "beta", "native", "src"]
    code = (
        "import importlib, json, sys; "
        "print(json.dumps([importlib.import_module(n).__version__ for n in sys.argv[1:]]))"
    )
    proc = subprocess.run(
        [str(python), "-c", code, *names], capture_output=True, text=True, check=True
    )
    assert json.loads(proc.stdout) == [pins[n] for n in names]


def test_install_refuses_a_lock_for_another_target(
    advisor: Callable[..., CliResult], env: dict[str, str], tmp_path: Path
) -> None:
    req = _write(tmp_path / "requirements.in", "native\n")
    _ok(advisor("lock", req, "--python", "3.12", "--platform", MAC, "-o", tmp_path / "mac.toml"))
    result = run_cli(["install", tmp_path / "mac.toml", "--python", sys.executable], env=env)
    assert result.exit_code == 2, result.output
    assert "mac.toml" in result.stderr and "environment" in result.stderr
    assert "Traceback" not in result.output


def test_console_script_locks(server: IndexServer, env: dict[str, str], tmp_path: Path) -> None:
    """The installed ``advisor`` entry point (next to this interpreter) runs a whole lock."""
    script = Path(sys.executable).with_name("advisor")
    if not script.exists():
        pytest.skip("no advisor console script next to this interpreter")
    req = _write(tmp_path / "requirements.in", "beta\n")
    proc = subprocess.run(
        [str(script), "lock", str(req), "--index-url", server.url, "--no-cache", "-o", "-"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert lock_pins(tomllib.loads(proc.stdout)) == {"beta": "2.0"}


def test_unwritable_output_is_a_clear_error(
    advisor: Callable[..., CliResult], tmp_path: Path
) -> None:
    req = _write(tmp_path / "requirements.in", "beta\n")
    result = advisor("lock", req, "-o", tmp_path / "missing" / "dir" / "pylock.toml")
    assert result.exit_code == 2, result.output
    assert "cannot write" in result.output and "missing" in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
