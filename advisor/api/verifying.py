"""``advisor advise --verify``: the verifier the advice engine asks, built for this machine.

Part of the composition root, wiring only: every target must be this machine
(:func:`advisor.observe.verify.check_hosts`); the verifier runs this interpreter over the
advice's indexes in a throwaway folder, under this machine's recorder id.
"""

from __future__ import annotations

import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from advisor._version import TOOL

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from advisor.events import ProgressEvents
    from advisor.observe.verify import VenvVerifier
    from advisor.options.prepared import Prepared

__all__ = ["verifying"]


@contextmanager
def verifying(
    prep: Prepared, *, verify: bool, now: datetime, timeout: float, events: ProgressEvents
) -> Iterator[VenvVerifier | None]:
    """The ``--verify`` verifier of ``prep``'s targets (``None`` without ``verify``), its
    venvs removed on the way out. Raises :class:`~advisor.errors.InputError` when a target
    is not this machine."""
    if not verify:
        yield None
        return
    from advisor.environment import RuntimeEnvironment
    from advisor.observe.compat import PipSource
    from advisor.observe.recorder import detect_recorder
    from advisor.observe.verify import VenvVerifier, VerifySettings, check_hosts

    host = RuntimeEnvironment.detect()
    check_hosts(prep.targets, host)
    with tempfile.TemporaryDirectory(prefix="advisor-verify-") as scratch:
        settings = VerifySettings(
            python=sys.executable,
            pip=PipSource.of_indexes(prep.index.indexes, find_links=prep.index.find_links),
            workdir=Path(scratch),
            timeout=timeout,
            today=now.date().isoformat(),
            tool=TOOL,
            recorder=detect_recorder(prep.environ),
        )
        yield VenvVerifier(settings=settings, env=host, environ=prep.environ, events=events)
