"""Installing locks with the real pip into fresh venvs (offline, file:// URLs only).

The slow tests build real wheels and an sdist in ``tmp_path``, lock them with the renderers
of :mod:`advisor.lockfile`, and install the result three ways: :func:`install_lock`,
pip's own ``install -r pylock.toml`` and ``pip install --require-hashes -r requirements.txt``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from packaging import markers, tags
from packaging.utils import canonicalize_name
from packaging.version import Version

from advisor.errors import InputError, LockfileError
from advisor.install import _linux_platforms, install_lock, probe_interpreter
from advisor.lockfile import LockMeta, render_pylock, render_requirements
from advisor.models import DistFile, Edge, Pin, Resolution
from tests.support.dists import make_sdist, make_wheel, sha256_file

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

ANY_ENV = 'python_version >= "3"'


def local_file(path: Path) -> DistFile:
    return DistFile(
        filename=path.name,
        url=path.as_uri(),
        index=path.parent.as_uri() + "/",
        hashes=(("sha256", sha256_file(path)),),
        size=path.stat().st_size,
    )


def make_resolution(dists: Path) -> Resolution:
    """alpha → beta (wheels), gamma (never selected), delta (sdist only), epsilon (archive)."""
    alpha = make_wheel(dists, name="alpha", version="1.0", requires_dist=["beta>=2"])
    beta = make_wheel(dists, name="beta", version="2.0")
    gamma = make_wheel(dists, name="gamma", version="1.0")
    delta = make_sdist(dists, name="delta", version="1.0")
    epsilon = make_wheel(dists / "direct", name="epsilon", version="0.5")
    n = canonicalize_name
    return Resolution(
        pins=(
            Pin(
                name=n("alpha"),
                version=Version("1.0"),
                files=(local_file(alpha),),
                dependencies=(n("beta"),),
            ),
            Pin(name=n("beta"), version=Version("2.0"), files=(local_file(beta),)),
            Pin(
                name=n("gamma"),
                version=Version("1.0"),
                files=(local_file(gamma),),
                marker='sys_platform == "no-such-platform"',
            ),
            Pin(
                name=n("delta"),
                version=Version("1.0"),
                files=(local_file(delta),),
                needs_build=True,
            ),
            Pin(
                name=n("epsilon"),
                version=Version("0.5"),
                direct_url=epsilon.as_uri(),
                files=(local_file(epsilon),),
            ),
        ),
        edges=(
            Edge(parent=None, child=n("alpha"), requirement="alpha", origin="requirements.in:1"),
            Edge(parent=n("alpha"), child=n("beta"), requirement="beta>=2"),
        ),
    )


META = LockMeta(environments=(ANY_ENV,), requires_python=">=3.8", input_digest="test")


def installed_versions(python: Path, *modules: str) -> dict[str, str | None]:
    """``{module: __version__ or None when it does not import}`` inside ``python``."""
    script = (
        "import importlib, json, sys\n"
        "out = {}\n"
        "for m in sys.argv[1:]:\n"
        "    try:\n"
        "        out[m] = importlib.import_module(m).__version__\n"
        "    except ImportError:\n"
        "        out[m] = None\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run(
        [str(python), "-I", "-c", script, *modules],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, str | None] = json.loads(proc.stdout)
    return result


# --------------------------------------------------------------------------- probe


def test_probe_of_this_interpreter_matches_packaging(pip_env: dict[str, str]) -> None:
    target = probe_interpreter(sys.executable, environ=pip_env)
    assert dict(target.markers) == markers.default_environment()
    assert list(target.tags) == list(tags.sys_tags())


def test_probe_of_a_missing_interpreter(tmp_path: Path, pip_env: dict[str, str]) -> None:
    with pytest.raises(InputError, match="cannot run the target interpreter"):
        probe_interpreter(str(tmp_path / "no-python"), environ=pip_env)


def test_linux_platforms_for_another_build() -> None:
    # A 32-bit interpreter on a 64-bit glibc 2.17 machine.
    plats = list(_linux_platforms("linux-x86_64", is_64bit=False, glibc="glibc 2.17"))
    assert plats[:3] == ["linux_i686", "manylinux_2_17_i686", "manylinux2014_i686"]
    assert "manylinux2010_i686" in plats and plats[-2:] == ["manylinux_2_5_i686", "manylinux1_i686"]
    arm = list(_linux_platforms("linux-aarch64", is_64bit=True, glibc="glibc 2.28"))
    assert arm[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert list(_linux_platforms("linux-x86_64", is_64bit=True, glibc=None)) == ["linux_x86_64"]


# --------------------------------------------------------------------------- selection errors


def write_lock(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pylock.toml"
    path.write_text(text, encoding="utf-8")
    return path


_WHEEL = (
    '[[packages]]\nname = "a"\nversion = "1"\n'
    '[[packages.wheels]]\nname = "a-1-py3-none-any.whl"\nurl = "file:///nowhere/a-1-py3-none-any.whl"\n'
    'hashes = { sha256 = "' + "0" * 64 + '" }\n'
)


@pytest.mark.parametrize(
    ("head", "options", "message"),
    [
        ('requires-python = "<3"\n', {}, r"does not satisfy the Python version requirement '<3'"),
        ("environments = [\"sys_platform == 'no-such'\"]\n", {}, r"does not satisfy any of"),
        ("", {"extras": ["gpu"]}, r"Undeclared extras: gpu"),
        ("", {"groups": ["dev"]}, r"Undeclared dependency groups: dev"),
    ],
)
def test_selection_errors_become_lockfile_errors(
    tmp_path: Path, pip_env: dict[str, str], head: str, options: dict[str, list[str]], message: str
) -> None:
    lock = write_lock(tmp_path, f'lock-version = "1.0"\ncreated-by = "t"\n{head}{_WHEEL}')
    with pytest.raises(LockfileError, match=message) as info:
        install_lock(lock, python=sys.executable, environ=pip_env, **options)  # type: ignore[arg-type]
    assert str(info.value).startswith(str(lock))


def test_vcs_sources_are_refused(tmp_path: Path, pip_env: dict[str, str]) -> None:
    lock = write_lock(
        tmp_path,
        'lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\nname = "v"\n'
        'vcs = { type = "git", url = "https://git.example.invalid/v", commit-id = "abc" }\n',
    )
    with pytest.raises(LockfileError, match=r"v: the lock installs it from a VCS checkout"):
        install_lock(lock, python=sys.executable, environ=pip_env)


def test_nothing_selected_runs_no_pip(tmp_path: Path, pip_env: dict[str, str]) -> None:
    marker = "marker = \"os_name == 'no-such-os'\"\n"
    lock = write_lock(
        tmp_path,
        'lock-version = "1.0"\ncreated-by = "t"\n'
        + _WHEEL.replace('version = "1"\n', f'version = "1"\n{marker}'),
    )
    result = install_lock(lock, python=sys.executable, environ=pip_env, pip_python="no-such-python")
    assert result.installed == ()


def test_invalid_lock_is_reported_before_anything_runs(tmp_path: Path) -> None:
    lock = write_lock(tmp_path, 'lock-version = "1.0"\n')
    with pytest.raises(LockfileError, match=r"'created-by'"):
        install_lock(lock, python="no-such-python", environ={})


# --------------------------------------------------------------------------- real installs


@pytest.fixture
def isolated_env(pip_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**pip_env, "PIP_CACHE_DIR": str(tmp_path / "pip-cache")}


@pytest.mark.slow
def test_install_lock_into_a_fresh_venv(
    tmp_path: Path, make_venv: Callable[..., Path], isolated_env: dict[str, str]
) -> None:
    lock = write_lock(tmp_path, render_pylock(make_resolution(tmp_path / "dists"), META))
    python = make_venv()
    result = install_lock(lock, python=str(python), environ=isolated_env, pip_args=["--no-index"])
    assert [(f.name, f.version) for f in result.installed] == [
        ("alpha", "1.0"),
        ("beta", "2.0"),
        ("delta", "1.0"),
        ("epsilon", "0.5"),
    ]
    assert result.installed[2].filename == "delta-1.0.tar.gz"  # built from the sdist
    assert installed_versions(python, "alpha", "beta", "gamma", "delta", "epsilon") == {
        "alpha": "1.0",
        "beta": "2.0",
        "gamma": None,
        "delta": "1.0",
        "epsilon": "0.5",
    }


@pytest.mark.slow
def test_pip_installs_the_generated_pylock_itself(
    tmp_path: Path,
    make_venv: Callable[..., Path],
    run_pip: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    lock = write_lock(tmp_path, render_pylock(make_resolution(tmp_path / "dists"), META))
    python = make_venv()
    proc = run_pip("install", "--no-index", "-r", str(lock), python=python)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed_versions(python, "alpha", "beta", "gamma", "delta", "epsilon") == {
        "alpha": "1.0",
        "beta": "2.0",
        "gamma": None,
        "delta": "1.0",
        "epsilon": "0.5",
    }


@pytest.mark.slow
def test_pip_installs_the_generated_requirements_with_hashes(
    tmp_path: Path,
    make_venv: Callable[..., Path],
    run_pip: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    text = render_requirements(make_resolution(tmp_path / "dists"), header="advisor lock")
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(text, encoding="utf-8")
    python = make_venv()
    # Plain pins resolve against the folder of files: no index, no network.
    proc = run_pip(
        "install",
        "--no-index",
        "--find-links",
        str(tmp_path / "dists"),
        "--require-hashes",
        "-r",
        str(reqs),
        python=python,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed_versions(python, "alpha", "beta", "gamma", "epsilon") == {
        "alpha": "1.0",
        "beta": "2.0",
        "gamma": None,
        "epsilon": "0.5",
    }


@pytest.mark.slow
def test_a_wrong_hash_fails_with_pips_words(
    tmp_path: Path, make_venv: Callable[..., Path], isolated_env: dict[str, str]
) -> None:
    dists = tmp_path / "dists"
    wheel = make_wheel(dists, name="beta", version="2.0")
    lock = write_lock(
        tmp_path,
        'lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\nname = "beta"\nversion = "2.0"\n'
        f'[[packages.wheels]]\nname = "{wheel.name}"\npath = "dists/{wheel.name}"\n'
        'hashes = { sha256 = "' + "0" * 64 + '" }\n',
    )
    python = make_venv()
    with pytest.raises(LockfileError, match=r"pip failed to install") as info:
        install_lock(lock, python=str(python), environ=isolated_env, pip_args=["--no-index"])
    assert "0" * 64 in str(info.value)  # pip's report of the expected hash
    assert installed_versions(python, "beta") == {"beta": None}


@pytest.mark.slow
def test_relative_wheel_paths_are_relative_to_the_lock(
    tmp_path: Path, make_venv: Callable[..., Path], isolated_env: dict[str, str]
) -> None:
    wheel = make_wheel(tmp_path / "dists", name="beta", version="2.0")
    lock = write_lock(
        tmp_path,
        'lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\nname = "beta"\nversion = "2.0"\n'
        f'[[packages.wheels]]\nname = "{wheel.name}"\npath = "dists/{wheel.name}"\n'
        f'hashes = {{ sha256 = "{sha256_file(wheel)}" }}\n',
    )
    python = make_venv()
    result = install_lock(lock, python=str(python), environ=isolated_env, pip_args=["--no-index"])
    assert result.installed[0].url == wheel.resolve().as_uri()
    assert installed_versions(python, "beta") == {"beta": "2.0"}
