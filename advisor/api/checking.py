"""``advisor check``: read locks and what they were made from, run the checks, report.

Offline by default: it reads the lock, its inputs and the local knowledge store (or an OSV
dump given with ``--osv``), never the network; ``online=True`` adds the yanked check against
the index. ``fix=True`` re-locks a lock that is merely stale (and re-checks it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.check import (
    Finding,
    check_advisories,
    check_advisory_data,
    check_environments,
    check_freshness,
    check_hashes,
    check_indexes,
    check_requirements_satisfied,
)
from advisor.errors import AdvisorError, InputError
from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.version import Version

    from advisor.api.lock_paths import LockKind, LockPath
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import Advisory
    from advisor.lockfile.record import LockRecord
    from advisor.policy import Policy

__all__ = ["CheckOptions", "CheckReport", "run_check"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckOptions:
    knowledge: str | None = None  # store URL; None: ADVISOR_KNOWLEDGE or the default store
    osv: Path | None = None  # an OSV dump (zip or folder) instead of the store's advisories
    online: bool = False
    fix: bool = False
    inputs: tuple[Path, ...] = ()  # for requirements.txt locks: what they were made from
    only: frozenset[str] = frozenset()  # freshness, hashes, indexes, advisories, prescriptions,
    # environments

    def wants(self, group: str) -> bool:
        return not self.only or group in self.only


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckReport:
    findings: tuple[Finding, ...]
    checked: tuple[str, ...]
    fixed: tuple[str, ...] = ()


def _display(path: Path, cwd: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), cwd.resolve())).as_posix()
    except ValueError:
        return path.as_posix()


def _policy(lock_dir: Path) -> tuple[Policy, tuple[str, ...]]:
    """The policy and the configured environments' names, from the lock's project config."""
    from advisor.config import load_config

    config = load_config(lock_dir)
    return config.policy, tuple(sorted(config.environments))


@dataclass(slots=True)
class _Advisories:
    by_package: dict[str, list[Advisory]]
    count: int
    as_of: date | None  # how current the data is: its newest record's `modified` day


def _advisories(
    names: Sequence[str], opts: CheckOptions, environ: Mapping[str, str]
) -> _Advisories:
    if opts.osv is not None:
        from advisor.knowledge.sources.osv_import import load_osv

        stamp = date.fromtimestamp(opts.osv.stat().st_mtime)
        report = load_osv(opts.osv, date=stamp.isoformat())
        wanted = set(names)
        by_package: dict[str, list[Advisory]] = {}
        for adv in report.advisories:
            for package in sorted({a.package for a in adv.affected} & wanted):
                by_package.setdefault(package, []).append(adv)
        # a dump copied or downloaded today may hold old data: its records say how old
        return _Advisories(by_package, len(report.advisories), report.newest_modified or stamp)
    from advisor.api.knowledge import advisory_data
    from advisor.knowledge.store import default_store_url, open_store

    url = opts.knowledge or default_store_url(environ)
    with open_store(url) as store:
        found = store.for_packages(names, kinds=["advisory"])
        count, current = advisory_data(store)
    from advisor.knowledge.schema import Advisory

    advisories = {k: [a for a in v if isinstance(a, Advisory)] for k, v in found.items()}
    return _Advisories(advisories, count, current)


def _check_pylock(
    path: Path,
    shown: str,
    opts: CheckOptions,
    environ: Mapping[str, str],
    now: datetime,
    events: ProgressEvents = SILENT,
) -> list[Finding]:
    from advisor.api.locking import lock_digest
    from advisor.lockfile.pylock import read_pylock
    from advisor.lockfile.record import InputsRecord
    from advisor.request import load_request, normalize_requirement

    locked = read_pylock(path)
    record = locked.record
    findings: list[Finding] = []
    lock_dir = path.resolve().parent
    inputs = record.inputs or InputsRecord()
    files = [lock_dir / f for f in inputs.files]
    if not opts.wants("freshness"):
        pass
    elif files:
        missing = [f for f in files if not f.exists()]
        if missing:
            raise InputError(f"{shown}: the lock's input {missing[0]} no longer exists")
        request = load_request(
            files,
            extras=inputs.extras,
            groups=inputs.groups,
            constraints=[lock_dir / c for c in inputs.constraints],
            overrides=[lock_dir / o for o in inputs.overrides],
            environ=environ,
            cwd=lock_dir,
        )
        current = sorted({normalize_requirement(r.requirement) for r in request.requirements})
        findings += check_freshness(
            path=shown,
            recorded_digest=record.input_digest,
            current_digest=lock_digest(request, record),
            recorded=inputs.requirements,
            current=current,
            inputs=[f.name for f in files],
        )
    else:
        findings += check_freshness(
            path=shown, recorded_digest=None, current_digest="", recorded=(), current=(), inputs=()
        )
    hashed: dict[str, list[tuple[str, bool]]] = {}
    for pkg in locked.packages:
        hashed.setdefault(pkg.name, []).extend(pkg.hashed_files)
    if opts.wants("hashes"):
        findings += check_hashes(path=shown, files=hashed)
    policy, env_names = _policy(lock_dir)
    allowed = policy.allowed_indexes
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
        findings += _security(shown, pins, opts, policy, environ, now)
    if opts.wants("prescriptions"):
        findings += _prescriptions(shown, pins, record, opts, environ)
    if opts.online:
        findings += _yanked(shown, pins, record, environ, events)
    if opts.wants("environments"):
        findings += _environments(shown, locked.environments, env_names, lock_dir)
    return findings


def _prescriptions(
    shown: str,
    pins: Mapping[str, Version],
    record: LockRecord,
    opts: CheckOptions,
    environ: Mapping[str, str],
) -> list[Finding]:
    """No curated rule that rejects the stack matches, on any of the lock's targets.

    Rules come from the local store, into which the curated ``knowledge/`` folder of this
    checkout is synced first (free when unchanged)."""
    from advisor.api.bundled import bundled_knowledge_dir
    from advisor.api.knowledge import sync
    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.rules import evaluate_stack
    from advisor.knowledge.schema import Prescription
    from advisor.knowledge.store import default_store_url, open_store

    url = opts.knowledge or default_store_url(environ)
    folder = bundled_knowledge_dir()
    if folder is not None:
        sync(folder, store_url=url, source_prefix="advisor-knowledge")
    with open_store(url) as store:
        found = store.for_packages(sorted(pins), kinds=["prescription"])
    rules = {r.id: r for facts in found.values() for r in facts if isinstance(r, Prescription)}
    if not rules:
        return []
    host = RuntimeEnvironment.detect()
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
    shown: str,
    pins: Mapping[str, Version],
    record: LockRecord,
    environ: Mapping[str, str],
    events: ProgressEvents,
) -> list[Finding]:
    """``--online``: ask the lock's indexes whether a pinned version has been yanked since."""
    from advisor.api.context import ResolveOptions, index_config, open_session
    from advisor.config import AdvisorConfig
    from advisor.lockfile.record import IndexRecord
    from advisor.request import AdviceRequest

    index = record.index or IndexRecord()
    opts = ResolveOptions(
        index_url=index.indexes[0] if index.indexes else None,
        extra_index_urls=index.indexes[1:],
        find_links=index.find_links,
        no_index=not index.indexes,
        refresh=True,
    )
    config, pip = index_config(
        opts, AdviceRequest(requirements=()), AdvisorConfig(), environ, Path.cwd()
    )
    session = open_session(opts, config, pip, environ, events=events)
    findings: list[Finding] = []
    try:
        for name in sorted(pins):
            version = str(pins[name])
            files = [
                f
                for f in session.finder.find(name)
                if f.parsed and str(f.parsed.version) == version
            ]
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
    finally:
        session.close()
    return findings


def _security(
    shown: str,
    pins: Mapping[str, Version],
    opts: CheckOptions,
    policy: Policy,
    environ: Mapping[str, str],
    now: datetime,
) -> list[Finding]:
    from advisor.knowledge.osv import fixed_versions, is_affected

    data = _advisories(sorted(pins), opts, environ)
    findings = check_advisory_data(
        path=shown, as_of=data.as_of, count=data.count, policy=policy, today=now.date()
    )
    findings += check_advisories(
        path=shown,
        pins=pins,
        advisories=data.by_package,
        is_affected=is_affected,
        fixed_versions=fixed_versions,
        policy=policy,
        now=now,
    )
    return findings


def _environments(
    shown: str, lock_envs: Sequence[str], env_names: Sequence[str], lock_dir: Path
) -> list[Finding]:
    if not env_names:
        return []
    from advisor.api.context import ResolveOptions, build_targets
    from advisor.config import load_config
    from advisor.environment import RuntimeEnvironment

    config = load_config(lock_dir)
    targets = build_targets(
        ResolveOptions(envs=tuple(env_names)), config, RuntimeEnvironment.detect()
    )
    return check_environments(
        path=shown, lock_environments=lock_envs, required=[t.lock_marker() for t in targets]
    )


def _check_requirements_lock(
    path: Path,
    shown: str,
    opts: CheckOptions,
    environ: Mapping[str, str],
    now: datetime,
    cwd: Path,
) -> list[Finding]:
    from packaging.markers import default_environment

    from advisor.lockfile.requirements import read_requirements_lock
    from advisor.request import load_request

    pins: dict[str, Version] = {str(k): v for k, v in read_requirements_lock(path).items()}
    findings: list[Finding] = []
    inputs = list(opts.inputs) if opts.wants("freshness") else []
    if not inputs and opts.wants("freshness"):
        sibling = path.with_suffix(".in")
        if (cwd / sibling).exists():
            inputs = [sibling]
    if inputs:
        # the lock and --inputs are both as the user wrote them: relative to the current
        # folder (pre-commit passes sub/requirements.txt from the repository's root)
        request = load_request(inputs, environ=environ, cwd=cwd)
        env = {k: str(v) for k, v in default_environment().items()}
        env["extra"] = ""
        reqs = [
            (line.origin, line.requirement)
            for line in request.requirements
            if line.requirement.marker is None or line.requirement.marker.evaluate(env)
        ]
        findings += check_requirements_satisfied(path=shown, pins=pins, requirements=reqs)
    text = path.read_text(encoding="utf-8")
    hashed: dict[str, list[tuple[str, bool]]] = {}
    current: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "--")) and "==" in stripped:
            current = stripped.split("==", 1)[0].strip().lower()
            hashed.setdefault(current, []).append((stripped.split(" ")[0], "--hash" in line))
        elif current and stripped.startswith("--hash"):
            entries = hashed[current]
            entries[-1] = (entries[-1][0], True)
    if opts.wants("hashes"):
        findings += check_hashes(path=shown, files=hashed)
    policy, _ = _policy(path.resolve().parent)
    if opts.wants("advisories"):
        findings += _security(shown, pins, opts, policy, environ, now)
    return findings


def run_check(
    locks: Sequence[Path | LockPath],
    *,
    opts: CheckOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    now: datetime | None = None,
    events: ProgressEvents = SILENT,
) -> CheckReport:
    """Check each lock (a pylock or a hashed requirements lock; a bare :class:`Path` is told
    by its name, else its content: :func:`~advisor.api.lock_paths.lock_kind`). Relative
    paths, and ``opts.inputs``, are relative to ``cwd`` (default: the current folder). The
    index queries of ``--online`` and the re-locks of ``--fix`` report progress to
    ``events``."""
    from advisor.api.lock_paths import LockPath, lock_kind

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    now = datetime.now(UTC) if now is None else now
    findings: list[Finding] = []
    checked: list[str] = []
    fixed: list[str] = []
    for given in locks:
        path = given.path if isinstance(given, LockPath) else given
        lock = path if path.is_absolute() else cwd / path
        shown = _display(lock, cwd)
        if not lock.is_file():
            raise InputError(f"{shown}: no such lock file")
        kind = given.kind if isinstance(given, LockPath) else lock_kind(lock)
        found = _check_lock(lock, shown, kind, opts, environ, now, cwd, events)
        if opts.fix and found and all(f.id == "lock-stale" for f in found):
            inputs = [i if i.is_absolute() else cwd / i for i in opts.inputs]
            _relock(lock, kind=kind, environ=environ, inputs=inputs, events=events)
            fixed.append(shown)
            found = _check_lock(lock, shown, kind, opts, environ, now, cwd, events)
        findings.extend(found)
        checked.append(shown)
    return CheckReport(findings=tuple(findings), checked=tuple(checked), fixed=tuple(fixed))


def _check_lock(
    lock: Path,
    shown: str,
    kind: LockKind,
    opts: CheckOptions,
    environ: Mapping[str, str],
    now: datetime,
    cwd: Path,
    events: ProgressEvents = SILENT,
) -> list[Finding]:
    from advisor.api.lock_paths import LockKind
    from advisor.lockfile.pylock import InvalidLockToml

    try:
        if kind is LockKind.PYLOCK:
            return _check_pylock(lock, shown, opts, environ, now, events)
        return _check_requirements_lock(lock, shown, opts, environ, now, cwd)
    except InvalidLockToml as exc:
        raise InputError(f"{shown}: not valid TOML: {exc.reason}") from exc


def _relock(
    lock: Path,
    *,
    kind: LockKind,
    environ: Mapping[str, str],
    inputs: Sequence[Path] = (),
    events: ProgressEvents = SILENT,
) -> None:
    """Re-lock a stale lock (``lock`` and ``inputs`` absolute): a pylock from the inputs,
    options and targets it records; a requirements lock from ``inputs`` (or the ``.in``
    beside it), keeping its other pins."""
    from advisor.api.context import ResolveOptions
    from advisor.api.lock_paths import LockKind
    from advisor.api.locking import LockOptions, recorded_request
    from advisor.api.locking import lock as run_lock
    from advisor.models import LockFormat

    if kind is LockKind.PYLOCK:
        files, opts = recorded_request(lock)
        fmt = LockFormat.PYLOCK
    else:
        from advisor.request import load_request

        files = list(inputs) or [lock.with_suffix(".in")]
        if not files[0].is_file():
            raise InputError(f"{lock}: no input to re-lock from (pass --inputs)")
        # the lock names its indexes (--index-url lines); re-lock against the same ones
        found = load_request([lock], environ=environ, cwd=lock.resolve().parent).index_options
        opts = ResolveOptions(
            index_url=found.index_url,
            extra_index_urls=found.extra_index_urls,
            find_links=found.find_links,
            no_index=found.no_index,
        )
        fmt = LockFormat.REQUIREMENTS
    run_lock(
        files,
        opts=opts,
        out=LockOptions(output=lock, format=fmt, command="advisor check --fix"),
        environ=environ,
        cwd=lock.resolve().parent,
        events=events,
    )
