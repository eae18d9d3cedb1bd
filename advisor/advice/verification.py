"""What ``--verify`` asks of a verifier: the seam between the advice engine and this machine.

Sits between the advice engine (:mod:`advisor.advice.engine`, which asks before a stack the
stack checks accepted becomes a result of the search) and the observation layer's
:class:`~advisor.observe.verify.VenvVerifier` (which installs the stack into a throwaway venv
and imports it). The decide layer never installs anything itself: the composition root
injects a verifier, and stores the observations it made.

A failed verification becomes a stack rejection exactly like a stack check's (a reason, the
package to ban first, the ``nogood`` pins), so the search learns from it as it learns from a
curated rule or an observed failing pair; :func:`violates` lets the engine reject a later
stack holding the same nogood without installing it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from packaging.specifiers import InvalidSpecifier, SpecifierSet

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.utils import NormalizedName
    from packaging.version import Version

__all__ = ["StackVerifier", "VerificationResult", "violates"]


class VerificationResult(Protocol):
    """One stack's verdict: ``ok``, else ``reason``, ``package`` (to ban first), ``nogood``
    ((name, ``"==version"``) pairs that fail together) and ``lesson`` (for the report)."""

    @property
    def ok(self) -> bool: ...

    @property
    def reason(self) -> str: ...

    @property
    def package(self) -> str | None: ...

    @property
    def nogood(self) -> tuple[tuple[str, str], ...]: ...

    @property
    def lesson(self) -> str: ...


class StackVerifier(Protocol):
    """Installs a stack on this machine and imports it. Cost: seconds per new stack (a venv,
    pip, one interpreter per distribution); verdicts are memoised by the pins."""

    def verify(self, pins: Mapping[NormalizedName, Version]) -> VerificationResult: ...


def violates(pins: Mapping[NormalizedName, Version], nogood: tuple[tuple[str, str], ...]) -> bool:
    """Whether ``pins`` hold every (name, specifier) of ``nogood`` (an empty one: never)."""
    if not nogood:
        return False
    by_name = {str(n): v for n, v in pins.items()}
    for name, spec in nogood:
        version = by_name.get(name)
        if version is None:
            return False
        try:
            if not SpecifierSet(spec).contains(version, prereleases=True):
                return False
        except InvalidSpecifier:
            return False
    return True
