"""Release facts from the package index, on demand: upload times, yanks, wheel coverage.

Sits between the index client (which lists a project's files) and the store: turns one
project's files into one :class:`~advisor.knowledge.schema.ReleaseObservation` per version,
saying when it was uploaded, whether it was yanked, and which of the given target
environments a wheel covers. Pure: the caller passes in how to list a project's files
(the finder's ``find``) and stores the facts (``advisor knowledge index-facts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from advisor.errors import InputError
from advisor.knowledge.schema import Provenance, ReleaseObservation
from advisor.models import DistKind
from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.store import PutResult
    from advisor.models import DistFile

__all__ = ["IndexFactsOutcome", "collect_release_facts", "release_facts"]


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexFactsOutcome:
    """What ``knowledge index-facts`` stored: the packages with facts, how many facts, and
    what the store did with them (``store``: its URL, when the caller names it)."""

    packages: tuple[str, ...]
    facts: int
    added: int
    replaced: int
    unchanged: int
    store: str = ""

    @property
    def shown_store(self) -> str:
        """``store`` without credentials (:func:`advisor.urls.redact_url`), to show."""
        return redact_url(self.store)

    @classmethod
    def of(
        cls, facts: Sequence[ReleaseObservation], result: PutResult, *, store: str = ""
    ) -> IndexFactsOutcome:
        """What storing ``facts`` in the store at ``store`` did (``result``)."""
        return cls(
            store=store,
            packages=tuple(sorted({f.package for f in facts})),
            facts=len(facts),
            added=result.added,
            replaced=result.replaced,
            unchanged=result.unchanged,
        )


def collect_release_facts(
    names: Sequence[str],
    *,
    find: Callable[[str], Iterable[DistFile]],
    targets: Sequence[RuntimeEnvironment],
    date: str,
    tool: str,
) -> list[ReleaseObservation]:
    """:func:`release_facts` of each of ``names``, listed by ``find(name)``. Raises
    :class:`InputError` when ``names`` is empty. Cost: one ``find`` per name."""
    if not names:
        raise InputError("name at least one package")
    return [
        fact
        for name in names
        for fact in release_facts(name, find(name), targets=targets, date=date, tool=tool)
    ]


def release_facts(
    name: str,
    files: Iterable[DistFile],
    *,
    targets: Sequence[RuntimeEnvironment],
    date: str,
    tool: str,
) -> list[ReleaseObservation]:
    """One fact per version of ``name`` among ``files``, newest version first.

    ``upload_time`` is the earliest upload of the version's files (PEP 700), ``yanked``
    holds when every file is yanked, ``wheel_targets`` lists the platform tags of the
    ``targets`` that one of its wheels installs on. Cost: one tag-set lookup per wheel tag.
    """
    project = canonicalize_name(name)
    supported = [(t.platform, frozenset(t.tags())) for t in targets]
    by_version: dict[object, list[DistFile]] = {}
    for dist in files:
        parsed = dist.parsed
        if parsed is not None and parsed.name == project:
            by_version.setdefault(parsed.version, []).append(dist)
    facts: list[ReleaseObservation] = []
    for version in sorted(by_version, reverse=True):  # type: ignore[type-var]
        group = by_version[version]
        uploads = sorted(f.upload_time for f in group if f.upload_time is not None)
        covered: list[str] = []
        for platform, tags in supported:
            if any(
                f.parsed is not None and f.parsed.kind is DistKind.WHEEL and f.parsed.tags & tags
                for f in group
            ):
                covered.append(platform)
        yanked = all(f.yanked is not None for f in group)
        facts.append(
            ReleaseObservation(
                package=project,
                version=str(version),
                index=group[0].index,
                upload_time=uploads[0].isoformat() if uploads else None,
                yanked=yanked,
                yanked_reason=(group[0].yanked or "") if yanked else "",
                requires_python=next((f.requires_python for f in group if f.requires_python), None),
                sdist=any(f.parsed is not None and f.parsed.kind is DistKind.SDIST for f in group),
                wheel_targets=tuple(covered),
                provenance=Provenance(source=f"index:{group[0].index}", date=date, tool=tool),
            )
        )
    return facts
