"""Compatibility sweeps: pairs of releases installed side by side, imported, smoke-tested.

The Dependency-Monkey loop done simply, beside the performance sweep of
:mod:`advisor.observe.sweep`. ``advisor observe sweep numpy --with pandas --with scipy``
(versions chosen by the composition root: the newest wheels for this machine of each) pairs
every version of the swept package with every version of each ``--with`` package
(:func:`plan_pairs`) and, per pair (:func:`observe_pair`):

1. makes a fresh venv (:func:`advisor.observe.venv.create_venv`, no pip inside);
2. runs pip from this interpreter, ``--python VENV install --only-binary :all: A==x B==y``,
   so the rest of the pair's dependencies are resolved by pip as a user's install would be,
   from wheels only (the question is whether *these wheels* work together); every venv
   shares one wheel cache (pip's own, or ``cache_dir``);
3. imports ``A``'s top-level modules alone (a release that does not import by itself
   says nothing about the pair), then, in a fresh interpreter, every top-level module of
   ``B`` and ``B``'s smoke probe (:data:`SMOKE`: a few calls into its compiled parts;
   import only for projects without one);
4. records one :class:`~advisor.knowledge.schema.CompatibilityObservation`: ``ok``, or
   ``failed`` with a class from :func:`advisor.observe.failures.classify_pair`
   (``abi-mismatch``, ``import-error``, ``crash`` …), the environment that ran (the venv
   interpreter's Python, this machine's platform), every other distribution installed, an
   excerpt without machine paths, and the recorder id.

A pair pip cannot install is not an observation: when its metadata conflicts
(``declared-conflict``: the releases already say they do not go together) or a wheel is
missing (``no-wheel``), or when ``A`` fails alone (``error``), the result says so and
nothing is recorded. Venvs are removed after each pair (an ML stack is hundreds of MB).

Every child runs in its own process group; on a timeout, an error or Ctrl-C
(``KeyboardInterrupt``) the whole group is killed (pip's re-executed interpreter included),
so an interrupted sweep leaves nothing running.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from packaging.utils import canonicalize_name

from advisor.errors import InputError
from advisor.events import SILENT
from advisor.install import probe_interpreter
from advisor.knowledge.schema import CompatibilityObservation, Provenance
from advisor.observe.failures import classify, classify_pair, excerpt
from advisor.observe.fingerprint import build_predicate
from advisor.observe.installed import installed_distributions
from advisor.observe.venv import create_venv, interpreter_text, ran_in, top_level_modules

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents

__all__ = [
    "SMOKE",
    "SOURCE",
    "CompatOutcome",
    "CompatSettings",
    "Pair",
    "PairResult",
    "PipSource",
    "observe_pair",
    "plan_pairs",
    "run_command",
    "run_pairs",
]

SOURCE = "observe"

#: Smoke probes per project: a few calls that reach its compiled extensions (importing
#: the top-level module alone does not load them all: SciPy loads its submodules lazily).
SMOKE: Mapping[str, str] = {
    "numpy": "import numpy as np; np.linalg.inv(np.eye(3)); np.sort(np.arange(9)[::-1])",
    "pandas": (
        "import pandas as pd; df = pd.DataFrame({'k': [1, 2, 1], 'v': [1.0, 2.0, 3.0]});"
        " df.groupby('k').v.sum(); pd.to_datetime(['2024-01-01']); df.to_numpy()"
    ),
    "scipy": (
        "import numpy as np, scipy.linalg, scipy.special, scipy.sparse, scipy.stats;"
        " scipy.linalg.solve(np.eye(3), np.ones(3)); scipy.special.gamma(3.0);"
        " scipy.sparse.csr_matrix(np.eye(3)).sum(); scipy.stats.norm.cdf(0.5)"
    ),
    "scikit-learn": (
        "import numpy as np; from sklearn.linear_model import LinearRegression;"
        " from sklearn.cluster import KMeans; x = np.arange(20.0).reshape(10, 2);"
        " LinearRegression().fit(x, x[:, 0]).predict(x);"
        " KMeans(n_clusters=2, n_init=1, random_state=0).fit(x)"
    ),
    "matplotlib": (
        "import io, matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt;"
        " fig, ax = plt.subplots(); ax.plot([1, 2, 3]); fig.savefig(io.BytesIO(), format='png')"
    ),
}

_MARK = "advisor-compat: imported"  # printed between the imports and the smoke probe
_CONFLICT = re.compile(r"ResolutionImpossible|conflicting dependencies|Cannot install ", re.I)

PairStatus = Literal["observed", "declared-conflict", "no-wheel", "error"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Pair:
    """``package==version`` (the swept release) with ``other==other_version``."""

    package: str
    version: str
    other: str
    other_version: str

    @property
    def label(self) -> str:
        return f"{self.package}=={self.version} with {self.other}=={self.other_version}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PipSource:
    """Where pip finds the wheels (``None``/empty: pip's own configuration) and the wheel
    cache every venv shares (``None``: pip's own cache)."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    cache_dir: str | None = None

    @classmethod
    def of_indexes(cls, indexes: Sequence[str], *, find_links: Sequence[str] = ()) -> PipSource:
        """pip over ``indexes`` (the first primary, the rest extra; none: ``--no-index``)
        and ``find_links``."""
        return cls(
            index_url=indexes[0] if indexes else None,
            extra_index_urls=tuple(indexes[1:]),
            find_links=tuple(find_links),
            no_index=not indexes,
        )

    def args(self) -> list[str]:
        out: list[str] = []
        if self.index_url:
            out += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            out += ["--extra-index-url", url]
        for link in self.find_links:
            out += ["--find-links", link]
        if self.no_index:
            out.append("--no-index")
        if self.cache_dir:
            out += ["--cache-dir", self.cache_dir]
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class CompatSettings:
    """How each pair is observed: the interpreter its venv is made from, the wheels'
    source, the timeout of each step, the provenance (date, tool, recorder)."""

    python: str
    pip: PipSource = PipSource()
    timeout: float = 900.0
    today: str
    tool: str
    recorder: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PairResult:
    """What one pair gave: an observation (``status="observed"``), or why none was made
    (``detail``: a line of pip's or the interpreter's output)."""

    pair: Pair
    status: PairStatus
    observation: CompatibilityObservation | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CompatOutcome:
    """What a compatibility sweep did: one result per pair, and the observations made."""

    results: tuple[PairResult, ...]
    observations: tuple[CompatibilityObservation, ...]

    @classmethod
    def of(cls, results: Iterable[PairResult]) -> CompatOutcome:
        """The outcome of ``results``: its observations are those the pairs made, in order."""
        done = tuple(results)
        return cls(
            results=done,
            observations=tuple(r.observation for r in done if r.observation is not None),
        )


def plan_pairs(
    package: str, versions: Sequence[str], others: Mapping[str, Sequence[str]]
) -> tuple[Pair, ...]:
    """Every version of ``package`` with every version of each of ``others`` (name →
    versions), other by other in the order given, newest first within each. Raises
    :class:`InputError` when a name is paired with itself or a list is empty."""
    name = canonicalize_name(package)
    if not versions:
        raise InputError(f"{name}: no version to sweep")
    pairs = []
    for other, other_versions in others.items():
        other_name = canonicalize_name(other)
        if other_name == name:
            raise InputError(f"--with {other}: the swept package cannot be paired with itself")
        if not other_versions:
            raise InputError(f"--with {other}: no version to pair with")
        pairs += [
            Pair(package=name, version=v, other=other_name, other_version=ov)
            for ov in other_versions
            for v in versions
        ]
    return tuple(dict.fromkeys(pairs))


# -- children -----------------------------------------------------------------------------


class _Children:
    """The process groups of the children running now, so an interrupt can kill them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: set[int] = set()
        self._closed = False

    def add(self, pid: int) -> None:
        with self._lock:
            self._groups.add(pid)
            closed = self._closed
        if closed:  # started by another thread after the interrupt: it goes too
            _kill_group(pid)

    def discard(self, pid: int) -> None:
        with self._lock:
            self._groups.discard(pid)

    def kill_all(self) -> None:
        with self._lock:
            self._closed = True
            groups = sorted(self._groups)
        for pid in groups:
            _kill_group(pid)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(OSError):
        if sys.platform == "win32":  # pragma: no cover - no process groups there
            os.kill(pid, signal.SIGTERM)
        else:
            os.killpg(pid, signal.SIGKILL)


def run_command(
    command: Sequence[str],
    *,
    environ: Mapping[str, str],
    timeout: float,
    children: _Children | None = None,
) -> tuple[int | None, str, float]:
    """Run ``command`` in its own process group: (exit code, or ``None`` when it timed out;
    stdout and stderr together; seconds). On a timeout or any exception here (Ctrl-C
    included) the whole group is killed before this returns or re-raises."""
    start = time.monotonic()
    proc = subprocess.Popen(
        list(command),
        env=dict(environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # its own group: killed as one, and Ctrl-C reaches us only
    )
    if children is not None:
        children.add(proc.pid)
    try:
        out, _ = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        out, _ = proc.communicate()
        code = None
    except BaseException:
        _kill_group(proc.pid)
        proc.wait()
        raise
    finally:
        if children is not None:
            children.discard(proc.pid)
    return code, out or "", time.monotonic() - start


# -- one pair ------------------------------------------------------------------------------


def _smoke_script(modules: Sequence[str], smoke: str) -> str:
    imports = "".join(f"import {m}\n" for m in modules)
    return f"{imports}print({_MARK!r}, flush=True)\n{smoke}\n"


def _first_line(output: str) -> str:
    """The line of ``output`` that says most (pip's last error line), without URLs."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    return excerpt((errors or lines or [""])[-1][:300], limit=1)


def _cause(output: str) -> str:
    """pip's "The conflict is caused by:" lines other than the user's own requests, joined:
    which metadata declares the pair incompatible."""
    _, sep, rest = output.partition("The conflict is caused by:")
    lines = []
    for line in rest.splitlines()[1:] if sep else ():
        if not line.strip():
            break
        if not line.strip().startswith("The user requested"):
            lines.append(line.strip())
    return excerpt("; ".join(lines), limit=1) if lines else _first_line(output)


def observe_pair(
    pair: Pair,
    *,
    settings: CompatSettings,
    workdir: Path,
    env: RuntimeEnvironment,
    environ: Mapping[str, str],
    children: _Children | None = None,
) -> PairResult:
    """Install, import and smoke-test ``pair`` in a fresh venv under ``workdir`` (removed
    afterwards); see the module docstring. Raises :class:`InputError` when the interpreter
    cannot make a venv; everything the pair does is a result, not an error."""
    venv = workdir / f"{pair.package}-{pair.version}+{pair.other}-{pair.other_version}"
    try:
        return _observe(pair, venv, settings=settings, env=env, environ=environ,
                        children=children)  # fmt: skip
    finally:
        shutil.rmtree(venv, ignore_errors=True)


def _observe(
    pair: Pair,
    venv: Path,
    *,
    settings: CompatSettings,
    env: RuntimeEnvironment,
    environ: Mapping[str, str],
    children: _Children | None,
) -> PairResult:
    timeout = settings.timeout
    python = create_venv(settings.python, venv, environ=environ, timeout=timeout)
    pip = [
        sys.executable, "-m", "pip", "--python", str(python), "install",
        "--disable-pip-version-check", "--no-input", "--progress-bar", "off", "--no-compile",
        "--only-binary", ":all:", *settings.pip.args(),
        f"{pair.package}=={pair.version}", f"{pair.other}=={pair.other_version}",
    ]  # fmt: skip
    code, output, _ = run_command(pip, environ=environ, timeout=timeout, children=children)
    if code != 0:
        if code is not None and _CONFLICT.search(output):
            return PairResult(pair=pair, status="declared-conflict", detail=_cause(output))
        cls = classify(output, stage="install", timed_out=code is None)
        status: PairStatus = "no-wheel" if cls == "no-compatible-file" else "error"
        return PairResult(pair=pair, status=status, detail=f"pip: {_first_line(output)}")
    tops = top_level_modules(python, environ=environ, timeout=timeout)
    alone = "".join(f"import {m}\n" for m in tops.get(pair.package, []))
    code, output, _ = run_command(
        [str(python), "-I", "-c", alone], environ=environ, timeout=timeout, children=children
    )
    if code != 0:
        detail = f"{pair.package}=={pair.version} fails alone: {_first_line(output)}"
        return PairResult(pair=pair, status="error", detail=detail)
    installed = installed_distributions(str(python), environ=environ, timeout=timeout,
                                        isolated=True)  # fmt: skip
    modules = tops.get(pair.other, [])
    smoke = SMOKE.get(pair.other, "")
    script = _smoke_script(modules, smoke)
    code, output, seconds = run_command(
        [str(python), "-I", "-c", script], environ=environ, timeout=timeout, children=children
    )
    failure = classify_pair(
        output, returncode=code, timed_out=code is None, imported=_MARK in output
    )
    target = probe_interpreter(str(python), environ=environ)
    replace = {str(venv): "<venv>", str(venv.resolve()): "<venv>", sys.prefix: "<advisor>"}
    home = environ.get("HOME")
    if home:
        replace[home] = "<home>"
    probe = ", ".join(f"import {m}" for m in modules) + ("; smoke" if smoke else "")
    observation = CompatibilityObservation(
        package=pair.package,
        version=pair.version,
        other=pair.other,
        other_version=pair.other_version,
        outcome="failed" if failure else "ok",
        failure_class=failure,
        probe=probe,
        installed=tuple(
            f"{name}=={dist.version}"
            for name, dist in sorted(installed.items())
            if name not in (pair.package, pair.other)
        ),
        environment=build_predicate(ran_in(env, target.markers)),
        interpreter=interpreter_text(target.markers),
        duration=round(seconds, 3),
        log_excerpt=excerpt(output.replace(_MARK, ""), replace=replace) if failure else "",
        provenance=Provenance(
            source=SOURCE, date=settings.today, tool=settings.tool, recorder=settings.recorder
        ),
    )
    return PairResult(pair=pair, status="observed", observation=observation)


def run_pairs(
    pairs: Sequence[Pair],
    *,
    settings: CompatSettings,
    workdir: Path,
    env: RuntimeEnvironment,
    environ: Mapping[str, str],
    jobs: int = 1,
    events: ProgressEvents = SILENT,
) -> list[PairResult]:
    """Observe every pair, ``jobs`` at a time (each in its own venv), results in the order
    of ``pairs``; each pair is announced to ``events`` while it runs. On Ctrl-C every
    running child is killed and ``KeyboardInterrupt`` propagates."""
    workdir.mkdir(parents=True, exist_ok=True)
    children = _Children()
    total = len(pairs)

    def one(index: int, pair: Pair) -> PairResult:
        what = f"compatibility {index + 1}/{total}: {pair.label}"
        events.working(what)
        try:
            return observe_pair(pair, settings=settings, workdir=workdir, env=env,
                                environ=environ, children=children)  # fmt: skip
        finally:
            events.work_finished(what)

    if jobs <= 1:
        try:
            return [one(i, p) for i, p in enumerate(pairs)]
        except BaseException:
            children.kill_all()
            raise
    pool = ThreadPoolExecutor(max_workers=jobs)
    futures = []
    try:
        futures = [pool.submit(one, i, p) for i, p in enumerate(pairs)]
        return [f.result() for f in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        children.kill_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
