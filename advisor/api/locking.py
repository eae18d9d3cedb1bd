"""The jobs that write a lock: ``lock`` and ``advise``. Inputs → the stack → lockfile.

Part of the composition root: the CLI (and the pre-commit hook, the image pipeline and the
server) call these. Both jobs run one private step, :func:`_lock_run`: the stack to lock is
chosen once, by :func:`choose_stack` (``latest`` resolves as pip does,
:mod:`advisor.api.resolving`; any other type, and every ``advise``, runs the advice search of
:mod:`advisor.api.advising`), then :func:`finish` renders the lock with its record and writes
it. The inputs are read first (:func:`advisor.api.inputs.prepare`). This module also reads a
lock's record back (:func:`recorded_request`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName, canonicalize_name

from advisor.errors import InputError
from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from packaging.version import Version

    from advisor.api.advising import AdviseOptions, AdviseOutcome
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.models import Resolution
    from advisor.request import AdviceRequest, RequirementLine
    from advisor.scoring.advice import Advice

__all__ = [
    "AdvisedLock",
    "IndexConfig",
    "LockOptions",
    "LockOutcome",
    "LockedStack",
    "Prepared",
    "ResolveOptions",
    "advise",
    "build_targets",
    "choose_stack",
    "default_cache_dir",
    "finish",
    "lock",
    "prepare",
    "resolve_request",
]

from advisor.api.context import (
    IndexConfig,
    ResolveOptions,
    build_targets,
    default_cache_dir,
    target_table,
)
from advisor.api.inputs import LockOptions, Prepared, prepare
from advisor.api.resolving import resolve_request


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOutcome:
    resolution: Resolution
    text: str
    path: Path | None
    targets: tuple[RuntimeEnvironment, ...]
    digest: str
    warnings: tuple[str, ...] = ()
    changed: tuple[tuple[str, str | None, str | None], ...] = ()  # (name, old, new)
    requests: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class AdvisedLock:
    """What ``advise`` wrote (``lock``) and found (``advices``: one per target)."""

    lock: LockOutcome
    advices: tuple[Advice, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedStack:
    """The stack a lock records: pip's choice (``advice`` is ``None``) or the best stacks the
    advice search found, one per target, merged (``advice`` holds its report)."""

    resolution: Resolution
    warnings: tuple[str, ...] = ()
    requests: int = 0
    advice: AdviseOutcome | None = None

    @property
    def tool(self) -> Mapping[str, Any] | None:
        """What the lock's ``[tool.advisor]`` records about the advice (``None``: no advice)."""
        return None if self.advice is None else self.advice.tool


def choose_stack(
    prep: Prepared,
    *,
    opts: ResolveOptions,
    advice: AdviseOptions,
    always_advise: bool = False,
    now: datetime | None = None,
    events: ProgressEvents = SILENT,
) -> LockedStack:
    """The stack to lock for ``opts.recommendation``: ``latest`` resolves as pip does
    (re-locking keeps the previous pins, except under ``--upgrade``/``--upgrade-package``);
    any other type, or any type with ``always_advise`` (``advise`` reports on ``latest``
    too), is the advice search bounded by ``advice``. Progress reports to ``events``."""
    if opts.recommendation == "latest" and not always_advise:
        resolution, warnings, requests = resolve_request(
            prep.resolvable,
            opts=opts,
            index=prep.index,
            pip=prep.pip,
            targets=prep.targets,
            environ=prep.environ,
            preferences=_preferences(opts, prep.previous),
            events=events,
        )
        return LockedStack(resolution=resolution, warnings=warnings, requests=requests)
    from advisor.api.advising import run_advice

    outcome = run_advice(prep, opts=opts, advise=advice, now=now, events=events)
    return LockedStack(
        resolution=outcome.resolution,
        warnings=outcome.warnings,
        requests=outcome.requests,
        advice=outcome,
    )


def _preferences(
    opts: ResolveOptions, previous: Mapping[NormalizedName, Version]
) -> dict[NormalizedName, Version]:
    """Re-locking keeps the previous pins, except under --upgrade / --upgrade-package."""
    if opts.upgrade:
        return {}
    moving = {canonicalize_name(n) for n in opts.upgrade_packages}
    return {k: v for k, v in previous.items() if k not in moving}


def lock(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> LockOutcome:
    """Resolve ``inputs`` for the target environment(s) and render (and write) a lock.

    ``latest`` resolves as pip does; any other recommendation type locks the best stack
    the advice search finds (``advisor advise`` without the report). Long steps report to
    ``events`` (default: nowhere).
    """
    from advisor.api.advising import AdviseOptions

    prep = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
    written, _ = _lock_run(prep, opts=opts, out=out, advice=AdviseOptions(), events=events)
    return written


def advise(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    advice: AdviseOptions,
    recommendation: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> AdvisedLock:
    """Search the best stack of ``recommendation`` for ``inputs``, write its lock (as
    :func:`lock` writes one) and return it with the advice of every target.

    ``recommendation`` replaces ``opts.recommendation``; ``None`` takes the project's
    ``[tool.advisor] recommendation``, else ``stable``. Every resolution, build and retry
    reports to ``events``. Raises :class:`~advisor.errors.NoViableStack` when a target has no
    acceptable stack (nothing is written then).
    """
    prep = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
    chosen = recommendation or prep.config.recommendation or "stable"
    opts = dataclasses.replace(opts, recommendation=chosen)
    written, stack = _lock_run(
        prep, opts=opts, out=out, advice=advice, always_advise=True, events=events
    )
    advices = stack.advice.advices if stack.advice is not None else ()
    return AdvisedLock(lock=written, advices=advices)


def _lock_run(
    prep: Prepared,
    *,
    opts: ResolveOptions,
    out: LockOptions,
    advice: AdviseOptions,
    always_advise: bool = False,
    events: ProgressEvents,
) -> tuple[LockOutcome, LockedStack]:
    """The step ``lock`` and ``advise`` share: choose the stack, then render (and write) its
    lock with the advice's record."""
    stack = choose_stack(prep, opts=opts, advice=advice, always_advise=always_advise, events=events)
    written = finish(
        prep,
        stack.resolution,
        opts=opts,
        out=out,
        warnings=stack.warnings,
        requests=stack.requests,
        tool=stack.tool,
    )
    return written, stack


def finish(
    prep: Prepared,
    resolution: Resolution,
    *,
    opts: ResolveOptions,
    out: LockOptions,
    warnings: tuple[str, ...] = (),
    requests: int = 0,
    tool: Mapping[str, Any] | None = None,
) -> LockOutcome:
    """Render the lock of ``resolution`` (with the digest of the inputs) and write it."""
    from advisor import __version__
    from advisor.lockfile.pylock import LockMeta, render_pylock
    from advisor.lockfile.requirements import render_requirements
    from advisor.lockfile.write import write_output

    request, targets, output, previous = prep.request, prep.targets, prep.output, prep.previous
    record = {
        "index": prep.index.public(),
        "targets": [target_table(t) for t in targets],
        "recommendation": opts.recommendation,
        "options": options_record(opts),
    }
    lock_dir = Path(
        os.path.abspath(output if str(output) != "-" else prep.cwd / "pylock.toml")
    ).parent
    inputs = inputs_record(
        prep.inputs, opts, request, lock_dir=lock_dir, pip_constraints=prep.pip_constraints
    )
    digest = lock_digest(request, {**record, "inputs": inputs})
    if out.format == "pylock":
        text = render_pylock(
            resolution,
            LockMeta(
                environments=tuple(t.lock_marker() for t in targets),
                requires_python=request.requires_python,
                input_digest=digest,
                tool={
                    "advisor-version": __version__,
                    **record,
                    "inputs": inputs,
                    **(tool or {}),
                },
            ),
        )
    elif out.format == "requirements":
        header = f"{out.command}\ninput-digest: {digest}"
        if inputs.get("pip-constraints"):
            header += "\npip-constraints: " + ", ".join(inputs["pip-constraints"])
        text = render_requirements(resolution, header=header)
        if out.index_lines:
            text = _with_index_lines(text, prep.index)
    else:
        raise InputError(f"unknown lock format {out.format!r}: use pylock or requirements")
    changed = tuple(
        (str(p.name), str(previous[p.name]) if p.name in previous else None, str(p.version))
        for p in resolution.pins
        if previous and previous.get(p.name) != p.version
    )
    path: Path | None = None
    if not out.dry_run and str(output) != "-":
        write_output(output, text)
        path = output
    return LockOutcome(
        resolution=resolution,
        text=text,
        path=path,
        targets=targets,
        digest=digest,
        warnings=warnings,
        changed=changed,
        requests=requests,
    )


def _with_index_lines(text: str, index: IndexConfig) -> str:
    """Index options (without credentials) after the header comment of a requirements lock,
    as pip-compile writes them: installing and re-locking it then use the same indexes."""
    public = index.public()
    lines = []
    for i, url in enumerate(public["indexes"]):
        lines.append(f"{'--index-url' if i == 0 else '--extra-index-url'} {url}")
    if not public["indexes"]:
        lines.append("--no-index")
    lines.extend(f"--find-links {url}" for url in public["find-links"])
    head, body = [], text.splitlines(keepends=True)
    while body and body[0].startswith("#"):
        head.append(body.pop(0))
    return "".join(head) + "\n".join(lines) + "\n\n" + "".join(body)


def recorded_request(lock: Path) -> tuple[list[Path], ResolveOptions]:
    """The inputs and options a pylock.toml records in ``[tool.advisor]``, to make it again.

    The recorded index configuration is used (without credentials: those come from pip's
    configuration and ``.netrc`` as usual). Raises :class:`InputError` when the lock records
    no inputs (it was not written by ``advisor lock``).
    """
    import tomllib

    try:
        raw = tomllib.loads(lock.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{lock}: cannot read the lock: {exc}") from exc
    tool: dict[str, Any] = raw.get("tool", {}).get("advisor", {})
    inputs: dict[str, Any] = tool.get("inputs", {})
    lock_dir = lock.resolve().parent
    files = [lock_dir / f for f in inputs.get("files", [])]
    if not files:
        raise InputError(f"{lock}: the lock records no inputs; re-lock it with advisor lock")
    options: dict[str, Any] = tool.get("options", {})
    targets: list[dict[str, Any]] = tool.get("targets", [])
    single = targets[0] if len(targets) == 1 else {}
    envs = tuple(t["name"] for t in targets) if len(targets) > 1 else ()
    index: dict[str, Any] = tool.get("index", {})
    indexes = list(index.get("indexes", []))
    opts = ResolveOptions(
        index_url=indexes[0] if indexes else None,
        extra_index_urls=tuple(indexes[1:]),
        find_links=tuple(index.get("find-links", [])),
        no_index=not indexes,
        index_strategy=index.get("strategy"),
        extras=tuple(inputs.get("extras", ())),
        groups=tuple(inputs.get("groups", ())),
        constraints=tuple(lock_dir / c for c in inputs.get("constraints", [])),
        overrides=tuple(lock_dir / o for o in inputs.get("overrides", [])),
        python=single.get("python_version") if single.get("name") != "host" else None,
        platform=single.get("platform") if single.get("name") != "host" else None,
        cuda=single.get("cuda_version"),
        envs=envs,
        pre=bool(options.get("pre", False)),
        pre_packages=tuple(options.get("pre-packages", ())),
        only_binary=tuple(options.get("only-binary", ())),
        no_build=bool(options.get("no-build", False)),
        recommendation=str(tool.get("recommendation", "latest")),
    )
    return files, opts


def options_record(opts: ResolveOptions) -> dict[str, Any]:
    """The resolution options that shape a lock, as recorded in it (no empty values, so the
    record survives a TOML round trip unchanged and ``check`` can recompute the digest)."""
    record: dict[str, Any] = {
        "pre": opts.pre,
        "pre-packages": sorted(opts.pre_packages),
        "only-binary": sorted(opts.only_binary),
        "no-build": opts.no_build,
        "exclude-newer": opts.exclude_newer.isoformat() if opts.exclude_newer else "",
    }
    return {k: v for k, v in record.items() if v not in ("", [], None)}


def lock_digest(request: AdviceRequest, record: Mapping[str, Any]) -> str:
    """The input digest of a lock: the normalised request plus the recorded index
    configuration, targets, recommendation and options (see ``options_record``), and the
    recorded requirements of pip's configured constraint files when there are any (a lock
    made without them keeps the digest it always had)."""
    from advisor.request import request_digest

    extra = {k: record.get(k) for k in ("index", "targets", "recommendation", "options")}
    configured = record.get("inputs", {}).get("pip-constraints")
    if configured:
        extra["pip-constraints"] = sorted(configured)
    return request_digest(request, extra=extra)


def inputs_record(
    inputs: Sequence[Path],
    opts: ResolveOptions,
    request: AdviceRequest,
    *,
    lock_dir: Path,
    pip_constraints: Sequence[RequirementLine] = (),
) -> dict[str, Any]:
    """What the lock was made from, paths relative to the lock's folder: lets ``check``
    re-read the inputs, and name the requirements that changed since. The constraints of
    pip's configuration are recorded by content (``pip-constraints``, normalised, sorted):
    their files belong to the machine, and ``check`` must not need them."""
    from advisor.request import normalize_requirement

    def rel(path: Path) -> str:
        return Path(os.path.relpath(Path(path).resolve(), lock_dir)).as_posix()

    record: dict[str, Any] = {
        "files": [rel(p) for p in inputs],
        "extras": list(opts.extras),
        "groups": list(opts.groups),
        "constraints": [rel(p) for p in opts.constraints],
        "overrides": [rel(p) for p in opts.overrides],
        "requirements": sorted(
            {normalize_requirement(r.requirement) for r in request.requirements}
        ),
        "pip-constraints": sorted({normalize_requirement(c.requirement) for c in pip_constraints}),
    }
    return {k: v for k, v in record.items() if v}
