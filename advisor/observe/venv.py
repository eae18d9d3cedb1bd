"""A fresh venv on this machine, and what is asked of it: its Python, its installed
distributions' top-level modules, one import in a fresh interpreter.

Sits under the observations that install into a venv (:mod:`advisor.observe.install`,
:mod:`advisor.observe.compat`, :mod:`advisor.observe.verify`): each makes a venv here (no
pip inside: pip runs from outside with ``--python``), installs into it, then imports what
was installed through :func:`run_import`. :func:`ran_in` and :func:`interpreter_text` say
which Python the observations ran with, as the venv's interpreter reports it.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from advisor.environment.platforms import parse_implementation
from advisor.errors import InputError
from advisor.observe.failures import excerpt
from advisor.observe.installed import installed_distributions

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from advisor.environment import RuntimeEnvironment

__all__ = [
    "create_venv",
    "interpreter_text",
    "ran_in",
    "run_import",
    "top_level_modules",
    "venv_python",
]


def venv_python(venv: Path) -> Path:
    """The interpreter of the venv at ``venv``."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def create_venv(python: str, venv: Path, *, environ: Mapping[str, str], timeout: float) -> Path:
    """A fresh venv of ``python`` at ``venv`` (emptied first; no pip in it: pip runs from
    outside with ``--python``); returns its interpreter. Raises :class:`InputError` when
    ``python`` cannot make one within ``timeout`` seconds."""
    command = [python, "-m", "venv", "--clear", "--without-pip", str(venv)]
    try:
        proc = subprocess.run(
            command, env=dict(environ), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"{python}: cannot create a venv: {exc}") from exc
    if proc.returncode != 0:
        detail = excerpt(proc.stderr or proc.stdout, limit=5) or f"exit code {proc.returncode}"
        raise InputError(f"{python}: cannot create a venv in {venv}: {detail}")
    return venv_python(venv)


def ran_in(env: RuntimeEnvironment, markers: Mapping[str, str]) -> RuntimeEnvironment:
    """``env`` (this machine) with the Python version and implementation of the interpreter
    whose marker environment is ``markers``: the environment an install with it ran in."""
    found = re.match(r"\d+\.\d+(?:\.\d+)?", markers.get("python_full_version", ""))
    version = found.group(0) if found else env.python_version
    try:
        implementation = parse_implementation(markers.get("implementation_name", ""))
    except InputError:  # one the advisor cannot resolve for: its version still says much
        implementation = env.implementation
    if (version, implementation) == (env.python_version, env.implementation):
        return env
    return dataclasses.replace(
        env, python_version=version, implementation=implementation, abi=None,
        implementation_version=None,
    )  # fmt: skip


def interpreter_text(markers: Mapping[str, str]) -> str:
    """``"cpython 3.11.2"``: the implementation and full version an interpreter reports."""
    return f"{markers.get('implementation_name', '?')} {markers.get('python_full_version', '?')}"


def top_level_modules(
    python: Path, *, environ: Mapping[str, str], timeout: float
) -> dict[str, list[str]]:
    """Canonical distribution name → its top-level modules, as installed for ``python``;
    empty when the interpreter cannot list them (each import then goes unobserved)."""
    try:
        found = installed_distributions(
            str(python), environ=environ, timeout=timeout, isolated=True
        )
    except InputError:
        return {}
    return {name: list(dist.modules) for name, dist in found.items()}


def run_import(
    python: Path, module: str, *, environ: Mapping[str, str], timeout: float
) -> tuple[bool, bool, str, float]:
    """Import ``module`` in a fresh, isolated (``-I``) interpreter ``python``, within
    ``timeout`` seconds: (ok, timed out, output, seconds)."""
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [str(python), "-I", "-c", f"import {module}"],
            env=dict(environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.output if isinstance(exc.output, str) else ""
        return False, True, f"import {module}: timed out after {timeout:g} s\n{out}", timeout
    return proc.returncode == 0, False, proc.stdout, time.monotonic() - start
