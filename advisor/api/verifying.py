"""``advisor advise --verify``: the verifier the advice engine asks, built for this machine.

Part of the composition root, wiring only: checks every target runs here
(:func:`advisor.observe.verify.check_hosts`), and builds a
:class:`~advisor.observe.verify.VenvVerifier` over this machine's interpreter, the indexes the
advice resolves from, a throwaway folder and this machine's recorder id. The advice job
(:func:`advisor.api.advising.run_advice`) injects it into the engine and stores the
observations it made.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from advisor._version import TOOL

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from advisor.events import ProgressEvents
    from advisor.observe.verify import VenvVerifier
    from advisor.options.prepared import Prepared

__all__ = ["make_verifier"]


def make_verifier(
    prep: Prepared, *, workdir: Path, now: datetime, timeout: float, events: ProgressEvents
) -> VenvVerifier:
    """A verifier for ``prep``'s targets on this machine, its venvs under ``workdir``.
    Raises :class:`~advisor.errors.InputError` when a target is not this machine."""
    from advisor.environment import RuntimeEnvironment
    from advisor.observe.compat import PipSource
    from advisor.observe.recorder import detect_recorder
    from advisor.observe.verify import VenvVerifier, VerifySettings, check_hosts

    host = RuntimeEnvironment.detect()
    check_hosts(prep.targets, host)
    pip = PipSource.of_indexes(prep.index.indexes, find_links=prep.index.find_links)
    settings = VerifySettings(
        python=sys.executable,
        pip=pip,
        workdir=workdir,
        timeout=timeout,
        today=now.date().isoformat(),
        tool=TOOL,
        recorder=detect_recorder(prep.environ),
    )
    return VenvVerifier(settings=settings, env=host, environ=prep.environ, events=events)
