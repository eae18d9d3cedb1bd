"""Validator of the ``knowledge/`` folder: every problem at once, with file, line and field.

Sits on top of the folder loader (:mod:`advisor.knowledge.sources.folder`), which already
reports what the types reject (wrong types, missing fields, unknown keys, bad YAML/TOML/JSON);
this module adds the checks that need meaning: empty or contradictory specifiers, duplicate
rule ids and image names, scores outside [-1, 1], a ``score`` action without a score, links
that are not http(s) or point at a package index's project page, empty quotes, unknown
``os``/``libc``/recommendation types, bad platform tags and Python versions (parsed by
:mod:`advisor.environment.platforms`), log excerpts that leak URLs or home/temp paths.
``advisor knowledge validate`` and the pre-commit hook call :func:`validate_knowledge`;
``knowledge sync`` may call :func:`check_files` on a folder it has loaded.

The JSON Schemas of ``knowledge/schema/`` (for editors and reviewers) are generated from the
same msgspec types by :mod:`advisor.knowledge.json_schemas`.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from advisor.environment import platforms
from advisor.errors import InputError
from advisor.knowledge.schema import (
    BuildObservation,
    EnvironmentPredicate,
    ImageRecipe,
    Observation,
    PerformanceObservation,
    Prescription,
    observation_key,
)
from advisor.knowledge.sources import Problem
from advisor.knowledge.sources.folder import (
    load_knowledge_file,
    load_knowledge_folder,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from advisor.knowledge.sources.folder import KnowledgeFile
    from advisor.knowledge.sources.records import Entry

__all__ = [
    "Problem",
    "check_files",
    "check_observation",
    "is_satisfiable",
    "validate_knowledge",
]

OS_NAMES = ("linux", "macos", "windows")
LIBC_NAMES = ("glibc", "musl")
RECOMMENDATION_TYPES = ("latest", "stable", "performance", "security", "testing")
_DATE = "1970-01-01"  # provenance date of values loaded only to be checked
# observation_key's kind → (what a duplicate is called, the field that names it)
_NAMING = {"prescription": ("rule id", "id"), "image": ("image name", "name")}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROJECT_PAGE = re.compile(r"^/(project|simple)/[^/]+(/|$)")
_URL_VARIABLE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}(?:/\S*)?$")
_DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
_STACK_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64,128}")
_LEAKS = (
    (re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE), "a URL (reduce it to a file name)"),
    (re.compile(r"(/home/|/Users/|/root/|~/|[A-Za-z]:\\Users\\)"), "a home directory path"),
    (re.compile(r"(/tmp/|/var/tmp/|/private/var/folders/|\\Temp\\)"), "a temporary path"),
)


def validate_knowledge(path: Path) -> list[Problem]:
    """Every problem of the knowledge folder ``path`` (or of one knowledge file), sorted by
    file, line and field. Empty list: valid. Raises :class:`InputError` when ``path`` does
    not exist."""
    if path.is_dir():
        folder = load_knowledge_folder(path, date=_DATE)
        problems = [*folder.problems, *check_files(folder.files)]
    elif path.is_file():
        one = load_knowledge_file(path, date=_DATE)
        problems = [*one.problems, *check_files([one])]
    else:
        raise InputError(f"{path}: no such knowledge folder or file")
    return sorted(set(problems), key=lambda p: (p.file, p.line, p.field, p.message))


def check_files(files: Iterable[KnowledgeFile]) -> list[Problem]:
    """The semantic checks (see the module docstring) of loaded files, including ids, names
    and observations defined twice across them."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}  # key → "file:line" of its first definition
    for file in files:
        for entry in file.entries:
            obs = entry.observation
            for field, message in _check(entry):
                problems.append(
                    Problem(file=file.path, line=entry.line_of(field), field=field, message=message)
                )
            key = observation_key(obs)
            here = f"{file.path}:{entry.line}" if entry.line else file.path
            if key in seen:
                what, field = _NAMING.get(key.partition(":")[0], ("observation", ""))
                problems.append(
                    Problem(
                        file=file.path,
                        line=entry.line_of(field),
                        field=field,
                        message=f"{what} already defined at {seen[key]}",
                    )
                )
            else:
                seen[key] = here
    return problems


def check_observation(obs: Observation) -> list[tuple[str, str]]:
    """``(field, message)`` for every semantic problem of one value (as :func:`check_files`
    checks each entry, without file lines): for values a program made before storing them."""
    from advisor.knowledge.sources.records import Entry

    return list(_check(Entry(observation=obs)))


def _check(entry: Entry) -> Iterator[tuple[str, str]]:
    obs = entry.observation
    written = entry.lines
    if isinstance(obs, Prescription):
        yield from _check_prescription(obs, written)
    elif isinstance(obs, ImageRecipe):
        yield from _check_image(obs)
    elif isinstance(obs, BuildObservation):
        yield from _check_build(obs)
    elif isinstance(obs, PerformanceObservation):
        yield from _check_performance(obs)


# -- prescriptions -------------------------------------------------------------------------


def _check_prescription(rule: Prescription, written: Iterable[str]) -> Iterator[tuple[str, str]]:
    written = set(written)
    if not rule.id.strip() or any(c.isspace() for c in rule.id):
        yield "id", f"rule id {rule.id!r} must be non-empty, without spaces"
    for field, value in (("summary", rule.summary), ("quote", rule.quote)):
        if not value.strip():
            yield field, f"empty {field}"
    if (message := _link_problem(rule.link)) is not None:
        yield "link", message
    yield from _check_name("match.package", rule.match.package)
    yield from _check_specifier(
        "match.specifier", rule.match.specifier, written="match.specifier" in written
    )
    for i, co in enumerate(rule.match.co_installed):
        where = f"match.co_installed[{i}]"
        yield from _check_name(f"{where}.package", co.package)
        if co.package == rule.match.package:
            yield f"{where}.package", "a rule's co-installed package is the package it matches"
        yield from _check_specifier(
            f"{where}.specifier", co.specifier, written=f"{where}.specifier" in written
        )
    yield from _check_predicate("match.environment", rule.match.environment)
    action = rule.action
    if not action.message.strip():
        yield "action.message", "empty message"
    if action.kind == "score":
        if action.score is None:
            yield "action.score", "an action of kind 'score' needs a score in [-1, 1]"
        elif not (math.isfinite(action.score) and -1.0 <= action.score <= 1.0):
            yield "action.score", f"score {action.score} is outside [-1, 1]"
    elif action.score is not None:
        yield "action.score", f"a score is only used by kind 'score', not {action.kind!r}"
    for name in rule.env_advice:
        if not _ENV_NAME.match(name):
            yield f"env_advice.{name}", f"{name!r} is not an environment variable name"


def _link_problem(url: str) -> str | None:
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError as exc:
        return f"invalid link {url!r}: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"the link {url!r} is not an http(s) URL"
    if "@" in parts.netloc:
        return "the link carries credentials"
    if _PROJECT_PAGE.match(parts.path):
        return (
            "the link points at a package index's project page; link to the source of the"
            " fact (release notes, changelog, issue)"
        )
    return None


def _check_name(field: str, name: str) -> Iterator[tuple[str, str]]:
    try:
        canonicalize_name(name, validate=True)
    except InvalidName:
        yield field, f"{name!r} is not a valid package name"


def _check_specifier(field: str, text: str | None, *, written: bool) -> Iterator[tuple[str, str]]:
    """An explicitly empty specifier, a syntax error, or one no version satisfies."""
    if text is None:
        return
    if not text.strip():
        if written:
            yield field, "empty specifier; omit the field to match every version"
        return
    try:
        spec = SpecifierSet(text)
    except InvalidSpecifier as exc:
        yield field, f"invalid specifier {text!r}: {exc}"
        return
    if not is_satisfiable(spec):
        yield field, f"no version satisfies {text!r}: the specifier contradicts itself"


def _check_predicate(field: str, env: EnvironmentPredicate) -> Iterator[tuple[str, str]]:
    yield from _check_specifier(f"{field}.python", env.python, written=True)
    yield from _check_specifier(f"{field}.cuda", env.cuda, written=True)
    if env.os is not None and env.os not in OS_NAMES:
        yield f"{field}.os", f"unknown os {env.os!r}; expected one of {', '.join(OS_NAMES)}"
    if env.libc is not None:
        if env.libc not in LIBC_NAMES:
            yield (
                f"{field}.libc",
                f"unknown libc {env.libc!r}; expected one of {', '.join(LIBC_NAMES)}",
            )
        elif env.os is not None and env.os != "linux":
            yield f"{field}.libc", f"libc {env.libc!r} only exists on linux, not {env.os!r}"
    if env.platform is not None and not any(c in env.platform for c in "*?["):
        try:
            family = platforms.parse_platform(env.platform).family
        except InputError as exc:
            yield f"{field}.platform", exc.message
        else:
            if env.os is not None and family not in (env.os, "any"):
                yield f"{field}.platform", f"platform {env.platform!r} is not an {env.os} one"
    for i, kind in enumerate(env.recommendation_types):
        if kind not in RECOMMENDATION_TYPES:
            yield (
                f"{field}.recommendation_types[{i}]",
                f"unknown recommendation type {kind!r};"
                f" expected one of {', '.join(RECOMMENDATION_TYPES)}",
            )
    for i, feature in enumerate(env.cpu_features):
        if not feature.strip():
            yield f"{field}.cpu_features[{i}]", "empty CPU feature"


# -- images and observations ---------------------------------------------------------------


def _check_image(recipe: ImageRecipe) -> Iterator[tuple[str, str]]:
    if not recipe.name.strip() or any(c.isspace() for c in recipe.name):
        yield "name", f"image name {recipe.name!r} must be non-empty, without spaces"
    if not recipe.base_image.strip():
        yield "base_image", "empty base image"
    for field, parse, value in (
        ("python", platforms.parse_python, recipe.python),
        ("implementation", platforms.parse_implementation, recipe.implementation),
        ("platform", platforms.parse_platform, recipe.platform),
    ):
        try:
            parse(value)
        except InputError as exc:
            yield field, exc.message
    if recipe.cuda is not None:
        yield from _check_version("cuda", recipe.cuda)
    for field in ("system_packages", "build_packages"):
        for i, name in enumerate(getattr(recipe, field)):
            if not _DEBIAN_PACKAGE.fullmatch(name):
                yield f"{field}[{i}]", f"{name!r} is not a Debian package name"
    for i, text in enumerate(recipe.requirements):
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            yield f"requirements[{i}]", f"invalid requirement {text!r}: {exc}"
            continue
        if str(req.specifier) and not is_satisfiable(req.specifier):
            yield f"requirements[{i}]", f"no version satisfies {text!r}"
    for i, url in enumerate(recipe.extra_index_urls):
        parts = urllib.parse.urlsplit(url)
        if url.startswith("${"):  # the root comes from the environment when generating
            if not _URL_VARIABLE.match(url):
                yield f"extra_index_urls[{i}]", f"{url!r}: expected ${{NAME}}/path"
        elif parts.scheme not in ("http", "https", "file"):
            yield f"extra_index_urls[{i}]", f"{url!r} is not an http(s) or file URL"
        elif "@" in parts.netloc:
            yield f"extra_index_urls[{i}]", "credentials in a committed URL; use .netrc"
    for i, port in enumerate(recipe.ports):
        if not 0 < port < 65536:
            yield f"ports[{i}]", f"{port} is not a TCP port"
    for field, words in (("entrypoint", recipe.entrypoint), ("cmd", recipe.cmd)):
        if any(not w for w in words):
            yield field, "an empty word"
    for i, name in enumerate(recipe.index_packages):
        yield from _check_name(f"index_packages[{i}]", name)
    if recipe.index_packages and not recipe.extra_index_urls:
        yield "index_packages", "projects pinned to an extra index, but the recipe names none"
    for name in recipe.env:
        if not _ENV_NAME.match(name):
            yield f"env.{name}", f"{name!r} is not an environment variable name"


def _check_version(field: str, text: str) -> Iterator[tuple[str, str]]:
    try:
        Version(text)
    except InvalidVersion:
        yield field, f"invalid version {text!r} (not PEP 440)"


def _check_build(obs: BuildObservation) -> Iterator[tuple[str, str]]:
    if obs.package is None:
        if obs.stack_digest is None:
            yield "package", "a build observation is about a package or a stack_digest"
        if obs.version is not None or obs.specifier is not None:
            yield "version", "a version or specifier without a package"
    else:
        yield from _check_name("package", obs.package)
    if obs.stack_digest is not None and not _STACK_DIGEST.fullmatch(obs.stack_digest):
        yield "stack_digest", f"{obs.stack_digest!r} is not 'sha256:' and 64 hex digits"
    if obs.version is not None:
        yield from _check_version("version", obs.version)
        if obs.specifier is not None:
            yield "specifier", "give a version or a specifier, not both"
    yield from _check_specifier("specifier", obs.specifier, written=True)
    yield from _check_predicate("environment", obs.environment)
    if obs.outcome == "ok" and obs.failure_class:
        yield "failure_class", "a failure class on an 'ok' outcome"
    if obs.artefact is not None:
        if obs.outcome != "artefact-fault":
            yield "artefact", "a faulty file on an outcome other than 'artefact-fault'"
        if not obs.artefact.filename or re.search(r"[/\\]", obs.artefact.filename):
            yield "artefact.filename", f"{obs.artefact.filename!r} is not a file name"
        for digest in (obs.artefact.sha256, *obs.artefact.expected):
            if not _HEX_DIGEST.fullmatch(digest):
                yield "artefact", f"{digest!r} is not a hex digest"
    elif obs.outcome == "artefact-fault" and obs.package is not None:
        # a release is never blamed for a file: its observation must name the file
        yield "artefact", "an 'artefact-fault' of a package names the faulty file"
    if obs.duration is not None and not (math.isfinite(obs.duration) and obs.duration >= 0):
        yield "duration", f"invalid duration {obs.duration}"
    for pattern, what in _LEAKS:
        if pattern.search(obs.log_excerpt):
            yield "log_excerpt", f"the log excerpt contains {what}"


def _check_performance(obs: PerformanceObservation) -> Iterator[tuple[str, str]]:
    if obs.package is None and obs.stack_digest is None:
        yield "package", "a performance observation is about a package or a stack_digest"
    if obs.package is not None:
        yield from _check_name("package", obs.package)
    if obs.version is not None:
        yield from _check_version("version", obs.version)
        if obs.package is None:
            yield "version", "a version without a package"
    if not math.isfinite(obs.value):
        yield "value", f"invalid value {obs.value}"
    if obs.spread is not None and not (math.isfinite(obs.spread) and obs.spread >= 0):
        yield "spread", f"invalid spread {obs.spread}"
    if obs.repeats is not None and obs.repeats < 1:
        yield "repeats", f"invalid repeats {obs.repeats}"
    for field, text in (("probe", obs.probe), ("metric", obs.metric), ("unit", obs.unit)):
        if not text.strip():
            yield field, f"empty {field}"
    env = obs.environment
    for field, parse, value in (
        ("environment.python", platforms.parse_python, env.python),
        ("environment.implementation", platforms.parse_implementation, env.implementation),
        ("environment.platform", platforms.parse_platform, env.platform),
    ):
        try:
            parse(value)
        except InputError as exc:
            yield field, exc.message
    if env.cores is not None and env.cores < 1:
        yield "environment.cores", f"invalid core count {env.cores}"


# -- satisfiability ------------------------------------------------------------------------

_FAR = 999999  # "the last release before" a boundary: 1.3.999999 stands for any 1.3.x


def is_satisfiable(specifier: SpecifierSet | str) -> bool:
    """Whether at least one version (pre-releases included) satisfies ``specifier``.

    Method: a specifier set is an intersection of intervals bounded by the versions written
    in its clauses, so only versions at or right next to those boundaries matter. Each
    boundary ``v`` (``1.4.*`` gives ``1.4`` and ``1.5``; ``~=1.4.2`` gives ``1.4.2`` and
    ``1.5``) contributes candidates: ``v`` itself; just above it (``v.post0``, ``v.post1``,
    ``v`` padded with a final ``.1`` at depth 6, each release segment bumped); just below it
    (``v.dev0``, ``va0``, each non-zero segment lowered with ``.999999`` appended); plus
    ``0.dev0``, ``0`` and ``999999``. The set is satisfiable when a candidate satisfies it
    (``contains(..., prereleases=True)``, so PEP 440's exclusive-ordering rules on pre-,
    post- and local releases apply). A ``True`` is always right (a witness exists); a
    ``False`` could only be wrong for a window narrower than those steps, which written
    specifiers do not produce. ``===`` (arbitrary equality) is not reasoned about: ``True``.
    """
    spec = SpecifierSet(specifier) if isinstance(specifier, str) else specifier
    clauses = list(spec)
    if any(c.operator == "===" for c in clauses):
        return True
    candidates: set[Version] = {Version("0.dev0"), Version("0"), Version(str(_FAR))}
    for clause in clauses:
        for boundary in _boundaries(clause):
            candidates.update(_around(boundary))
    return any(spec.contains(v, prereleases=True) for v in candidates)


def _boundaries(clause: Specifier) -> list[Version]:
    text = clause.version
    if text.endswith(".*"):
        base = Version(text[:-2])
        return [base, _bump(base, len(base.release) - 1)]
    version = Version(text)
    if clause.operator == "~=" and len(version.release) >= 2:
        return [version, _bump(version, len(version.release) - 2)]
    return [version]


def _make(epoch: int, release: Iterable[int], suffix: str = "") -> Version:
    prefix = f"{epoch}!" if epoch else ""
    return Version(prefix + ".".join(str(n) for n in release) + suffix)


def _bump(version: Version, index: int) -> Version:
    release = version.release[: index + 1]
    return _make(version.epoch, (*release[:-1], release[-1] + 1))


def _around(version: Version) -> set[Version]:
    epoch, release = version.epoch, version.release
    base = _make(epoch, release)
    out = {
        version,
        base,
        _make(epoch, release, ".dev0"),
        _make(epoch, release, "a0"),
        _make(epoch, release, ".post0"),
        _make(epoch, release, f".post{(version.post or 0) + 1}"),
        _make(epoch, (*release, *(0,) * max(0, 5 - len(release)), 1)),
    }
    for i, part in enumerate(release):
        out.add(_bump(version, i))
        if part > 0:
            out.add(_make(epoch, (*release[:i], part - 1, _FAR)))
    return out
