"""Start-up profile: what the advisor costs before it does any work.

Used by ``compare.py --profile-startup``. A warm ``advisor lock`` is bounded below by the
interpreter's start, the imports and the cache load, so those are measured on their own: the
bare interpreter, ``advisor --version``, ``python -c "import M"`` for each module, and the
``-X importtime`` breakdown (top entries by cumulative and by self time).
"""

from __future__ import annotations

import statistics
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "ImportEntry",
    "StartupProfile",
    "parse_importtime",
    "profile_startup",
    "render_startup",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportEntry:
    """One line of ``-X importtime``: times in microseconds."""

    module: str
    depth: int  # 0 for an import the statement made itself, 1 for one it caused, ...
    self_us: int
    cumulative_us: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StartupProfile:
    """Medians in seconds, and the import breakdown of all ``modules`` imported together."""

    runs: int
    python_bare: float
    advisor_version: float
    imports: tuple[tuple[str, float], ...]
    top_cumulative: tuple[ImportEntry, ...]
    top_self: tuple[ImportEntry, ...]
    total_import_us: int

    def to_dict(self) -> dict[str, object]:
        def entries(items: Sequence[ImportEntry]) -> list[dict[str, object]]:
            return [
                {
                    "module": e.module,
                    "depth": e.depth,
                    "self_us": e.self_us,
                    "cumulative_us": e.cumulative_us,
                }
                for e in items
            ]

        return {
            "runs": self.runs,
            "python_bare_s": self.python_bare,
            "advisor_version_s": self.advisor_version,
            "imports_s": dict(self.imports),
            "importtime_total_us": self.total_import_us,
            "importtime_top_cumulative": entries(self.top_cumulative),
            "importtime_top_self": entries(self.top_self),
        }


def parse_importtime(stderr: str) -> tuple[ImportEntry, ...]:
    """The entries of ``-X importtime`` output (header and other lines are skipped)."""
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        name = parts[2].rstrip()
        indent = len(name) - len(name.lstrip())
        entries.append(
            ImportEntry(
                module=name.strip(),
                depth=max(indent - 1, 0) // 2,
                self_us=int(parts[0]),
                cumulative_us=int(parts[1]),
            )
        )
    return tuple(entries)


def _median_seconds(argv: Sequence[str], *, env: Mapping[str, str], runs: int) -> float:
    times = []
    subprocess.run(argv, env=env, capture_output=True, check=False)  # untimed: page cache, .pyc
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr.strip()}")
    return statistics.median(times)


def profile_startup(
    *,
    python: str,
    advisor: Sequence[str],
    modules: Sequence[str],
    env: Mapping[str, str],
    runs: int,
    top: int = 10,
) -> StartupProfile:
    """Measure start-up costs; each figure is the median of ``runs`` runs after one untimed.

    Raises ``RuntimeError`` (with the command's stderr) when a command fails.
    """
    statement = "; ".join(f"import {m}" for m in modules)
    subprocess.run([python, "-c", statement], env=env, capture_output=True, check=False)
    traced = subprocess.run(
        [python, "-X", "importtime", "-c", statement],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if traced.returncode != 0:
        raise RuntimeError(f"{statement} failed:\n{traced.stderr.strip()}")
    entries = parse_importtime(traced.stderr)
    # The interpreter's own start-up imports end with ``site``; what follows is the statement's.
    starts = [i for i, e in enumerate(entries) if e.depth == 0 and e.module == "site"]
    own = entries[starts[-1] + 1 :] if starts else entries
    total = sum(e.cumulative_us for e in own if e.depth == 0)
    return StartupProfile(
        runs=runs,
        python_bare=_median_seconds([python, "-c", "pass"], env=env, runs=runs),
        advisor_version=_median_seconds([*advisor, "--version"], env=env, runs=runs),
        imports=tuple(
            (m, _median_seconds([python, "-c", f"import {m}"], env=env, runs=runs)) for m in modules
        ),
        top_cumulative=tuple(sorted(own, key=lambda e: -e.cumulative_us)[:top]),
        top_self=tuple(sorted(own, key=lambda e: -e.self_us)[:top]),
        total_import_us=total,
    )


def render_startup(profile: StartupProfile) -> str:
    """A plain-text report of ``profile``."""
    lines = [
        f"start-up (median of {profile.runs} runs)",
        f"  python -c pass                  {profile.python_bare * 1000:8.1f} ms",
        f"  advisor --version               {profile.advisor_version * 1000:8.1f} ms",
    ]
    for module, seconds in profile.imports:
        label = f"python -c 'import {module}'"
        lines.append(f"  {label:<32}{seconds * 1000:8.1f} ms")
    lines.append(f"  -X importtime, statement        {profile.total_import_us / 1000:8.1f} ms")
    for title, items in (
        ("by cumulative time", profile.top_cumulative),
        ("by self time", profile.top_self),
    ):
        lines.append(f"-X importtime, top {len(items)} {title}:")
        lines.append(f"  {'cumulative ms':>13} {'self ms':>8}  module")
        lines += [
            f"  {e.cumulative_us / 1000:13.1f} {e.self_us / 1000:8.1f}  {e.module}" for e in items
        ]
    return "\n".join(lines)
