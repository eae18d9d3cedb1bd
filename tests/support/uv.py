"""uv for the tests that drive it as a client: installed into a throwaway venv, and the
environment that keeps it to the test's own files.

uv is installed from the package index the machine's pip configuration names (the one
thing these tests take from outside); :func:`install_uv` raises :class:`UvUnavailable` with
the reason when that cannot be done, which the caller turns into a skip (a failure under
``CI=true``). :func:`uv_environ` gives uv a cache of its own, no user configuration and no
Python downloads: it runs with the interpreter of the tests.
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["UvUnavailable", "install_uv", "uv_environ"]


class UvUnavailable(Exception):
    """uv could not be installed here; the message says why."""


def install_uv(folder: Path) -> Path:
    """uv installed into a fresh venv at ``folder``; its binary. Raises
    :class:`UvUnavailable` when the venv or the install fails."""
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(folder)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        done = subprocess.run(
            [str(folder / "bin" / "python"), "-m", "pip", "install", "-q", "uv"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise UvUnavailable(f"cannot make a venv for uv: {exc}") from exc
    binary = folder / "bin" / "uv"
    if done.returncode != 0 or not binary.exists():
        raise UvUnavailable(
            f"uv could not be installed from the package index: {done.stderr[-1000:]}"
        )
    return binary


def uv_environ(env: Mapping[str, str], *, cache: Path) -> dict[str, str]:
    """``env`` plus what keeps uv to the test: its cache in ``cache``, no configuration
    files, the tests' interpreter, no downloads of Python, no colour."""
    return {
        **env,
        "UV_CACHE_DIR": str(cache),
        "UV_NO_CONFIG": "1",
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "NO_COLOR": "1",
    }
