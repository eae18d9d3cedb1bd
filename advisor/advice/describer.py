"""The describer: scored stacks → the report's values, pin by pin.

Last step of the decide layer. The advice engine hands it stacks (a resolution, or the pins of
the project's own lock) with their evaluations; it reads the scorer's memoised verdicts and
returns the frozen values of :mod:`advisor.scoring.advice` (:class:`StackAdvice` of
:class:`PinAdvice` with terms, justifications and alternatives) that :mod:`advisor.report`
renders. Pure: no I/O, and the same scorer state gives the same values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.models import Edge, Resolution
    from advisor.resolution.search import Evaluation
    from advisor.scoring.advice import Alternative, PinAdvice, StackAdvice
    from advisor.scoring.base import Justification
    from advisor.scoring.engine import UnitScorer

__all__ = ["Describer"]

#: Alternatives shown per pin (``latest``'s own choice first, then the best scored).
_ALTERNATIVES = 5


class Describer:
    """Turns scored stacks into the report's values (pins, terms, alternatives).

    ``latest`` maps each package of the ``latest`` stack to its version (it is what a pin
    turned down); ``direct`` names the requirements of the inputs; ``filtered`` gives, per
    (package, version) the resolutions saw, why a filter removed it. Alternatives are the
    versions the scorer evaluated so far, so a description reflects the scorer's state when
    it is made.
    """

    def __init__(
        self,
        scorer: UnitScorer,
        *,
        latest: Mapping[str, str],
        direct: frozenset[NormalizedName],
        filtered: Mapping[tuple[str, Version], str],
    ) -> None:
        self._scorer = scorer
        self._latest = latest
        self._direct = direct
        self._filtered = filtered

    def _why(self, name: str, version: Version) -> str:
        """The terms that held a scored alternative back, in a few words."""
        known = self._scorer.known(name, version)
        if known is None:
            return ""
        against = [f"{t.unit} {t.value:+.2f}: {t.reason}" for t, _ in known.terms if t.value < 0]
        return "; ".join(against)

    def stack(self, res: Resolution, ev: Evaluation) -> StackAdvice:
        """The description of a resolved stack (its markers and builds included)."""
        pins = {p.name: p.version for p in res.pins}
        markers = {str(p.name): p.marker for p in res.pins}
        builds = {str(p.name) for p in res.pins if p.needs_build}
        return self.stack_from_pins(pins, ev, markers=markers, builds=builds, edges=res.edges)

    def stack_from_pins(
        self,
        pins: Mapping[NormalizedName, Version],
        ev: Evaluation,
        *,
        markers: Mapping[str, str | None] | None = None,
        builds: frozenset[str] | set[str] = frozenset(),
        edges: Sequence[Edge] = (),
    ) -> StackAdvice:
        """The description of a stack given as pins (the project's lock, say): each pin with
        its terms, justifications and alternatives, in name order, plus the stack's own
        (``edges``: the resolution's, when known)."""
        from advisor.scoring.advice import StackAdvice

        verdict = self._scorer.evaluate_stack(pins, edges=edges)
        out = [
            self._pin(
                name,
                pins[name],
                justifications=tuple(j for j in verdict.justifications if j.package == name),
                marker=(markers or {}).get(name),
                needs_build=name in builds,
            )
            for name in sorted(pins)
        ]
        return StackAdvice(
            score=ev.total,
            pins=tuple(out),
            stack_terms=verdict.stack_terms,
            justifications=tuple(j for j in verdict.justifications if j.package is None),
        )

    def _pin(
        self,
        name: NormalizedName,
        version: Version,
        *,
        justifications: tuple[Justification, ...],
        marker: str | None,
        needs_build: bool,
    ) -> PinAdvice:
        from advisor.scoring.advice import PinAdvice

        known = self._scorer.known(name, version)
        return PinAdvice(
            name=name,
            version=str(version),
            latest=self._latest.get(name),
            score=known.score if known else 0.0,
            terms=tuple(t for t, _ in known.terms) if known else (),
            justifications=justifications + self._status(name, version),
            alternatives=self._alternatives(name, version)[:_ALTERNATIVES],
            direct=name in self._direct,
            needs_build=needs_build,
            marker=marker,
        )

    def _status(self, name: NormalizedName, version: Version) -> tuple[Justification, ...]:
        """A warning when the pin's project is not active on its index (PEP 792): said
        under every recommendation type, since ``latest`` scores nothing."""
        from advisor.models import ProjectState
        from advisor.scoring.base import Justification

        info = self._scorer.candidate(name, version)
        status = info.project_status if info is not None else None
        if status is None or status.state is ProjectState.ACTIVE:
            return ()
        why = f": {status.reason}" if status.reason else ""
        return (
            Justification(
                level="warning",
                message=f"the project is {status.state.value} on its index{why}",
                unit="index",
                package=name,
            ),
        )

    def _alternatives(self, name: NormalizedName, version: Version) -> tuple[Alternative, ...]:
        """The other versions of ``name``: those the scorer evaluated (best first, ``latest``'s
        choice always first: it is what was turned down), then those a filter removed in a
        resolution without the scorer seeing them."""
        from advisor.scoring.advice import Alternative

        found = self._scorer.alternatives(name, exclude=version)
        latest = self._latest.get(name)
        found.sort(key=lambda item: str(item[0]) != latest)
        alternatives = [
            Alternative(
                version=str(v),
                score=None if reason else score,
                reason=reason or self._why(name, v),
            )
            for v, reason, score in found
        ]
        for (fname, v), reason in sorted(self._filtered.items(), key=lambda kv: str(kv[0])):
            if fname == name and v != version and all(a.version != str(v) for a in alternatives):
                alternatives.append(Alternative(version=str(v), score=None, reason=reason))
        return tuple(alternatives)
