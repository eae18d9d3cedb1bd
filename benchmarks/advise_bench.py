"""What ``advisor advise`` costs next to ``advisor lock``: warm wall time and peak memory.

A benchmark entry point beside ``compare.py`` (not part of the package, not a test, not run
in CI). For each requirement set it runs, in a fresh work folder with one cache folder and
one temporary knowledge store (SQLite) shared by every run of that set:

1. one untimed ``advisor lock`` and one untimed ``advisor advise`` (they prime the cache, and
   the store with the bundled curated knowledge);
2. ``--runs`` timed runs of each, interleaved (lock, advise, lock, advise, ...), so a change
   of machine load hits both alike. The output lock is deleted before every run (an existing
   lock would make ``lock`` re-lock from it and ``advise`` score it as a baseline).

Each run is wrapped in ``/usr/bin/time -f %M`` when that exists (its peak resident set), else
in a small Python wrapper that reads ``resource.getrusage(RUSAGE_CHILDREN)``. ``advise`` runs
with its default budget unless ``--budget`` is given, and reads advisories from an OSV dump
when ``--osv`` is given (the security scorer then has facts to weigh): passed to every advise
run, or with ``--osv-in-store`` imported once into the temporary store before priming.
Reported: medians, the ratio advise/lock (and its 95 % bootstrap interval, ``bench_stats``),
the largest peak memory of advise, and both against the targets of issue 4 (advise at most
3x lock on a warm cache; peak under 300 MB).

    .venv/bin/python benchmarks/advise_bench.py --index-url URL [--index-url URL ...] \\
        --requirements ../shared/data/requirement-sets/jupyter.in \\
        --packages datascience=numpy,pandas,scikit-learn,matplotlib,scipy --runs 3

Sources are given on the command line only (the first ``--index-url`` is the primary); every
run sees no pip configuration and no ``PIP_*``/``ADVISOR_*`` variables. With more than one
source ``--index-strategy unsafe-best-match`` is added, as ``compare.py`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench_stats import Interval, optional_ratio_interval
from bench_tools import Sources, isolated_env, strip_userinfo

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["Figures", "RequirementSet", "main", "measure_set", "render_table"]

ROOT = Path(__file__).resolve().parents[1]
TIME_RATIO_TARGET = 3.0
PEAK_MB_TARGET = 300.0
_ADVISOR = "import sys; sys.argv[0] = 'advisor'; from advisor.cli import main; main()"
_RUSAGE = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[2:]); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
    "sys.exit(done.returncode)"
)
_ERROR_LINES = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class RequirementSet:
    """A named requirements file (``--requirements``) or package list (``--packages``)."""

    name: str
    path: Path | None = None
    packages: tuple[str, ...] = ()

    def write(self, folder: Path) -> Path:
        """The requirements file to resolve (a package list is written into ``folder``)."""
        if self.path is not None:
            return self.path.resolve()
        target = folder / f"{self.name}.in"
        target.write_text("".join(f"{p}\n" for p in self.packages), encoding="utf-8")
        return target


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures:
    """One set's measurements: wall seconds and peak resident memory (MB) per timed run."""

    set_name: str
    lock_times: tuple[float, ...] = ()
    advise_times: tuple[float, ...] = ()
    lock_peaks: tuple[float, ...] = ()
    advise_peaks: tuple[float, ...] = ()
    packages: int = 0
    differing: tuple[str, ...] = ()  # pins of the advice that differ from latest
    resolutions: int = 0  # resolutions the advice's search ran (of its budget)
    error: str | None = None
    memory_probe: str = ""

    @property
    def lock_median(self) -> float:
        return statistics.median(self.lock_times) if self.lock_times else float("nan")

    @property
    def advise_median(self) -> float:
        return statistics.median(self.advise_times) if self.advise_times else float("nan")

    @property
    def ratio(self) -> float:
        return self.advise_median / self.lock_median if self.lock_times else float("nan")

    @property
    def ratio_interval(self) -> Interval | None:
        """The ratio advise/lock with its 95 % bootstrap interval (``None`` without runs)."""
        return optional_ratio_interval(self.advise_times, self.lock_times)

    @property
    def advise_peak(self) -> float:
        return max(self.advise_peaks, default=float("nan"))

    @property
    def lock_peak(self) -> float:
        return max(self.lock_peaks, default=float("nan"))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Run:
    seconds: float
    peak_mb: float
    returncode: int
    stderr: str
    argv: tuple[str, ...] = field(default=())


def _source_args(sources: Sources) -> list[str]:
    args = ["--index-url", sources.index_urls[0]]
    for url in sources.index_urls[1:]:
        args += ["--extra-index-url", url]
    for link in sources.find_links:
        args += ["--find-links", link]
    if sources.merged:
        args += ["--index-strategy", "unsafe-best-match"]
    return args


def _memory_wrapper(python: str, peak_file: Path) -> tuple[list[str], str]:
    """The command prefix that records the peak RSS (KiB) of what follows in ``peak_file``."""
    gnu_time = Path("/usr/bin/time")
    if gnu_time.is_file() and os.access(gnu_time, os.X_OK):
        return [str(gnu_time), "-f", "%M", "-o", str(peak_file)], "/usr/bin/time -f %M"
    return [python, "-c", _RUSAGE, str(peak_file)], "getrusage(RUSAGE_CHILDREN)"


def _run(
    argv: Sequence[str], *, env: Mapping[str, str], python: str, work: Path, timeout: float
) -> _Run:
    peak_file = work / "peak.txt"
    peak_file.unlink(missing_ok=True)
    prefix, _ = _memory_wrapper(python, peak_file)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [*prefix, *argv],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return _Run(seconds=timeout, peak_mb=float("nan"), returncode=-1, stderr="timed out")
    elapsed = time.perf_counter() - start
    try:
        kib = float(peak_file.read_text().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        kib = float("nan")
    return _Run(
        seconds=elapsed,
        peak_mb=kib / 1024.0,
        returncode=done.returncode,
        stderr=done.stderr,
        argv=tuple(argv),
    )


def _failure(what: str, run: _Run) -> str:
    tail = "\n".join(run.stderr.strip().splitlines()[-_ERROR_LINES:])
    return f"{what} exited {run.returncode}:\n{tail}"


def measure_set(
    req_set: RequirementSet,
    *,
    sources: Sources,
    runs: int,
    python: str,
    budget: int | None,
    timeout: float,
    osv: Path | None = None,
    osv_in_store: bool = False,
) -> Figures:
    """Prime, then time ``runs`` interleaved warm runs of lock and advise for one set."""
    with tempfile.TemporaryDirectory(prefix="advise-bench-") as tmp:
        work = Path(tmp)
        requirements = req_set.write(work)
        cache = work / "cache"
        out = work / "pylock.toml"
        store = f"sqlite:///{work / 'store.db'}"
        env = isolated_env(os.environ, drop_prefixes=("PIP_", "ADVISOR_"), devnull=os.devnull)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        env["HOME"] = str(work / "home")  # the default store and caches stay in the temp folder
        common = [str(requirements), *_source_args(sources), "--cache-dir", str(cache)]
        lock = [python, "-c", _ADVISOR, "lock", *common, "-o", str(out), "-q"]
        advise = [python, "-c", _ADVISOR, "advise", *common, "--knowledge", store]
        advise += ["--budget", str(budget)] if budget is not None else []
        if osv is not None and not osv_in_store:
            advise += ["--osv", str(osv.resolve())]
        advise += ["-o", str(out)]
        advise_report = [*advise, "--report", "json", "--report-file", str(work / "report.json")]
        advise += ["-q"]

        def once(argv: Sequence[str]) -> _Run:
            out.unlink(missing_ok=True)
            return _run(argv, env=env, python=python, work=work, timeout=timeout)

        _, probe = _memory_wrapper(python, work / "peak.txt")
        if osv is not None and osv_in_store:
            argv = [python, "-c", _ADVISOR, "knowledge", "import-osv", str(osv.resolve())]
            imported = once([*argv, "--knowledge", store])
            if imported.returncode != 0:
                return Figures(set_name=req_set.name, error=_failure("import-osv", imported))
        for what, argv in (("lock (priming)", lock), ("advise (priming)", advise_report)):
            primed = once(argv)
            if primed.returncode != 0:
                return Figures(set_name=req_set.name, error=_failure(what, primed))
        report = json.loads((work / "report.json").read_text(encoding="utf-8"))
        lock_runs: list[_Run] = []
        advise_runs: list[_Run] = []
        for _ in range(runs):
            for what, argv, found in (("lock", lock, lock_runs), ("advise", advise, advise_runs)):
                done = once(argv)
                if done.returncode != 0:
                    return Figures(set_name=req_set.name, error=_failure(what, done))
                found.append(done)
        with out.open("rb") as handle:
            packages = len(tomllib.load(handle).get("packages", []))
        return Figures(
            set_name=req_set.name,
            lock_times=tuple(r.seconds for r in lock_runs),
            advise_times=tuple(r.seconds for r in advise_runs),
            lock_peaks=tuple(r.peak_mb for r in lock_runs),
            advise_peaks=tuple(r.peak_mb for r in advise_runs),
            packages=packages,
            differing=tuple(report["summary"]["differing_from_latest"]),
            resolutions=int(report["resolutions"]),
            memory_probe=probe,
        )


def render_table(results: Sequence[Figures]) -> str:
    """A Markdown table of the figures, with each set's verdict against the targets."""
    rows = [
        "| set | pkgs | lock warm (s) | advise warm (s) | advise/lock | advise peak (MB) "
        "| lock peak (MB) | resolutions | differs from latest | targets |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.error is not None:
            rows.append(f"| {r.set_name} | error | | | | | | | | {r.error.splitlines()[0]} |")
            continue
        ok_time = r.ratio <= TIME_RATIO_TARGET
        ok_peak = r.advise_peak < PEAK_MB_TARGET
        verdict = f"time {'met' if ok_time else 'MISSED'}, memory {'met' if ok_peak else 'MISSED'}"
        differing = ", ".join(r.differing) if r.differing else "none"
        rows.append(
            f"| {r.set_name} | {r.packages} | {r.lock_median:.2f} | {r.advise_median:.2f} "
            f"| {r.ratio:.2f}x | {r.advise_peak:.0f} | {r.lock_peak:.0f} | {r.resolutions} "
            f"| {differing} "
            f"| {verdict} |"
        )
    return "\n".join(rows)


def _parse_packages(text: str) -> RequirementSet:
    name, sep, names = text.partition("=")
    packages = tuple(p.strip() for p in names.split(",") if p.strip())
    if not sep or not name.strip() or not packages:
        raise argparse.ArgumentTypeError(f"expected LABEL=NAME,NAME,... (got {text!r})")
    return RequirementSet(name=name.strip(), packages=packages)


def _osv_note(osv: Path | None, *, in_store: bool) -> str:
    if osv is None:
        return ""
    return f"; advisories from {osv.name} ({'in the store' if in_store else 'advise --osv'})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--index-url", action="append", required=True, help="index URL (repeatable; first primary)"
    )
    parser.add_argument("--find-links", action="append", default=[], help="find-links location")
    parser.add_argument(
        "--requirements", action="append", default=[], type=Path, help="requirements file"
    )
    parser.add_argument(
        "--packages",
        action="append",
        default=[],
        type=_parse_packages,
        metavar="LABEL=NAME,NAME",
        help="a requirement set given as package names (repeatable)",
    )
    parser.add_argument("--runs", type=int, default=3, help="timed warm runs per command")
    parser.add_argument("--budget", type=int, help="advise --budget (default: the advisor's)")
    parser.add_argument("--osv", type=Path, help="an OSV dump for advise --osv (scores advisories)")
    parser.add_argument(
        "--osv-in-store",
        action="store_true",
        help="import the --osv dump into the temp store once (advisor knowledge import-osv) "
        "instead of passing --osv to every advise run",
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter to run the advisor")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)
    sets = [RequirementSet(name=p.stem, path=p) for p in args.requirements] + args.packages
    if not sets:
        parser.error("give at least one --requirements FILE or --packages LABEL=NAMES")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    sources = Sources(index_urls=tuple(args.index_url), find_links=tuple(args.find_links))
    results: list[Figures] = []
    for req_set in sets:
        print(f"{req_set.name}: measuring ...", file=sys.stderr, flush=True)
        figures = measure_set(
            req_set,
            sources=sources,
            runs=args.runs,
            python=args.python,
            budget=args.budget,
            timeout=args.timeout,
            osv=args.osv,
            osv_in_store=args.osv_in_store,
        )
        if figures.error is not None:
            print(f"{req_set.name}: {figures.error}", file=sys.stderr)
        results.append(figures)
    print(render_table(results))
    for r in results:
        interval = r.ratio_interval if r.error is None else None
        if interval is not None:
            print(f"{r.set_name}: advise/lock {interval.render()}")
    probe = next((r.memory_probe for r in results if r.memory_probe), "")
    print(
        f"\nwarm medians of {args.runs} interleaved runs after one priming run each "
        "(intervals: 95 % percentile bootstrap of the ratio of medians, seed 0); "
        f"peak RSS by {probe or 'n/a'}; advise budget {args.budget or 'default'}"
        f"{_osv_note(args.osv, in_store=args.osv_in_store)}; "
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores"
    )
    if args.json is not None:
        payload = {
            "sources": [strip_userinfo(u) for u in sources.index_urls],
            "runs": args.runs,
            "budget": args.budget,
            "osv": args.osv.name if args.osv else None,
            "osv_in_store": args.osv_in_store,
            "results": [
                {
                    **asdict(r),
                    "lock_median": r.lock_median,
                    "advise_median": r.advise_median,
                    "ratio": r.ratio,
                    "ratio_interval": (
                        r.ratio_interval.to_dict() if r.ratio_interval is not None else None
                    ),
                    "advise_peak": r.advise_peak,
                }
                for r in results
            ],
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    failed = any(r.error is not None for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
