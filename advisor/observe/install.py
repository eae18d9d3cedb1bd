"""Install a lock into a fresh venv on this machine and record what happened, per package.

Sits after the lockfile (a ``pylock.toml``) and before the knowledge store: the composition
root (:func:`advisor.api.observing.observe_install`) passes in the lock, an interpreter, a
work folder, a timeout, the process environment and today's date; this module returns one
:class:`~advisor.knowledge.schema.BuildObservation` per pinned package and writes nothing
but the venv.

Steps: ``PYTHON -m venv --clear --without-pip WORKDIR/venv``; the lock's selection for that
venv (:meth:`packaging.pylock.Pylock.select`, as :func:`advisor.install.install_lock` makes
it); :func:`~advisor.install.install_lock` (pip ``--require-hashes --no-deps``); then a
tiny script in the venv lists every installed distribution's top-level modules (from
``top_level.txt``, else its ``RECORD``) and each module is imported in a fresh interpreter of
the venv (``-I``), with the timeout.

Per package: ``ok`` (``needs-build`` when the lock selected a source distribution and it
built and imported), else ``failed`` with a class from :mod:`advisor.observe.failures`, the
import's wall time as ``duration`` (the install's when the install failed) and an excerpt of
the output with no URLs or machine paths. pip installs all or nothing: when it fails, the
failure goes to the packages pip's output names (``Failed to build x``, the hash-mismatch
list, a file name), else to every selected package; packages not named then get no
observation (they were not installed, so nothing was learnt about them).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from packaging.pylock import PackageSdist, PylockSelectError
from packaging.utils import canonicalize_name

from advisor.errors import InputError, LockfileError
from advisor.events import SILENT
from advisor.install import install_lock, probe_interpreter
from advisor.knowledge.schema import BuildObservation, Provenance
from advisor.lockfile.pylock import load_pylock
from advisor.observe.failures import classify, excerpt
from advisor.observe.fingerprint import build_predicate
from advisor.observe.installed import installed_distributions

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from packaging.markers import Environment

    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.knowledge.schema import EnvironmentPredicate

__all__ = ["PinnedPackage", "culprits", "observe_install", "top_level_modules"]

SOURCE = "observe"


@dataclass(frozen=True, slots=True, kw_only=True)
class PinnedPackage:
    """One package the lock selects for the venv: ``built`` when its file is an sdist."""

    name: str
    version: str | None
    filename: str
    built: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class _Stamp:
    environment: EnvironmentPredicate
    provenance: Provenance
    replace: Mapping[str, str]


def _venv_python(venv: Path) -> Path:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def _create_venv(python: str, venv: Path, *, environ: Mapping[str, str], timeout: float) -> Path:
    command = [python, "-m", "venv", "--clear", "--without-pip", str(venv)]
    try:
        proc = subprocess.run(
            command, env=dict(environ), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"{python}: cannot create a venv: {exc}") from exc
    if proc.returncode != 0:
        detail = excerpt(proc.stderr or proc.stdout, limit=5) or f"exit code {proc.returncode}"
        raise InputError(f"{python}: cannot create a venv in {venv}: {detail}")
    return _venv_python(venv)


def _selected(
    lock: Path, python: Path, *, environ: Mapping[str, str]
) -> tuple[PinnedPackage, ...] | PylockSelectError:
    """What the lock installs into ``python``, or the selection's error."""
    pylock = load_pylock(lock)
    target = probe_interpreter(str(python), environ=environ)
    try:
        chosen = list(
            pylock.select(environment=cast("Environment", dict(target.markers)), tags=target.tags)
        )
    except PylockSelectError as exc:
        return exc
    pinned = []
    for pkg, dist in chosen:
        filename = getattr(dist, "filename", None) or str(getattr(dist, "url", "") or "")
        pinned.append(
            PinnedPackage(
                name=canonicalize_name(pkg.name),
                version=str(pkg.version) if pkg.version else None,
                filename=filename.rsplit("/", 1)[-1],
                built=isinstance(dist, PackageSdist),
            )
        )
    return tuple(sorted(pinned, key=lambda p: p.name))


def _refuse_another_target(lock: Path, python: str, *, environ: Mapping[str, str]) -> None:
    """Raise :class:`InputError` when ``lock`` was made for an environment ``python`` is not
    (its ``environments`` markers or ``requires-python``): installing it here would only
    record that its files do not fit this machine, which says nothing about the releases."""
    pylock = load_pylock(lock)
    target = probe_interpreter(str(python), environ=environ)
    markers = dict(target.markers)
    here = f"{python} (Python {markers['python_full_version']} on {markers['sys_platform']})"
    wanted = list(pylock.environments or ())
    if wanted and not any(marker.evaluate(markers) for marker in wanted):
        shown = " or ".join(f"'{marker}'" for marker in wanted)
        raise InputError(
            f"{lock}: the lock is for {shown}, which {here} is not; observe install measures "
            "this machine: lock for it (no --python/--platform), or observe where the lock's "
            "environment runs"
        )
    requires = pylock.requires_python
    if requires is not None and not requires.contains(markers["python_full_version"]):
        raise InputError(f"{lock}: the lock requires Python {requires}, which {here} is not")


def _lock_packages(lock: Path) -> tuple[PinnedPackage, ...]:
    """Every package of the lock (for a selection that failed as a whole)."""
    pylock = load_pylock(lock)
    names = {
        canonicalize_name(p.name): (str(p.version) if p.version else None) for p in pylock.packages
    }
    return tuple(
        PinnedPackage(name=n, version=v, filename="", built=False) for n, v in sorted(names.items())
    )


_NAMED = (
    re.compile(r"Failed to build (?:installable wheels for some pyproject\.toml based projects )?"
               r"\(?(?P<names>[\w.\-, ]+)\)?"),
    re.compile(r"Failed building wheel for (?P<names>[\w.\-]+)"),
    re.compile(r"for package '(?P<names>[\w.\-]+)'"),
    re.compile(r"Could not build wheels for (?P<names>[\w.\-, ]+?), which"),
    re.compile(r"No matching distribution found for (?P<names>[\w.\-]+)"),
)  # fmt: skip


def culprits(output: str, packages: Sequence[PinnedPackage]) -> tuple[PinnedPackage, ...]:
    """The packages pip's (or the selection's) output blames; empty when it names none."""
    by_name = {p.name: p for p in packages}
    found: set[str] = set()
    for pattern in _NAMED:
        for match in pattern.finditer(output):
            for word in re.split(r"[,\s]+", match["names"]):
                name = canonicalize_name(word) if word else ""
                if name in by_name:
                    found.add(name)
    _, sep, hashes = output.partition("DO NOT MATCH THE HASHES")
    if sep:
        for line in hashes.splitlines():
            head = re.match(r"\s+(?P<name>[A-Za-z0-9][\w.\-]*)\s*(?:@|==|\s)", line)
            if head and canonicalize_name(head["name"]) in by_name:
                found.add(canonicalize_name(head["name"]))
    if not found:
        for pkg in packages:
            if pkg.filename and re.search(
                rf"(?:ERROR|error).*{re.escape(pkg.filename)}", output, re.I
            ):
                found.add(pkg.name)
    return tuple(p for p in packages if p.name in found)


def _failed(
    packages: Iterable[PinnedPackage],
    *,
    failure_class: str,
    duration: float | None,
    output: str,
    stamp: _Stamp,
) -> list[BuildObservation]:
    log = excerpt(output, replace=stamp.replace)
    return [
        BuildObservation(
            package=p.name,
            version=p.version,
            environment=stamp.environment,
            outcome="failed",
            failure_class=failure_class,
            duration=duration,
            log_excerpt=log,
            provenance=stamp.provenance,
        )
        for p in packages
    ]


def top_level_modules(
    python: Path, *, environ: Mapping[str, str], timeout: float
) -> dict[str, list[str]]:
    """Canonical distribution name → its top-level modules, as installed for ``python``;
    empty when the interpreter cannot list them (each import then goes unobserved)."""
    try:
        found = installed_distributions(
            str(python), environ=environ, timeout=timeout, isolated=True
        )
    except InputError:
        return {}
    return {name: list(dist.modules) for name, dist in found.items()}


def _import(
    python: Path, module: str, *, environ: Mapping[str, str], timeout: float
) -> tuple[bool, bool, str, float]:
    """Import ``module`` in a fresh interpreter: (ok, timed out, output, seconds)."""
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [str(python), "-I", "-c", f"import {module}"],
            env=dict(environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.output if isinstance(exc.output, str) else ""
        return False, True, f"import {module}: timed out after {timeout:g} s\n{out}", timeout
    return proc.returncode == 0, False, proc.stdout, time.monotonic() - start


def _check_imports(
    packages: Sequence[PinnedPackage],
    python: Path,
    *,
    environ: Mapping[str, str],
    timeout: float,
    stamp: _Stamp,
) -> list[BuildObservation]:
    modules = top_level_modules(python, environ=environ, timeout=timeout)
    observations = []
    for pkg in packages:
        total, failure, log = 0.0, None, ""
        for module in modules.get(pkg.name, []):
            ok, timed_out, output, seconds = _import(
                python, module, environ=environ, timeout=timeout
            )
            total += seconds
            if not ok:
                failure = classify(output, stage="import", timed_out=timed_out)
                log = excerpt(output, replace=stamp.replace)
                break
        outcome: Literal["ok", "failed", "needs-build"] = (
            "failed" if failure else ("needs-build" if pkg.built else "ok")
        )
        observations.append(
            BuildObservation(
                package=pkg.name,
                version=pkg.version,
                environment=stamp.environment,
                outcome=outcome,
                failure_class=failure,
                duration=round(total, 6),
                log_excerpt=log,
                provenance=stamp.provenance,
            )
        )
    return observations


def _replacements(
    *, lock: Path, python: str, workdir: Path, venv: Path, environ: Mapping[str, str]
) -> dict[str, str]:
    """Machine-specific directories → placeholders, for :func:`excerpt`."""
    found = {
        str(venv): "<venv>",
        str(venv.resolve()): "<venv>",
        str(workdir): "<work>",
        str(workdir.resolve()): "<work>",
        str(lock.resolve().parent): "<lock>",
        str(Path(python).parent): "<python>",
        sys.prefix: "<advisor>",
        sys.base_prefix: "<python>",
    }
    home = environ.get("HOME") or environ.get("USERPROFILE")
    if home:
        found[home] = "<home>"
    return {k: v for k, v in found.items() if k and k not in ("/", ".")}


def observe_install(
    lock: Path,
    *,
    python: str,
    workdir: Path,
    timeout: float,
    environ: Mapping[str, str],
    today: str,
    tool: str,
    env: RuntimeEnvironment,
    events: ProgressEvents = SILENT,
) -> list[BuildObservation]:
    """Install ``lock`` into a fresh venv of ``python`` under ``workdir``; one observation
    per selected package (sorted by name), in the environment ``env`` (this machine).

    ``timeout`` bounds each step (the venv, pip, each import); ``environ`` is the whole
    environment of every subprocess; ``events`` hears of each pip run. Raises
    :class:`LockfileError` for an unreadable lock and :class:`InputError` when ``python``
    cannot make a venv or the lock was made for another environment; a package that fails
    is an observation, not an error.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    venv = workdir / "venv"
    stamp = _Stamp(
        environment=build_predicate(env),
        provenance=Provenance(source=SOURCE, date=today, tool=tool),
        replace=_replacements(
            lock=lock, python=python, workdir=workdir, venv=venv, environ=environ
        ),
    )
    _refuse_another_target(lock, python, environ=environ)
    venv_python = _create_venv(python, venv, environ=environ, timeout=timeout)
    selected = _selected(lock, venv_python, environ=environ)
    if isinstance(selected, PylockSelectError):
        message = str(selected)
        everyone = _lock_packages(lock)
        blamed = culprits(message, everyone) or everyone
        return _failed(
            blamed, failure_class=classify(message, stage="install", timed_out=False),
            duration=None, output=message, stamp=stamp,
        )  # fmt: skip
    start = time.monotonic()
    try:
        install_lock(lock, python=str(venv_python), environ=environ, timeout=timeout, events=events)
    except LockfileError as exc:
        output = str(exc)
        timed_out = isinstance(exc.__cause__, subprocess.TimeoutExpired)
        named = culprits(output, selected)
        failed = _failed(
            named or selected,
            failure_class=classify(output, stage="install", timed_out=timed_out),
            duration=round(time.monotonic() - start, 6),
            output=output,
            stamp=stamp,
        )
        rest = [p for p in selected if p not in named]
        if not named or not rest or timed_out:
            return failed
        # pip stops at the first failure: install the others without the packages it named,
        # so they are observed too (those that need a failed one are left unjudged)
        skip = {p.name for p in named}
        try:
            install_lock(
                lock,
                python=str(venv_python),
                environ=environ,
                timeout=timeout,
                skip=skip,
                events=events,
            )
        except LockfileError as again:
            more = culprits(str(again), rest) or rest
            second = _failed(
                more,
                failure_class=classify(str(again), stage="install", timed_out=False),
                duration=None,
                output=str(again),
                stamp=stamp,
            )
            return sorted([*failed, *second], key=lambda o: o.package or "")
        judged = [p for p in rest if p.name not in _dependents(lock, skip)]
        checked = _check_imports(judged, venv_python, environ=environ, timeout=timeout, stamp=stamp)
        return sorted([*failed, *checked], key=lambda o: o.package or "")
    return _check_imports(selected, venv_python, environ=environ, timeout=timeout, stamp=stamp)


def _dependents(lock: Path, names: set[str]) -> set[str]:
    """The packages of ``lock`` that need one of ``names``, directly or through others."""
    requires: dict[str, set[str]] = {}
    for pkg in load_pylock(lock).packages:
        deps = {canonicalize_name(str(d["name"])) for d in pkg.dependencies or () if "name" in d}
        requires.setdefault(canonicalize_name(pkg.name), set()).update(deps)
    found: set[str] = set()
    frontier = set(names)
    while frontier:
        frontier = {p for p, deps in requires.items() if deps & frontier and p not in found}
        found |= frontier
    return found
