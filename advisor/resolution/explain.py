"""Plain-language explanations of resolution conflicts.

resolvelib reports a conflict as the requirements (with their parents) that could not be met
together. We turn that into: which requirement, asked for by whom (the chain of parents up to
the input line), which versions exist, and for each why it was excluded (a specifier or a
constraint, the target's wheel tags, requires-python, yanked, upload time, a failure to read
metadata, a filter of the recommendation, whose reason names its advisory or rule, or a ban
whose caller said why, as ``advisor fix`` does).
Consecutive versions excluded for the same reason share one line (``<oldest>`` en dash
``<newest> (12 versions): affected by GHSA-…``), so every version is accounted for.

The root cause comes first. A project whose every usable version a filter removed (an
advisory with no fixed release on a transitive package, say) makes resolvelib backtrack and
report the conflict somewhere else, often on a root package; such a project opens the
explanation, named with the filter's reason, before the projects resolvelib reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.errors import NoViableStack
from advisor.resolution.candidates import split_identifier

if TYPE_CHECKING:
    from collections.abc import Sequence

    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName
    from packaging.version import Version
    from resolvelib.structs import RequirementInformation

    from advisor.resolution.candidates import Candidate, Requirement, VersionChoice
    from advisor.resolution.provider import AdvisorProvider

__all__ = ["explain_conflict"]

#: lines of versions per project before the older ones are summarised by reason
MAX_GROUPS = 12
#: between the oldest and the newest version of a run (an en dash: a hyphen reads as part
#: of a version)
DASH = "\u2013"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Row:
    """Why one version could not be used. ``verdict`` is the reason a filter removed it
    (``alone`` when nothing else stood in its way); ``open`` is set when nothing did (its
    dependencies, or its metadata, ruled it out during the resolution)."""

    version: Version
    reason: str
    verdict: str | None = None
    alone: bool = False
    open: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class _Project:
    name: NormalizedName
    reqs: tuple[Requirement, ...]
    rows: tuple[_Row, ...]

    @property
    def all_filtered(self) -> bool:
        """A filter removed every version on the index (whatever the requirements say)."""
        return bool(self.rows) and all(r.verdict for r in self.rows)

    @property
    def emptied_by_filter(self) -> bool:
        """No version was left once a filter had removed those the requirements allow."""
        if any(r.open for r in self.rows):
            return False
        return self.all_filtered or any(r.alone for r in self.rows)

    def headline(self) -> str:
        if not self.emptied_by_filter:
            return f"{self.name}: no version satisfies every requirement on it:"
        if self.all_filtered:
            scope, verdicts = "every version", [r.verdict for r in self.rows]
        else:
            scope = "every version the requirements allow"
            verdicts = [r.verdict for r in self.rows if r.alone]
        reasons = list(dict.fromkeys(v for v in verdicts if v))
        more = f" (and {len(reasons) - 1} more, below)" if len(reasons) > 1 else ""
        return f"{self.name}: {scope} is removed by a filter: {reasons[0]}{more}"


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


def _exclusions(
    provider: AdvisorProvider,
    name: NormalizedName,
    choice: VersionChoice,
    reqs: Sequence[Requirement],
) -> list[str]:
    """What rules ``choice`` out before any filter: no usable file for the target (which
    says it all), else a requirement's specifier, a constraint."""
    if choice.rejection:
        return [choice.rejection]
    v = choice.version
    found: list[str] = []
    failing = [r for r in reqs if not _allows(r.specifier, v, r)]
    if failing:
        found.append(
            "excluded by "
            + ", ".join(f"{r.text or r.name} (from {r.describe_source()})" for r in failing)
        )
    capped = [
        f"{c}" + (f" (from {origin})" if origin else "")
        for c, origin in provider.rules.constraints_on(name)
        if not c.specifier.contains(v, prereleases=True)
    ]
    if capped:
        found.append("excluded by constraint " + ", ".join(capped))
    return found


def _rows(
    provider: AdvisorProvider, name: NormalizedName, reqs: Sequence[Requirement]
) -> tuple[_Row, ...]:
    """One row per version on the index, newest first.

    Only versions the resolution tried carry a filter's verdict: scoring the others here
    would change what the stack search knows (explanations must not move advice).
    """
    rows: list[_Row] = []
    for choice in provider.lookup.choices(name):
        v = choice.version
        excluded = _exclusions(provider, name, choice, reqs)
        filtered = provider.filtered.get((name, v))
        if excluded:
            reason = "; ".join([*excluded, *([filtered] if filtered else [])])
            rows.append(_Row(version=v, reason=reason, verdict=filtered))
        elif filtered:
            rows.append(_Row(version=v, reason=filtered, verdict=filtered, alone=True))
        elif choice.yanked:
            rows.append(_Row(version=v, reason="yanked (only used when pinned with ==)"))
        elif v.is_prerelease and not _any_prerelease_ok(provider, name, reqs):
            why = "a pre-release (allow with --pre or by naming it in a specifier)"
            rows.append(_Row(version=v, reason=why))
        elif (banned := provider.ban_reason(name, v)) is not None:
            # ruled out by whoever asked for this resolution (``advisor fix``), not by the
            # stack: say their reason, not "its own dependencies conflict"
            rows.append(_Row(version=v, reason=banned))
        else:
            why = provider.lookup.rejection(name, v) or (
                "its own dependencies conflict with the rest of the stack"
            )
            rows.append(_Row(version=v, reason=why, open=True))
    return tuple(rows)


def _grouped(rows: Sequence[_Row]) -> list[str]:
    """Runs of consecutive versions with one reason, one line each (``v: why`` or
    ``low`` :data:`DASH` ``high (n versions): why``); past :data:`MAX_GROUPS` lines, the
    older versions are counted per reason, so none goes unexplained."""
    runs: list[list[_Row]] = []
    for row in rows:
        if runs and runs[-1][-1].reason == row.reason:
            runs[-1].append(row)
        else:
            runs.append([row])
    lines = [_run_line(run) for run in runs[:MAX_GROUPS]]
    rest = [row for run in runs[MAX_GROUPS:] for row in run]
    if rest:
        counts: dict[str, int] = {}
        for row in rest:
            counts[row.reason] = counts.get(row.reason, 0) + 1
        lines.append(f"... and {_versions(len(rest))} older:")
        lines.extend(f"  {_versions(n)}: {reason}" for reason, n in counts.items())
    return lines


def _run_line(run: Sequence[_Row]) -> str:
    if len(run) == 1:
        return f"{run[0].version}: {run[0].reason}"
    low, high = run[-1].version, run[0].version
    return f"{low}{DASH}{high} ({_versions(len(run))}): {run[0].reason}"


def _versions(count: int) -> str:
    return f"{count} version{'s' if count != 1 else ''}"


def _allows(spec: SpecifierSet, version: object, req: Requirement) -> bool:
    if req.pinned is not None:
        return bool(version == req.pinned)
    return spec.contains(str(version), prereleases=True)


def _any_prerelease_ok(
    provider: AdvisorProvider, name: NormalizedName, reqs: Sequence[Requirement]
) -> bool:
    return provider.rules.allow_prereleases(name, provider.rules.combined(name, reqs))


def _projects(
    provider: AdvisorProvider,
    causes: Sequence[RequirementInformation[Requirement, Candidate]],
) -> list[_Project]:
    """The projects to explain, root causes first: those a filter emptied (every version
    first, then within the requirements' range), then the conflict resolvelib reported."""
    by_name: dict[NormalizedName, list[Requirement]] = {}
    for info in causes:
        req = info.requirement
        name, _ = split_identifier(req.identifier)
        found = by_name.setdefault(name, [])
        if req not in found:
            found.append(req)
    for identifier in provider.emptied_by_filter:
        name, _ = split_identifier(identifier)
        if name not in by_name:
            by_name[name] = list(provider.seen.get(identifier, ()))
    projects = [
        _Project(name=name, reqs=tuple(reqs), rows=_rows(provider, name, reqs))
        for name, reqs in by_name.items()
    ]
    reported = {split_identifier(i.requirement.identifier)[0] for i in causes}
    # a project only seen emptied is worth a place only as a root cause
    projects = [p for p in projects if p.name in reported or p.emptied_by_filter]
    return sorted(
        projects, key=lambda p: (not p.emptied_by_filter, not p.all_filtered, str(p.name))
    )


def explain_conflict(
    provider: AdvisorProvider,
    causes: Sequence[RequirementInformation[Requirement, Candidate]],
    *,
    target: str,
) -> NoViableStack:
    """The error for a conflict; ``causes`` come from resolvelib's ``ResolutionImpossible``.

    Cost: one pass over every version of each project involved (no I/O: the index pages
    and the verdicts are those the resolution already has).
    """
    lines: list[str] = []
    for project in _projects(provider, causes):
        lines.append(project.headline())
        for r in project.reqs:
            lines.append(f"  {_describe(r)}  <- required by {_chain(provider, r)}")
        lines.append("  versions on the index (newest first):")
        found = _grouped(project.rows) or [f"the index has no files for {project.name}"]
        lines.extend(f"    {line}" for line in found)
    return NoViableStack(f"no stack satisfies the requirements for {target}:", causes=lines)
