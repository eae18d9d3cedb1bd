"""The checks behind ``advisor check`` and the pre-commit hooks: pure functions over a lock.

Each check takes what it needs as values (the lock's packages, the recomputed digest, the
advisories known for the pinned projects, the policy, today's date) and returns
:class:`Finding` values with an id, the file and package concerned, and a fix hint. Reading
files, the knowledge store or the network is the caller's job (:mod:`advisor.check.run`,
through the sources the composition root gives it), so these stay fast and testable;
rendering findings is the report layer's (:mod:`advisor.report.findings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from datetime import date, datetime

    from packaging.version import Version

    from advisor.knowledge.schema import Advisory
    from advisor.policy import Policy

__all__ = [
    "Finding",
    "check_advisories",
    "check_advisory_data",
    "check_environments",
    "check_freshness",
    "check_hashes",
    "check_indexes",
    "check_requirements_satisfied",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One problem: ``id`` names the check, ``path`` the file (``line`` when known)."""

    id: str
    message: str
    path: str
    package: str | None = None
    hint: str = ""
    level: str = "error"
    line: int | None = None


def check_freshness(
    *,
    path: str,
    recorded_digest: str | None,
    current_digest: str,
    recorded: Sequence[str],
    current: Sequence[str],
    inputs: Sequence[str],
) -> list[Finding]:
    """The lock is stale when the digest of its inputs changed; name what changed."""
    if recorded_digest is None:
        return [
            Finding(
                id="lock-unknown-inputs",
                path=path,
                message="the lock records no input digest (not written by advisor lock)",
                hint="re-lock with `advisor lock`",
                level="warning",
            )
        ]
    if recorded_digest == current_digest:
        return []
    added = sorted(set(current) - set(recorded))
    removed = sorted(set(recorded) - set(current))
    where = ", ".join(inputs) or "the inputs"
    if added or removed:
        parts = [f"+ {r}" for r in added] + [f"- {r}" for r in removed]
        message = f"the lock is stale: {where} changed ({'; '.join(parts)})"
    else:
        message = (
            f"the lock is stale: {where}, an included file, the index configuration or the "
            "options changed since it was written"
        )
    return [
        Finding(
            id="lock-stale",
            path=path,
            message=message,
            hint="run `advisor lock` (or `advisor check --fix`) and commit the new lock",
        )
    ]


def check_requirements_satisfied(
    *,
    path: str,
    pins: Mapping[str, Version],
    requirements: Iterable[tuple[str, object]],
) -> list[Finding]:
    """For a requirements.txt lock: every input requirement (``(origin, Requirement)``,
    markers already evaluated by the caller) has a pin within its specifier."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    findings: list[Finding] = []
    for origin, req in requirements:
        assert isinstance(req, Requirement)
        name = canonicalize_name(req.name)
        pinned = pins.get(name)
        if pinned is None:
            findings.append(
                Finding(
                    id="lock-stale",
                    path=path,
                    package=name,
                    message=f"{req} ({origin}) has no pin in the lock",
                    hint="re-lock: the input gained a requirement",
                )
            )
        elif not req.specifier.contains(pinned, prereleases=True):
            findings.append(
                Finding(
                    id="lock-stale",
                    path=path,
                    package=name,
                    message=f"{name}=={pinned} does not satisfy {req} ({origin})",
                    hint="re-lock: the input's specifier changed",
                )
            )
    return findings


def check_hashes(*, path: str, files: Mapping[str, Sequence[tuple[str, bool]]]) -> list[Finding]:
    """``files``: package → (file name, has a hash) for every file the lock lists."""
    findings: list[Finding] = []
    for package, entries in sorted(files.items()):
        for filename, hashed in entries:
            if not hashed:
                findings.append(
                    Finding(
                        id="missing-hash",
                        path=path,
                        package=package,
                        message=f"{filename} has no hash",
                        hint="re-lock with `advisor lock`: every locked file carries a sha256",
                    )
                )
    return findings


def check_indexes(
    *, path: str, package_indexes: Mapping[str, str | None], allowed: Sequence[str]
) -> list[Finding]:
    """Every pin comes from an allowed index (compared without trailing slashes)."""
    ok = {a.rstrip("/") for a in allowed}
    findings: list[Finding] = []
    for package, index in sorted(package_indexes.items()):
        if index is not None and index.rstrip("/") not in ok:
            findings.append(
                Finding(
                    id="index-not-allowed",
                    path=path,
                    package=package,
                    message=f"{package} comes from {index}, which is not an allowed index",
                    hint="add it to [tool.advisor.policy] allowed-indexes, or re-lock",
                )
            )
    return findings


def check_advisories(
    *,
    path: str,
    pins: Mapping[str, Version],
    advisories: Mapping[str, Sequence[Advisory]],
    is_affected: Callable[[Advisory, str, Version], bool],
    fixed_versions: Callable[[Advisory, str], Sequence[str]],
    policy: Policy,
    now: datetime,
) -> list[Finding]:
    """No pin affected by a known advisory, unless a waiver covers it at ``now``."""
    findings: list[Finding] = []
    for name in sorted(pins):
        version = pins[name]
        for adv in sorted(advisories.get(name, ()), key=lambda a: a.id):
            if adv.withdrawn or not is_affected(adv, name, version):
                continue
            active, waiver = policy.waivers_for((adv.id, *adv.aliases), now=now)
            if active is not None:
                continue
            fixed = ", ".join(fixed_versions(adv, name)) or "none published"
            summary = f": {adv.summary}" if adv.summary else ""
            expired = (
                f" (the waiver expired on {waiver.until.date().isoformat()})"
                if waiver is not None and waiver.until is not None
                else ""
            )
            findings.append(
                Finding(
                    id="advisory",
                    path=path,
                    package=name,
                    message=f"{name}=={version} is affected by {adv.id}{summary}{expired}",
                    hint=f"upgrade {name} (fixed in: {fixed}) or waive {adv.id} in "
                    "[tool.advisor.policy] allow-advisories with a reason and a date",
                )
            )
    return findings


def check_advisory_data(
    *, path: str, as_of: date | None, count: int, policy: Policy, today: date
) -> list[Finding]:
    """No advisory data at all, or data older than the policy allows, is its own finding.
    ``as_of`` is how current the data is: the day of its newest record's ``modified`` (an
    old dump imported today is old), not the day it was imported."""
    if count == 0 or as_of is None:
        return [
            Finding(
                id="advisory-data-missing",
                path=path,
                message="no security advisories are loaded, so no pin could be checked",
                hint="run `advisor knowledge update` to download OSV's advisories for PyPI"
                " (or `advisor knowledge import-osv SOURCE`, or pass `--osv PATH`)",
            )
        ]
    age = (today - as_of).days
    if age > policy.max_advisory_age_days:
        return [
            Finding(
                id="advisory-data-old",
                path=path,
                message=f"the advisory data is {age} days old: its newest record was modified"
                f" on {as_of.isoformat()} (policy allows {policy.max_advisory_age_days} days)",
                hint="run `advisor knowledge update` (or import a fresher OSV dump)",
                level="warning",
            )
        ]
    return []


def check_environments(
    *, path: str, lock_environments: Sequence[str], required: Sequence[str]
) -> list[Finding]:
    """Each configured runtime environment (its lock marker) is among the lock's."""
    have = set(lock_environments)
    return [
        Finding(
            id="environment-missing",
            path=path,
            message=f"the lock does not cover the configured environment {marker!r}",
            hint="re-lock with --env for every configured environment",
        )
        for marker in required
        if marker not in have
    ]
