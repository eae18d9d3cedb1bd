"""Verify a stack before advising it: install it into a throwaway venv here, import everything.

Sits under the advice engine's ``--verify`` (the engine sees only the
:class:`~advisor.advice.verification.StackVerifier` Protocol; the composition root builds a
:class:`VenvVerifier` and stores what it observed). Reuses the install observation's parts:
:func:`~advisor.observe.venv.create_venv` (a fresh venv of this machine's interpreter, no
pip inside), pip from outside with ``--python`` (the advised pins exactly, ``--no-deps``,
from the indexes the advice resolved from), :func:`~advisor.observe.blame.culprits` (the
package pip's output blames), :func:`~advisor.observe.venv.top_level_modules` (the
module → distribution mapping of what was installed), and the failure classes of
:mod:`advisor.observe.failures`.

Each installed distribution's top-level modules are imported together in a fresh interpreter
(``-I``), one distribution at a time, in name order. A failing import is **blamed through its
traceback**: the distributions whose modules the output names (a frame's file under
``site-packages/<module>/``, or a dotted name in a message: ``numpy.core.multiarray failed to
import``), other than the one imported, are its partners; the first of them named is the
pair's other side. A distribution whose import fails only because a partner fails alone is
left to that partner. So:

- a pair (``oldext`` fails against ``numpy``): a failed
  :class:`~advisor.knowledge.schema.CompatibilityObservation` (``package`` the partner,
  ``other`` the one whose import failed, as the compatibility sweep records them) and a
  rejection blaming the side that failed to import, whose ``nogood`` is the partner first,
  then the failing pin; for an ABI mismatch (NumPy's "compiled using NumPy 1.x" messages)
  the partner's side is its major version and later (``("numpy", ">=2")``: an extension built
  against NumPy 1 fails under every NumPy 2), else its exact pin;
- a release that fails alone: a failed import :class:`~advisor.knowledge.schema.
  BuildObservation` and a ``nogood`` of that pin;
- pip failing: the package pip names (else every pin) is the nogood; nothing is recorded
  (the resolution, not the release, may be wrong).

Every verdict is memoised by its pins; the venvs are removed after each stack.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from advisor.errors import InputError
from advisor.events import SILENT
from advisor.install import probe_interpreter
from advisor.knowledge.schema import BuildObservation, CompatibilityObservation, Provenance
from advisor.observe.blame import PinnedPackage, culprits
from advisor.observe.compat import PipSource, run_command
from advisor.observe.failures import classify, classify_pair, excerpt
from advisor.observe.fingerprint import build_predicate
from advisor.observe.venv import create_venv, interpreter_text, ran_in, top_level_modules

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import EnvironmentPredicate, Observation

__all__ = [
    "SOURCE",
    "VenvVerifier",
    "Verification",
    "VerifySettings",
    "blamed_modules",
    "check_host",
    "check_hosts",
]

SOURCE = "verify"

_FRAME = re.compile(r"[/\\]site-packages[/\\](?P<module>[A-Za-z_][\w]*)")
_DOTTED = re.compile(r"(?<![\w.])(?P<module>[A-Za-z_]\w*)(?:\.\w+)*")
_QUOTED = re.compile(r"No module named '(?P<module>[A-Za-z_]\w*)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Verification:
    """One stack's verdict: ``ok``, else why (``reason``), the package to ban first, the
    pins that together fail (``nogood``: (name, ``"==version"``) pairs) and what it taught
    (``lesson``, one line for the report)."""

    ok: bool
    reason: str = ""
    package: str | None = None
    nogood: tuple[tuple[str, str], ...] = ()
    lesson: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifySettings:
    """How stacks are verified: this machine's interpreter, where pip finds the files, the
    timeout of each step, the folder the venvs go in, the provenance of what is recorded."""

    python: str
    pip: PipSource = field(default_factory=PipSource)
    workdir: Path
    timeout: float = 300.0
    today: str
    tool: str
    recorder: str = ""


def blamed_modules(output: str, *, owners: Mapping[str, str], imported: str) -> list[str]:
    """The distributions (other than ``imported``) a failed import's ``output`` names, in
    the order they matter: those in the last line (the exception), then the frames from the
    innermost out. ``owners`` maps top-level module → distribution."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    found: list[str] = []

    def add(module: str) -> None:
        dist = owners.get(module)
        if dist is not None and dist != imported and dist not in found:
            found.append(dist)

    for line in reversed(lines[-1:]):
        for match in (*_QUOTED.finditer(line), *_DOTTED.finditer(line)):
            add(match["module"])
    for line in reversed(lines[:-1]):
        for match in _FRAME.finditer(line):
            add(match["module"])
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class _Stamp:
    environment: EnvironmentPredicate
    interpreter: str
    provenance: Provenance
    replace: Mapping[str, str]


@dataclass(slots=True)
class _Failure:
    dist: str
    output: str
    code: int | None
    partners: list[str]


@dataclass(slots=True)
class VenvVerifier:
    """Verifies stacks on this machine (see the module docstring); ``observations`` holds
    what the failures taught, for the caller to store; ``verified`` counts the stacks
    installed. Cost: a venv, one pip run and one interpreter per distribution per new stack.
    """

    settings: VerifySettings
    env: RuntimeEnvironment  # this machine
    environ: Mapping[str, str]
    events: ProgressEvents = SILENT
    observations: list[Observation] = field(default_factory=list)
    verified: int = 0
    _memo: dict[tuple[tuple[str, str], ...], Verification] = field(default_factory=dict)

    def verify(self, pins: Mapping[NormalizedName, Version]) -> Verification:
        """Install ``pins`` into a fresh venv and import every top-level module. Raises
        :class:`InputError` when this machine's interpreter cannot make a venv."""
        key = tuple(sorted((str(n), str(v)) for n, v in pins.items()))
        if key in self._memo:
            return self._memo[key]
        self.verified += 1
        venv = self.settings.workdir / f"verify-{self.verified}"
        what = f"verifying stack {self.verified} ({len(key)} packages) in a fresh venv"
        self.events.working(what)
        try:
            found = self._verify(dict(key), venv)
        finally:
            self.events.work_finished(what)
            shutil.rmtree(venv, ignore_errors=True)
        self._memo[key] = found
        return found

    def _verify(self, pins: dict[str, str], venv: Path) -> Verification:
        s = self.settings
        python = create_venv(s.python, venv, environ=self.environ, timeout=s.timeout)
        pip = [
            sys.executable, "-m", "pip", "--python", str(python), "install",
            "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
            "--no-compile", "--no-deps", *s.pip.args(),
            *(f"{name}=={version}" for name, version in sorted(pins.items())),
        ]  # fmt: skip
        code, output, _ = run_command(pip, environ=self.environ, timeout=s.timeout)
        if code != 0:
            return self._not_installed(pins, output)
        tops = top_level_modules(python, environ=self.environ, timeout=s.timeout)
        owners = {m: dist for dist, modules in sorted(tops.items()) for m in modules}
        failures: dict[str, _Failure] = {}
        for dist in sorted(pins):
            modules = tops.get(dist, [])
            if not modules:
                continue
            script = "".join(f"import {m}\n" for m in modules)
            code, output, _ = run_command(
                [str(python), "-I", "-c", script], environ=self.environ, timeout=s.timeout
            )
            if code != 0:
                partners = blamed_modules(output, owners=owners, imported=dist)
                failures[dist] = _Failure(dist=dist, output=output, code=code, partners=partners)
        if not failures:
            return Verification(ok=True)
        # a distribution failing only because a partner fails alone is that partner's
        own = [f for f in failures.values() if not any(p in failures for p in f.partners)]
        stamp = self._stamp(python, venv)
        verdicts = [self._failed(f, pins, stamp) for f in own or failures.values()]
        return verdicts[0]

    def _not_installed(self, pins: Mapping[str, str], output: str) -> Verification:
        packages = [
            PinnedPackage(name=n, version=v, filename="", built=False)
            for n, v in sorted(pins.items())
        ]
        named = culprits(output, packages)
        line = excerpt(output, limit=1)
        if not named:
            return Verification(
                ok=False,
                reason=f"the stack did not install here: {line}",
                lesson="pip could not install the stack; nothing learnt about one release",
                nogood=tuple((p.name, f"=={p.version}") for p in packages),
            )
        first = named[0]
        return Verification(
            ok=False,
            reason=f"{first.name}=={first.version} did not install here: {line}",
            package=first.name,
            nogood=tuple((p.name, f"=={p.version}") for p in named),
            lesson=f"{first.name}=={first.version} does not install on this machine",
        )

    def _stamp(self, python: Path, venv: Path) -> _Stamp:
        target = probe_interpreter(str(python), environ=self.environ)
        s = self.settings
        replace = {str(venv): "<venv>", str(venv.resolve()): "<venv>", sys.prefix: "<advisor>"}
        home = self.environ.get("HOME")
        if home:
            replace[home] = "<home>"
        return _Stamp(
            environment=build_predicate(ran_in(self.env, target.markers)),
            interpreter=interpreter_text(target.markers),
            provenance=Provenance(source=SOURCE, date=s.today, tool=s.tool, recorder=s.recorder),
            replace=replace,
        )

    def _failed(
        self,
        failure: _Failure,
        pins: Mapping[str, str],
        stamp: _Stamp,
    ) -> Verification:
        environment, interpreter, provenance = (
            stamp.environment,
            stamp.interpreter,
            stamp.provenance,
        )
        replace = stamp.replace
        dist, version = failure.dist, pins[failure.dist]
        log = excerpt(failure.output, replace=replace)
        last = excerpt(failure.output.strip().splitlines()[-1], limit=1, replace=replace)
        partner = next((p for p in failure.partners if p in pins), None)
        if partner is None:
            self.observations.append(
                BuildObservation(
                    package=dist,
                    version=version,
                    environment=environment,
                    outcome="failed",
                    failure_class=classify(failure.output, stage="import", timed_out=False),
                    log_excerpt=log,
                    interpreter=interpreter,
                    provenance=provenance,
                )
            )
            return Verification(
                ok=False,
                reason=f"{dist}=={version} does not import here: {last}",
                package=dist,
                nogood=((dist, f"=={version}"),),
                lesson=f"{dist}=={version} does not import on this machine ({last})",
            )
        failure_class = classify_pair(
            failure.output, returncode=failure.code, timed_out=failure.code is None,
            imported=False,
        ) or "import-error"  # fmt: skip
        self.observations.append(
            CompatibilityObservation(
                package=partner,
                version=pins[partner],
                other=dist,
                other_version=version,
                outcome="failed",
                failure_class=failure_class,
                probe=f"import {dist} (advisor advise --verify)",
                installed=tuple(
                    f"{n}=={v}" for n, v in sorted(pins.items()) if n not in (dist, partner)
                ),
                environment=environment,
                interpreter=interpreter,
                log_excerpt=log,
                provenance=provenance,
            )
        )
        partner_spec = _partner_specifier(pins[partner], failure_class)
        # the partner's side first: moving it (numpy<2) is the way out that usually exists
        pair = ((partner, partner_spec), (dist, f"=={version}"))
        return Verification(
            ok=False,
            reason=(
                f"{dist}=={version} does not import with {partner}=={pins[partner]} here "
                f"({failure_class}): {last}"
            ),
            package=str(canonicalize_name(dist)),
            nogood=pair,
            lesson=(
                f"{dist}=={version} with {partner}=={pins[partner]} fails to import "
                f"({failure_class}); recorded as a compatibility observation"
            ),
        )


def _partner_specifier(version: str, failure_class: str) -> str:
    """The partner's side of a failed pair's nogood: ``==version``, except for an ABI
    mismatch, a break at the partner's major version (an extension built against NumPy 1
    fails under every NumPy 2): ``>=MAJOR``."""
    from packaging.version import InvalidVersion, Version

    if failure_class == "abi-mismatch":
        try:
            major = Version(version).major
        except InvalidVersion:
            return f"=={version}"
        if major >= 1:
            return f">={major}"
    return f"=={version}"


def check_hosts(targets: Iterable[RuntimeEnvironment], host: RuntimeEnvironment) -> None:
    """:func:`check_host` for each of ``targets``: every one must run on this machine."""
    for target in targets:
        check_host(target, host)


def check_host(target: RuntimeEnvironment, host: RuntimeEnvironment) -> None:
    """Raise :class:`InputError` unless ``target`` runs on this machine (``host``): its
    Python minor version and platform, since ``--verify`` installs here."""
    same_python = target.python_version.split(".")[:2] == host.python_version.split(".")[:2]
    if not same_python or target.platform != host.platform:
        raise InputError(
            f"--verify installs the stack on this machine (Python {host.python_version} on "
            f"{host.platform}); the target is Python {target.python_version} on "
            f"{target.platform}: drop --python/--platform/--env, or verify where it runs"
        )
