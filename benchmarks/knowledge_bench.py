"""Knowledge-store benchmark: import an OSV dump, then look up a 150-package stack.

Sits beside the other benchmarks (nothing here runs in the tests or CI). For each ``--store``
URL (SQLite or PostgreSQL) it times: opening (and migrating) the store; importing every
advisory of ``--osv`` into an empty source (the dump's previous import is deleted first, so
point it at a scratch store); re-importing the same data (nothing changes: the idempotent
path); and ``for_packages`` for the ``--packages`` names with the most advisories (the worst
case for a stack), first on a freshly opened store (cold decode cache), then ``--runs`` warm
times (median, best, worst).

    .venv/bin/python benchmarks/knowledge_bench.py --osv ../shared/data/osv-pypi-2024-10-10.zip \\
        --store sqlite:///$(mktemp -d)/k.db --temp-postgres

``--temp-postgres`` starts a throwaway PostgreSQL server (tests/pg.py) and adds its URL.
Advisories come from the advisor's OSV importer; a minimal reader here is used only when that
importer is missing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from advisor.knowledge.schema import (  # noqa: E402
    Advisory,
    Affected,
    Provenance,
    RangeEvent,
    Severity,
    VersionRange,
)
from advisor.knowledge.store import open_store  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

__all__ = ["load_advisories", "main"]

DATE = "2024-10-10"
_T = TypeVar("_T")


def _minimal_osv(path: Path) -> tuple[list[Advisory], list[str]]:
    """A small OSV zip reader, for when the advisor's importer is absent."""
    from packaging.utils import canonicalize_name

    found: list[Advisory] = []
    problems: list[str] = []
    with zipfile.ZipFile(path) as archive:
        for name in sorted(archive.namelist()):
            if not name.endswith(".json"):
                continue
            try:
                record: dict[str, Any] = json.loads(archive.read(name))
                affected = tuple(
                    Affected(
                        package=canonicalize_name(a["package"]["name"]),
                        versions=tuple(a.get("versions", ())),
                        ranges=tuple(
                            VersionRange(
                                type=r["type"],
                                events=tuple(RangeEvent(**e) for e in r.get("events", ())),
                            )
                            for r in a.get("ranges", ())
                        ),
                    )
                    for a in record.get("affected", ())
                    if a.get("package", {}).get("ecosystem") == "PyPI"
                )
                found.append(
                    Advisory(
                        id=record["id"],
                        summary=record.get("summary") or record.get("details", "")[:200],
                        aliases=tuple(record.get("aliases", ())),
                        affected=affected,
                        severity=tuple(Severity(**s) for s in record.get("severity", ())),
                        published=record.get("published"),
                        modified=record.get("modified"),
                        withdrawn=record.get("withdrawn"),
                        references=tuple(r["url"] for r in record.get("references", ())),
                        provenance=Provenance(source=f"osv:{path.name}", date=DATE),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(f"{name}: {exc}")
    return found, problems


def load_advisories(path: Path) -> tuple[list[Advisory], int, str]:
    """(advisories, problems, which reader) for an OSV dump."""
    try:
        from advisor.knowledge.sources.osv_import import load_osv
    except ImportError:
        advisories, problems = _minimal_osv(path)
        return advisories, len(problems), "benchmark's minimal reader"
    report = load_osv(path, date=DATE)
    return list(report.advisories), len(report.problems), "advisor.knowledge.sources.osv_import"


def _timed(action: Callable[[], _T]) -> tuple[float, _T]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def bench_store(
    url: str, advisories: list[Advisory], names: list[str], *, runs: int
) -> dict[str, Any]:
    sources = sorted({a.provenance.source for a in advisories})
    started = time.perf_counter()
    store = open_store(url)
    figures: dict[str, Any] = {"store": store.url, "open_s": time.perf_counter() - started}
    with store:
        for source in sources:
            store.delete_source(source)
        figures["import_s"], first = _timed(lambda: store.put(advisories))
        figures["import_result"] = str(first)
        figures["reimport_s"], again = _timed(lambda: store.put(advisories))
        figures["reimport_result"] = str(again)
    with open_store(url) as fresh:
        figures["lookup_cold_s"], found = _timed(lambda: fresh.for_packages(names))
        assert isinstance(found, dict)
        figures["lookup_observations"] = sum(len(v) for v in found.values())
        times = []
        for _ in range(runs):
            elapsed, _found = _timed(lambda: fresh.for_packages(names))
            times.append(elapsed)
        figures["lookup_warm_median_s"] = statistics.median(times)
        figures["lookup_warm_min_s"] = min(times)
        figures["lookup_warm_max_s"] = max(times)
        kinds = []
        for _ in range(runs):
            elapsed, _found = _timed(lambda: fresh.for_packages(names, kinds=["advisory"]))
            kinds.append(elapsed)
        figures["lookup_advisory_only_median_s"] = statistics.median(kinds)
    return figures


def _temp_postgres() -> Generator[str, None, None]:
    from tests.pg import PostgresServer, find_pg_bin

    bindir = find_pg_bin()
    if bindir is None:
        raise SystemExit("--temp-postgres: no initdb/pg_ctl found")
    server = PostgresServer(bindir).start()
    try:
        yield server.create_database("advisor_bench")
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", action="append", default=[], help="store URL (repeatable)")
    parser.add_argument("--osv", type=Path, required=True, help="an OSV dump zip")
    parser.add_argument("--packages", type=int, default=150, help="names per lookup")
    parser.add_argument("--runs", type=int, default=20, help="warm lookups timed")
    parser.add_argument("--temp-postgres", action="store_true", help="add a throwaway server")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)

    loaded, (advisories, problems, reader) = _timed(lambda: load_advisories(args.osv))
    assert isinstance(advisories, list)
    per_package = Counter(p for a in advisories for p in {x.package for x in a.affected})
    names = [n for n, _ in sorted(per_package.items(), key=lambda kv: (-kv[1], kv[0]))]
    names = names[: args.packages]
    print(
        f"{args.osv.name}: {len(advisories)} advisories, {problems} problems, read in "
        f"{_ms(loaded)} by {reader}; lookups of {len(names)} packages"
    )

    stores: list[str] = list(args.store)
    temp = _temp_postgres() if args.temp_postgres else None
    results = []
    try:
        if temp is not None:
            stores.append(next(temp))
        for url in stores:
            figures = bench_store(url, advisories, names, runs=args.runs)
            results.append(figures)
            print(f"\n{figures['store']}")
            print(f"  open + migrate          {_ms(figures['open_s'])}")
            imported, result = _ms(figures["import_s"]), figures["import_result"]
            print(f"  import (empty source)   {imported}  {result}")
            imported, result = _ms(figures["reimport_s"]), figures["reimport_result"]
            print(f"  re-import (unchanged)   {imported}  {result}")
            print(
                f"  lookup, cold decode     {_ms(figures['lookup_cold_s'])}  "
                f"({figures['lookup_observations']} observations)"
            )
            print(
                f"  lookup, warm, median    {_ms(figures['lookup_warm_median_s'])}  "
                f"(best {_ms(figures['lookup_warm_min_s'])}, "
                f"worst {_ms(figures['lookup_warm_max_s'])}, {args.runs} runs)"
            )
            print(f"  lookup advisories only  {_ms(figures['lookup_advisory_only_median_s'])}")
    finally:
        if temp is not None:
            temp.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
