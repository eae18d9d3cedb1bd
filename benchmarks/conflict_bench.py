"""How fast a conflict is explained: ``advisor lock`` and ``uv pip compile`` side by side.

A benchmark script (not part of the package, not a test). It resolves a requirement set that
has no solution, by default ``numpy<1.20`` with ``pandas>=2.2``: for any Python that old
numpy has no wheel for, pandas' wheels alone prove the conflict, and a resolver that builds
the old numpy sdists first to read their metadata takes minutes. Both tools run on the same
sources: the index configuration pip has here (its index, extra indexes and find-links, as
``pip config list`` shows them), or the ``--index-url``/``--find-links`` given. Each tool is
timed cold (an empty cache folder per run) and warm (a primed cache), and each must fail
(exit code not 0) naming every project of the set; the table gives medians and the
advisor/uv ratio (the target: within 3x uv).

uv is taken from ``--uv CMD``, else ``PATH``, else the benchmark's own venv (``--uv-venv``,
created with ``python -m venv`` and filled with ``pip install uv`` when missing, so the
project's venv stays untouched). When uv cannot be installed the advisor is measured alone.

    python benchmarks/conflict_bench.py [--requirements FILE] [--runs 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench_tools import AdvisorTool, Sources, Tool, UvTool, isolated_env, strip_userinfo

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Timing", "configured_sources", "main"]

DEFAULT_SET = "numpy<1.20\npandas>=2.2\n"
_TAIL = 12  # lines of a tool's error output kept in the report


@dataclass(slots=True, kw_only=True)
class Timing:
    """One tool's runs: wall times in seconds, and what its last run said."""

    tool: str
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    tail: str = ""
    error: str | None = None

    @property
    def cold_median(self) -> float | None:
        return statistics.median(self.cold) if self.cold else None

    @property
    def warm_median(self) -> float | None:
        return statistics.median(self.warm) if self.warm else None


def configured_sources(*, cwd: Path) -> tuple[Sources, list[str]]:
    """The index configuration pip has here, read as the advisor reads it; ``file://``
    sources that do not exist are left out (and named in the second value)."""
    from advisor.index.settings import default_index_url, load_pip_settings

    pip = load_pip_settings(environ=os.environ, cwd=cwd)
    urls = [pip.index_url or default_index_url(), *pip.extra_index_urls]
    links = list(pip.find_links)
    missing = [u for u in urls + links if _missing_local(u)]
    return (
        Sources(
            index_urls=tuple(u for u in urls if u not in missing),
            find_links=tuple(u for u in links if u not in missing),
        ),
        missing,
    )


def _missing_local(source: str) -> bool:
    if source.startswith("file://"):
        return not Path(source.removeprefix("file://")).exists()
    return "://" not in source and not Path(source).exists()


def _uv_command(given: str | None, venv: Path) -> tuple[tuple[str, ...] | None, str]:
    """uv's command, and how it was found (or why there is none)."""
    if given:
        return tuple(given.split()), "given"
    found = shutil.which("uv")
    if found:
        return (found,), "on PATH"
    uv = venv / "bin" / "uv"
    if not uv.is_file():
        print(f"installing uv into {venv} ...", file=sys.stderr, flush=True)
        for argv in (
            [sys.executable, "-m", "venv", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "uv"],
        ):
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                return None, f"uv could not be installed: {done.stderr.strip()[-500:]}"
    return (str(uv),), f"installed in {venv}"


def _run(
    tool: Tool, requirements: Path, sources: Sources, cache: Path, timeout: float
) -> tuple[float, int, str]:
    """One resolution: (wall time, exit code, the last lines it printed)."""
    call = tool.invocation(requirements, sources=sources, cache_dir=cache, output=cache / "out")
    start = time.perf_counter()
    done = subprocess.run(
        call.argv, env=dict(call.env), capture_output=True, text=True, timeout=timeout, check=False
    )
    elapsed = time.perf_counter() - start
    lines = (done.stderr.strip() or done.stdout.strip()).splitlines()
    return elapsed, done.returncode, "\n".join(lines[-_TAIL:])


def measure(
    tool: Tool,
    requirements: Path,
    *,
    sources: Sources,
    runs: int,
    work: Path,
    timeout: float,
    projects: Sequence[str],
) -> Timing:
    """``runs`` cold runs (fresh cache each), then ``runs`` warm ones on a primed cache.

    A run that succeeds, or fails without naming every project of the set, ends the tool's
    measurement with an error: it did not explain this conflict.
    """
    timing = Timing(tool=tool.name)

    def once(cache: Path) -> float:
        elapsed, code, tail = _run(tool, requirements, sources, cache, timeout)
        timing.exit_codes.append(code)
        timing.tail = tail
        said = tail.lower()
        if code == 0 or not all(p in said for p in projects):
            raise RuntimeError(f"exit code {code}, no conflict naming {', '.join(projects)}")
        return elapsed

    try:
        for _ in range(runs):
            cache = Path(tempfile.mkdtemp(prefix=f"{tool.name}-cold-", dir=work))
            timing.cold.append(once(cache))
            shutil.rmtree(cache, ignore_errors=True)
        cache = Path(tempfile.mkdtemp(prefix=f"{tool.name}-warm-", dir=work))
        once(cache)
        timing.warm += [once(cache) for _ in range(runs)]
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        timing.error = str(exc)
    return timing


def _seconds(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def render(timings: Sequence[Timing]) -> str:
    lines = ["| tool | cold (median s) | warm (median s) | exit codes |", "|---|---|---|---|"]
    for t in timings:
        codes = ",".join(str(c) for c in sorted(set(t.exit_codes))) or "-"
        lines.append(
            f"| {t.tool} | {_seconds(t.cold_median)} | {_seconds(t.warm_median)} | {codes} |"
        )
    by_name = {t.tool: t for t in timings}
    adv, uv = by_name.get("advisor"), by_name.get("uv")
    if adv is not None and uv is not None:
        lines.append("")
        lines.append(
            f"advisor/uv: cold {_ratio(adv.cold_median, uv.cold_median)}, "
            f"warm {_ratio(adv.warm_median, uv.warm_median)} (target: within 3x)"
        )
    for t in timings:
        if t.error:
            lines += ["", f"{t.tool}: {t.error}", t.tail]
    return "\n".join(lines)


def _public(url: str) -> str:
    """``url`` as the report may show it: no credentials, pip's default index by that name."""
    from advisor.index.settings import default_index_url

    return "pip's default index" if url == default_index_url() else strip_userinfo(url)


def _version(tool: Tool) -> str:
    done = subprocess.run(tool.version_argv(), capture_output=True, text=True, check=False)
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "unknown"


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--requirements",
        type=Path,
        help="A set with no solution (default: numpy<1.20 and pandas>=2.2).",
    )
    parser.add_argument(
        "--index-url",
        action="append",
        default=[],
        help="Instead of pip's configuration (repeatable; first primary).",
    )
    parser.add_argument(
        "--find-links", action="append", default=[], help="With --index-url (repeatable)."
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="Timed runs, cold and warm each (default 3)."
    )
    parser.add_argument(
        "--advisor", help="The advisor command (default: the one next to this Python)."
    )
    parser.add_argument("--uv", help="The uv command (default: PATH, else --uv-venv).")
    parser.add_argument(
        "--uv-venv",
        type=Path,
        default=Path(tempfile.gettempdir()) / "advisor-bench-uv",
        help="The benchmark's own venv for uv (default: %(default)s).",
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="Seconds per run (default 900)."
    )
    parser.add_argument("--json", type=Path, help="Write every time and exit code here.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _argument_parser().parse_args(argv)
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    if args.index_url:
        sources = Sources(index_urls=tuple(args.index_url), find_links=tuple(args.find_links))
        left_out: list[str] = []
    else:
        sources, left_out = configured_sources(cwd=Path.cwd())
    for source in left_out:
        print(f"left out (does not exist): {source}", file=sys.stderr)
    checkout = Path(__file__).resolve().parent.parent
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    advisor_env = isolated_env(base, drop_prefixes=("PIP_", "ADVISOR_"), devnull=os.devnull)
    advisor_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(checkout), base.get("PYTHONPATH", "")) if p
    )
    advisor = (args.advisor,) if args.advisor else (str(Path(sys.executable).parent / "advisor"),)
    tools: list[Tool] = [AdvisorTool(command=advisor, env=advisor_env)]
    uv, how = _uv_command(args.uv, args.uv_venv)
    print(f"uv: {how}", file=sys.stderr)
    if uv is not None:
        uv_env = isolated_env(base, drop_prefixes=("PIP_", "UV_"), devnull=os.devnull)
        uv_env["UV_NO_CONFIG"] = "1"
        python_version = "{}.{}".format(*sys.version_info[:2])
        tools.append(UvTool(command=uv, python_version=python_version, env=uv_env))

    with tempfile.TemporaryDirectory(prefix="advisor-conflict-bench-") as tmp:
        work = Path(tmp)
        requirements = args.requirements.resolve() if args.requirements else work / "conflict.in"
        if not args.requirements:
            requirements.write_text(DEFAULT_SET, encoding="utf-8")
        from packaging.requirements import Requirement

        projects = [
            Requirement(line).name.lower()
            for line in requirements.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith(("#", "-"))
        ]
        timings = []
        for tool in tools:
            print(f"{tool.name} ...", file=sys.stderr, flush=True)
            timings.append(
                measure(
                    tool,
                    requirements,
                    sources=sources,
                    runs=args.runs,
                    work=work,
                    timeout=args.timeout,
                    projects=projects,
                )
            )
    versions = {t.name: _version(t) for t in tools}
    print(
        f"{time.strftime('%Y-%m-%d')}  {os.cpu_count()} cores  {platform.platform()}  "
        f"python {platform.python_version()}  "
        + "  ".join(f"{k}: {v}" for k, v in versions.items())
    )
    print(render(timings))
    if args.json:
        report = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": {
                "cores": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "sources": {
                "index_urls": [_public(u) for u in sources.index_urls],
                "find_links": [_public(u) for u in sources.find_links],
            },
            "tools": versions,
            "results": [
                {
                    "tool": t.tool,
                    "cold_s": t.cold,
                    "warm_s": t.warm,
                    "exit_codes": t.exit_codes,
                    "error": t.error,
                }
                for t in timings
            ],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
