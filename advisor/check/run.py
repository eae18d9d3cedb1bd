"""``advisor check``'s run: select the locks the paths name, read each lock and what it was
made from, run the checks, re-lock a lock that is merely stale (``--fix``).

Between :mod:`advisor.check.paths` (which lock a path stands for) and the pure checks of
:mod:`advisor.check.findings`; what lies beyond the lock files (the knowledge store or an OSV
dump, the index, the host, the lock job) comes through :class:`~advisor.check.sources.CheckSources`,
which the composition root (``api/checking.py``) implements. Offline unless
``CheckOptions.online`` asks the lock's indexes about yanked versions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.check.findings import (
    Finding,
    check_advisories,
    check_advisory_data,
    check_environments,
    check_freshness,
    check_hashes,
    check_indexes,
    check_requirements_satisfied,
)
from advisor.check.paths import LockKind, select_locks
from advisor.check.sources import RelockPlan
from advisor.errors import AdvisorError, InputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from packaging.version import Version

    from advisor.check.sources import CheckSources
    from advisor.config import AdvisorConfig
    from advisor.knowledge.store import KnowledgeStore
    from advisor.lockfile.pylock import LockedPackage
    from advisor.lockfile.record import LockRecord
    from advisor.policy import Policy

__all__ = ["CheckOptions", "CheckReport", "run_check"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckOptions:
    """What ``advisor check`` was asked for: where advisories come from, ``--online``,
    ``--fix``, a requirements lock's ``--inputs`` and ``--only`` (every check when empty)."""

    knowledge: str | None = None  # store URL; None: ADVISOR_KNOWLEDGE or the default store
    #: an open store read instead of ``knowledge``'s: the team server's, shared by its jobs
    #: (never closed by the check; no curated folder synced into it: its owner does that)
    shared_store: KnowledgeStore | None = field(default=None, repr=False)
    osv: Path | None = None  # an OSV dump (zip or folder) instead of the store's advisories
    online: bool = False
    fix: bool = False
    inputs: tuple[Path, ...] = ()  # for requirements.txt locks: what they were made from
    only: frozenset[str] = frozenset()  # freshness, hashes, indexes, advisories, prescriptions,
    # environments

    def wants(self, group: str) -> bool:
        return not self.only or group in self.only

    def curated_folder(self, bundled: Path | None) -> Path | None:
        """The folder a check syncs into its store before reading rules: the checkout's
        ``bundled`` one, but none into a :attr:`shared_store` (its owner keeps it synced)."""
        return None if self.shared_store is not None else bundled


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckReport:
    """The findings over every lock checked (``checked``, as shown), the locks ``--fix``
    re-locked, and the inputs named that have no lock beside them (nothing to check)."""

    findings: tuple[Finding, ...]
    checked: tuple[str, ...]
    fixed: tuple[str, ...] = ()
    lockless: tuple[Path, ...] = ()

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> CheckReport:
        """The report of a team server's ``/v1/check`` answer (its ``findings``, ``checked``
        and ``lockless``). Raises :class:`InputError` when the answer is not one."""
        try:
            return cls(
                findings=tuple(Finding(**f) for f in answer["findings"]),
                checked=tuple(str(c) for c in answer["checked"]),
                lockless=tuple(Path(p) for p in answer["lockless"]),
            )
        except (KeyError, TypeError) as exc:
            raise InputError(f"the server's answer is not a check report: {exc!r}") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class _Run:
    """One run's fixed values: what every lock's checks share."""

    opts: CheckOptions
    sources: CheckSources
    environ: Mapping[str, str]
    cwd: Path
    now: datetime


def run_check(
    paths: Sequence[Path],
    *,
    opts: CheckOptions,
    sources: CheckSources,
    environ: Mapping[str, str],
    cwd: Path,
    now: datetime,
) -> CheckReport:
    """Check the locks ``paths`` name (:func:`~advisor.check.paths.select_locks`: locks by
    name or content, inputs for the locks beside them; none: the lock here). Relative
    paths, and ``opts.inputs``, are relative to ``cwd``; ``environ`` expands the inputs'
    variables. Raises :class:`InputError` (or :class:`~advisor.check.paths.NotALock`) for a
    path or lock that cannot be checked; findings are values, never raised."""
    run = _Run(opts=opts, sources=sources, environ=environ, cwd=cwd, now=now)
    selection = select_locks(paths, cwd=cwd)
    findings: list[Finding] = []
    checked: list[str] = []
    fixed: list[str] = []
    for given in selection.locks:
        lock = given.path if given.path.is_absolute() else cwd / given.path
        shown = _display(lock, cwd)
        if not lock.is_file():
            raise InputError(f"{shown}: no such lock file")
        found = _check_lock(lock, shown, given.kind, run)
        if opts.fix and found and all(f.id == "lock-stale" for f in found):
            sources.relock(_relock_plan(lock, given.kind, run))
            fixed.append(shown)
            found = _check_lock(lock, shown, given.kind, run)
        findings.extend(found)
        checked.append(shown)
    return CheckReport(
        findings=tuple(findings),
        checked=tuple(checked),
        fixed=tuple(fixed),
        lockless=selection.lockless,
    )


def _display(path: Path, cwd: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), cwd.resolve())).as_posix()
    except ValueError:
        return path.as_posix()


def _check_lock(lock: Path, shown: str, kind: LockKind, run: _Run) -> list[Finding]:
    from advisor.lockfile.pylock import InvalidLockToml

    try:
        if kind is LockKind.PYLOCK:
            return _check_pylock(lock, shown, run)
        return _check_requirements_lock(lock, shown, run)
    except InvalidLockToml as exc:
        raise InputError(f"{shown}: not valid TOML: {exc.reason}") from exc


def _relock_plan(lock: Path, kind: LockKind, run: _Run) -> RelockPlan:
    """A pylock is made again from what it records; a requirements lock from what
    :func:`advisor.request.lock_inputs` says (the rule ``fix`` follows too)."""
    if kind is LockKind.PYLOCK:
        return RelockPlan(lock=lock, kind=kind)
    from advisor.request import lock_inputs

    files, index = lock_inputs(lock, run.opts.inputs, cwd=run.cwd, environ=run.environ)
    return RelockPlan(lock=lock, kind=kind, inputs=tuple(files), index=index)


def _config(lock_dir: Path) -> AdvisorConfig:
    """The lock's project configuration: its policy and its named environments."""
    from advisor.config import load_config

    return load_config(lock_dir)


def _check_pylock(path: Path, shown: str, run: _Run) -> list[Finding]:
    from advisor.lockfile.pylock import read_pylock

    locked = read_pylock(path)
    record = locked.record
    lock_dir = path.resolve().parent
    opts = run.opts
    findings = _freshness(shown, record, lock_dir, run) if opts.wants("freshness") else []
    if opts.wants("hashes"):
        findings += check_hashes(path=shown, files=_hashed(locked.packages))
    config = _config(lock_dir)
    allowed = config.policy.allowed_indexes
    if allowed is None:
        allowed = record.index.indexes if record.index is not None else ()
    if allowed and opts.wants("indexes"):
        findings += check_indexes(
            path=shown,
            package_indexes={p.name: p.index for p in locked.packages},
            allowed=allowed,
        )
    pins: dict[str, Version] = {p.name: p.version for p in locked.packages if p.version}
    if opts.wants("advisories"):
        findings += _security(shown, pins, config.policy, run)
    if opts.wants("prescriptions"):
        findings += _prescriptions(shown, pins, record, run)
    if opts.online:
        findings += _yanked(shown, pins, record, run)
    if opts.wants("environments") and config.environments:
        targets = run.sources.targets(config, sorted(config.environments))
        findings += check_environments(
            path=shown,
            lock_environments=locked.environments,
            required=[t.lock_marker() for t in targets],
        )
    return findings


def _hashed(packages: Sequence[LockedPackage]) -> dict[str, list[tuple[str, bool]]]:
    hashed: dict[str, list[tuple[str, bool]]] = {}
    for pkg in packages:
        hashed.setdefault(pkg.name, []).extend(pkg.hashed_files)
    return hashed


def _freshness(shown: str, record: LockRecord, lock_dir: Path, run: _Run) -> list[Finding]:
    """The lock's recorded input digest against its inputs as they are now: the digest
    ``advisor lock`` records (the request plus the record's digest fields)."""
    from advisor.lockfile.record import InputsRecord
    from advisor.request import load_request, normalize_requirement, request_digest

    inputs = record.inputs or InputsRecord()
    files = [lock_dir / f for f in inputs.files]
    if not files:
        return check_freshness(
            path=shown, recorded_digest=None, current_digest="", recorded=(), current=(), inputs=()
        )
    missing = [f for f in files if not f.exists()]
    if missing:
        raise InputError(f"{shown}: the lock's input {missing[0]} no longer exists")
    request = load_request(
        files,
        extras=inputs.extras,
        groups=inputs.groups,
        constraints=[lock_dir / c for c in inputs.constraints],
        overrides=[lock_dir / o for o in inputs.overrides],
        environ=run.environ,
        cwd=lock_dir,
    )
    current = sorted({normalize_requirement(r.requirement) for r in request.requirements})
    return check_freshness(
        path=shown,
        recorded_digest=record.input_digest,
        current_digest=request_digest(request, extra=record.digest_fields()),
        recorded=inputs.requirements,
        current=current,
        inputs=[f.name for f in files],
    )


def _prescriptions(
    shown: str, pins: Mapping[str, Version], record: LockRecord, run: _Run
) -> list[Finding]:
    """No curated rule that rejects the stack matches, on any of the lock's targets (the
    host when none is recorded, or none can be rebuilt here)."""
    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.rules import evaluate_stack

    rules = {r.id: r for r in run.sources.prescriptions(sorted(pins))}
    if not rules:
        return []
    host = run.sources.host()
    targets = []
    for recorded in record.targets or ():
        try:
            targets.append(
                RuntimeEnvironment.for_target(
                    host=host,
                    name=recorded.name,
                    python=recorded.python_version,
                    platform=recorded.platform,
                    implementation=recorded.implementation,
                )
            )
        except AdvisorError:
            continue
    findings: list[Finding] = []
    seen: set[str] = set()
    recommendation = "latest" if record.recommendation is None else record.recommendation
    for target in targets or [host]:
        hits = evaluate_stack(rules.values(), pins, env=target, recommendation=recommendation)
        for hit in hits:
            if hit.kind != "reject-stack" or hit.rule.id in seen:
                continue
            seen.add(hit.rule.id)
            findings.append(
                Finding(
                    id="prescription",
                    path=shown,
                    package=hit.rule.match.package,
                    message=f"{hit.rule.id}: {hit.message}",
                    hint=f"change the pins the rule names (evidence: {hit.rule.link})",
                )
            )
    return findings


def _yanked(
    shown: str, pins: Mapping[str, Version], record: LockRecord, run: _Run
) -> list[Finding]:
    """``--online``: ask the lock's indexes whether a pinned version has been yanked since
    (every file of it yanked)."""
    from advisor.lockfile.record import IndexRecord

    findings: list[Finding] = []
    with run.sources.open_index(record.index or IndexRecord()) as index:
        for name in sorted(pins):
            version = str(pins[name])
            files = [f for f in index.find(name) if f.parsed and str(f.parsed.version) == version]
            if files and all(f.yanked is not None for f in files):
                reason = files[0].yanked or "no reason given"
                findings.append(
                    Finding(
                        id="yanked",
                        path=shown,
                        package=name,
                        message=f"{name}=={version} has been yanked ({reason})",
                        hint=f"re-lock with --upgrade-package {name}",
                    )
                )
    return findings


def _security(shown: str, pins: Mapping[str, Version], policy: Policy, run: _Run) -> list[Finding]:
    from advisor.knowledge.osv import fixed_versions, is_affected

    data = run.sources.advisories(sorted(pins))
    findings = check_advisory_data(
        path=shown, as_of=data.as_of, count=data.count, policy=policy, today=run.now.date()
    )
    findings += check_advisories(
        path=shown,
        pins=pins,
        advisories=data.by_package,
        is_affected=is_affected,
        fixed_versions=fixed_versions,
        policy=policy,
        now=run.now,
    )
    return findings


def _check_requirements_lock(path: Path, shown: str, run: _Run) -> list[Finding]:
    from packaging.markers import default_environment

    from advisor.lockfile.requirements import read_requirements_lock
    from advisor.request import load_request

    opts = run.opts
    pins: dict[str, Version] = {str(k): v for k, v in read_requirements_lock(path).items()}
    findings: list[Finding] = []
    inputs = list(opts.inputs) if opts.wants("freshness") else []
    if not inputs and opts.wants("freshness"):
        sibling = path.with_suffix(".in")
        if (run.cwd / sibling).exists():
            inputs = [sibling]
    if inputs:
        # the lock and --inputs are both as the user wrote them: relative to the current
        # folder (pre-commit passes sub/requirements.txt from the repository's root)
        request = load_request(inputs, environ=run.environ, cwd=run.cwd)
        env = {k: str(v) for k, v in default_environment().items()}
        env["extra"] = ""
        reqs = [
            (line.origin, line.requirement)
            for line in request.requirements
            if line.requirement.marker is None or line.requirement.marker.evaluate(env)
        ]
        findings += check_requirements_satisfied(path=shown, pins=pins, requirements=reqs)
    if opts.wants("hashes"):
        findings += check_hashes(path=shown, files=_requirements_hashed(path))
    policy = _config(path.resolve().parent).policy
    if opts.wants("advisories"):
        findings += _security(shown, pins, policy, run)
    return findings


def _requirements_hashed(path: Path) -> dict[str, list[tuple[str, bool]]]:
    """Per package of a requirements lock: (its pin line, whether a ``--hash`` follows)."""
    hashed: dict[str, list[tuple[str, bool]]] = {}
    current: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "--")) and "==" in stripped:
            current = stripped.split("==", 1)[0].strip().lower()
            hashed.setdefault(current, []).append((stripped.split(" ")[0], "--hash" in line))
        elif current and stripped.startswith("--hash"):
            entries = hashed[current]
            entries[-1] = (entries[-1][0], True)
    return hashed
