"""Container build tools: which of buildah, podman and docker actually works here, and the
command line that builds a context with it.

Sits between ``advisor image build`` (:mod:`advisor.image.builder`) and the tool's process
(:mod:`advisor.image.build` runs it). A tool on ``PATH`` is not enough: a docker client
with no engine behind it, or a buildah whose storage cannot be opened, fails every build.
So each candidate is *probed* with a cheap command that needs the working parts (``docker
info`` reaches the engine, ``buildah info`` and ``podman info`` open the storage), and the
first one that answers is used, or the one the caller names. The process environment
reaches the tools unchanged, so their own settings apply (``STORAGE_DRIVER``,
``BUILDAH_ISOLATION``, ``CONTAINERS_STORAGE_CONF``, ``DOCKER_HOST`` …).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

__all__ = ["TOOLS", "BuildTool", "ToolProbe", "build_argv", "choose_tool", "probe_tool"]

#: The tools tried, in this order, when none is named (daemonless ones first).
TOOLS: tuple[str, ...] = ("buildah", "podman", "docker")

_PROBES: dict[str, tuple[str, ...]] = {
    "buildah": ("info",),
    "podman": ("info", "--format", "{{.Store.GraphDriverName}}"),
    "docker": ("info", "--format", "{{.ServerVersion}}"),
}
_PROBE_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildTool:
    """A tool that answered its probe: ``name`` (one of :data:`TOOLS`) and its executable."""

    name: str
    executable: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolProbe:
    """What probing one tool found: the executable (``None`` when not on ``PATH``), whether
    it works, and if not, why, in a few words with the tool's own last line."""

    name: str
    executable: str | None
    works: bool
    reason: str = ""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def probe_tool(
    name: str, *, environ: Mapping[str, str], timeout: float = _PROBE_TIMEOUT
) -> ToolProbe:
    """Whether ``name`` can build here: found on ``environ``'s ``PATH`` and its probe
    command exits 0 within ``timeout`` seconds. Never raises for a broken tool."""
    if name not in _PROBES:
        raise InputError(f"unknown build tool {name!r} (known: {', '.join(TOOLS)})")
    executable = shutil.which(name, path=environ.get("PATH"))
    if executable is None:
        return ToolProbe(name=name, executable=None, works=False, reason="not installed")
    try:
        done = subprocess.run(
            [executable, *_PROBES[name]],
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        reason = f"'{name} {_PROBES[name][0]}' did not answer within {timeout:g} s"
        return ToolProbe(name=name, executable=executable, works=False, reason=reason)
    except OSError as exc:
        reason = f"cannot run: {exc.strerror or exc}"
        return ToolProbe(name=name, executable=executable, works=False, reason=reason)
    if done.returncode != 0:
        said = _last_line(done.stderr) or _last_line(done.stdout)
        what = "no engine answers" if name == "docker" else f"exit code {done.returncode}"
        reason = f"'{name} {_PROBES[name][0]}' failed ({what})" + (f": {said}" if said else "")
        return ToolProbe(name=name, executable=executable, works=False, reason=reason)
    return ToolProbe(name=name, executable=executable, works=True)


def choose_tool(
    preferred: str | None, *, environ: Mapping[str, str]
) -> tuple[BuildTool, tuple[ToolProbe, ...]]:
    """The tool named by ``preferred``, or the first of :data:`TOOLS` that works, with every
    probe made. Raises :class:`InputError` saying, for each tool tried, why it cannot build."""
    names = (preferred,) if preferred else TOOLS
    probes: list[ToolProbe] = []
    for name in names:
        probe = probe_tool(name, environ=environ)
        probes.append(probe)
        if probe.works and probe.executable:
            return BuildTool(name=name, executable=probe.executable), tuple(probes)
    detail = "; ".join(f"{p.name}: {p.reason}" for p in probes)
    if preferred:
        raise InputError(f"the build tool {preferred} cannot build here ({detail})")
    raise InputError(f"no working container build tool: {detail} (install buildah or podman)")


def build_argv(
    tool: BuildTool,
    *,
    context: Path,
    containerfile: Path,
    tag: str | None,
    build_args: Sequence[tuple[str, str]] = (),
    iidfile: Path | None = None,
) -> list[str]:
    """The command line that builds ``context`` with ``tool``: plain, line-oriented progress
    (the caller streams it), the given tag and build arguments, the context's ignore file;
    with ``iidfile`` the tool writes the built image's id there (all three support it)."""
    argv = [tool.executable, "build"]
    if tool.name == "docker":  # BuildKit's default display redraws; plain prints lines
        argv += ["--progress", "plain"]
    argv += ["--file", str(containerfile)]
    if iidfile is not None:
        argv += ["--iidfile", str(iidfile)]
    if tag:
        argv += ["--tag", tag]
    for key, value in build_args:
        argv += ["--build-arg", f"{key}={value}"]
    argv.append(str(context))
    return argv
