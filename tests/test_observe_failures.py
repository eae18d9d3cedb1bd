"""Tests of :mod:`advisor.observe.failures`: each failure class is recognised in output that
real pip and Python produced here (generated in the test, not pasted), and excerpts keep
nothing machine-specific.

Generated: a wheel installed with a wrong hash, a wheel for another platform, a project the
index does not have, an sdist whose in-tree build backend runs a compiler that is not on
``PATH``, an sdist whose backend compiles C that includes a missing header (needs a C
compiler: skipped without one), a module that raises at import, an import that outlives its
timeout. Python's ``Python.h``/MSVC messages and gcc's own ``command 'gcc' failed`` line are
only checked as literal snippets (a machine without them cannot generate them).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
from typing import TYPE_CHECKING

import pytest

from advisor.observe.failures import (
    FAILURE_CLASSES,
    HashMismatch,
    classify,
    excerpt,
    hash_mismatches,
)
from tests.support.dists import make_wheel, sha256_file

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any


_PYPROJECT = b"""\
[build-system]
requires = []
build-backend = "_backend"
backend-path = ["."]
"""

_BACKEND = """\
import os, subprocess
from pathlib import Path

_ROOT = Path(__file__).resolve().parent
_NAME, _VERSION = {name!r}, {version!r}


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = Path(metadata_directory) / f"{{_NAME}}-{{_VERSION}}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\\nName: {{_NAME}}\\nVersion: {{_VERSION}}\\n", encoding="utf-8"
    )
    return info.name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
{build}
    raise RuntimeError("the build did not fail as the fixture expected")
"""

# The build step of each fixture backend (indented into build_wheel).
MISSING_COMPILER = """\
    empty = _ROOT / "no-bin"
    empty.mkdir(exist_ok=True)
    subprocess.run(["cc", "-c", "ext.c"], cwd=_ROOT, check=True, env={"PATH": str(empty)})
"""
MISSING_HEADER = """\
    (_ROOT / "ext.c").write_text("#include <advisor_absent_header.h>\\nint f(void);\\n")
    subprocess.run(["cc", "-c", "ext.c", "-o", "ext.o"], cwd=_ROOT, check=True)
"""


def make_failing_sdist(dest: Path, *, name: str, version: str, build: str) -> Path:
    """An sdist whose in-tree backend has metadata but whose ``build_wheel`` runs ``build``."""
    dest.mkdir(parents=True, exist_ok=True)
    base = f"{name}-{version}"
    members = {
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        "pyproject.toml": _PYPROJECT,
        "_backend.py": _BACKEND.format(name=name, version=version, build=build).encode(),
        f"{name}/__init__.py": b"",
    }
    path = dest / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for arcname, data in sorted(members.items()):
            info = tarfile.TarInfo(f"{base}/{arcname}")
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


# -- classes, from real output ---------------------------------------------------------------


@pytest.mark.slow
def test_hash_mismatch_from_pip(tmp_path: Path, run_pip: Callable[..., Any]) -> None:
    wheel = make_wheel(tmp_path / "dist", name="hashed", version="1.0")
    req = tmp_path / "req.txt"
    req.write_text(f"hashed @ {wheel.as_uri()} --hash=sha256:{'0' * 64}\n")
    out = _output(run_pip("install", "--no-deps", "--require-hashes", "--dry-run", "-r", str(req)))
    assert classify(out, stage="install", timed_out=False) == "hash-mismatch"
    # the refused file, the digest it had and the one required, as pip listed them
    assert hash_mismatches(out) == (
        HashMismatch(
            name="hashed", filename=wheel.name, expected=("0" * 64,), got=sha256_file(wheel)
        ),
    )
    # the right hash installs: the class comes from the hash, not from the file
    req.write_text(f"hashed @ {wheel.as_uri()} --hash=sha256:{sha256_file(wheel)}\n")
    ok = run_pip("install", "--no-deps", "--require-hashes", "--dry-run", "-r", str(req))
    assert ok.returncode == 0, ok.stderr


@pytest.mark.slow
def test_no_compatible_file_from_pip(tmp_path: Path, run_pip: Callable[..., Any]) -> None:
    other = make_wheel(tmp_path / "dist", name="elsewhere", version="1.0", tag="cp27-cp27m-win32")
    out = _output(run_pip("install", "--no-deps", "--dry-run", str(other)))
    assert "is not a supported wheel on this platform" in out
    assert classify(out, stage="install", timed_out=False) == "no-compatible-file"
    missing = _output(
        run_pip("install", "--no-index", "--find-links", str(tmp_path / "dist"), "absent-pkg")
    )
    assert classify(missing, stage="install", timed_out=False) == "no-compatible-file"


@pytest.mark.slow
def test_compiler_missing_from_a_build(
    tmp_path: Path, run_pip: Callable[..., Any], make_venv: Callable[..., Path]
) -> None:
    sdist = make_failing_sdist(
        tmp_path / "dist", name="needscc", version="1.0", build=MISSING_COMPILER
    )
    out = _output(run_pip("install", "--no-deps", str(sdist), python=make_venv()))
    assert "No such file or directory: 'cc'" in out
    assert classify(out, stage="install", timed_out=False) == "compiler-missing"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler to fail on a header")
def test_headers_missing_from_a_real_compiler(
    tmp_path: Path, run_pip: Callable[..., Any], make_venv: Callable[..., Path]
) -> None:
    sdist = make_failing_sdist(
        tmp_path / "dist", name="needsh", version="1.0", build=MISSING_HEADER
    )
    out = _output(run_pip("install", "--no-deps", str(sdist), python=make_venv()))
    assert "advisor_absent_header.h" in out
    assert classify(out, stage="install", timed_out=False) == "headers-missing"


def test_import_error_from_python(tmp_path: Path) -> None:
    (tmp_path / "raises_here.py").write_text("raise ImportError('no backend for this CPU')\n")
    (tmp_path / "breaks.py").write_text("import json\njson.loads('{')\n")
    for module in ("raises_here", "breaks", "not_installed_anywhere"):
        proc = subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        out = _output(proc)
        assert classify(out, stage="import", timed_out=False) == "import-error", out
        # the same text during an install is not an import failure
        assert classify(out, stage="install", timed_out=False) == "unknown"


def test_timeout_from_a_real_timeout(tmp_path: Path) -> None:
    with pytest.raises(subprocess.TimeoutExpired) as info:
        subprocess.run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.3)
    out = str(info.value)
    assert classify(out, stage="import", timed_out=True) == "timeout"
    # a timeout wins over anything the output says
    assert classify("THESE PACKAGES DO NOT MATCH THE HASHES", stage="install", timed_out=True) == (
        "timeout"
    )


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        # captured literally: needs a machine without these headers / compilers
        ("src/ext.c:1:10: fatal error: Python.h: No such file or directory", "headers-missing"),
        ("fatal error: 'openssl/ssl.h' file not found", "unknown"),  # clang's form: not claimed
        ("error: command 'gcc' failed: No such file or directory", "compiler-missing"),
        ("error: command '/usr/bin/x86_64-linux-gnu-gcc' failed with exit code 1\n"
         "x.c:2:10: fatal error: zlib.h: No such file or directory", "headers-missing"),
        ("unable to execute 'gcc': No such file or directory", "compiler-missing"),
        ("error: Microsoft Visual C++ 14.0 or greater is required.", "compiler-missing"),
        ("No wheel found matching the provided tags for package 'x' at packages[0]",
         "no-compatible-file"),
        ("ERROR: pip's dependency resolver does not currently take into account", "unknown"),
    ],
)  # fmt: skip
def test_snippets(snippet: str, expected: str) -> None:
    assert classify(snippet, stage="install", timed_out=False) == expected
    assert expected in FAILURE_CLASSES


# -- excerpts --------------------------------------------------------------------------------


def test_hash_mismatches_list_every_refused_file() -> None:
    a, b, c = "a" * 64, "b" * 64, "c" * 64
    log = (
        "#9 3.120 ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE."
        " If you have updated the package versions, please update the hashes.\n"
        "#9 3.121     six==1.17.0 from https://files.example/packages/six-1.17.0-py2.py3-none-"
        "any.whl#sha256=aaa (from -r /tmp/requirements.txt (line 3)):\n"
        f"#9 3.121         Expected sha256 {a}\n"
        f"#9 3.121         Expected     or {b}\n"
        f"#9 3.121              Got        {c}\n"
        "#9 3.121 \n"
        "#9 3.122     Tiny@ file:///tmp/wheels/tiny-1.1.tar.gz from file:///tmp/wheels/"
        "tiny-1.1.tar.gz (from -r /tmp/requirements.txt (line 4)):\n"
        f"#9 3.122         Expected sha256 {a}\n"
        f"#9 3.122              Got        {b.upper()}\n"
        "#9 3.123     nogot==1.0 from file:///tmp/wheels/nogot-1.0-py3-none-any.whl:\n"
        f"#9 3.123         Expected sha256 {a}\n"
        "#9 3.130 ERROR: something else afterwards\n"
    )
    assert hash_mismatches(log) == (
        HashMismatch(
            name="six", filename="six-1.17.0-py2.py3-none-any.whl", expected=(a, b), got=c
        ),
        HashMismatch(name="Tiny", filename="tiny-1.1.tar.gz", expected=(a,), got=b),
    )
    assert hash_mismatches("ERROR: No matching distribution found for six") == ()


def test_excerpt_reduces_urls_to_file_names() -> None:
    text = (
        "Processing https://user:secret@files.example.invalid/packages/ab/cd/pkg-1.0.tar.gz"
        "#sha256=abc\n"
        "Looking in indexes: https://mirror.example.invalid/simple/\n"
        "from file:///srv/wheels/pkg-1.0-py3-none-any.whl (line 1)\n"
    )
    out = excerpt(text)
    assert "pkg-1.0.tar.gz" in out
    assert "pkg-1.0-py3-none-any.whl (line 1)" in out
    assert "example.invalid" not in out and "secret" not in out and "/srv" not in out


def test_excerpt_removes_home_and_temporary_paths(tmp_path: Path) -> None:
    text = (
        f'  File "{tmp_path}/venv/lib/python3.11/site-packages/pkg/__init__.py", line 1\n'
        "  building in /tmp/pip-install-x1y2/pkg_abc/setup.py\n"
        "  cache: /home/alice/.cache/pip/wheels/x.whl\n"
        "  /Users/bob/src/thing.c:3: error\n"
        "  /var/folders/xy/abc123/T/pip-build/foo.c\n"
        f"  lock at {tmp_path / 'proj'}/pylock.toml\n"
    )
    out = excerpt(text, replace={str(tmp_path / "proj"): "<lock>"})
    assert str(tmp_path) not in out
    for private in ("/tmp/", "alice", "bob", "/var/folders", "pip-install-x1y2"):
        assert private not in out, out
    assert "<tmp>/…/__init__.py" in out
    assert "<home>/…/x.whl" in out
    assert "<lock>/pylock.toml" in out


def test_excerpt_keeps_the_last_lines() -> None:
    text = "\n".join(f"line {i}" for i in range(50)) + "\n\n   \n"
    assert excerpt(text, limit=3) == "line 47\nline 48\nline 49"
    assert excerpt(text).count("\n") == 19
    assert excerpt(text, limit=0) == ""
