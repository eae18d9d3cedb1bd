"""What the store knows about one package, and which of it applies to one version.

Sits in the knowledge layer above the stores: ``advisor knowledge show`` (through the
composition root) and the server's ``GET /v1/packages/{name}`` read a package's facts with
:func:`package_knowledge`, so both answer the same; the lock graph asks
:func:`fact_applies` per pinned version. Pure apart from the one store read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from advisor.errors import InputError
from advisor.knowledge.schema import KINDS
from advisor.knowledge.store_rows import kind_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from advisor.knowledge.schema import Observation
    from advisor.knowledge.store import KnowledgeStore

__all__ = [
    "KnownFact",
    "PackageKnowledge",
    "fact_applies",
    "merge_packages",
    "package_knowledge",
    "parse_package_spec",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownFact:
    """One observation about a package. ``applies``: whether it holds for the version asked
    about (an advisory affecting it, a rule whose specifier, or whose co-installed condition
    on this package, contains it, a build or a measurement of that version); ``None`` when
    no version was asked for or it cannot be told (an unparsable version)."""

    kind: str
    observation: Observation
    applies: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageKnowledge:
    """Everything the store knows about one package, by kind (kinds in a fixed order,
    observations by key)."""

    name: str
    version: str | None
    facts: tuple[KnownFact, ...]

    def of_kind(self, kind: str) -> tuple[KnownFact, ...]:
        return tuple(f for f in self.facts if f.kind == kind)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"name", "version", "kinds": {kind: [{"applies", "observation"}]}}``."""
        import msgspec

        kinds: dict[str, list[dict[str, Any]]] = {}
        for fact in self.facts:
            kinds.setdefault(fact.kind, []).append(
                {"applies": fact.applies, "observation": msgspec.to_builtins(fact.observation)}
            )
        return {"name": self.name, "version": self.version, "kinds": kinds}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PackageKnowledge:
        """Inverse of :meth:`to_dict` (a team server's answer). Raises
        :class:`msgspec.ValidationError`, :class:`KeyError` or :class:`TypeError` for
        another shape."""
        import msgspec

        from advisor.knowledge.schema import Observation

        facts = tuple(
            KnownFact(
                kind=str(kind),
                observation=msgspec.convert(item["observation"], Observation),
                applies=item["applies"],
            )
            for kind, items in data["kinds"].items()
            for item in items
        )
        return cls(name=str(data["name"]), version=data["version"], facts=facts)


def package_knowledge(
    store: KnowledgeStore,
    name: str,
    version: str | None = None,
    *,
    source: str | None = None,
    recorder: str | None = None,
) -> PackageKnowledge:
    """What ``store`` knows about ``name`` (optionally at ``version``): one indexed read.
    With ``source`` (a pattern, see :func:`~advisor.knowledge.store_rows.source_matches`) or
    ``recorder``, only the facts whose provenance matches them."""
    from advisor.knowledge.store_rows import source_matches

    canonical = canonicalize_name(name)
    found = [
        obs
        for obs in store.for_package(canonical)
        if source_matches(source, obs.provenance.source)
        and (recorder is None or obs.provenance.recorder == recorder)
    ]
    facts = [
        KnownFact(
            kind=kind_of(obs),
            observation=obs,
            applies=None if version is None else fact_applies(obs, canonical, version),
        )
        for obs in found
    ]
    order = {k: i for i, k in enumerate(KINDS)}
    facts.sort(key=lambda f: order.get(f.kind, len(order)))  # stable: keys stay in order
    return PackageKnowledge(name=canonical, version=version, facts=tuple(facts))


def fact_applies(obs: Observation, name: str, version: str) -> bool | None:
    """Whether ``obs`` holds for ``name==version`` (``None``: cannot tell)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    from advisor.knowledge.osv import is_affected
    from advisor.knowledge.schema import (
        Advisory,
        BuildObservation,
        CompatibilityObservation,
        PerformanceObservation,
        Prescription,
    )

    if isinstance(obs, Advisory):
        return is_affected(obs, name, version)
    try:
        parsed = Version(version)
    except InvalidVersion:
        parsed = None

    def within(spec: str) -> bool | None:
        try:
            specifier = SpecifierSet(spec)
        except InvalidSpecifier:
            return None
        if parsed is None:
            return None if str(specifier) else True
        return specifier.contains(parsed, prereleases=True)

    def same(other: str | None) -> bool | None:
        if other is None:
            return None
        try:
            return Version(other) == parsed if parsed is not None else other == version
        except InvalidVersion:
            return other == version

    if isinstance(obs, Prescription):
        if canonicalize_name(obs.match.package) == name:
            return within(obs.match.specifier)
        # the package is a co-installed condition of a rule about another package
        conditions = [
            within(c.specifier)
            for c in obs.match.co_installed
            if canonicalize_name(c.package) == name
        ]
        return None if not conditions or None in conditions else any(conditions)
    if isinstance(obs, BuildObservation):
        if obs.version is not None:
            return same(obs.version)
        return within(obs.specifier) if obs.specifier is not None else True
    if isinstance(obs, PerformanceObservation):
        return same(obs.version)
    if isinstance(obs, CompatibilityObservation):
        # about this package on either side of the pair
        if canonicalize_name(obs.package) == name:
            return same(obs.version)
        return same(obs.other_version)
    return None


def parse_package_spec(text: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME==VERSION`` → ``(canonical name, version or None)``.
    Raises :class:`InputError` for anything else."""
    from packaging.utils import InvalidName

    name, sep, version = text.strip().partition("==")
    name, version = name.strip(), version.strip()
    try:
        canonical = canonicalize_name(name, validate=True)
    except InvalidName:
        canonical = None
    if canonical is None or (sep and not version) or any(c in version for c in "<>=!~,; "):
        raise InputError(f"{text!r}: expected NAME or NAME==VERSION")
    return canonical, (version or None)


def merge_packages(base: Mapping[str, str | None], specs: Iterable[str]) -> dict[str, str | None]:
    """``base`` (name → version, ``None``: all versions) with the packages of ``specs``
    (``NAME[==VERSION]``, :func:`parse_package_spec`) added; a name asked for at two
    versions is asked for all versions."""
    found = dict(base)
    for spec in specs:
        name, version = parse_package_spec(spec)
        found[name] = None if name in found and found[name] != version else version
    return found
