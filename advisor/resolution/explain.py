"""Plain-language explanations of resolution conflicts.

resolvelib reports a conflict as the requirements (with their parents) that could not be met
together. We turn that into: which requirement, asked for by whom (the chain of parents up to
the input line), which versions exist, and for each why it was excluded (a specifier, the
target's wheel tags, requires-python, yanked, upload time, or a failure to read metadata).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.errors import NoViableStack
from advisor.resolution.candidates import split_identifier

if TYPE_CHECKING:
    from collections.abc import Sequence

    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName
    from resolvelib.structs import RequirementInformation

    from advisor.resolution.candidates import Candidate, Requirement
    from advisor.resolution.provider import AdvisorProvider

__all__ = ["explain_conflict"]

#: versions listed per project before the rest are summarised
MAX_VERSIONS = 8


def _chain(provider: AdvisorProvider, req: Requirement, *, depth: int = 0) -> str:
    """``"x>=1 (required by a==1.0, required by requirements.in:2)"``-style provenance."""
    if req.parent is None:
        return req.origin or "the input"
    parent = req.parent
    label = str(parent)
    if depth >= 6:
        return label
    parents = provider.seen.get(parent.identifier) or provider.seen.get(parent.name) or []
    for r in parents:
        if r.parent is None or r.parent.name != parent.name:
            return f"{label}, required by {_chain(provider, r, depth=depth + 1)}"
    return label


def _describe(req: Requirement) -> str:
    return req.text or str(req.name)


def _version_reasons(
    provider: AdvisorProvider,
    name: NormalizedName,
    reqs: Sequence[Requirement],
) -> list[str]:
    choices = provider.choices(name)
    if not choices:
        return [f"the index has no files for {name}"]
    lines: list[str] = []
    for choice in choices[:MAX_VERSIONS]:
        v = choice.version
        if choice.rejection:
            why = choice.rejection
        elif (name, v) in provider.filtered:
            why = provider.filtered[(name, v)]
        else:
            failing = [r for r in reqs if not _allows(r.specifier, v, r)]
            if failing:
                why = "excluded by " + ", ".join(
                    f"{r.text or r.name} (from {r.describe_source()})" for r in failing
                )
            elif choice.yanked:
                why = "yanked (only used when pinned with ==)"
            elif v.is_prerelease and not _any_prerelease_ok(provider, name, reqs):
                why = "a pre-release (allow with --pre or by naming it in a specifier)"
            else:
                why = provider.rejection(name, v) or (
                    "its own dependencies conflict with the rest of the stack"
                )
        lines.append(f"{v}: {why}")
    rest = len(choices) - MAX_VERSIONS
    if rest > 0:
        lines.append(f"... and {rest} older version{'s' if rest != 1 else ''}")
    return lines


def _allows(spec: SpecifierSet, version: object, req: Requirement) -> bool:
    if req.pinned is not None:
        return bool(version == req.pinned)
    return spec.contains(str(version), prereleases=True)


def _any_prerelease_ok(
    provider: AdvisorProvider, name: NormalizedName, reqs: Sequence[Requirement]
) -> bool:
    return provider.allow_prereleases(name, provider.combined(name, reqs))


def explain_conflict(
    provider: AdvisorProvider,
    causes: Sequence[RequirementInformation[Requirement, Candidate]],
    *,
    target: str,
) -> NoViableStack:
    """The error for a conflict; ``causes`` come from resolvelib's ``ResolutionImpossible``."""
    by_name: dict[str, list[Requirement]] = {}
    for info in causes:
        req = info.requirement
        key = str(req.name)
        by_name.setdefault(key, [])
        if req not in by_name[key]:
            by_name[key].append(req)
    lines: list[str] = []
    for key in sorted(by_name):
        reqs = by_name[key]
        name, _ = split_identifier(reqs[0].identifier)
        lines.append(f"{name}: no version satisfies every requirement on it:")
        for r in reqs:
            lines.append(f"  {_describe(r)}  <- required by {_chain(provider, r)}")
        lines.append("  versions on the index (newest first):")
        lines.extend(f"    {line}" for line in _version_reasons(provider, name, reqs))
    return NoViableStack(f"no stack satisfies the requirements for {target}:", causes=lines)
