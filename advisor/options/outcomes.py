"""What the lock, advise, fix and explain jobs return: frozen values, beside their options.

Just below the composition root, so that the layers the jobs compose (and the server's
client, which rebuilds them from answers) share one definition: :class:`LockOutcome`,
:class:`AdviceResult`, :class:`ComparisonResult` (``advise --compare-env``),
:class:`FixOutcome` and :class:`Explanation`. Values only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from advisor.advice.remedy import Remedy
    from advisor.advice.runtimes import RuntimeComparison
    from advisor.environment import RuntimeEnvironment
    from advisor.models import Resolution
    from advisor.scoring.advice import Advice, PinAdvice

__all__ = ["AdviceResult", "ComparisonResult", "Explanation", "FixOutcome", "LockOutcome"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOutcome:
    """A lock made: the ``resolution`` (its ``pins``, each with a name, version, marker and
    files), the lock's ``text``, the ``path`` written (``None`` for a dry run or stdout), the
    ``targets`` resolved for, the input ``digest`` recorded in the lock, ``warnings``,
    ``changed`` pins against the previous lock (name, old, new) and the index ``requests``
    made."""

    resolution: Resolution
    text: str
    path: Path | None
    targets: tuple[RuntimeEnvironment, ...]
    digest: str
    warnings: tuple[str, ...] = ()
    changed: tuple[tuple[str, str | None, str | None], ...] = ()  # (name, old, new)
    requests: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviceResult:
    """An advice made: ``advices``, one :class:`~advisor.scoring.advice.Advice` per target
    (the best stack and the next ones, ``latest``'s stack and the existing lock scored the
    same way, every pin's terms and justifications; render one with
    :func:`advisor.report.render_advice`), and ``lock``, the lock of the best stacks of
    every target merged (a :class:`LockOutcome`). ``report``: the advices rendered as the
    caller's :class:`~advisor.options.ReportOptions` asked (``""``: none asked)."""

    lock: LockOutcome
    advices: tuple[Advice, ...]
    report: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparisonResult:
    """``advise --compare-env``: the runtimes compared (``comparison``: each one's advice or
    why it has none, and the one recommended) and its ``report``, rendered as asked. Nothing
    is locked."""

    comparison: RuntimeComparison
    report: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FixOutcome:
    """The ``remedy`` found, the lock's new ``text`` (``""`` when nothing changed) and the
    ``path`` written (``None``: a dry run, or nothing to change)."""

    remedy: Remedy
    lock: Path
    text: str = ""
    path: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """Why ``name`` is locked at ``version``: every path to it from the inputs' requirements,
    and the locked version's own advice (``None`` when no score could be made for it)."""

    name: str
    version: str
    paths: list[list[str]]
    pin: PinAdvice | None  # the locked version's terms and alternatives
