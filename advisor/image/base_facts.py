"""The base image's own Python and platform, asked from the image during the build.

Sits between :mod:`advisor.image.containerfile`, whose install step runs
:data:`PROBE_COMMAND` with the base's ``python3`` just before creating the venv (in the same
``RUN``, so the facts are printed exactly when the install runs), and
:mod:`advisor.image.builder`, which records the observations with what the image actually
has, not what its recipe declares: :func:`observed_base` reads the printed line back from
the build's log (:func:`parse_base_facts`), or, when a layer cache skipped the step, from
the same probe run in the built image (:data:`PROBE_ARGV`, :mod:`advisor.image.fact_probe`),
and gives the environment the observations hold in; :func:`declaration_mismatches` says
where the two differ (a warning: the lock was resolved for the declaration).

The line is ``advisor-base-facts {json}``; the command spells the marker in two pieces, so
the tool's echo of the command itself never matches.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.environment.platforms import parse_implementation
from advisor.errors import InputError

if TYPE_CHECKING:
    from advisor.environment import RuntimeEnvironment
    from advisor.image.build import BuildRun
    from advisor.knowledge.schema import EnvironmentPredicate, ImageRecipe

__all__ = [
    "MARKER",
    "PROBE_ARGV",
    "PROBE_COMMAND",
    "BaseFacts",
    "ObservedBase",
    "declaration_mismatches",
    "observed_base",
    "parse_base_facts",
]

MARKER = "advisor-base-facts"

# One statement list for ``python3 -I -c``: only the standard library, no single quotes
# (the command is single-quoted in the shell), no backslashes. The musl loader prints its
# version when run without arguments.
_PROBE = (
    "import glob, json, platform, subprocess, sys, sysconfig;"
    ' musl = glob.glob("/lib/ld-musl-*.so.1");'
    ' print("advisor-base" + "-facts", json.dumps({'
    '"implementation": sys.implementation.name,'
    ' "python": platform.python_version(),'
    ' "platform": sysconfig.get_platform(),'
    ' "bits": 64 if sys.maxsize > 2 ** 32 else 32,'
    ' "libc": list(platform.libc_ver()),'
    ' "musl": subprocess.run(musl[:1], capture_output=True, text=True).stderr if musl else ""'
    "}, sort_keys=True))"
)
#: The shell command the install step runs first (prints one :data:`MARKER` line).
PROBE_COMMAND = f"python3 -I -c '{_PROBE}'"
#: The same probe as a command line, run in a built image when the log lacks the line
#: (:mod:`advisor.image.fact_probe`).
PROBE_ARGV: tuple[str, ...] = ("python3", "-I", "-c", _PROBE)

_LINE = re.compile(re.escape(MARKER) + r" (\{.*\})\s*$")
_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?")
_GLIBC = re.compile(r"(\d+)\.(\d+)")
_MUSL = re.compile(r"Version (\d+)\.(\d+)")


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseFacts:
    """What the base image's ``python3`` said: its implementation (``cp``/``pp`` …, and
    the name it gave), full version and platform tag (``manylinux_2_36_x86_64``; the glibc
    or musl level is the image's own)."""

    implementation: str
    implementation_name: str
    python: str
    platform: str

    @property
    def python_minor(self) -> str:
        return ".".join(self.python.split(".")[:2])

    @property
    def interpreter(self) -> str:
        """``"cpython 3.11.2"``: as :attr:`BuildObservation.interpreter` records it."""
        return f"{self.implementation_name} {self.python}"


def _platform_tag(facts: dict[str, object]) -> str:
    """The platform tag the probe's ``sysconfig`` platform and C library make."""
    plat = str(facts.get("platform") or "")
    system, _, arch = plat.partition("-")
    arch = re.sub(r"[-.]", "_", arch)
    if system != "linux" or not arch:
        return re.sub(r"[-.]", "_", plat)  # macosx_11_0_arm64, win_amd64 …
    if facts.get("bits") == 32:
        arch = {"x86_64": "i686", "aarch64": "armv7l"}.get(arch, arch)
    libc = facts.get("libc")
    if isinstance(libc, list) and len(libc) == 2 and libc[0] == "glibc":
        found = _GLIBC.match(str(libc[1]))
        if found:
            return f"manylinux_{found[1]}_{found[2]}_{arch}"
    musl = _MUSL.search(str(facts.get("musl") or ""))
    if musl:
        return f"musllinux_{musl[1]}_{musl[2]}_{arch}"
    return f"linux_{arch}"


def parse_base_facts(output: str) -> BaseFacts | None:
    """The facts of the last :data:`MARKER` line in a build's ``output`` (a prefix before the
    marker, as docker's progress adds, is fine); ``None`` when there is none or it does not
    parse (the install step did not run in this build)."""
    for line in reversed(output.splitlines()):
        found = _LINE.search(line)
        if found is None:
            continue
        try:
            facts = json.loads(found[1])
        except ValueError:
            return None
        if not isinstance(facts, dict):
            return None
        name = str(facts.get("implementation", ""))
        version = _VERSION.match(str(facts.get("python", "")))
        try:
            implementation = parse_implementation(name)
        except InputError:  # an implementation the advisor cannot resolve for
            return None
        if version is None:
            return None
        return BaseFacts(
            implementation=implementation,
            implementation_name=name,
            python=version.group(0),
            platform=_platform_tag(facts),
        )
    return None


def declaration_mismatches(recipe: ImageRecipe, facts: BaseFacts) -> tuple[str, ...]:
    """Where ``recipe``'s declaration differs from what its base image has, one sentence
    each (empty when they agree): Python ``X.Y``, implementation, platform tag."""
    found = []
    if facts.python_minor != recipe.python:
        found.append(
            f"the base image has Python {facts.python} but the recipe {recipe.name!r} declares"
            f" {recipe.python}"
        )
    if facts.implementation != recipe.implementation:
        found.append(
            f"the base image's Python is {facts.implementation_name} but the recipe"
            f" {recipe.name!r} declares {recipe.implementation}"
        )
    if facts.platform != recipe.platform:
        found.append(
            f"the base image's platform is {facts.platform} but the recipe {recipe.name!r}"
            f" declares {recipe.platform}"
        )
    return tuple(found)


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservedBase:
    """Where a build's outcome holds: the predicate of the base image's own Python and
    platform (``interpreter`` set) or, when the log does not say, of the recipe's
    declaration (``interpreter`` ``None``); ``warnings`` say which, and any mismatch."""

    environment: EnvironmentPredicate
    interpreter: str | None
    warnings: tuple[str, ...] = ()


def observed_base(
    recipe: ImageRecipe,
    run: BuildRun,
    *,
    host: RuntimeEnvironment,
    probed: str = "",
    probe_error: str | None = None,
) -> ObservedBase:
    """What ``run``'s log says the base image of ``recipe`` has, as the environment its
    observations hold in; when the log lacks the facts (the install step came from the
    tool's layer cache), what ``probed``, the output of the same probe run in the built
    image (:mod:`advisor.image.fact_probe`), says.

    A passing build whose facts neither gives (the probe failed, ``probe_error`` says why,
    or the context was made by an older advisor) is recorded with the recipe's declaration,
    and a warning says so; a failing one is silent about it (it may have stopped before the
    install step).
    """
    import msgspec

    from advisor.image.target import recipe_target
    from advisor.observe.fingerprint import build_predicate

    facts = parse_base_facts(run.output) or parse_base_facts(probed)
    declared = build_predicate(recipe_target(recipe, host=host))
    if facts is None:
        warnings: tuple[str, ...] = ()
        if run.ok:
            why = f"asking the built image failed: {probe_error}" if probe_error else ""
            why = why or "the context predates the probe, or the image has no python3"
            warnings = (
                f"the base image's Python and platform were not observed in this build ({why});"
                f" the observations carry what the recipe {recipe.name!r} declares",
            )
        return ObservedBase(environment=declared, interpreter=None, warnings=warnings)
    actual = msgspec.structs.replace(
        recipe,
        python=facts.python_minor,
        implementation=facts.implementation,
        platform=facts.platform,
    )
    mismatches = declaration_mismatches(recipe, facts)
    try:
        target = recipe_target(actual, host=host)
    except InputError as exc:  # a platform the advisor cannot target: say so, keep the rest
        unusable = f"the base image's facts cannot be used ({exc.message}); the observations"
        unusable += f" carry what the recipe {recipe.name!r} declares"
        return ObservedBase(
            environment=declared, interpreter=None, warnings=(*mismatches, unusable)
        )
    return ObservedBase(
        environment=build_predicate(target), interpreter=facts.interpreter, warnings=mismatches
    )
