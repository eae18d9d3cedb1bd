"""The advice endpoints' answers on the wire: a lock, an advice, a check report, an
explanation, a knowledge sync.

Sits between the composition root's jobs (``advisor.api.server_jobs.ServerJobs``, which runs
the offline jobs and hands their values here) and the routes (:mod:`.routes.advice`), which
send the dicts as JSON. The client reads a lock and an advice back in :mod:`.requests`
(``lock_answer``, ``advice_answer``): the keys written here are the ones it reads. A lock
comes in through a small Protocol (``LockOutcome`` meets it); advices and explanations are
written as their JSON reports write them (:mod:`advisor.report`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from _typeshed import DataclassInstance

    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.sync import SyncReport
    from advisor.models import Resolution
    from advisor.options.outcomes import AdviceResult, Explanation

__all__ = [
    "LockMade",
    "advice_answer_dict",
    "check_answer",
    "explanation_answer",
    "lock_answer_dict",
    "sync_answer",
]


class LockMade(Protocol):
    """The fields of a lock job's outcome an answer carries (``LockOutcome`` meets it)."""

    @property
    def resolution(self) -> Resolution: ...
    @property
    def text(self) -> str: ...
    @property
    def targets(self) -> Sequence[RuntimeEnvironment]: ...
    @property
    def digest(self) -> str: ...
    @property
    def warnings(self) -> Sequence[str]: ...
    @property
    def changed(self) -> Sequence[tuple[str, str | None, str | None]]: ...
    @property
    def requests(self) -> int: ...


def lock_answer_dict(outcome: LockMade) -> dict[str, Any]:
    """The answer to ``/v1/lock`` (and the lock part of ``/v1/advise``'s): the lock's text,
    digest, targets, pins, changed pins, warnings and index requests."""
    from advisor.report.lock import pin_entry

    return {
        "lock": outcome.text,
        "digest": outcome.digest,
        "targets": [t.to_dict() for t in outcome.targets],
        "pins": [pin_entry(p) for p in outcome.resolution.pins],
        "changed": [list(c) for c in outcome.changed],
        "warnings": list(outcome.warnings),
        "requests": outcome.requests,
    }


def advice_answer_dict(result: AdviceResult) -> dict[str, Any]:
    """The answer to ``/v1/advise``: the lock's answer and the advices as ``advisor advise
    --report json`` writes them."""
    from advisor.report.json import advice_to_dict

    return {**lock_answer_dict(result.lock), "advices": [advice_to_dict(a) for a in result.advices]}


def explanation_answer(result: Explanation) -> dict[str, Any]:
    """The answer to ``/v1/explain``: what ``advisor explain --json`` prints."""
    from advisor.report.explain import explanation_to_dict

    return explanation_to_dict(
        result.name, paths=result.paths, pin=result.pin, version=result.version
    )


def check_answer(
    findings: Sequence[DataclassInstance],
    *,
    checked: Sequence[str],
    lockless: Sequence[Path],
    folder: Path,
) -> dict[str, Any]:
    """The answer to ``/v1/check``: the findings as dicts, the locks checked, and the inputs
    with no lock shown relative to the client's ``folder`` (never the server's paths)."""
    return {
        "findings": [dataclasses.asdict(f) for f in findings],
        "checked": list(checked),
        "lockless": [_shown(p, folder) for p in lockless],
    }


def sync_answer(reports: Sequence[SyncReport]) -> dict[str, Any]:
    """The answer to ``/v1/knowledge/sync``: one entry per folder synced, named by its last
    part and its problems by file name only (not the server's paths)."""
    return {
        "folders": [
            {
                "folder": Path(r.folder).name,
                "skipped": r.skipped,
                "files": r.files,
                "added": r.added,
                "replaced": r.replaced,
                "unchanged": r.unchanged,
                "deleted": r.deleted,
                "problems": [
                    f"{Path(p.file).name}:{p.line}: {p.field}: {p.message}" for p in r.problems
                ],
            }
            for r in reports
        ]
    }


def _shown(path: Path, folder: Path) -> str:
    full = path if path.is_absolute() else folder / path
    try:
        return full.relative_to(folder).as_posix()
    except ValueError:
        return path.as_posix()
