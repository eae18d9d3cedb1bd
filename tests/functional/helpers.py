"""Shared helpers of the end-to-end tests: run the ``advisor`` CLI isolated, read locks back.

``run_cli`` drives :func:`advisor.cli.main` in-process through click's ``CliRunner`` (so exit
codes come from the real ``main``, which turns errors into messages); ``run_advisor``
runs it in a fresh interpreter (``python -c``), for tests that need real processes.
Both see an environment without ``PIP_*`` variables, with pip's config disabled and
``HOME`` in a temporary folder, so the machine's configuration never leaks in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from click.testing import CliRunner

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "REPO",
    "CliResult",
    "clean_environ",
    "lock_pins",
    "pip_report_pins",
    "read_lock",
    "run_advisor",
    "run_cli",
]

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True, kw_only=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def clean_environ(home: Path, **extra: str) -> dict[str, str]:
    """``os.environ`` without ``PIP_*``/``ADVISOR_*``, pip config off, ``HOME`` at ``home``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("PIP_", "ADVISOR_")) and k.upper() != "NETRC"
    }
    env.update(PIP_CONFIG_FILE=os.devnull, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    env.update(extra)
    return env


def _arg(value: object) -> str:
    """A command-line argument: paths as file system paths, anything else as text."""
    return os.fspath(value) if isinstance(value, os.PathLike) else str(value)


class _Main:
    """Adapts :func:`advisor.cli.main` to what ``CliRunner.invoke`` calls (``.main``)."""

    name = "advisor"

    def main(self, args: Sequence[str] = (), prog_name: str = "advisor", **_: Any) -> None:
        from advisor.cli import main

        main(list(args))


def run_cli(args: Iterable[object], *, env: Mapping[str, str]) -> CliResult:
    """Run ``advisor ARGS`` in-process with exactly ``env`` as ``os.environ``."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    runner = CliRunner()
    result = runner.invoke(
        _Main(),  # type: ignore[arg-type]
        [_arg(a) for a in args],
        env={**unset, **env},
        prog_name="advisor",
        catch_exceptions=False,
    )
    return CliResult(exit_code=result.exit_code, stdout=result.stdout, stderr=result.stderr)


def run_advisor(
    args: Iterable[object],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``advisor ARGS`` in a fresh interpreter (this repository on ``PYTHONPATH``)."""
    code = "import sys; sys.argv[0] = 'advisor'; from advisor.cli import main; main()"
    full = {**env, "PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", code, *(_arg(a) for a in args)],
        env=full,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_lock(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def lock_pins(lock: Mapping[str, Any]) -> dict[str, str]:
    """``name -> version`` of every ``[[packages]]`` entry (names are already normalised)."""
    return {p["name"]: p["version"] for p in lock["packages"]}


def pip_report_pins(report: Path) -> dict[str, str]:
    """``name -> version`` from ``pip install --report`` JSON (names normalised)."""
    from packaging.utils import canonicalize_name

    data = json.loads(report.read_text(encoding="utf-8"))
    return {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in data["install"]
    }
