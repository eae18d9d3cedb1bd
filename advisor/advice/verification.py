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

:func:`widen` makes an ABI mismatch's nogood cover the consumer's releases that share its
cause. The verifier blames an ABI mismatch on the provider's major version
(``("numpy", ">=2")``, then the consumer's exact pin ``("bottleneck", "==1.3.8")``). The cause
is that the consumer's wheel was compiled against an earlier major of the provider. A wheel
uploaded before the provider's first release of that major (pre-releases included) cannot have
been compiled against it, so every release of the consumer whose wheels were all uploaded
before then shares the cause, on one assumption: that the consumer compiles against the
provider in those releases too (it did in the one that failed). The widened consumer side is
``<=V``, V the highest release such that it and every lower release qualify (a release after
the cutoff, a backport say, or one without a wheel or without upload times, ends the range:
it may have been built against the new major). When the failing release does not itself
qualify, or the index gives no upload times, the nogood is kept as it was.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from packaging.utils import NormalizedName

    from advisor.models import DistFile

__all__ = ["StackVerifier", "VerificationResult", "violates", "widen"]

_MAJOR_AND_LATER = re.compile(r">=(\d+)")


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


def widen(
    nogood: tuple[tuple[str, str], ...],
    *,
    files: Callable[[str], Mapping[Version, Sequence[DistFile]]],
) -> tuple[tuple[str, str], ...]:
    """An ABI mismatch's ``nogood`` (``((provider, ">=MAJOR"), (consumer, "==V"))``) with
    the consumer side widened to ``<=W`` by the rule of the module docstring; any other
    nogood, or one the rule does not cover, unchanged. ``files(name)`` are the index's files
    of ``name`` by version (the search's cache: no I/O). Cost: linear in those files."""
    if len(nogood) != 2:
        return nogood
    (provider, provider_spec), (consumer, consumer_spec) = nogood
    major = _MAJOR_AND_LATER.fullmatch(provider_spec)
    if major is None or not consumer_spec.startswith("=="):
        return nogood
    try:
        failed = Version(consumer_spec[2:])
    except InvalidVersion:
        return nogood
    first = Version(f"{major[1]}.dev0")
    times = [f.upload_time for v, fs in files(provider).items() if v >= first for f in fs]
    if not times or any(t is None for t in times):
        return nogood  # when the new major came out is not known
    cutoff = min(t for t in times if t is not None)

    def before(found: Sequence[DistFile]) -> bool:
        wheels = [f for f in found if f.filename.endswith(".whl")]
        stamps = [f.upload_time for f in wheels]
        return bool(wheels) and all(t is not None and t < cutoff for t in stamps)

    highest: Version | None = None
    for version, found in sorted(files(consumer).items()):
        if not before(found):
            break
        highest = version
    if highest is None or failed > highest:
        return nogood
    return ((provider, provider_spec), (consumer, f"<={highest}"))
