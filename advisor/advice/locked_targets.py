"""The pins each target of a multi-target lock installs (for ``advisor fix``).

Beside :mod:`advisor.advice.remedy` in the decide layer: a lock for several targets holds a
package once per version, a version some targets need carrying a marker; the remedy holds each
target at its own pins. Reads the lock's packages through a small Protocol (a pylock's
``LockedPackage`` meets it), so the decide layer does not parse locks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.environment import RuntimeEnvironment

__all__ = ["LockedPin", "pins_per_target"]


class LockedPin(Protocol):
    """A lock's package as :func:`pins_per_target` reads it (a pylock's ``LockedPackage``)."""

    @property
    def name(self) -> NormalizedName: ...

    @property
    def version(self) -> Version | None: ...

    @property
    def marker(self) -> str | None: ...


def pins_per_target(
    packages: Iterable[LockedPin],
    targets: Sequence[RuntimeEnvironment],
) -> list[dict[NormalizedName, Version]]:
    """The pins each of ``targets`` installs from a lock's ``packages``: a package without
    a marker is for every target, one with a marker for the targets whose marker environment
    it matches. A marker that cannot be evaluated counts as
    matching (the pin is held rather than lost)."""
    from packaging.markers import InvalidMarker, Marker, UndefinedComparison

    out: list[dict[NormalizedName, Version]] = [{} for _ in targets]
    for package in packages:
        name, version, marker = package.name, package.version, package.marker
        if version is None:
            continue
        for i, target in enumerate(targets):
            if marker:
                try:
                    if not Marker(marker).evaluate(target.markers()):
                        continue
                except (InvalidMarker, UndefinedComparison):
                    pass
            out[i][name] = max(out[i].get(name, version), version)
    return out
