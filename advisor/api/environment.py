"""``advisor env detect``: the runtime environment of this machine, or of a target described
from it (rendered by :mod:`advisor.report.environment`).

Part of the composition root: :meth:`RuntimeEnvironment.detect` is the one impure
constructor (it probes the host); a target takes the host's defaults for what it does not
name.
"""

from __future__ import annotations

from advisor.environment import RuntimeEnvironment

__all__ = ["RuntimeEnvironment", "detect_environment"]


def detect_environment(
    *,
    python: str | None = None,
    platform: str | None = None,
    implementation: str | None = None,
    cuda: str | None = None,
) -> RuntimeEnvironment:
    """This machine's runtime environment; with ``python``, ``platform``, ``implementation``
    or ``cuda``, the target they describe (the host's values fill the rest, its GPUs and
    CUDA only on its own platform: see :meth:`RuntimeEnvironment.for_target`).

    Raises :class:`~advisor.errors.InputError` for a version or platform tag it cannot read.
    """
    from advisor.environment.targets import described_target

    return described_target(
        RuntimeEnvironment.detect(),
        python=python,
        platform=platform,
        implementation=implementation,
        cuda=cuda,
    )
