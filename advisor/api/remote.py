"""The CLI's ``--server``: the lock, advise, check and explain jobs answered by a team server.

Wiring only (the server's half is :mod:`advisor.api.server_jobs`): the offline jobs call
these when a server is named. The decisions sit in :mod:`advisor.server.requests` (the
options refused, the call built, a lock answer read back) and :mod:`advisor.server.sending`
(which files go); the answers come back as the offline jobs' own values
(:mod:`advisor.options.outcomes`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.api.remote_knowledge import TOKEN_ENV
from advisor.errors import InputError
from advisor.events import SILENT
from advisor.options.outcomes import AdviceResult, Explanation, LockOutcome

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.check.run import CheckOptions, CheckReport
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import Observation
    from advisor.models import RecommendationType
    from advisor.options.jobs import AdviseOptions, LockOptions
    from advisor.options.resolve import ResolveOptions

__all__ = [
    "TOKEN_ENV",
    "remote_advise",
    "remote_check",
    "remote_explain",
    "remote_lock",
    "upload_observations",
]


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


def _written(answer: Mapping[str, Any], path: Path | None) -> LockOutcome:
    """The lock of a server's answer, written to ``path`` (atomic, as the offline job writes
    it) when given."""
    from advisor.lockfile.write import write_output
    from advisor.server.requests import lock_answer

    outcome = LockOutcome(**lock_answer(answer, path=path).fields())
    if path is not None:
        write_output(path, outcome.text)
    return outcome


def _refuse_local(opts: ResolveOptions, advice: AdviseOptions | None) -> None:
    from advisor.options.jobs import AdviseOptions
    from advisor.options.resolve import ResolveOptions
    from advisor.server.requests import refuse_local_options

    plain = None if advice is None else AdviseOptions()
    refuse_local_options(opts, default=ResolveOptions(), advice=advice, advice_default=plain)


def remote_lock(
    server: str,
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> LockOutcome:
    """:func:`~advisor.api.locking.lock` answered by the server at ``server``."""
    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    from advisor.server.requests import lock_call

    _refuse_local(opts, None)
    call, path = lock_call(inputs, opts=opts, out=out, cwd=cwd)
    answer = _post(server, "/v1/lock", call, environ=environ, events=events)
    return _written(answer, path)


def remote_advise(
    server: str,
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    advice: AdviseOptions,
    recommendation: RecommendationType | str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    events: ProgressEvents = SILENT,
) -> AdviceResult:
    """:func:`~advisor.api.locking.advise` answered by the server at ``server`` (``advice``:
    the search's bounds; where the knowledge comes from is the server's)."""
    from advisor.report.json import advice_from_dict

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    from advisor.server.requests import lock_call

    _refuse_local(opts, advice)
    given = None if recommendation is None else str(recommendation)
    call, path = lock_call(inputs, opts=opts, out=out, cwd=cwd, search=advice, recommendation=given)
    answer = _post(server, "/v1/advise", call, environ=environ, events=events)
    try:
        advices = tuple(advice_from_dict(a) for a in answer["advices"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"the server's answer is not an advice: {exc!r}") from exc
    return AdviceResult(lock=_written(answer, path), advices=advices)


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
    from advisor.check.run import CheckReport
    from advisor.server.requests import check_call, refuse_local_check_options

    environ = dict(os.environ) if environ is None else environ
    refuse_local_check_options(
        osv=opts.osv, online=opts.online, fix=opts.fix, knowledge=opts.knowledge
    )
    cwd = Path.cwd() if cwd is None else cwd
    call = check_call(paths, inputs=opts.inputs, only=opts.only, cwd=cwd)
    answer = _post(server, "/v1/check", call, environ=environ, events=events)
    return CheckReport.from_answer(answer)


def remote_explain(
    server: str,
    lock_path: Path,
    name: str,
    *,
    advise: AdviseOptions,
    environ: Mapping[str, str],
    events: ProgressEvents = SILENT,
) -> Explanation:
    """:func:`~advisor.api.explaining.explain_pin` answered by the server at ``server``, from
    its index and knowledge: the lock is sent with the inputs, constraints, overrides and
    configuration its record names (inside the lock's folder), never its index."""
    from advisor.lockfile.pylock import read_pylock
    from advisor.options.resolve import ResolveOptions
    from advisor.server.calls import ExplainCall
    from advisor.server.sending import lock_files, relative_name

    _refuse_local(ResolveOptions(), advise)
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
    return Explanation.from_answer(answer)


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
