"""The CLI's ``--server``: the lock, advise and check jobs answered by a team server.

Part of the composition root, wiring only; the server's half is
:mod:`advisor.api.server_jobs`. :func:`remote_lock`, :func:`remote_advise` and
:func:`remote_check` are called by the offline jobs (:func:`~advisor.api.locking.lock`,
:func:`~advisor.api.locking.advise`, :func:`~advisor.api.checking.run_check`) when a server
is named: they refuse the options only this machine can honour, gather the files
(:mod:`advisor.server.sending`), post them (:mod:`advisor.server.client`, through the index
client's Fetcher) and rebuild what the offline job returns (a :class:`RemoteLock` holds a
lock outcome's fields: this module cannot import the jobs that call it), writing the lock
atomically where the offline job would.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.api.remote_knowledge import TOKEN_ENV
from advisor.errors import InputError
from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.api.advising import AdviseOptions
    from advisor.api.context import ResolveOptions
    from advisor.api.inputs import LockOptions
    from advisor.check.run import CheckOptions, CheckReport
    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import Observation
    from advisor.models import Resolution
    from advisor.scoring.advice import Advice, PinAdvice
    from advisor.server.calls import LockCall

__all__ = [
    "TOKEN_ENV",
    "RemoteAdvice",
    "RemoteExplanation",
    "RemoteLock",
    "remote_advise",
    "remote_check",
    "remote_explain",
    "remote_lock",
    "upload_observations",
]

# ResolveOptions a call carries; any other one set differently from its default is refused
_SENT = frozenset(
    {"constraints", "overrides", "extras", "groups", "python", "platform", "implementation"}
    | {"cuda", "envs", "pre", "only_binary", "recommendation", "upgrade", "upgrade_packages"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteLock:
    """A server's lock: the fields of :class:`~advisor.api.locking.LockOutcome`."""

    resolution: Resolution
    text: str
    path: Path | None
    targets: tuple[RuntimeEnvironment, ...]
    digest: str
    warnings: tuple[str, ...] = ()
    changed: tuple[tuple[str, str | None, str | None], ...] = ()
    requests: int = 0

    def fields(self) -> dict[str, Any]:
        """The fields by name (shallow: the values themselves)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteAdvice:
    """A server's advice: its lock and one advice per target."""

    lock: RemoteLock
    advices: tuple[Advice, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteExplanation:
    """A server's explanation: the fields of :class:`~advisor.api.explaining.Explanation`."""

    name: str
    version: str
    paths: list[list[str]]
    pin: PinAdvice | None


def _post(
    server: str,
    path: str,
    call: object,
    *,
    environ: Mapping[str, str],
    events: ProgressEvents,
) -> dict[str, Any]:
    """``call`` posted to ``path`` of the server at ``server`` (a step on ``events``: a
    server's lock takes seconds), through a Fetcher with pip's network settings."""
    import msgspec

    from advisor.index.fetch import Fetcher
    from advisor.index.settings import load_pip_settings
    from advisor.server.client import AdvisorClient, ServerLink
    from advisor.urls import redact_url

    link = ServerLink.parse(server, token=environ.get(TOKEN_ENV) or None)
    pip = load_pip_settings(environ=environ, cwd=Path.cwd())
    # one attempt more is all a job gets: a retried POST would run a long job twice
    network = dataclasses.replace(pip.network_settings(), retries=1, timeout=600.0)
    step = f"asking {redact_url(link.url)}"
    events.working(step)
    try:
        with Fetcher(network, events=events) as fetcher:
            return AdvisorClient(link, fetcher).post(path, msgspec.to_builtins(call))
    finally:
        events.work_finished(step)


def _refuse_unsent(opts: ResolveOptions, advice: AdviseOptions | None) -> None:
    from advisor.api.context import ResolveOptions

    default = ResolveOptions()
    unsent = [
        f.name.replace("_", "-")
        for f in dataclasses.fields(ResolveOptions)
        if f.name not in _SENT and getattr(opts, f.name) != getattr(default, f.name)
    ]
    if advice is not None:
        plain = type(advice)()  # the defaults (advising is not imported: it imports us)
        unsent += [
            n.replace("_", "-")
            for n in (
                "knowledge",
                "knowledge_dirs",
                "osv",
                "baseline",
                "allow_sdist",
                "strict",
                "verify",
            )
            if getattr(advice, n) != getattr(plain, n)
        ]
    if unsent:
        raise InputError(
            f"with --server, the server decides {', '.join('--' + n for n in unsent)}"
            " (its indexes, cache and knowledge): leave them out, or run without --server"
        )


def _lock_call(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    cwd: Path,
    advice: AdviseOptions | None,
    recommendation: str | None,
) -> tuple[LockCall, Path | None]:
    from advisor.server.calls import LockCall, SearchSpec, TargetSpec
    from advisor.server.sending import lock_files, relative_name

    _refuse_unsent(opts, advice)
    paths = [p if p.is_absolute() else cwd / p for p in inputs]
    output = out.output
    if output is None:
        name = "pylock.toml" if out.format == "pylock" else "requirements.txt"
        output = paths[0].resolve().parent / name
    elif str(output) != "-" and not output.is_absolute():
        output = cwd / output
    to_file = str(output) != "-"
    root = output.parent if to_file else _root_for(paths, cwd)
    files, names, constraints, overrides = lock_files(
        paths,
        constraints=[p if p.is_absolute() else cwd / p for p in opts.constraints],
        overrides=[p if p.is_absolute() else cwd / p for p in opts.overrides],
        root=root,
        output=output if to_file else None,
    )
    search = SearchSpec()
    if advice is not None:
        search = SearchSpec(
            count=advice.count,
            budget=advice.budget,
            time_limit=advice.time_limit,
            seed=advice.seed,
        )
    call = LockCall(
        files=files,
        inputs=names,
        output=relative_name(output, root) if to_file else "-",
        format=str(out.format),
        constraints=constraints,
        overrides=overrides,
        target=TargetSpec(
            envs=opts.envs,
            python=opts.python,
            platform=opts.platform,
            implementation=opts.implementation,
            cuda=opts.cuda,
        ),
        recommendation=recommendation
        or (str(opts.recommendation) if str(opts.recommendation) != "latest" else None),
        extras=opts.extras,
        groups=opts.groups,
        pre=opts.pre,
        only_binary=opts.only_binary,
        upgrade=opts.upgrade,
        upgrade_packages=opts.upgrade_packages,
        command=out.command,
        search=search,
    )
    return call, (output if to_file and not out.dry_run else None)


def _root_for(paths: Sequence[Path], cwd: Path) -> Path:
    """The folder the files of a call are named from: the current folder (as offline), or,
    when a path lies outside it, the first path's folder."""
    try:
        for path in paths:
            path.resolve().relative_to(cwd.resolve())
    except ValueError:
        return paths[0].resolve().parent
    return cwd


def _outcome(answer: Mapping[str, Any], path: Path | None) -> RemoteLock:
    """The lock of a server's answer; the lock written to ``path`` (atomic,
    as the offline job writes it) when given."""
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    from advisor.environment import RuntimeEnvironment
    from advisor.lockfile.write import write_output
    from advisor.models import Pin, Resolution

    try:
        text = str(answer["lock"])
        pins = tuple(
            Pin(
                name=canonicalize_name(p["name"]),
                version=Version(p["version"]),
                marker=p["marker"],
                needs_build=bool(p["needs-build"]),
            )
            for p in answer["pins"]
        )
        targets = tuple(RuntimeEnvironment.from_dict(t) for t in answer["targets"])
        changed = tuple((str(n), o, v) for n, o, v in answer["changed"])
        outcome = RemoteLock(
            resolution=Resolution(pins=pins),
            text=text,
            path=path,
            targets=targets,
            digest=str(answer["digest"]),
            warnings=tuple(str(w) for w in answer["warnings"]),
            changed=changed,
            requests=int(answer["requests"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"the server's answer is not a lock: {exc!r}") from exc
    if path is not None:
        write_output(path, text)
    return outcome


def remote_lock(
    server: str,
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> RemoteLock:
    """:func:`~advisor.api.locking.lock` answered by the server at ``server``."""
    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    call, path = _lock_call(inputs, opts=opts, out=out, cwd=cwd, advice=None, recommendation=None)
    answer = _post(server, "/v1/lock", call, environ=environ, events=events)
    return _outcome(answer, path)


def remote_advise(
    server: str,
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    advice: AdviseOptions,
    recommendation: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> RemoteAdvice:
    """:func:`~advisor.api.locking.advise` answered by the server at ``server`` (``advice``:
    the search's bounds; where the knowledge comes from is the server's)."""
    from advisor.report.json import advice_from_dict

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    call, path = _lock_call(
        inputs,
        opts=opts,
        out=out,
        cwd=cwd,
        advice=advice,
        recommendation=recommendation,
    )
    answer = _post(server, "/v1/advise", call, environ=environ, events=events)
    try:
        advices = tuple(advice_from_dict(a) for a in answer["advices"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"the server's answer is not an advice: {exc!r}") from exc
    return RemoteAdvice(lock=_outcome(answer, path), advices=advices)


def remote_check(
    server: str,
    paths: Sequence[Path],
    *,
    opts: CheckOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> CheckReport:
    """:func:`~advisor.api.checking.run_check` answered by the server at ``server`` (its
    store's advisories and rules); ``--osv``, ``--online``, ``--fix`` and ``--knowledge``
    are refused (they name this machine's sources)."""
    from advisor.check.findings import Finding
    from advisor.check.run import CheckReport
    from advisor.server.calls import CheckCall
    from advisor.server.sending import check_files, relative_name

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    local = [n for n, v in (("osv", opts.osv), ("online", opts.online), ("fix", opts.fix)) if v] + (
        ["knowledge"] if opts.knowledge else []
    )
    if local:
        raise InputError(
            f"with --server, {', '.join('--' + n for n in local)} cannot be used"
            " (the server checks against its own knowledge)"
        )
    full = [p if p.is_absolute() else cwd / p for p in paths]
    cwd = _root_for(full, cwd) if full else cwd  # paths outside it: their folder instead
    files, names = check_files(full, root=cwd)
    inputs = []
    for given in opts.inputs:
        path = given if given.is_absolute() else cwd / given
        name = relative_name(path, cwd)
        files.setdefault(name, path.read_text(encoding="utf-8"))
        inputs.append(name)
    call = CheckCall(files=files, paths=names, only=tuple(sorted(opts.only)), inputs=tuple(inputs))
    answer = _post(server, "/v1/check", call, environ=environ, events=events)
    try:
        return CheckReport(
            findings=tuple(Finding(**f) for f in answer["findings"]),
            checked=tuple(str(c) for c in answer["checked"]),
            lockless=tuple(Path(p) for p in answer["lockless"]),
        )
    except (KeyError, TypeError) as exc:
        raise InputError(f"the server's answer is not a check report: {exc!r}") from exc


def remote_explain(
    server: str,
    lock_path: Path,
    name: str,
    *,
    advise: AdviseOptions,
    environ: Mapping[str, str],
    events: ProgressEvents = SILENT,
) -> RemoteExplanation:
    """:func:`~advisor.api.explaining.explain_pin` answered by the server at ``server``, from
    its index and knowledge: the lock is sent with the inputs, constraints, overrides and
    configuration its record names (inside the lock's folder), never its index."""
    from advisor.lockfile.pylock import read_pylock
    from advisor.report.json import pin_from_dict
    from advisor.server.calls import ExplainCall
    from advisor.server.sending import lock_files, relative_name

    _refuse_unsent(_default_resolve(), advise)
    lock = lock_path if lock_path.is_absolute() else Path.cwd() / lock_path
    root = lock.resolve().parent
    recorded = read_pylock(lock).record.inputs
    if recorded is None or not recorded.files:
        raise InputError(f"{lock_path}: the lock records no inputs; re-lock it with advisor lock")
    files, _, _, _ = lock_files(
        [root / f for f in recorded.files],
        constraints=[root / c for c in recorded.constraints],
        overrides=[root / o for o in recorded.overrides],
        root=root,
        output=lock,
    )
    call = ExplainCall(files=files, lock=relative_name(lock.resolve(), root), name=name)
    answer = _post(server, "/v1/explain", call, environ=environ, events=events)
    try:
        pin = answer["pin"]
        return RemoteExplanation(
            name=str(answer["name"]),
            version=str(answer["version"]),
            paths=[[str(step) for step in path] for path in answer["paths"]],
            pin=None if pin is None else pin_from_dict(pin),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"the server's answer is not an explanation: {exc!r}") from exc


def _default_resolve() -> ResolveOptions:
    from advisor.api.context import ResolveOptions

    return ResolveOptions()


def upload_observations(
    server: str,
    observations: Sequence[Observation],
    *,
    environ: Mapping[str, str] | None = None,
    events: ProgressEvents = SILENT,
) -> dict[str, Any]:
    """Send ``observations`` to the server at ``server`` (``POST /v1/observations``, a
    token of scope ``write``; ``admin`` for advisories, rules and images). The server
    stamps them with its token's owner (``upload:<name>``). Returns its answer (``source``,
    ``received``, ``added``, ``replaced``, ``unchanged``)."""
    import json

    from advisor.knowledge.schema import encode_observation

    environ = dict(os.environ) if environ is None else environ
    body = {"observations": [json.loads(encode_observation(o)) for o in observations]}
    return _post(server, "/v1/observations", body, environ=environ, events=events)
