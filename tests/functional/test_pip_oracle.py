"""pip as the oracle: ``advisor lock --recommendation latest`` pins what pip picks, pin for pin.

One fixture index holds every case's projects (disjoint names) and is served once per module
over HTTP on 127.0.0.1. Each case writes a requirements file, locks it with the CLI
(in-process) and asks this interpreter's pip (isolated from the machine's configuration)
``pip install --dry-run --ignore-installed --report``; the two name→version maps must be
equal. A two-index case compares ``--index-strategy unsafe-best-match`` with pip's
``--extra-index-url``. Finally a written ``pylock.toml`` is installed into a fresh venv with
pip's own ``pip install -r pylock.toml`` and the modules are imported.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from packaging import tags

from tests.functional.helpers import clean_environ, lock_pins, pip_report_pins, read_lock, run_cli
from tests.support import IndexServer, Project, build_index, release

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from pathlib import Path

pytestmark = pytest.mark.slow


def _host_manylinux_tag() -> str | None:
    """A manylinux wheel tag this interpreter installs (``None`` on non-glibc hosts)."""
    for tag in tags.sys_tags():
        if tag.platform.startswith("manylinux_2_17_"):
            return str(tag)
    return None


def _foreign_tag() -> str:
    """A binary wheel tag this interpreter never installs."""
    host = {t.platform for t in tags.sys_tags()}
    return "cp311-cp311-win_amd64" if "win_amd64" not in host else "cp311-cp311-macosx_11_0_arm64"


HOST_MANYLINUX = _host_manylinux_tag()


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """Root requirements over the shared index, and the pins we know pip picks."""

    name: str
    requirements: Sequence[str]
    expected: dict[str, str]


def _projects() -> list[Project]:
    foreign = _foreign_tag()
    projects = [
        # plain dependencies
        Project(
            name="App",
            files=[
                *release("1.0", requires_dist=["lib>=1.0"]),
                *release("2.0", requires_dist=["lib>=1.5", "util"]),
            ],
        ),
        Project(name="lib", files=[*release("1.0"), *release("1.5"), *release("2.0")]),
        Project(name="util", files=[*release("0.9"), *release("1.0.post1")]),
        # extras
        Project(
            name="withx",
            files=[
                *release("1.0", requires_dist=["basedep"], extras={"fast": ["speedup>=2"]}),
            ],
        ),
        Project(name="basedep", files=[*release("3.1")]),
        Project(name="speedup", files=[*release("1.0"), *release("2.0"), *release("2.5")]),
        Project(name="unused-extra-dep", files=[*release("1.0")]),
        # markers
        Project(
            name="mk",
            files=[
                *release(
                    "1.0",
                    requires_dist=[
                        'onlylinux; sys_platform == "linux"',
                        'onlywin; sys_platform == "win32"',
                        'newpy; python_version >= "3.10"',
                        'oldpy; python_version < "3.8"',
                        'cpy; implementation_name == "cpython"',
                    ],
                )
            ],
        ),
        Project(name="onlylinux", files=[*release("1.0")]),
        Project(name="onlywin", files=[*release("1.0")]),
        Project(name="newpy", files=[*release("1.2")]),
        Project(name="oldpy", files=[*release("0.1")]),
        Project(name="cpy", files=[*release("4.0")]),
        # requires-python excludes newer releases (per file)
        Project(
            name="rp",
            files=[
                *release("1.0", requires_dist=["rpdep"]),
                *release("1.1", requires_python=">=3.8"),
                *release("2.0", requires_python=">=3.99"),
            ],
        ),
        Project(
            name="rpdep",
            files=[*release("1.0"), *release("5.0", requires_python="<3")],
        ),
        # yanked
        Project(
            name="yk",
            files=[*release("1.0"), *release("1.1"), *release("2.0", yanked="broken")],
        ),
        Project(name="ykpin", files=[*release("1.0"), *release("3.0", yanked=True)]),
        # pre-releases
        Project(name="preonly", files=[*release("1.0b1"), *release("1.0rc1")]),
        Project(name="haspre", files=[*release("1.0"), *release("2.0b1")]),
        # backtracking: the newest bt-a needs bt-c>=2, which bt-b forbids
        Project(
            name="bt-a",
            files=[
                *release("1.0", requires_dist=["bt-c<2"]),
                *release("2.0", requires_dist=["bt-c>=2"]),
            ],
        ),
        Project(name="bt-b", files=[*release("1.0", requires_dist=["bt-c<2"])]),
        Project(name="bt-c", files=[*release("1.0"), *release("1.5"), *release("2.0")]),
        # two valid stacks: which one is "latest" depends on the resolver's order
        Project(
            name="amb-x",
            files=[
                *release("1.0", requires_dist=["amb-z==1"]),
                *release("2.0", requires_dist=["amb-z==2"]),
            ],
        ),
        Project(
            name="amb-y",
            files=[
                *release("1.0", requires_dist=["amb-z==2"]),
                *release("2.0", requires_dist=["amb-z==1"]),
            ],
        ),
        Project(name="amb-z", files=[*release("1"), *release("2")]),
        # wheel tags: the newest release has only a wheel this host cannot install
        Project(
            name="tagged",
            files=[
                *release("1.0", sdist=False),
                *release("2.0", wheel_tags=[foreign], sdist=False),
            ],
        ),
        # sdist only (metadata from a PEP 517 build)
        Project(
            name="srconly",
            files=[
                *release("0.5", wheel_tags=()),
                *release("1.0", wheel_tags=(), requires_dist=["lib<2"]),
            ],
        ),
    ]
    if HOST_MANYLINUX is not None:
        projects.append(
            Project(
                name="binpkg",
                files=[
                    *release("1.0", sdist=False),
                    *release("2.0", wheel_tags=[HOST_MANYLINUX], sdist=False),
                    *release("3.0", wheel_tags=[foreign], sdist=False),
                ],
            )
        )
    return projects


CASES = [
    Case(
        name="plain",
        requirements=["app"],
        expected={"app": "2.0", "lib": "2.0", "util": "1.0.post1"},
    ),
    Case(
        name="extras",
        requirements=["withx[fast]"],
        expected={"withx": "1.0", "basedep": "3.1", "speedup": "2.5"},
    ),
    Case(
        name="markers",
        requirements=["mk"],
        expected={"mk": "1.0", "onlylinux": "1.0", "newpy": "1.2", "cpy": "4.0"},
    ),
    Case(name="requires-python", requirements=["rp"], expected={"rp": "1.1"}),
    Case(
        name="requires-python-dep", requirements=["rp<1.1"], expected={"rp": "1.0", "rpdep": "1.0"}
    ),
    Case(name="yanked", requirements=["yk", "ykpin==3.0"], expected={"yk": "1.1", "ykpin": "3.0"}),
    Case(
        name="prereleases",
        requirements=["preonly", "haspre"],
        expected={"preonly": "1.0rc1", "haspre": "1.0"},
    ),
    Case(
        name="backtracking",
        requirements=["bt-a", "bt-b"],
        expected={"bt-a": "1.0", "bt-b": "1.0", "bt-c": "1.5"},
    ),
    Case(name="ambiguous", requirements=["amb-x", "amb-y"], expected={}),
    Case(name="wheel-tags", requirements=["tagged"], expected={"tagged": "1.0"}),
    Case(name="sdist-only", requirements=["srconly"], expected={"srconly": "1.0", "lib": "1.5"}),
    Case(
        name="everything",
        requirements=["app", "withx[fast]", "mk", "rp", "yk", "preonly", "bt-a", "bt-b", "srconly"],
        expected={},
    ),
]
if HOST_MANYLINUX is not None:
    CASES.append(Case(name="manylinux", requirements=["binpkg"], expected={"binpkg": "2.0"}))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    index = build_index(tmp_path_factory.mktemp("oracle") / "index", _projects())
    with IndexServer(index) as srv:
        yield srv


def _advisor_lock(
    work: Path, inputs: Sequence[str], *extra: str, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    result = run_cli(
        [
            "lock",
            *inputs,
            "--recommendation",
            "latest",
            "--cache-dir",
            str(work / "cache"),
            "-o",
            str(work / "pylock.toml"),
            *extra,
        ],
        env=clean_environ(work, **(env or {})),
    )
    assert result.exit_code == 0, result.output
    return lock_pins(read_lock(work / "pylock.toml"))


def _pip_pins(
    run_pip: Callable[..., subprocess.CompletedProcess[str]],
    work: Path,
    requirements: Path,
    *index_args: str,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    report = work / "pip-report.json"
    proc = run_pip(
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--report",
        str(report),
        *index_args,
        "-r",
        str(requirements),
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return pip_report_pins(report)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_latest_equals_pip(
    case: Case,
    server: IndexServer,
    tmp_path: Path,
    run_pip: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    req = tmp_path / "requirements.in"
    req.write_text("\n".join(case.requirements) + "\n")
    ours = _advisor_lock(tmp_path, [str(req)], "--index-url", server.url)
    pips = _pip_pins(run_pip, tmp_path, req, "--index-url", server.url)
    assert ours == pips
    for name, version in case.expected.items():
        assert ours.get(name) == version, (name, ours)


def test_constraint_in_pip_config_file_equals_pip(
    server: IndexServer,
    tmp_path: Path,
    run_pip: Callable[..., subprocess.CompletedProcess[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pip's configuration file (``PIP_CONFIG_FILE``, seen by both) sets ``constraint``: two
    files, one relative to the working directory, ``[install]`` over ``[global]``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "caps").mkdir()
    (tmp_path / "caps" / "lib.txt").write_text("lib<2\n")
    (tmp_path / "util.txt").write_text("# the machine's cap\nutil < 1\n")
    (tmp_path / "decoy.txt").write_text("app<2\n")
    conf = tmp_path / "pip.conf"
    conf.write_text(
        f"[global]\nconstraint = {tmp_path / 'decoy.txt'}\n"
        f"[install]\nconstraint = caps/lib.txt\n    {tmp_path / 'util.txt'}\n"
    )
    env = {"PIP_CONFIG_FILE": str(conf)}
    req = tmp_path / "requirements.in"
    req.write_text("app\n")
    ours = _advisor_lock(tmp_path, [str(req)], "--index-url", server.url, env=env)
    pips = _pip_pins(run_pip, tmp_path, req, "--index-url", server.url, env=env)
    assert ours == pips == {"app": "2.0", "lib": "1.5", "util": "0.9"}
    inputs = read_lock(tmp_path / "pylock.toml")["tool"]["advisor"]["inputs"]
    assert inputs["pip-constraints"] == ["lib<2", "util<1"]


def test_pip_constraint_variable_equals_pip(
    server: IndexServer,
    tmp_path: Path,
    run_pip: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    (tmp_path / "a.txt").write_text("speedup<2.5\n")
    (tmp_path / "b.txt").write_text("yk<1.1\n-c nested.txt\n")
    (tmp_path / "nested.txt").write_text("basedep>=3\n")
    env = {"PIP_CONSTRAINT": f"{tmp_path / 'a.txt'}  {tmp_path / 'b.txt'}"}
    req = tmp_path / "requirements.in"
    req.write_text("withx[fast]\nyk\n")
    ours = _advisor_lock(tmp_path, [str(req)], "--index-url", server.url, env=env)
    pips = _pip_pins(run_pip, tmp_path, req, "--index-url", server.url, env=env)
    assert ours == pips == {"withx": "1.0", "basedep": "3.1", "speedup": "2.0", "yk": "1.0"}
    inputs = read_lock(tmp_path / "pylock.toml")["tool"]["advisor"]["inputs"]
    assert inputs["pip-constraints"] == ["basedep>=3", "speedup<2.5", "yk<1.1"]


def test_a_conflict_with_pip_constraint_names_it_as_pip_refuses(
    server: IndexServer,
    tmp_path: Path,
    run_pip: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    caps = tmp_path / "caps.txt"
    caps.write_text("# cap\nlib<2\n")
    env = {"PIP_CONSTRAINT": str(caps)}
    req = tmp_path / "requirements.in"
    req.write_text("lib>=2\n")
    proc = run_pip("install", "--dry-run", "--index-url", server.url, "-r", str(req), env=env)
    assert proc.returncode != 0
    result = run_cli(
        ["lock", req, "--index-url", server.url, "--no-cache", "--dry-run"],
        env=clean_environ(tmp_path, **env),
    )
    assert result.exit_code == 1, result.output
    (line,) = [x for x in result.output.splitlines() if x.strip().startswith("2.0:")]
    assert "excluded by constraint lib<2" in line and f"{caps}:2" in line, line


@pytest.fixture(scope="module")
def two_indexes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    root = tmp_path_factory.mktemp("two")
    first = build_index(
        root / "first",
        [
            Project(name="shared", files=[*release("1.0"), *release("2.0")]),
            Project(name="onlyfirst", files=[*release("1.0", requires_dist=["shared>=1"])]),
        ],
    )
    second = build_index(
        root / "second",
        [
            Project(
                name="shared", files=[*release("2.5"), *release("3.0", requires_python=">=3.99")]
            ),
            Project(name="onlysecond", files=[*release("0.3")]),
        ],
    )
    with IndexServer(first) as a, IndexServer(second) as b:
        yield a.url, b.url


def test_unsafe_best_match_equals_pip_extra_index(
    two_indexes: tuple[str, str],
    tmp_path: Path,
    run_pip: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    first, second = two_indexes
    req = tmp_path / "requirements.in"
    req.write_text("onlyfirst\nonlysecond\n")
    ours = _advisor_lock(
        tmp_path,
        [str(req)],
        "--index-url",
        first,
        "--extra-index-url",
        second,
        "--index-strategy",
        "unsafe-best-match",
    )
    pips = _pip_pins(run_pip, tmp_path, req, "--index-url", first, "--extra-index-url", second)
    assert ours == pips == {"onlyfirst": "1.0", "onlysecond": "0.3", "shared": "2.5"}
    lock = read_lock(tmp_path / "pylock.toml")
    shared = next(p for p in lock["packages"] if p["name"] == "shared")
    assert shared["index"] == second


def test_first_index_never_mixes(two_indexes: tuple[str, str], tmp_path: Path) -> None:
    """The default strategy takes ``shared`` only from the first index that has it."""
    first, second = two_indexes
    req = tmp_path / "requirements.in"
    req.write_text("onlyfirst\nonlysecond\n")
    ours = _advisor_lock(tmp_path, [str(req)], "--index-url", first, "--extra-index-url", second)
    assert ours == {"onlyfirst": "1.0", "onlysecond": "0.3", "shared": "2.0"}


def test_pylock_installs_with_pip(
    server: IndexServer,
    tmp_path: Path,
    make_venv: Callable[..., Path],
    run_pip: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    req = tmp_path / "requirements.in"
    req.write_text("app\nwithx[fast]\nmk\nrp\nyk\ntagged\nsrconly\n")
    pins = _advisor_lock(tmp_path, [str(req)], "--index-url", server.url)
    python = make_venv()
    proc = run_pip("install", "--no-index", "-r", str(tmp_path / "pylock.toml"), python=python)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    modules = sorted(name.replace("-", "_") for name in pins)
    check = (
        "import importlib, json, sys; "
        "print(json.dumps({m: importlib.import_module(m).__version__ for m in sys.argv[1:]}))"
    )
    out = subprocess.run(
        [str(python), "-c", check, *modules], capture_output=True, text=True, check=True
    )
    versions = json.loads(out.stdout)
    assert versions == {name.replace("-", "_"): v for name, v in pins.items()}
