"""The base's facts asked from a built image, when the build's log does not have them.

Sits between :mod:`advisor.image.build` (the build ran, and its log lacks the line the install
step prints, :mod:`advisor.image.base_facts`) and :mod:`advisor.image.builder`, which records
the observations. With a layer cache (podman's and docker's default, buildah's with
``--layers`` or ``BUILDAH_LAYERS``) an unchanged install step is not run again, so it prints
nothing; the facts are the same as when it ran, and the built image still holds the base's
``python3`` (the final stage is ``FROM base``, and the venv links to that interpreter). So
the same probe runs once more, in a throwaway container of the image just built: ``buildah
from`` + ``buildah run`` + ``buildah rm``; ``podman run --rm`` or ``docker run --rm`` with
no network. A probe that cannot run is a reason in words, never an exception: the build's
outcome stands, and the observations then carry the recipe's declaration (with a warning).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.image.base_facts import PROBE_ARGV

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.image.tools import BuildTool

__all__ = ["PROBE_TIMEOUT", "ImageProbe", "probe_image"]

#: Seconds each command of the probe may take (a container start, one short Python run).
PROBE_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageProbe:
    """What the probe printed (``output``), or why it could not run (``error``)."""

    output: str = ""
    error: str | None = None


def probe_image(
    tool: BuildTool,
    image: str,
    *,
    environ: Mapping[str, str],
    timeout: float = PROBE_TIMEOUT,
) -> ImageProbe:
    """Run the base-facts probe in a fresh container of the local image ``image`` with
    ``tool`` (never pulling it), the container removed after. Never raises for a probe that
    fails. Cost: a container start and a Python start-up (about a second)."""
    if tool.name != "buildah":
        network = "--network=none"
        pull = ["--pull=never"] if tool.name == "podman" else []  # docker: local by id or tag
        argv = [tool.executable, "run", "--rm", network, *pull, "--entrypoint", PROBE_ARGV[0]]
        return _result(_run([*argv, image, *PROBE_ARGV[1:]], environ, timeout))
    made = _run([tool.executable, "from", "--quiet", "--pull=never", image], environ, timeout)
    if isinstance(made, str):
        return ImageProbe(error=made)
    container = made.stdout.strip()
    try:
        return _result(
            _run([tool.executable, "run", container, "--", *PROBE_ARGV], environ, timeout)
        )
    finally:
        _run([tool.executable, "rm", container], environ, timeout)


def _run(
    argv: Sequence[str], environ: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str] | str:
    """The finished command (its exit code 0), or why it failed, in a few words."""
    what = " ".join([Path(argv[0]).name, *argv[1:2]])  # "buildah run", not its path
    try:
        done = subprocess.run(
            list(argv),
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"'{what}' did not finish within {timeout:g} s"
    except OSError as exc:
        return f"cannot run '{what}': {exc.strerror or exc}"
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        said = f": {lines[-1][:200]}" if lines else ""
        return f"'{what}' failed (exit code {done.returncode}){said}"
    return done


def _result(done: subprocess.CompletedProcess[str] | str) -> ImageProbe:
    if isinstance(done, str):
        return ImageProbe(error=done)
    return ImageProbe(output=done.stdout)
