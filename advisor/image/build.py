"""Run a container build, follow its steps, and turn its outcome into build observations.

Sits after :mod:`advisor.image.tools` (which tool, which command line) and before the
knowledge store: :func:`run_build` runs the tool with its output streamed line by line to a
callback (the CLI's progress display), :func:`classify_build` names what went wrong in one
word, and :func:`image_observations` records the outcome so that the next advice knows it:
one observation for the whole stack (``stack_digest``, the image recipe, the duration, the
failure class and a cleaned log excerpt), plus one per package, ``ok`` for every pin of a
build that passed, ``failed`` for each package the log blames. A build pip stopped because
a vendored file's digest is not the lock's is an ``artefact-fault`` (the stack's and, with
the file's name and digests, each refused file's package's): a fault of the local file on
this machine, never a failure of the release.

Failure classes, checked in this order (the first that matches wins):

====================  ===========================================================================
``timeout``           the build ran out of time
``base-image``        the base image could not be found or pulled (``manifest unknown``, ``image
                      not known``, ``pull access denied``, ``initializing source`` …)
``system-packages``   apt could not install the recipe's packages (``E: Unable to locate
                      package``, ``has no installation candidate``, ``Temporary failure
                      resolving`` …)
``python-missing``    the base has no usable ``python3`` or ``venv`` module
pip's classes         ``hash-mismatch``, ``no-compatible-file``, ``headers-missing``,
                      ``compiler-missing`` (see :mod:`advisor.observe.failures`)
``tool-error``        the build tool itself failed (storage, permissions, no engine, disk full)
``unknown``           anything else
====================  ===========================================================================
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from advisor.errors import InputError
from advisor.knowledge.schema import BuildObservation, stack_digest
from advisor.observe.blame import PinnedPackage, artefact_faults, culprits
from advisor.observe.failures import classify, excerpt

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from advisor.knowledge.schema import (
        ArtefactFault,
        BuildOutcome,
        EnvironmentPredicate,
        Provenance,
    )

__all__ = [
    "BuildRun",
    "Progress",
    "classify_build",
    "image_observations",
    "parse_step",
    "run_build",
]

#: Lines of the tool's output kept for classification and the excerpt (the tail matters).
_KEEP_LINES = 5000

_STEP = re.compile(
    r"^(?:\[(?P<stage>\d+)/(?P<stages>\d+)\] )?"  # buildah's and podman's stage, if several
    r"(?:STEP|Step) (?P<n>\d+)/(?P<total>\d+)\s*:"  # buildah, podman, docker's legacy builder
    r"|^#\d+ \[[^\]]*?(?P<bn>\d+)/(?P<btotal>\d+)\]"  # BuildKit's plain progress
)
_BUILD_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "base-image",
        re.compile(
            r"initializing source|manifest unknown|pull access denied|repository does not exist"
            r"|image not known|failed to resolve source metadata|error pulling image"
            r"|short-name \S+ did not resolve|unable to find image|no such image",
            re.I,
        ),
    ),
    (
        "system-packages",
        re.compile(
            r"^E: (?:Unable to locate package|Package '[^']*' has no installation candidate"
            r"|Failed to fetch|Unable to fetch)|Temporary failure resolving",
            re.M,
        ),
    ),
    (
        "python-missing",
        re.compile(
            r"python3: (?:command )?not found|No module named venv|ensurepip is not available"
            r"|executable file `python3` not found",
            re.I,
        ),
    ),
)
_TOOL_ERROR = re.compile(
    r"permission denied|operation not permitted|Cannot connect to the Docker daemon"
    r"|creating build container|no space left on device|error mounting|storage driver",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Progress:
    """A step the build reached: ``step`` of ``total`` (as the tool counts them), in the
    stage ``stage`` of ``stages`` when the tool says (buildah and podman number a
    multi-stage build's steps per stage)."""

    step: int
    total: int
    stage: int | None = None
    stages: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildRun:
    """One finished build: the tool's exit code, the tail of its combined output, how long
    it took (seconds), whether it ran out of time, and the last step it reached."""

    argv: tuple[str, ...]
    returncode: int
    output: str
    duration: float
    timed_out: bool = False
    progress: Progress | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def parse_step(line: str) -> Progress | None:
    """The step a line of build output announces (``STEP 3/9: RUN …``), if any."""
    match = _STEP.match(line)
    if match is None:
        return None
    n = match["n"] or match["bn"]
    total = match["total"] or match["btotal"]
    if match["stage"]:
        return Progress(int(n), int(total), int(match["stage"]), int(match["stages"]))
    return Progress(int(n), int(total))


def run_build(
    argv: Sequence[str],
    *,
    environ: Mapping[str, str],
    cwd: Path,
    timeout: float,
    on_line: Callable[[str, Progress | None], None] | None = None,
) -> BuildRun:
    """Run ``argv`` with stdout and stderr merged, calling ``on_line(line, progress)`` for
    each line as it arrives; the build is killed after ``timeout`` seconds. Raises
    :class:`InputError` when the tool cannot be started at all."""
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            env=dict(environ),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,  # a time-out stops the tool's children too
        )
    except OSError as exc:
        raise InputError(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        _kill_group(proc)

    timer = threading.Timer(timeout, kill)
    timer.daemon = True
    timer.start()
    lines: collections.deque[str] = collections.deque(maxlen=_KEEP_LINES)
    progress: Progress | None = None
    try:
        assert proc.stdout is not None
        with proc.stdout:
            for raw in proc.stdout:
                line = raw.rstrip("\n")
                lines.append(line)
                step = parse_step(line)
                progress = step or progress
                if on_line is not None:
                    on_line(line, step)
        returncode = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:  # the callback raised: do not leave the build running
            _kill_group(proc)
            proc.wait()
    return BuildRun(
        argv=tuple(argv),
        returncode=returncode,
        output="\n".join(lines),
        duration=time.monotonic() - start,
        timed_out=timed_out.is_set(),
        progress=progress,
    )


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:  # already gone
        proc.kill()


def classify_build(output: str, *, timed_out: bool) -> str:
    """The failure class of a failed build (see the module's table)."""
    if timed_out:
        return "timeout"
    for name, pattern in _BUILD_CLASSES:
        if pattern.search(output):
            return name
    pip_class = classify(output, stage="install", timed_out=False)
    if pip_class != "unknown":
        return pip_class
    if _TOOL_ERROR.search(output):
        return "tool-error"
    return "unknown"


def image_observations(
    run: BuildRun,
    *,
    image: str,
    pins: Mapping[str, str],
    files: Mapping[str, Sequence[str]],
    environment: EnvironmentPredicate,
    provenance: Provenance,
    replace: Mapping[str, str] | None = None,
    interpreter: str | None = None,
) -> list[BuildObservation]:
    """What ``run`` says about the image ``image`` whose lock pins ``pins`` (name →
    version; ``files``: name → its locked file names, for blaming by file name).

    Always one stack observation; then ``ok`` for every pin when the build passed, or
    ``failed`` (with the class and the log excerpt) for each package the log blames. A
    failure that blames no package (a missing base image, a tool error) is about the stack
    alone: the packages are not marked. A ``hash-mismatch`` is an ``artefact-fault``: of the
    stack, and of each refused file (its package's observation names the file and its
    digests), never ``failed``. ``environment`` and ``interpreter`` are what the build
    observed of the base (see :mod:`advisor.image.base_facts`; ``interpreter`` ``None``: not
    observed). ``replace`` maps directories to placeholders for the excerpt (the context
    folder, say).
    """
    failure_class = None if run.ok else classify_build(run.output, timed_out=run.timed_out)
    outcome: BuildOutcome = "ok" if run.ok else "failed"
    if failure_class == "hash-mismatch":
        outcome = "artefact-fault"
    log = "" if run.ok else excerpt(run.output, replace=replace)
    stack = BuildObservation(
        image=image,
        stack_digest=stack_digest(pins),
        environment=environment,
        outcome=outcome,
        failure_class=failure_class,
        duration=round(run.duration, 3),
        log_excerpt=log,
        interpreter=interpreter,
        provenance=provenance,
    )
    packages = [
        PinnedPackage(name=name, version=version, filename=name_file, built=False)
        for name, version in sorted(pins.items())
        for name_file in (files.get(name) or ("",))
    ]

    def about(name: str, artefact: ArtefactFault | None = None) -> BuildObservation:
        return msgspec.structs.replace(
            stack, package=name, version=pins[name], stack_digest=None, duration=None,
            artefact=artefact,
        )  # fmt: skip

    if failure_class == "hash-mismatch":
        faults = artefact_faults(run.output, packages)
        return [stack, *(about(p.name, fault) for p, fault in faults)]
    blamed = sorted(pins) if run.ok else sorted({p.name for p in culprits(run.output, packages)})
    return [stack, *(about(name) for name in blamed)]
