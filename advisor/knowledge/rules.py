"""Evaluation of curated rules (:class:`~advisor.knowledge.schema.Prescription`) against
candidates and whole stacks, for one target environment.

Sits between the knowledge stores (which hold the rules) and the scoring layer (which turns
hits into filters, bounded score terms, stack rejections and justifications). Pure: values in,
values out; no I/O, no clock, no environment variables.

Three questions, from the cheapest to the widest:

* :func:`environment_matches`: does a rule's environment predicate hold for the target?
* :func:`candidate_matches`: does a rule apply to one candidate (name, version) while the
  resolver is still choosing? Co-installed conditions are ignored here: the rest of the stack
  is not known yet, so a candidate-level filter never depends on it.
* :func:`stack_matches` / :func:`evaluate_stack`: does a rule apply to a complete set of pins
  (the package *and* every co-installed package pinned within their specifiers)?

Semantics shared by all three:

* Names are canonicalised (PEP 503) on both sides.
* A version matches a specifier with pre-releases allowed (``2.0.0rc1`` is inside ``<2.1``):
  a rule about a range is about every release in it, final or not. PEP 440 ordering still
  holds: ``<2.0`` excludes ``2.0.0rc1`` and ``>=2`` excludes it too, so a rule meant to
  cover a version's pre-releases says ``>=2.0.0.dev0`` or ``<2.0.0rc0``. An empty specifier
  matches every version; a version that is not PEP 440 matches no non-empty specifier.
* Environment fields: ``python`` and ``cuda`` are specifiers over the target's
  ``python_version`` (``3.12`` counts as ``3.12.0``) and ``cuda_version``; a target without
  CUDA does not match a predicate that names ``cuda``. ``platform`` is an fnmatch pattern
  over the target's (canonical) platform tag. ``os`` and ``arch`` are read from the tag
  (``manylinux``/``musllinux``/``linux`` → ``linux``, ``macosx`` → ``macos``, ``win`` →
  ``windows``; ``win_amd64`` is ``x86_64``, ``arm64`` and ``aarch64`` are one architecture).
  ``libc`` is ``glibc`` for ``manylinux``, ``musl`` for ``musllinux``, the detected libc for
  ``linux_<arch>``. ``cpu_features`` must all be among the target CPU's features (a target
  without CPU information matches no such predicate). ``recommendation_types`` restricts a
  rule to some recommendation types; when the caller gives none (``None``), a restricted rule
  does not match. A field left unset matches everything.

Costs: specifier strings are parsed once per process (an LRU cache keyed by the text), target
facts (os, arch, libc) once per call. :func:`environment_matches` is O(number of set fields);
:func:`candidate_matches` adds one specifier check; :func:`stack_matches` adds one dictionary
lookup and one specifier check per co-installed entry; :func:`evaluate_stack` is
O(rules * (1 + co-installed)) plus sorting the hits, independent of the stack's size. An
invalid specifier raises :class:`~advisor.errors.InputError` naming the rule and the field
(``advisor knowledge validate`` reports those before they reach here).
"""

from __future__ import annotations

import fnmatch
import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from advisor.environment.platforms import parse_platform
from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.schema import (
        ActionKind,
        EnvironmentPredicate,
        Level,
        Prescription,
    )

__all__ = [
    "RuleHit",
    "candidate_matches",
    "environment_matches",
    "evaluate_stack",
    "parse_specifier",
    "stack_matches",
    "target_arch",
    "target_libc",
    "target_os",
]

# Spellings of one operating system / architecture; the canonical word is the value.
_OS_ALIASES = {
    "linux": "linux",
    "macos": "macos",
    "macosx": "macos",
    "darwin": "macos",
    "osx": "macos",
    "windows": "windows",
    "win": "windows",
    "win32": "windows",
}
_ARCH_ALIASES = {
    "amd64": "x86_64",
    "x64": "x86_64",
    "x86-64": "x86_64",
    "win_amd64": "x86_64",
    "arm64": "aarch64",
    "win_arm64": "aarch64",
    "win32": "i686",
    "x86": "i686",
    "i386": "i686",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleHit:
    """A rule that applies to a stack, with its action spelled out.

    ``score`` is the rule's score term clamped to [-1, 1] (``None`` when the rule gives
    none); ``kind`` and ``level`` are the action's.
    """

    rule: Prescription
    kind: ActionKind
    message: str
    score: float | None
    level: Level


@functools.lru_cache(maxsize=4096)
def _specifier_set(text: str) -> SpecifierSet:
    return SpecifierSet(text)


def parse_specifier(text: str, *, rule_id: str = "", field: str = "specifier") -> SpecifierSet:
    """The :class:`~packaging.specifiers.SpecifierSet` of ``text`` (cached; O(1) when seen).

    Raises :class:`~advisor.errors.InputError` naming ``rule_id`` and ``field`` when the
    text is not a PEP 440 specifier.
    """
    try:
        return _specifier_set(text.strip())
    except InvalidSpecifier as exc:
        where = f"prescription {rule_id!r}: " if rule_id else ""
        raise InputError(f"{where}{field} {text!r} is not a valid version specifier") from exc


def _version(value: Version | str) -> Version | None:
    if isinstance(value, Version):
        return value
    try:
        return Version(value)
    except InvalidVersion:
        return None


def _contains(spec_text: str, version: Version | None, *, rule_id: str, field: str) -> bool:
    spec = parse_specifier(spec_text, rule_id=rule_id, field=field)
    if version is None:
        return not spec  # only the empty specifier holds for a non-PEP 440 version
    return spec.contains(version, prereleases=True)


# -- facts about the target -----------------------------------------------------------------


def target_os(env: RuntimeEnvironment) -> str | None:
    """``linux``, ``macos`` or ``windows`` from the target's platform tag (``None``: ``any``)."""
    family = parse_platform(env.platform).family
    return family if family in ("linux", "macos", "windows") else None


def target_arch(env: RuntimeEnvironment) -> str | None:
    """The target's architecture in canonical spelling (``x86_64``, ``aarch64``, ``i686`` …).

    From the platform tag; for the ``any`` tag, from the CPU description when there is one.
    """
    plat = parse_platform(env.platform)
    arch = plat.arch if plat.kind != "any" else (env.cpu.arch if env.cpu else "")
    return _canonical_arch(arch) if arch else None


def target_libc(env: RuntimeEnvironment) -> str | None:
    """``glibc`` or ``musl`` for a Linux target (tag first, then detected libc), else ``None``."""
    kind = parse_platform(env.platform).kind
    if kind == "manylinux":
        return "glibc"
    if kind == "musllinux":
        return "musl"
    if kind == "linux" and env.libc:
        return env.libc.lower()
    return None


def _canonical_arch(arch: str) -> str:
    low = arch.lower()
    return _ARCH_ALIASES.get(low, low)


def _canonical_os(name: str) -> str:
    low = name.lower()
    return _OS_ALIASES.get(low, low)


# -- predicates -----------------------------------------------------------------------------


def environment_matches(
    pred: EnvironmentPredicate,
    env: RuntimeEnvironment,
    *,
    recommendation: str | None,
    rule_id: str = "",
) -> bool:
    """Whether ``pred`` holds for the target ``env`` under ``recommendation``.

    Every set field must hold (see the module docstring for each field's meaning); an
    empty predicate holds everywhere. ``rule_id`` only names the rule in errors. Raises
    :class:`~advisor.errors.InputError` for an invalid ``python``/``cuda`` specifier.
    """
    if pred.recommendation_types and (
        recommendation is None or recommendation not in pred.recommendation_types
    ):
        return False
    if pred.python is not None and not _contains(
        pred.python, _version(env.python_version), rule_id=rule_id, field="environment.python"
    ):
        return False
    if pred.cuda is not None:
        if not env.cuda_version:
            return False
        cuda = _version(env.cuda_version)
        if cuda is None or not _contains(
            pred.cuda, cuda, rule_id=rule_id, field="environment.cuda"
        ):
            return False
    if pred.platform is not None and not fnmatch.fnmatchcase(env.platform, pred.platform):
        return False
    if pred.os is not None and target_os(env) != _canonical_os(pred.os):
        return False
    if pred.arch is not None and target_arch(env) != _canonical_arch(pred.arch):
        return False
    if pred.libc is not None and target_libc(env) != pred.libc.lower():
        return False
    if pred.cpu_features:
        if env.cpu is None:
            return False
        have = {f.lower() for f in env.cpu.features}
        if not all(f.lower() in have for f in pred.cpu_features):
            return False
    return True


def candidate_matches(
    rule: Prescription,
    name: str,
    version: Version | str,
    *,
    env: RuntimeEnvironment,
    recommendation: str | None,
) -> bool:
    """Whether ``rule`` applies to the candidate ``name==version`` on ``env``.

    The package must be the rule's, the version within its specifier (pre-releases
    included) and the environment predicate must hold. Co-installed conditions are ignored:
    they can only be judged on a complete stack (:func:`stack_matches`).
    """
    match = rule.match
    if canonicalize_name(name) != canonicalize_name(match.package):
        return False
    if not _contains(match.specifier, _version(version), rule_id=rule.id, field="specifier"):
        return False
    return environment_matches(
        match.environment, env, recommendation=recommendation, rule_id=rule.id
    )


def _canonical_pins(pins: Mapping[str, Version | str]) -> dict[str, Version | None]:
    return {canonicalize_name(name): _version(v) for name, v in pins.items()}


def _stack_matches(
    rule: Prescription,
    pins: Mapping[str, Version | None],
    *,
    env: RuntimeEnvironment,
    recommendation: str | None,
) -> bool:
    match = rule.match
    name = canonicalize_name(match.package)
    if name not in pins:
        return False
    if not _contains(match.specifier, pins[name], rule_id=rule.id, field="specifier"):
        return False
    for i, co in enumerate(match.co_installed):
        co_name = canonicalize_name(co.package)
        if co_name not in pins:
            return False
        field = f"co_installed[{i}].specifier"
        if not _contains(co.specifier, pins[co_name], rule_id=rule.id, field=field):
            return False
    return environment_matches(
        match.environment, env, recommendation=recommendation, rule_id=rule.id
    )


def stack_matches(
    rule: Prescription,
    pins: Mapping[str, Version | str],
    *,
    env: RuntimeEnvironment,
    recommendation: str | None,
) -> bool:
    """Whether ``rule`` applies to the stack ``pins`` (name → pinned version) on ``env``.

    The rule's package must be pinned within its specifier, every co-installed package
    pinned within its own specifier, and the environment predicate must hold. Names in
    ``pins`` need not be canonical. O(len(pins)) to canonicalise, then O(1 + co-installed);
    prefer :func:`evaluate_stack` for many rules.
    """
    return _stack_matches(rule, _canonical_pins(pins), env=env, recommendation=recommendation)


def _bounded(score: float | None) -> float | None:
    if score is None:
        return None
    if math.isnan(score):
        return 0.0
    return max(-1.0, min(1.0, float(score)))


def evaluate_stack(
    rules: Iterable[Prescription],
    pins: Mapping[str, Version | str],
    *,
    env: RuntimeEnvironment,
    recommendation: str | None,
) -> list[RuleHit]:
    """Every rule of ``rules`` that applies to the stack ``pins`` on ``env``, as hits.

    Hits are ordered by rule id (then package), whatever the order of ``rules``, so the
    same knowledge snapshot always gives the same list. Score terms are clamped to [-1, 1]
    (a NaN counts as 0), whatever the rule says. Cost: O(len(pins) + rules * (1 +
    co-installed) + hits * log(hits)).
    """
    canonical = _canonical_pins(pins)
    hits = [
        RuleHit(
            rule=rule,
            kind=rule.action.kind,
            message=rule.action.message,
            score=_bounded(rule.action.score),
            level=rule.action.level,
        )
        for rule in rules
        if _stack_matches(rule, canonical, env=env, recommendation=recommendation)
    ]
    hits.sort(key=lambda h: (h.rule.id, canonicalize_name(h.rule.match.package), h.message))
    return hits
