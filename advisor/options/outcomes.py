"""What the lock, advise, fix and explain jobs return: frozen values, beside their options.

Just below the composition root, so that the layers the jobs compose (and the server's
client, which rebuilds them from answers) share one definition: :class:`LockOutcome`,
:class:`AdviceResult`, :class:`ComparisonResult` (``advise --compare-env``),
:class:`FixOutcome` and :class:`Explanation`; and the steps' own: :class:`AdviseOutcome`
(the advice search's) and :class:`LockedStack` (the stack a lock records). Values only
(:meth:`LockOutcome.write` is the one place a lock is written).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from advisor.advice.remedy import Remedy
    from advisor.advice.runtimes import RuntimeComparison
    from advisor.environment import RuntimeEnvironment
    from advisor.lockfile.record import AdviceRecord
    from advisor.models import Resolution
    from advisor.scoring.advice import Advice, PinAdvice

__all__ = [
    "AdviceResult",
    "AdviseOutcome",
    "ComparisonResult",
    "Explanation",
    "FixOutcome",
    "LockOutcome",
    "LockedStack",
]


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

    def write(self) -> LockOutcome:
        """Write :attr:`text` to :attr:`path` atomically when there is one (the offline job
        and the ``--server`` client write here, once); returns ``self``. Raises
        :class:`~advisor.errors.UnwritableOutput`."""
        from advisor.lockfile.write import write_output

        if self.path is not None:
            write_output(self.path, self.text)
        return self


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

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> Explanation:
        """The explanation of a team server's ``/v1/explain`` answer. Raises
        :class:`~advisor.errors.InputError` when the answer is not one."""
        from advisor.errors import InputError
        from advisor.report.json import pin_from_dict

        try:
            pin = answer["pin"]
            return cls(
                name=str(answer["name"]),
                version=str(answer["version"]),
                paths=[[str(step) for step in path] for path in answer["paths"]],
                pin=None if pin is None else pin_from_dict(pin),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"the server's answer is not an explanation: {exc!r}") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviseOutcome:
    """What the advice search found (:func:`advisor.api.advising.run_advice`), ready for the
    lock (``resolution``, ``record``) and the report (``advices``)."""

    resolution: Resolution  # the best stacks of every target, merged
    advices: tuple[Advice, ...]  # one per target
    warnings: tuple[str, ...]
    requests: int
    record: AdviceRecord  # what the lock's [tool.advisor] records about the advice


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedStack:
    """The stack a lock records: pip's choice (``advice`` is ``None``) or the best stacks the
    advice search found, one per target, merged (``advice`` holds its report)."""

    resolution: Resolution
    warnings: tuple[str, ...] = ()
    requests: int = 0
    advice: AdviseOutcome | None = None

    @classmethod
    def advised(cls, found: AdviseOutcome) -> LockedStack:
        """The best stacks ``found`` by the advice search, with its report."""
        return cls(
            resolution=found.resolution,
            warnings=found.warnings,
            requests=found.requests,
            advice=found,
        )

    @property
    def advices(self) -> tuple[Advice, ...]:
        """The advice's, one per target (none for pip's choice)."""
        return () if self.advice is None else self.advice.advices

    @property
    def tool(self) -> AdviceRecord | None:
        """What the lock's ``[tool.advisor]`` records about the advice (``None``: no advice)."""
        return None if self.advice is None else self.advice.record
