"""``advisor env detect``: the runtime environment of this machine, or of a target described
from it.

Part of the composition root: :meth:`RuntimeEnvironment.detect` is the one impure
constructor (it probes the host); a target takes the host's defaults for what it does not
name.
"""

from __future__ import annotations

from advisor.environment import RuntimeEnvironment, render_toml

__all__ = ["RuntimeEnvironment", "detect_environment", "render_toml"]


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
    host = RuntimeEnvironment.detect()
    if python or platform or implementation or cuda:
        return RuntimeEnvironment.for_target(
            host=host, python=python, platform=platform, implementation=implementation, cuda=cuda
        )
    return host
