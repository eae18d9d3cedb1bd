"""The request's rules on requirements, applied for one target: what the provider asks
before it looks for candidates.

Sits beside :mod:`advisor.resolution.lookup` (what the index offers the target) under
:mod:`advisor.resolution.provider`: overrides replace a requirement by name, extras expand
into identifiers of their own, constraints tighten a project's specifier where their marker
holds for the target, and pre-releases are allowed per the options or by the specifier.
The input requirements enter the resolution through :func:`root_requirements`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from advisor.resolution.candidates import as_requirement

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from packaging.requirements import Requirement as PepRequirement
    from packaging.utils import NormalizedName

    from advisor.resolution.candidates import Candidate, Requirement
    from advisor.resolution.lookup import TargetLookup
    from advisor.resolution.options import ProviderOptions

__all__ = ["RequirementRules", "root_requirements"]


class RequirementRules:
    """Overrides, extras, constraints and pre-release rules of one request for one target.

    Cost: no I/O; markers are evaluated through the lookup's memo.
    """

    def __init__(self, *, options: ProviderOptions, lookup: TargetLookup) -> None:
        self._options = options
        self._lookup = lookup

    def expand(
        self, req: PepRequirement, *, parent: Candidate | None, origin: str = ""
    ) -> list[Requirement]:
        """One requirement per identifier: the base project plus one per requested extra.

        Overrides replace the requirement (by name) before expansion.
        """
        name = canonicalize_name(req.name)
        replaced = self._options.overrides.get(name)
        reqs: Iterable[PepRequirement] = (req,)
        if replaced is not None:
            reqs = [r for r in replaced if r.marker is None or self._lookup.evaluate(r.marker, "")]
        out: list[Requirement] = []
        for r in reqs:
            out.append(as_requirement(r, extra=None, parent=parent, origin=origin))
            for e in sorted(canonicalize_name(x) for x in r.extras):
                out.append(as_requirement(r, extra=e, parent=parent, origin=origin))
        return out

    def combined(self, name: NormalizedName, reqs: Sequence[Requirement]) -> SpecifierSet:
        """The specifiers of ``reqs`` and of the constraints on ``name`` for the target."""
        spec = SpecifierSet()
        for r in reqs:
            spec &= r.specifier
        for c in self._options.constraints.get(name, ()):
            if c.marker is None or self._lookup.evaluate(c.marker, ""):
                spec &= c.specifier
        return spec

    def constraints_on(self, name: NormalizedName) -> list[tuple[PepRequirement, str]]:
        """The constraints on ``name`` that apply to the target, with where each comes from
        (``""`` when unknown); for explanations."""
        return [
            (c, self._options.constraint_origins.get(str(c), ""))
            for c in self._options.constraints.get(name, ())
            if c.marker is None or self._lookup.evaluate(c.marker, "")
        ]

    def allow_prereleases(self, name: NormalizedName, spec: SpecifierSet) -> bool:
        """Whether pre-releases of ``name`` may be offered: allowed by the options (for all
        or for this project), or named by the specifier."""
        if self._options.prereleases or name in self._options.prerelease_packages:
            return True
        return bool(spec.prereleases)


def root_requirements(
    rules: RequirementRules, lookup: TargetLookup, lines: Iterable[tuple[PepRequirement, str]]
) -> list[Requirement]:
    """Expand input requirements (with their origin) that apply to the target."""
    out: list[Requirement] = []
    for req, origin in lines:
        if req.marker is not None and not lookup.evaluate(req.marker):
            continue
        out.extend(rules.expand(req, parent=None, origin=origin))
    return out
