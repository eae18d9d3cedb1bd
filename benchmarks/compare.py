"""Compare ``advisor lock`` with pip and uv on real requirement sets, cold and warm.

The benchmark entry point (not part of the package, not a test). For each requirements file
and each tool it times a cold resolution (a fresh, empty cache folder per run) and a warm one
(the cache primed by one untimed run), reports medians and the advisor's ratios to pip and uv
(with their 95 % bootstrap intervals, ``bench_stats``), and checks that the pins agree
with pip's. ``--profile-startup`` measures what the advisor spends before it does any work.
Index URLs are always given on the command line.

    python benchmarks/compare.py --index-url URL [--index-url URL ...] \\
        --requirements set.in [--requirements other.in ...] [--runs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench_startup import profile_startup, render_startup
from bench_stats import Interval, optional_ratio_interval
from bench_tools import (
    AdvisorTool,
    PinDiff,
    PipTool,
    Sources,
    Tool,
    UvTool,
    diff_pins,
    isolated_env,
    strip_userinfo,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["Measurement", "main", "measure", "render_table"]

_ERROR_LINES = 40


@dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    """One tool on one requirement set: wall times in seconds, pins, or the error."""

    set_name: str
    tool: str
    cold: tuple[float, ...] = ()
    warm: tuple[float, ...] = ()
    pins: Mapping[str, str] | None = None
    error: str | None = None
    vs_pip: PinDiff | None = None

    @property
    def cold_median(self) -> float | None:
        return statistics.median(self.cold) if self.cold else None

    @property
    def warm_median(self) -> float | None:
        return statistics.median(self.warm) if self.warm else None

    def to_dict(self) -> dict[str, object]:
        return {
            "set": self.set_name,
            "tool": self.tool,
            "cold_s": list(self.cold),
            "warm_s": list(self.warm),
            "cold_median_s": self.cold_median,
            "warm_median_s": self.warm_median,
            "packages": len(self.pins) if self.pins is not None else None,
            "pins": dict(sorted(self.pins.items())) if self.pins is not None else None,
            "error": self.error,
            "agrees_with_pip": self.vs_pip.agrees if self.vs_pip else None,
            "differences_from_pip": self.vs_pip.summary(limit=50) if self.vs_pip else None,
        }


class _RunFailed(Exception):
    pass


def _run(
    tool: Tool, requirements: Path, *, sources: Sources, cache: Path, out: Path, timeout: float
) -> float:
    """Run one resolution; return its wall time. Raises ``_RunFailed`` with the tool's words."""
    out.unlink(missing_ok=True)  # the advisor re-locks from an existing lock: start clean
    call = tool.invocation(requirements, sources=sources, cache_dir=cache, output=out)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            call.argv,
            env=dict(call.env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise _RunFailed(f"timed out after {timeout:.0f} s") from exc
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or not out.exists():
        text = (done.stderr.strip() or done.stdout.strip()).splitlines()[-_ERROR_LINES:]
        raise _RunFailed(f"exit code {done.returncode}\n" + "\n".join(text))
    return elapsed


def measure(
    tool: Tool,
    requirements: Path,
    *,
    set_name: str,
    sources: Sources,
    runs: int,
    work: Path,
    timeout: float,
    warmup: int = 1,
) -> Measurement:
    """Cold runs (fresh cache each), then warm runs (cache primed once, untimed).

    ``warmup`` untimed cold runs come first: they fill the OS page cache with the index files
    and write any missing bytecode, so the first timed run is not charged for either. A
    failing run ends this tool's measurement on this set; the error is kept, not raised.
    """
    out = work / f"{set_name}.{tool.name}.out"
    cold: list[float] = []
    warm: list[float] = []

    def once(cache: Path) -> float:
        return _run(tool, requirements, sources=sources, cache=cache, out=out, timeout=timeout)

    def cold_once() -> float:
        cache = Path(tempfile.mkdtemp(prefix=f"{tool.name}-cold-", dir=work))
        try:
            return once(cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    try:
        for _ in range(warmup):
            cold_once()
        cold += [cold_once() for _ in range(runs)]
        cache = Path(tempfile.mkdtemp(prefix=f"{tool.name}-warm-", dir=work))
        try:
            once(cache)
            warm += [once(cache) for _ in range(runs)]
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        pins = tool.read_pins(out)
    except _RunFailed as exc:
        return Measurement(
            set_name=set_name, tool=tool.name, cold=tuple(cold), warm=tuple(warm), error=str(exc)
        )
    return Measurement(
        set_name=set_name, tool=tool.name, cold=tuple(cold), warm=tuple(warm), pins=pins
    )


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def _seconds(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def render_table(results: Sequence[Measurement]) -> str:
    """The results as a fixed-width text table, in the order measured, errors listed below."""
    by_key = {(m.set_name, m.tool): m for m in results}
    header = (
        "set",
        "pkgs",
        "tool",
        "cold s",
        "warm s",
        "pins vs pip",
        "adv/pip cold",
        "adv/pip warm",
        "adv/uv cold",
        "adv/uv warm",
    )
    rows: list[tuple[str, ...]] = [header]
    errors: list[str] = []
    for m in results:
        ratios = ("", "", "", "")
        if m.tool == "advisor":
            pip, uv = by_key.get((m.set_name, "pip")), by_key.get((m.set_name, "uv"))
            ratios = (
                _ratio(m.cold_median, pip.cold_median if pip else None),
                _ratio(m.warm_median, pip.warm_median if pip else None),
                _ratio(m.cold_median, uv.cold_median if uv else None),
                _ratio(m.warm_median, uv.warm_median if uv else None),
            )
        if m.error is not None:
            agree = "FAILED (see below)"
            errors.append(f"--- {m.tool} on {m.set_name}: {m.error}")
        elif m.vs_pip is None:
            agree = "-" if m.tool == "pip" else "pip failed"
        else:
            agree = "same" if m.vs_pip.agrees else m.vs_pip.summary(limit=2)
        pkgs = str(len(m.pins)) if m.pins is not None else "-"
        rows.append(
            (
                m.set_name,
                pkgs,
                m.tool,
                _seconds(m.cold_median),
                _seconds(m.warm_median),
                agree,
                *ratios,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + (["", *errors] if errors else []))


def ratio_intervals(results: Sequence[Measurement]) -> list[tuple[str, Interval]]:
    """The advisor's ratios of medians to pip and uv, cold and warm, with their 95 %
    bootstrap intervals (``bench_stats``), labelled ``SET adv/TOOL cold|warm``."""
    by_key = {(m.set_name, m.tool): m for m in results}
    found: list[tuple[str, Interval]] = []
    for m in results:
        if m.tool != "advisor" or m.error is not None:
            continue
        for other in ("pip", "uv"):
            them = by_key.get((m.set_name, other))
            if them is None or them.error is not None:
                continue
            for phase, ours, theirs in (("cold", m.cold, them.cold), ("warm", m.warm, them.warm)):
                interval = optional_ratio_interval(ours, theirs)
                if interval is not None:
                    found.append((f"{m.set_name} adv/{other} {phase}", interval))
    return found


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Time advisor lock against pip and uv, cold and warm cache."
    )
    add = parser.add_argument
    add(
        "--index-url",
        action="append",
        default=[],
        metavar="URL",
        help="package index (repeatable; the first is primary, the rest are extra)",
    )
    add(
        "--find-links",
        action="append",
        default=[],
        metavar="DIR|URL",
        help="flat file location (repeatable)",
    )
    add(
        "--requirements",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="requirements file to resolve (repeatable)",
    )
    add("--runs", type=int, default=5, help="timed runs per cold/warm figure (default 5)")
    add("--tools", default="advisor,pip,uv", help="comma-separated subset of advisor,pip,uv")
    add("--json", type=Path, metavar="FILE", help="write every figure and pin here")
    add(
        "--python",
        default=sys.executable,
        help="interpreter for pip, the import probes and uv's --python-version (default: this one)",
    )
    add(
        "--advisor",
        metavar="CMD",
        help="advisor command (default: the 'advisor' script next to --python, else on PATH)",
    )
    add(
        "--uv",
        metavar="CMD",
        help="uv command (default: 'uv' on PATH, else '--python -m uv' when installed)",
    )
    add(
        "--installed-advisor",
        action="store_true",
        help="do not put this checkout first on PYTHONPATH for the advisor runs",
    )
    add(
        "--warmup",
        type=int,
        default=1,
        help="untimed cold runs before the timed ones, per tool and set (default 1)",
    )
    add("--timeout", type=float, default=900.0, help="seconds allowed per run (default 900)")
    add(
        "--profile-startup",
        action="store_true",
        help="measure advisor start-up and import cost instead of resolutions",
    )
    add(
        "--import-module",
        action="append",
        default=[],
        metavar="MODULE",
        help="module to time with --profile-startup (default: advisor.cli)",
    )
    return parser


def _checkout() -> Path | None:
    """The repository this script belongs to, when it holds the ``advisor`` package."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "advisor" / "__init__.py").is_file() else None


def _advisor_command(python: str, given: str | None) -> tuple[str, ...]:
    if given:
        return tuple(shlex.split(given))
    beside = Path(python).parent / "advisor"
    if beside.is_file():
        return (str(beside),)
    found = shutil.which("advisor")
    if found is None:
        raise SystemExit("advisor not found: pass --advisor CMD")
    return (found,)


def _uv_command(python: str, given: str | None) -> tuple[str, ...] | None:
    if given:
        return tuple(shlex.split(given))
    found = shutil.which("uv")
    if found:
        return (found,)
    probe = subprocess.run(
        [python, "-m", "uv", "--version"], capture_output=True, text=True, check=False
    )
    return (python, "-m", "uv") if probe.returncode == 0 else None


def _version_of(argv: Sequence[str], env: Mapping[str, str]) -> str:
    done = subprocess.run(argv, env=dict(env), capture_output=True, text=True, check=False)
    lines = (done.stdout.strip() or done.stderr.strip()).splitlines()
    return lines[0] if done.returncode == 0 and lines else f"unknown (exit {done.returncode})"


def _set_names(paths: Sequence[Path]) -> list[str]:
    names: list[str] = []
    for path in paths:
        name = path.stem
        while name in names:
            name += "'"
        names.append(name)
    return names


def _machine() -> dict[str, object]:
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return the process exit code (0 even when a tool failed a set)."""
    args = _argument_parser().parse_args(argv)
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    checkout = None if args.installed_advisor else _checkout()
    # Tools run as a user's shell would: with bytecode written. Where the caller disabled it,
    # every edited source would be compiled again on every timed run.
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    advisor_env = isolated_env(base, drop_prefixes=("PIP_", "ADVISOR_"), devnull=os.devnull)
    if checkout is not None:
        advisor_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(checkout), base.get("PYTHONPATH", "")) if p
        )
    advisor = _advisor_command(args.python, args.advisor)

    if args.profile_startup:
        profile = profile_startup(
            python=args.python,
            advisor=advisor,
            modules=args.import_module or ["advisor.cli"],
            env=advisor_env,
            runs=args.runs,
        )
        print(render_startup(profile))
        if args.json:
            startup_report: dict[str, object] = {
                "machine": _machine(),
                "startup": profile.to_dict(),
            }
            args.json.write_text(json.dumps(startup_report, indent=2) + "\n", encoding="utf-8")
        return 0

    if not args.index_url or not args.requirements:
        raise SystemExit("give at least one --index-url and one --requirements")
    sources = Sources(index_urls=tuple(args.index_url), find_links=tuple(args.find_links))
    wanted = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(wanted) - {"advisor", "pip", "uv"}
    if unknown:
        raise SystemExit(f"unknown tools: {', '.join(sorted(unknown))}")
    python_version = subprocess.run(
        [args.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    tools: list[Tool] = []
    if "pip" in wanted:  # first, so the others can be compared with its pins
        pip_env = isolated_env(base, drop_prefixes=("PIP_",), devnull=os.devnull)
        tools.append(PipTool(python=args.python, env=pip_env))
    if "advisor" in wanted:
        tools.append(AdvisorTool(command=advisor, env=advisor_env))
    if "uv" in wanted:
        uv = _uv_command(args.python, args.uv)
        if uv is None:
            print("uv is not installed: skipped (pass --uv CMD)", file=sys.stderr)
        else:
            uv_env = isolated_env(base, drop_prefixes=("PIP_", "UV_"), devnull=os.devnull)
            uv_env["UV_NO_CONFIG"] = "1"
            tools.append(UvTool(command=uv, python_version=python_version, env=uv_env))

    versions = {t.name: _version_of(t.version_argv(), dict(os.environ)) for t in tools}
    print(
        f"{_machine()['date']}  {os.cpu_count()} cores  python {python_version}  "
        + "  ".join(f"{k}: {v}" for k, v in versions.items()),
        file=sys.stderr,
    )
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="advisor-bench-") as tmp:
        for path, name in zip(args.requirements, _set_names(args.requirements), strict=True):
            measured = []
            for tool in tools:
                print(f"{name}: {tool.name} ...", file=sys.stderr, flush=True)
                measured.append(
                    measure(
                        tool,
                        path.resolve(),
                        set_name=name,
                        sources=sources,
                        runs=args.runs,
                        warmup=args.warmup,
                        work=Path(tmp),
                        timeout=args.timeout,
                    )
                )
            pip_pins = next((m.pins for m in measured if m.tool == "pip"), None)
            for m in measured:
                if m.tool != "pip" and m.pins is not None and pip_pins is not None:
                    m = dataclasses.replace(m, vs_pip=diff_pins(m.pins, pip_pins))
                results.append(m)

    print(render_table(results))
    intervals = ratio_intervals(results)
    if intervals:
        print("\nratios of medians, 95 % percentile bootstrap intervals (2,000 resamples, seed 0):")
        width = max(len(label) for label, _ in intervals)
        for label, interval in intervals:
            print(f"{label.ljust(width)}  {interval.render()}")
    if args.json:
        report: dict[str, object] = {
            "machine": _machine(),
            "runs": args.runs,
            "sources": {
                "index_urls": [strip_userinfo(u) for u in sources.index_urls],
                "find_links": [strip_userinfo(u) for u in sources.find_links],
            },
            "tools": versions,
            "results": [m.to_dict() for m in results],
            "ratios": {label: interval.to_dict() for label, interval in intervals},
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
