"""A family of images: the versions several recipes share, and where they part.

Sits after the resolutions of ``advisor image generate --all``
(:mod:`advisor.image.family_contexts` resolves the recipes in name order, each preferring
the versions the earlier ones pinned, as a multi-target lock does). This module only
compares: the **family version** of a package is the one the first recipe carrying it
pinned; a **divergence** is a package some later recipe pins at another version. Each
divergence gets a reason (why the family version does not fit there); one without a reason
is *unexplained*, and the family check fails on it. Pure values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["Divergence", "Parting", "family_versions", "find_partings", "render_family"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Parting:
    """A package pinned at another version than the family's: ``package``, the family
    ``version`` (set by the recipe ``first``) and each other recipe's ``versions``."""

    package: str
    version: str
    first: str
    versions: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Divergence:
    """A :class:`Parting` with the reason for each recipe that parts (``reasons``: recipe
    → sentence; ``unexplained`` lists the recipes for which there is none)."""

    package: str
    version: str
    first: str
    versions: Mapping[str, str]
    reasons: Mapping[str, str] = field(default_factory=dict)
    unexplained: tuple[str, ...] = ()

    @property
    def explained(self) -> bool:
        return not self.unexplained


def family_versions(pins: Sequence[tuple[str, Mapping[str, str]]]) -> dict[str, tuple[str, str]]:
    """Package → (version, recipe) of the first recipe in ``pins`` (recipe, its pins) that
    pins it: the version the later ones prefer."""
    family: dict[str, tuple[str, str]] = {}
    for recipe, versions in pins:
        for name, version in sorted(versions.items()):
            family.setdefault(name, (version, recipe))
    return family


def find_partings(pins: Sequence[tuple[str, Mapping[str, str]]]) -> tuple[Parting, ...]:
    """Every package some recipe pins at another version than its family version, sorted
    by package name; recipes in the order given."""
    family = family_versions(pins)
    out = []
    for name, (version, first) in sorted(family.items()):
        others = {
            recipe: versions[name]
            for recipe, versions in pins
            if name in versions and versions[name] != version
        }
        if others:
            out.append(Parting(package=name, version=version, first=first, versions=others))
    return tuple(out)


def render_family(
    pins: Sequence[tuple[str, Mapping[str, str]]],
    divergences: Sequence[Divergence],
    failures: Mapping[str, str],
) -> dict[str, object]:
    """``family.json``: each package's version per recipe, the divergences with their
    reasons, and the recipes that did not resolve (JSON-ready, deterministic)."""
    packages: dict[str, dict[str, str]] = {}
    for recipe, versions in pins:
        for name, version in versions.items():
            packages.setdefault(name, {})[recipe] = version
    return {
        "recipes": [recipe for recipe, _ in pins],
        "packages": {name: packages[name] for name in sorted(packages)},
        "divergences": [
            {
                "package": d.package,
                "family-version": d.version,
                "set-by": d.first,
                "versions": dict(d.versions),
                "reasons": dict(d.reasons),
                "unexplained": list(d.unexplained),
            }
            for d in divergences
        ],
        "failures": dict(sorted(failures.items())),
    }
