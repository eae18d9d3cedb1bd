"""``advisor env detect``: this machine's runtime environment, or a target described from it
(:func:`~advisor.environment.targets.described_target`; rendered by
:mod:`advisor.report.environment`). :meth:`RuntimeEnvironment.detect` probes the host.
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
    """:func:`~advisor.environment.targets.described_target` of this machine."""
    from advisor.environment.targets import described_target

    return described_target(
        RuntimeEnvironment.detect(),
        python=python, platform=platform, implementation=implementation, cuda=cuda,
    )  # fmt: skip
