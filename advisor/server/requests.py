"""The decisions of the CLI's ``--server`` client: what may be asked, how a request is built
from the options, and how an answer is read back.

Sits under the client's jobs (:mod:`.remote`, which asks the server with these), beside
:mod:`.sending` (which files go) and :mod:`.client` (how they go):

* :func:`refuse_local_options` and :func:`refuse_local_check_options`: the options only this
  machine can honour (its indexes, cache, knowledge) are refused with ``--server``, before
  anything is sent: the server decides them;
* :func:`lock_call`, :func:`check_call` and :func:`explain_call`: a run's
  :class:`~advisor.server.calls.LockCall`, :class:`~advisor.server.calls.CheckCall` or
  :class:`~advisor.server.calls.ExplainCall`, from options read through small Protocols
  (``ResolveOptions``, ``LockOptions`` and ``AdviseOptions`` meet them);
* :func:`lock_answer` and :func:`advice_answer`: the server's answer to ``/v1/lock`` or
  ``/v1/advise`` as the offline job's own value (:mod:`advisor.options.outcomes`).
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from _typeshed import DataclassInstance

    from advisor.options.outcomes import AdviceResult, LockOutcome
    from advisor.server.calls import CheckCall, ExplainCall, LockCall

__all__ = [
    "ADVICE_REFUSED",
    "OPTION_NAMES",
    "RESOLVE_SENT",
    "LockOutput",
    "LockRequest",
    "SearchBounds",
    "advice_answer",
    "call_root",
    "check_call",
    "explain_call",
    "lock_answer",
    "lock_call",
    "refuse_local_check_options",
    "refuse_local_options",
]

#: the resolve options a call carries; any other one set differently from its default is
#: refused (indexes, cache, cooldown, workload …: the server's)
RESOLVE_SENT = frozenset(
    {"constraints", "overrides", "extras", "groups", "python", "platform", "implementation"}
    | {"cuda", "envs", "pre", "only_binary", "recommendation", "upgrade", "upgrade_packages"}
)
#: the advice options that name this machine's sources or work here: refused when set
ADVICE_REFUSED = (
    "knowledge",
    "knowledge_dirs",
    "osv",
    "baseline",
    "allow_sdist",
    "strict",
    "verify",
)
#: the command-line option a refused field comes from, where its name is not the field's
#: with dashes (the message must name what the user typed, not the dataclass's field)
OPTION_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "extra_index_urls": "--extra-index-url",
        "pre_packages": "--prerelease-package",
        "cooldown_days": "--cooldown (or a span given to --exclude-newer)",
        "knowledge_dirs": "--knowledge-dir",
    }
)


class LockRequest(Protocol):
    """What a lock call reads of the resolve options (``advisor.api.context.ResolveOptions``)."""

    @property
    def constraints(self) -> tuple[Path, ...]: ...
    @property
    def overrides(self) -> tuple[Path, ...]: ...
    @property
    def extras(self) -> tuple[str, ...]: ...
    @property
    def groups(self) -> tuple[str, ...]: ...
    @property
    def python(self) -> str | None: ...
    @property
    def platform(self) -> str | None: ...
    @property
    def implementation(self) -> str | None: ...
    @property
    def cuda(self) -> str | None: ...
    @property
    def envs(self) -> tuple[str, ...]: ...
    @property
    def pre(self) -> bool: ...
    @property
    def only_binary(self) -> tuple[str, ...]: ...
    @property
    def upgrade(self) -> bool: ...
    @property
    def upgrade_packages(self) -> tuple[str, ...]: ...
    @property
    def recommendation(self) -> str: ...


class LockOutput(Protocol):
    """Where the lock goes (``advisor.api.inputs.LockOptions``)."""

    @property
    def output(self) -> Path | None: ...
    @property
    def format(self) -> str: ...
    @property
    def dry_run(self) -> bool: ...
    @property
    def command(self) -> str: ...


class SearchBounds(Protocol):
    """The advice search's bounds (``advisor.api.advising.AdviseOptions``)."""

    @property
    def count(self) -> int: ...
    @property
    def budget(self) -> int: ...
    @property
    def time_limit(self) -> float: ...
    @property
    def seed(self) -> int: ...


def _changed(
    given: DataclassInstance, default: DataclassInstance, names: Sequence[str]
) -> list[str]:
    return [
        OPTION_NAMES.get(n, "--" + n.replace("_", "-"))
        for n in names
        if getattr(given, n) != getattr(default, n)
    ]


def refuse_local_options(
    opts: DataclassInstance,
    *,
    default: DataclassInstance,
    advice: DataclassInstance | None = None,
    advice_default: DataclassInstance | None = None,
) -> None:
    """Raise :class:`InputError` naming every option of ``opts`` (the resolve options) not
    in :data:`RESOLVE_SENT` and of ``advice`` in :data:`ADVICE_REFUSED` that differs from
    its ``default``: the server decides those (its indexes, cache and knowledge)."""
    unsent = _changed(
        opts, default, [f.name for f in dataclasses.fields(opts) if f.name not in RESOLVE_SENT]
    )
    if advice is not None and advice_default is not None:
        unsent += _changed(advice, advice_default, ADVICE_REFUSED)
    if unsent:
        raise InputError(
            f"with --server, the server decides {', '.join(unsent)}"
            " (its indexes, cache and knowledge): leave them out, or run without --server"
        )


def refuse_local_check_options(
    *, osv: object, online: bool, fix: bool, knowledge: str | None
) -> None:
    """Raise :class:`InputError` for a check's ``--osv``, ``--online``, ``--fix`` or
    ``--knowledge`` with ``--server``: they name this machine's sources."""
    local = [n for n, v in (("osv", osv), ("online", online), ("fix", fix)) if v]
    local += ["knowledge"] if knowledge else []
    if local:
        raise InputError(
            f"with --server, {', '.join('--' + n for n in local)} cannot be used"
            " (the server checks against its own knowledge)"
        )


def call_root(paths: Sequence[Path], cwd: Path) -> Path:
    """The folder the files of a call are named from: the current folder (as offline), or,
    when a path lies outside it, the first path's folder."""
    try:
        for path in paths:
            path.resolve().relative_to(cwd.resolve())
    except ValueError:
        return paths[0].resolve().parent
    return cwd


def check_call(
    paths: Sequence[Path],
    *,
    inputs: Sequence[Path],
    only: frozenset[str],
    cwd: Path,
) -> CheckCall:
    """The call of a check of ``paths`` (none: the current folder ``cwd``), with a
    requirements lock's ``inputs`` and the ``only`` groups; the files are named from
    ``cwd``, or from the first path's folder when a path lies outside it."""
    from advisor.server.calls import CheckCall
    from advisor.server.sending import check_files, relative_name

    full = [p if p.is_absolute() else cwd / p for p in paths]
    root = call_root(full, cwd) if full else cwd
    files, names = check_files(full, root=root)
    sent = []
    for given in inputs:
        path = given if given.is_absolute() else root / given
        name = relative_name(path, root)
        files.setdefault(name, path.read_text(encoding="utf-8"))
        sent.append(name)
    return CheckCall(files=files, paths=names, only=tuple(sorted(only)), inputs=tuple(sent))


def explain_call(lock_path: Path, name: str, *, cwd: Path) -> ExplainCall:
    """The call of an explanation of ``name`` in the lock at ``lock_path`` (relative to
    ``cwd``): the lock with the inputs, constraints, overrides and configuration its record
    names (inside the lock's folder), never its index. Raises :class:`InputError` when the
    lock records no inputs."""
    from advisor.lockfile.pylock import read_pylock
    from advisor.server.calls import ExplainCall
    from advisor.server.sending import lock_files, relative_name

    lock = lock_path if lock_path.is_absolute() else cwd / lock_path
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
    return ExplainCall(files=files, lock=relative_name(lock.resolve(), root), name=name)


def lock_call(
    inputs: Sequence[Path],
    *,
    opts: LockRequest,
    out: LockOutput,
    cwd: Path,
    search: SearchBounds | None = None,
    recommendation: str | None = None,
) -> tuple[LockCall, Path | None]:
    """The call of a lock (``search`` ``None``) or an advice of ``inputs`` (relative to
    ``cwd``), with its files read (:func:`~advisor.server.sending.lock_files`), and the
    path the answer's lock is to be written to (``None``: stdout or a dry run). The
    recommendation sent is ``recommendation``, else the options' unless ``latest``."""
    from advisor.server.calls import LockCall, SearchSpec, TargetSpec
    from advisor.server.sending import lock_files, relative_name

    paths = [p if p.is_absolute() else cwd / p for p in inputs]
    output = out.output
    if output is None:
        name = "pylock.toml" if str(out.format) == "pylock" else "requirements.txt"
        output = paths[0].resolve().parent / name
    elif str(output) != "-" and not output.is_absolute():
        output = cwd / output
    to_file = str(output) != "-"
    root = output.parent if to_file else call_root(paths, cwd)
    files, names, constraints, overrides = lock_files(
        paths,
        constraints=[p if p.is_absolute() else cwd / p for p in opts.constraints],
        overrides=[p if p.is_absolute() else cwd / p for p in opts.overrides],
        root=root,
        output=output if to_file else None,
    )
    spec = SearchSpec()
    if search is not None:
        spec = SearchSpec(
            count=search.count, budget=search.budget, time_limit=search.time_limit, seed=search.seed
        )
    given = str(opts.recommendation)
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
        recommendation=recommendation or (given if given != "latest" else None),
        extras=opts.extras,
        groups=opts.groups,
        pre=opts.pre,
        only_binary=opts.only_binary,
        upgrade=opts.upgrade,
        upgrade_packages=opts.upgrade_packages,
        command=out.command,
        search=spec,
    )
    return call, (output if to_file and not out.dry_run else None)


def lock_answer(answer: Mapping[str, Any], *, path: Path | None) -> LockOutcome:
    """The lock of a server's answer, to be written to ``path``. Raises
    :class:`InputError` when the answer is not a lock."""
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    from advisor.environment import RuntimeEnvironment
    from advisor.models import Pin, Resolution
    from advisor.options.outcomes import LockOutcome

    try:
        pins = tuple(
            Pin(
                name=canonicalize_name(p["name"]),
                version=Version(p["version"]),
                marker=p["marker"],
                needs_build=bool(p["needs-build"]),
            )
            for p in answer["pins"]
        )
        return LockOutcome(
            resolution=Resolution(pins=pins),
            text=str(answer["lock"]),
            path=path,
            targets=tuple(RuntimeEnvironment.from_dict(t) for t in answer["targets"]),
            digest=str(answer["digest"]),
            warnings=tuple(str(w) for w in answer["warnings"]),
            changed=tuple((str(n), o, v) for n, o, v in answer["changed"]),
            requests=int(answer["requests"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"the server's answer is not a lock: {exc!r}") from exc


def advice_answer(answer: Mapping[str, Any], *, path: Path | None) -> AdviceResult:
    """The advice of a server's answer (its lock to be written to ``path``). Raises
    :class:`InputError` when the answer is not an advice."""
    from advisor.options.outcomes import AdviceResult
    from advisor.report.json import advice_from_dict

    try:
        advices = tuple(advice_from_dict(a) for a in answer["advices"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"the server's answer is not an advice: {exc!r}") from exc
    return AdviceResult(lock=lock_answer(answer, path=path), advices=advices)
