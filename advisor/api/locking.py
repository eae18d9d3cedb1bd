"""Resolve and lock: inputs → targets → index session → resolution → lockfile.

The CLI (and later the pre-commit hook, the image pipeline and the server) call only this
module. It is the one place that reads the process environment and the clock, and passes
them down as values.
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

    from packaging.version import Version

    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.index.fetch import Fetcher
    from advisor.models import Resolution
    from advisor.request import AdviceRequest, RequirementLine

__all__ = [
    "IndexConfig",
    "LockOptions",
    "LockOutcome",
    "ResolveOptions",
    "build_targets",
    "default_cache_dir",
    "lock",
    "resolve_request",
]

from advisor.api.context import (
    IndexConfig,
    ResolveOptions,
    build_targets,
    default_cache_dir,
    index_config,
    make_planner,
    open_session,
    pip_constraints,
    target_table,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOptions:
    output: Path | None = None  # None: next to the first input; Path("-"): stdout
    format: str = "pylock"  # "pylock" | "requirements"
    dry_run: bool = False
    command: str = "advisor lock"
    #: requirements format: the index options (pip-compile style); an image context that
    #: installs from its vendored wheels/ leaves them out (the build cannot reach them)
    index_lines: bool = True


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


def _previous_pins(existing: Path | None) -> dict[NormalizedName, Version]:
    """The pins of the lock being replaced (``{}`` when there is none)."""
    if existing is None or not existing.is_file():
        return {}
    from advisor.lockfile.pylock import read_pylock
    from advisor.lockfile.requirements import read_requirements_lock

    if existing.name.endswith(".toml"):
        return dict(read_pylock(existing).pins)
    return dict(read_requirements_lock(existing))


def _preferences(
    opts: ResolveOptions, previous: Mapping[NormalizedName, Version]
) -> dict[NormalizedName, Version]:
    """Re-locking keeps the previous pins, except under --upgrade / --upgrade-package."""
    if opts.upgrade:
        return {}
    moving = {canonicalize_name(n) for n in opts.upgrade_packages}
    return {k: v for k, v in previous.items() if k not in moving}


def resolve_request(
    request: AdviceRequest,
    *,
    opts: ResolveOptions,
    index: IndexConfig,
    pip: Any,
    targets: Sequence[RuntimeEnvironment],
    environ: Mapping[str, str],
    preferences: Mapping[NormalizedName, Version],
    events: ProgressEvents = SILENT,
) -> tuple[Resolution, tuple[str, ...], int]:
    """Resolve for every target and merge, reporting progress to ``events``. Returns
    (resolution, warnings, requests made)."""
    from advisor.resolution.resolve import TargetResult, merge, resolve

    session = open_session(opts, index, pip, environ, events=events)
    try:
        planner = make_planner(request, opts=opts, session=session)
        results: list[TargetResult] = []
        warnings: list[str] = []
        prefs = dict(preferences)
        for target in targets:
            provider = planner.provider(target, preferences=prefs)
            provider.warm(planner.root_names)
            label = planner.label(target, targets)
            res = resolve(provider, planner.roots, target=label, events=session.events)
            results.append(TargetResult(marker=target.lock_marker(), resolution=res))
            warnings.extend(provider.warnings)
            # later targets prefer the pins of earlier ones, so one lock converges
            for p in res.pins:
                prefs.setdefault(p.name, p.version)
        return (
            with_hashes(merge(results), session.fetcher),
            tuple(dict.fromkeys(warnings)),
            session.finder.requests,
        )
    except BaseException:  # an interrupt or an error: stop running builds now
        session.cancel()
        raise
    finally:
        session.close()


def with_hashes(resolution: Resolution, fetcher: Fetcher) -> Resolution:
    """Every locked file with a sha256 (folders and direct URLs list none)."""
    from advisor.index.hashes import ensure_hash

    pins = []
    for pin in resolution.pins:
        files = tuple(ensure_hash(f, fetcher=fetcher) for f in pin.files)
        pins.append(pin if files == pin.files else dataclasses.replace(pin, files=files))
    return dataclasses.replace(resolution, pins=tuple(pins))


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """A lock or advise run before resolving: parsed inputs, targets, indexes, output path.

    ``request`` is what the inputs ask (the lock's digest covers it); ``resolvable`` is what
    is resolved: the same plus the constraint files of pip's configuration, whose
    requirements are ``pip_constraints`` (recorded in the lock by content).
    """

    inputs: tuple[Path, ...]
    request: AdviceRequest
    resolvable: AdviceRequest
    pip_constraints: tuple[RequirementLine, ...]
    config: AdvisorConfig
    targets: tuple[RuntimeEnvironment, ...]
    index: IndexConfig
    pip: Any
    output: Path
    previous: Mapping[NormalizedName, Version]
    environ: Mapping[str, str]
    cwd: Path


def prepare(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Prepared:
    """Read the inputs and configuration; decide targets, indexes and where the lock goes."""
    from advisor.config import load_config
    from advisor.environment import RuntimeEnvironment
    from advisor.index.settings import load_pip_settings
    from advisor.request import load_request

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    if not inputs:
        raise InputError("no input given: name a requirements file or a pyproject.toml")

    def read(constraints: Sequence[Path]) -> AdviceRequest:
        return load_request(
            list(inputs),
            extras=opts.extras,
            groups=opts.groups,
            constraints=constraints,
            overrides=opts.overrides,
            environ=environ,
            cwd=cwd,
        )

    request = read(opts.constraints)
    settings = load_pip_settings(environ=environ, cwd=cwd)
    configured = pip_constraints(settings, environ=environ, cwd=cwd)
    # pip applies its configured constraint files like -c files on its command line (their
    # options included); read together, one reader merges and checks them as pip would
    resolvable = (
        read([*opts.constraints, *(Path(p) for p in settings.constraints)])
        if settings.constraints
        else request
    )
    config = load_config(Path(inputs[0]).resolve().parent)
    targets = build_targets(opts, config, RuntimeEnvironment.detect())
    index, pip = index_config(opts, resolvable, config, environ, cwd, pip=settings)
    if not index.indexes and not index.find_links:
        raise InputError("no index to resolve from: --no-index is set and no --find-links given")
    output = out.output
    if output is None:
        name = "pylock.toml" if out.format == "pylock" else "requirements.txt"
        output = Path(inputs[0]).resolve().parent / name
    existing = opts.preferences_from or (output if str(output) != "-" else None)
    return Prepared(
        inputs=tuple(inputs),
        request=request,
        resolvable=resolvable,
        pip_constraints=configured,
        config=config,
        targets=tuple(targets),
        index=index,
        pip=pip,
        output=output,
        previous=_previous_pins(existing),
        environ=environ,
        cwd=cwd,
    )


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
    prep = prepare(inputs, opts=opts, out=out, environ=environ, cwd=cwd)
    if opts.recommendation != "latest":
        from advisor.api.advising import AdviseOptions, run_advice

        outcome = run_advice(prep, opts=opts, advise=AdviseOptions(), events=events)
        return finish(
            prep,
            outcome.resolution,
            opts=opts,
            out=out,
            warnings=outcome.warnings,
            requests=outcome.requests,
            tool=outcome.tool,
        )
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
    return finish(prep, resolution, opts=opts, out=out, warnings=warnings, requests=requests)


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
