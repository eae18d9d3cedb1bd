"""How much an advice knew: release facts, advisories and observations per pin, counted.

Sits after the stack search, beside the describer: the advice engine hands it the best
stack's pins, the release facts the scoring units saw for them
(:class:`~advisor.scoring.base.CandidateInfo`) and the knowledge view, and gets the
:class:`~advisor.scoring.advice.KnowledgeCounts` the report prints in one line ("release
facts for 110 of 110, advisories checked for 110, observations for 11"). Pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.knowledge.schema import Advisory, ReleaseObservation
from advisor.knowledge.store_rows import kind_of
from advisor.scoring.advice import KnowledgeCounts
from advisor.scoring.units._common import parse_version

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from packaging.version import Version

    from advisor.knowledge.schema import Observation
    from advisor.scoring.base import CandidateInfo, KnowledgeView

__all__ = ["MEASURED_KINDS_EXCLUDED", "count_knowledge"]

#: kinds that are not measurements: advisories, curated rules and recipes, index facts
MEASURED_KINDS_EXCLUDED = frozenset({"advisory", "prescription", "image", "release"})


def _stored_release(found: tuple[Observation, ...], version: Version) -> ReleaseObservation | None:
    for obs in found:
        if isinstance(obs, ReleaseObservation) and parse_version(obs.version) == version:
            return obs
    return None


def count_knowledge(
    pins: Mapping[str, Version],
    *,
    seen: Callable[[str, Version], CandidateInfo | None],
    knowledge: KnowledgeView,
    advisories_as_of: str | None,
) -> tuple[KnowledgeCounts, tuple[str, ...]]:
    """The counts for ``pins`` and the names nothing at all is known about (no release
    facts, nothing stored, no advisory database to check them against), sorted.

    ``seen`` gives the release facts the units saw for a pin (``None``: never scored);
    facts from an index count when the candidate has files listed by one. A stored
    :class:`~advisor.knowledge.schema.ReleaseObservation` of the pinned version counts too.
    ``advisories_as_of`` is set when an advisory database is loaded (every pin is then
    checked against it). Cost: one ``for_package`` per pin (memoised by the view).
    """
    facts = uploads = advised = measured = 0
    missing: list[str] = []
    unknown: list[str] = []
    for name in sorted(pins):
        version = pins[name]
        found = tuple(knowledge.for_package(name))
        info = seen(name, version)
        stored = _stored_release(found, version)
        from_index = info is not None and any(f.index for f in info.files)
        if from_index or stored is not None:
            facts += 1
            uploaded = info is not None and info.upload_time is not None
            uploads += uploaded or (stored is not None and stored.upload_time is not None)
        else:
            missing.append(name)
        checked = advisories_as_of is not None or any(isinstance(o, Advisory) for o in found)
        advised += checked
        if any(kind_of(o) not in MEASURED_KINDS_EXCLUDED for o in found):
            measured += 1
        if not found and not from_index and not checked:
            unknown.append(name)
    counts = KnowledgeCounts(
        packages=len(pins),
        release_facts=facts,
        upload_times=uploads,
        advisories=advised,
        observations=measured,
        advisories_as_of=advisories_as_of,
        no_release_facts=tuple(missing),
    )
    return counts, tuple(unknown)
