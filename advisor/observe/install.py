"""Install a lock into a fresh venv on this machine and record what happened, per package.

Sits after the lockfile (a ``pylock.toml``) and before the knowledge store: the composition
root (:func:`advisor.api.observing.observe_install`) passes in the lock, an interpreter, a
work folder, a timeout, the process environment and today's date; this module returns one
:class:`~advisor.knowledge.schema.BuildObservation` per pinned package and writes nothing
but the venv.

Steps: ``PYTHON -m venv --clear --without-pip WORKDIR/venv`` (:mod:`advisor.observe.venv`);
the lock's selection for that venv (:meth:`packaging.pylock.Pylock.select`, as
:func:`advisor.install.install_lock` makes it); :func:`~advisor.install.install_lock` (pip
``--require-hashes --no-deps``); then a tiny script in the venv lists every installed
distribution's top-level modules (from ``top_level.txt``, else its ``RECORD``) and each
module is imported in a fresh interpreter of the venv (``-I``), with the timeout.

Per package: ``ok`` (``needs-build`` when the lock selected a source distribution and it
built and imported), else ``failed`` with a class from :mod:`advisor.observe.failures`, the
import's wall time as ``duration`` (the install's when the install failed) and an excerpt of
the output with no URLs or machine paths. pip installs all or nothing: when it fails, the
failure goes to the packages pip's output names (``Failed to build x``, a file name: see
:mod:`advisor.observe.blame`), else to every selected package; packages not named then get
no observation (they were not installed, so nothing was learnt about them). A file whose
digest is not the lock's is an ``artefact-fault`` of that file (its name, the digest it had,
the lock's) on this machine, never a failure of its release; the others are then installed
without it.

Every observation records the environment that ran: the Python version and implementation
asked from the venv's interpreter (``interpreter``: ``"cpython 3.11.2"``), on this machine's
platform, and who recorded it (``recorder`` in the provenance).
"""

from __future__ import annotations

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
from advisor.knowledge.schema import ArtefactFault, BuildObservation, Provenance
from advisor.lockfile.pylock import load_pylock
from advisor.observe.blame import PinnedPackage, artefact_faults, culprits
from advisor.observe.failures import classify, excerpt
from advisor.observe.fingerprint import build_predicate
from advisor.observe.venv import (
    create_venv,
    interpreter_text,
    ran_in,
    run_import,
    top_level_modules,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from packaging.markers import Environment

    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.install import TargetInterpreter
    from advisor.knowledge.schema import EnvironmentPredicate

__all__ = ["observe_install"]

SOURCE = "observe"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Stamp:
    environment: EnvironmentPredicate
    interpreter: str
    provenance: Provenance
    replace: Mapping[str, str]


def _selected(
    lock: Path, target: TargetInterpreter
) -> tuple[PinnedPackage, ...] | PylockSelectError:
    """What the lock installs into the interpreter ``target``, or the selection's error."""
    pylock = load_pylock(lock)
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
            interpreter=stamp.interpreter,
            provenance=stamp.provenance,
        )
        for p in packages
    ]


def _faulted(
    faults: Iterable[tuple[PinnedPackage, ArtefactFault]], *, output: str, stamp: _Stamp
) -> list[BuildObservation]:
    log = excerpt(output, replace=stamp.replace)
    return [
        BuildObservation(
            package=p.name,
            version=p.version,
            environment=stamp.environment,
            outcome="artefact-fault",
            failure_class="hash-mismatch",
            log_excerpt=log,
            interpreter=stamp.interpreter,
            artefact=fault,
            provenance=stamp.provenance,
        )
        for p, fault in faults
    ]


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
            ok, timed_out, output, seconds = run_import(
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
                interpreter=stamp.interpreter,
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
    recorder: str = "",
    events: ProgressEvents = SILENT,
) -> list[BuildObservation]:
    """Install ``lock`` into a fresh venv of ``python`` under ``workdir``; one observation
    per selected package (sorted by name), on this machine (``env``: its platform, OS,
    architecture and C library) with the Python the venv's interpreter reports (not
    ``env``'s), recorded by ``recorder`` (this machine's id, see
    :mod:`advisor.observe.recorder`).

    ``timeout`` bounds each step (the venv, pip, each import); ``environ`` is the whole
    environment of every subprocess; ``events`` hears of each pip run. Raises
    :class:`LockfileError` for an unreadable lock and :class:`InputError` when ``python``
    cannot make a venv or the lock was made for another environment; a package that fails
    is an observation, not an error.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    venv = workdir / "venv"
    _refuse_another_target(lock, python, environ=environ)
    venv_python = create_venv(python, venv, environ=environ, timeout=timeout)
    target = probe_interpreter(str(venv_python), environ=environ)
    stamp = _Stamp(
        environment=build_predicate(ran_in(env, target.markers)),
        interpreter=interpreter_text(target.markers),
        provenance=Provenance(source=SOURCE, date=today, tool=tool, recorder=recorder),
        replace=_replacements(
            lock=lock, python=python, workdir=workdir, venv=venv, environ=environ
        ),
    )
    selected = _selected(lock, target)
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
        failure_class = classify(output, stage="install", timed_out=timed_out)
        if failure_class == "hash-mismatch":
            # a local file is not the lock's: a fault of that file here, not of its release
            # (a refused file pip does not tie to a package teaches nothing about any)
            faults = artefact_faults(output, selected)
            named = tuple(p for p, _ in faults)
            failed = _faulted(faults, output=output, stamp=stamp)
        else:
            named = culprits(output, selected)
            failed = _failed(
                named or selected,
                failure_class=failure_class,
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
            second_class = classify(str(again), stage="install", timed_out=False)
            if second_class == "hash-mismatch":
                second = _faulted(artefact_faults(str(again), rest), output=str(again), stamp=stamp)
            else:
                second = _failed(
                    culprits(str(again), rest) or rest,
                    failure_class=second_class,
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
