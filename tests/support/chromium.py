"""A real headless Chromium for the dashboard tests (test support): DOM dumps and screenshots.

Drives Debian's ``chromium`` through its command line only, one fresh process (and a fresh
profile under the test's tmp dir) per page: ``--dump-dom`` prints the DOM after the page
loaded (what the browser built, not what the server sent), ``--screenshot`` saves a PNG.
The flags keep it off the network beyond the page asked for and working as root in a
container. :func:`find_chromium` is ``None`` when it is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["copy_artefact", "dump_dom", "find_chromium", "screenshot"]

_TIMEOUT = 120.0  # seconds: a cold start on a loaded 2-core machine
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(binary: str, args: list[str], *, profile: Path) -> subprocess.CompletedProcess[str]:
    profile.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [binary, *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
        env={**os.environ, "HOME": str(profile)},
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"chromium failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return done


def dump_dom(binary: str, url: str, *, profile: Path) -> str:
    """The DOM Chromium built for ``url``, serialised."""
    return _run(binary, ["--dump-dom", url], profile=profile).stdout


def screenshot(
    binary: str, url: str, path: Path, *, profile: Path, size: tuple[int, int] = (1200, 1600)
) -> Path:
    """A PNG of ``url`` at ``size`` (width, height) saved to ``path``."""
    _run(
        binary,
        [f"--screenshot={path}", f"--window-size={size[0]},{size[1]}", url],
        profile=profile,
    )
    assert path.is_file() and path.stat().st_size > 0, "no screenshot written"
    return path


def copy_artefact(path: Path) -> None:
    """Copy ``path`` into ``$ADVISOR_TEST_ARTEFACTS`` when that is set (CI keeps it)."""
    folder = os.environ.get("ADVISOR_TEST_ARTEFACTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        shutil.copy2(path, os.path.join(folder, path.name))
