"""Run the real ``advisor`` CLI with its stderr on a pseudo-terminal, as a person sees it."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from tests.functional.helpers import REPO

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["ANSI", "run_on_pty"]

#: ANSI escape sequences (colours, cursor moves, titles), to compare text only.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][A-Za-z0-9]")
_CODE = "import sys; sys.argv[0] = 'advisor'; from advisor.cli import main; main()"


def run_on_pty(
    args: Sequence[object], *, env: dict[str, str], cwd: Path, terminal: bool = True
) -> tuple[int, str, str]:
    """Run ``advisor ARGS`` with stderr on a new pseudo-terminal (or a pipe); return the
    exit code, stdout, and stderr with ANSI escapes and carriage returns removed."""
    full = {**env, "PYTHONPATH": str(REPO), "TERM": "xterm", "COLUMNS": "200"}
    command = [sys.executable, "-c", _CODE, *(str(a) for a in args)]
    if not terminal:
        done = subprocess.run(
            command, env=full, cwd=cwd, capture_output=True, text=True, timeout=120
        )
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            command,
            env=full,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
        )
        os.close(slave)
        slave = -1
        raw = bytearray()
        deadline = time.monotonic() + 120
        # read as it comes: a full pseudo-terminal buffer would stall the child
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            raw += chunk
        assert proc.stdout is not None
        stdout = proc.stdout.read().decode()
        proc.stdout.close()
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    text = ANSI.sub("", raw.decode("utf-8", "replace")).replace("\r", "\n")
    return code, stdout, text
