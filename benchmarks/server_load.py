"""Server load benchmark: N concurrent clients against ``advisor serve`` on 127.0.0.1.

Sits beside the other benchmarks (nothing here runs in the tests or CI). For each store (a
fresh SQLite file, and a throwaway PostgreSQL with ``--temp-postgres`` or any ``--store``
URL), it imports the advisories of ``--osv`` into the store, makes a read token, starts
``advisor serve --port 0 --rate-limit 0 --workers W`` in a process of its own and, scenario by
scenario, runs ``--clients`` concurrent clients (asyncio + httpx, one connection each), each
sending requests one after another until ``--duration`` seconds have passed or
``--max-requests`` were sent. Per scenario it reports requests per second, the median (p50)
latency with its 95 % bootstrap interval (``bench_stats``), the 99th-percentile (p99)
latency, and the requests that failed (any status but 200); with several stores, each
store's p50 over the first store's, as a ratio of medians with its interval.

Scenarios (``--scenario``, repeatable; default: all that the server answers):

* ``querybatch``: ``POST /v1/querybatch`` with ``--batch`` queries (package and version pairs
  drawn, with a fixed seed, from the dump's affected packages), as ``uv audit`` sends them;
* ``query``: ``POST /v1/query`` for one package at one version;
* ``package``: ``GET /v1/packages/{name}`` (everything known about a package);
* ``stats``: ``GET /v1/stats``;
* ``check``: ``POST /v1/check`` of a lock of ``--requirements`` (made once through
  ``POST /v1/lock`` before the clock starts) against the store's advisories;
* ``advise``: ``POST /v1/advise`` of ``--requirements`` (a search of ``--advise-budget``
  resolutions), answered from the server's warm index cache.

``check`` and ``advise`` need a package index, ``--index-url`` (the server's setting: it is
passed to ``advisor serve``), and a requirements file naming packages on it, or
``--fixture-index``: a small index built by the tests' fixture builder and served here on
127.0.0.1, with its project (``benchmarks/load_fixture.py``); they run
``--jobs`` jobs at once per worker, 8 more waiting, and answer 429 beyond (counted as
failed: choose ``--clients`` accordingly).

    .venv/bin/python benchmarks/server_load.py --osv ../shared/data/osv-pypi-2024-10-10.zip \\
        --clients 16 --duration 10 --temp-postgres --json load.json
    .venv/bin/python benchmarks/server_load.py --osv DUMP --index-url URL \\
        --requirements requirements.in --scenario check --scenario advise --clients 4
    .venv/bin/python benchmarks/server_load.py --osv DUMP --fixture-index \\
        --scenario check --scenario advise --clients 4 --temp-postgres

The clients and the server share the machine: on a 2-core machine the figures measure the
whole loop, client included, and are best compared between stores and scenarios of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bench_stats import median_interval, optional_ratio_interval  # noqa: E402
from knowledge_bench import load_advisories  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator, Sequence

    from advisor.knowledge.schema import Advisory

__all__ = ["main"]

_MAX_CLIENTS = 256
#: bootstrap resamples per interval: a scenario has thousands of latencies, and 1,000
#: resamples keep an interval to a few seconds while moving its bounds by < 1 %
_RESAMPLES = 1000
_MAX_DURATION = 300.0
_LISTENING = re.compile(r"advisor serve: (http://\S+) over ")
SCENARIOS = ("querybatch", "query", "package", "stats", "check", "advise")
ADVICE_SCENARIOS = ("check", "advise")


@dataclass(frozen=True, slots=True)
class Figures:
    store: str
    scenario: str
    clients: int
    requests: int
    failed: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    p50_low_ms: float = float("nan")  # the p50's 95 % bootstrap interval (bench_stats)
    p50_high_ms: float = float("nan")
    #: the successful requests' latencies in seconds (for the ratios between stores; not
    #: written to --json)
    latencies: tuple[float, ...] = field(default=(), repr=False, compare=False)


def _command() -> list[str]:
    """The ``advisor`` next to this interpreter, else the module."""
    exe = Path(sys.executable).with_name("advisor")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "advisor.cli"]


def _advisor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*_command(), *args], env=env, capture_output=True, text=True, check=False, timeout=1800
    )
    if done.returncode != 0:
        raise SystemExit(f"advisor {' '.join(args[:2])} failed:\n{done.stderr[-2000:]}")
    return done


@contextlib.contextmanager
def _serving(
    store: str, *, workers: int, env: dict[str, str], logs: Path, extra: Sequence[str] = ()
) -> Iterator[str]:
    serve = ["serve", "--port", "0", "--knowledge", store, "--rate-limit", "0", *extra]
    err_path = logs / "serve.stderr"
    with (logs / "serve.stdout").open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            [*_command(), *serve, "--workers", str(workers)],
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 120
        url = None
        while url is None:
            found = _LISTENING.search(err_path.read_text(errors="replace"))
            if found:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{found.group(1)}/v1/health", timeout=5).status_code == 200:
                        url = found.group(1)
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"advisor serve did not start:\n{err_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _queries(advisories: Sequence[Advisory], *, seed: int) -> list[tuple[str, str]]:
    """(package, version) pairs the dump has advisories about, in a seeded order."""
    pairs = sorted(
        {
            (affected.package, version)
            for advisory in advisories
            for affected in advisory.affected
            for version in affected.versions[:3]
        }
    )
    random.Random(seed).shuffle(pairs)
    return pairs


def _advice_bodies(url: str, token: str, requirements: str, *, budget: int) -> dict[str, Any]:
    """The bodies of ``check`` and ``advise`` for ``requirements``: the lock ``check`` checks
    is made once here, through the server (which warms its index cache)."""
    files = {"requirements.in": requirements}
    headers = {"Authorization": f"Bearer {token}"}
    lock = {"files": files, "inputs": ["requirements.in"]}
    resp = httpx.post(f"{url}/v1/lock", json=lock, headers=headers, timeout=600)
    if resp.status_code != 200:
        raise SystemExit(f"the server could not lock --requirements: {resp.text[:2000]}")
    return {
        "check": {
            "files": {**files, "pylock.toml": resp.json()["lock"]},
            "paths": ["pylock.toml"],
        },
        "advise": {
            "files": files,
            "inputs": ["requirements.in"],
            "search": {"budget": budget, "count": 1},
        },
    }


def _requests(
    scenario: str,
    pairs: list[tuple[str, str]],
    *,
    batch: int,
    advice: dict[str, Any] | None = None,
) -> Callable[[int], tuple[str, str, Any]]:
    """The ``n``-th request of a scenario as (method, path, JSON body or None)."""

    def pick(n: int) -> tuple[str, str]:
        return pairs[n % len(pairs)]

    def make(n: int) -> tuple[str, str, Any]:
        if scenario in ADVICE_SCENARIOS:
            assert advice is not None
            return "POST", f"/v1/{scenario}", advice[scenario]
        if scenario == "querybatch":
            start = n * batch
            chosen = [pick(start + i) for i in range(batch)]
            body = {
                "queries": [
                    {"package": {"ecosystem": "PyPI", "name": name}, "version": version}
                    for name, version in chosen
                ]
            }
            return "POST", "/v1/querybatch", body
        name, version = pick(n)
        if scenario == "query":
            one: dict[str, Any] = {
                "package": {"ecosystem": "PyPI", "name": name},
                "version": version,
            }
            return "POST", "/v1/query", one
        if scenario == "package":
            return "GET", f"/v1/packages/{name}", None
        return "GET", "/v1/stats", None

    return make


async def _load(
    url: str,
    token: str,
    make: Callable[[int], tuple[str, str, Any]],
    *,
    clients: int,
    duration: float,
    max_requests: int,
) -> tuple[list[float], int, float]:
    """(latencies of the successful requests in seconds, failures, wall seconds)."""
    latencies: list[float] = []
    failed = 0
    sent = 0
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    deadline = started + duration

    async def client() -> None:
        nonlocal failed, sent
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
            while time.perf_counter() < deadline and sent < max_requests:
                method, path, body = make(sent)
                sent += 1
                t0 = time.perf_counter()
                try:
                    resp = await http.request(method, path, json=body)
                except httpx.HTTPError:
                    failed += 1
                    continue
                if resp.status_code == 200:
                    latencies.append(time.perf_counter() - t0)
                else:
                    failed += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, failed, time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def bench_store(
    store: str, label: str, args: argparse.Namespace, pairs: list[tuple[str, str]]
) -> list[Figures]:
    work = Path(tempfile.mkdtemp(prefix="advisor-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
    env["HOME"] = str(work / "home")
    print(f"{label}: importing {args.osv.name} ...", file=sys.stderr)
    _advisor("knowledge", "import-osv", str(args.osv), "--knowledge", store, env=env)
    token = _advisor(
        "server", "token", "create", "load", "--scope", "read", "--knowledge", store, env=env
    ).stdout.strip()
    out: list[Figures] = []
    extra = ["--jobs", str(args.jobs)]
    if args.index_url:
        extra += ["--index-url", args.index_url]
    scenarios = args.scenario or [
        s for s in SCENARIOS if args.requirements is not None or s not in ADVICE_SCENARIOS
    ]
    with _serving(store, workers=args.workers, env=env, logs=work, extra=extra) as url:
        advice = None
        if any(s in ADVICE_SCENARIOS for s in scenarios):
            text = args.requirements.read_text(encoding="utf-8")
            advice = _advice_bodies(url, token, text, budget=args.advise_budget)
        for scenario in scenarios:
            make = _requests(scenario, pairs, batch=args.batch, advice=advice)
            # one untimed pass warms the server's caches and the store's pages
            asyncio.run(_load(url, token, make, clients=1, duration=1.0, max_requests=20))
            latencies, failed, seconds = asyncio.run(
                _load(
                    url,
                    token,
                    make,
                    clients=args.clients,
                    duration=args.duration,
                    max_requests=args.max_requests,
                )
            )
            p50 = (
                median_interval(latencies, resamples=_RESAMPLES, seed=args.seed)
                if latencies
                else None
            )
            figures = Figures(
                store=label,
                scenario=scenario,
                clients=args.clients,
                requests=len(latencies) + failed,
                failed=failed,
                seconds=round(seconds, 2),
                per_second=round(len(latencies) / seconds, 1),
                p50_ms=round(_percentile(latencies, 50) * 1000, 1),
                p99_ms=round(_percentile(latencies, 99) * 1000, 1),
                p50_low_ms=round(p50.low * 1000, 1) if p50 else float("nan"),
                p50_high_ms=round(p50.high * 1000, 1) if p50 else float("nan"),
                latencies=tuple(latencies),
            )
            print(
                f"{label}: {scenario}: {figures.per_second}/s p50 {figures.p50_ms} ms"
                f" (95 % CI {figures.p50_low_ms}-{figures.p50_high_ms} ms)"
                f" p99 {figures.p99_ms} ms ({figures.failed} failed)",
                file=sys.stderr,
            )
            out.append(figures)
    return out


def store_ratios(results: Sequence[Figures], *, seed: int = 0) -> list[str]:
    """Per scenario, each store's p50 latency over the first store's, as a ratio of medians
    with its 95 % bootstrap interval: ``query: postgresql/sqlite p50 ratio 1.31 (95 % CI
    1.27-1.36)``."""
    lines: list[str] = []
    first: dict[str, Figures] = {}
    for f in results:
        base = first.setdefault(f.scenario, f)
        if base is f:
            continue
        interval = optional_ratio_interval(
            f.latencies, base.latencies, resamples=_RESAMPLES, seed=seed
        )
        if interval is not None:
            label = f"{f.scenario}: {f.store}/{base.store} p50"
            lines.append(f"{label} {interval.render()}")
    return lines


def _temp_postgres() -> Generator[str, None, None]:
    from tests.pg import PostgresServer, find_pg_bin

    bindir = find_pg_bin()
    if bindir is None:
        raise SystemExit("--temp-postgres: no initdb/pg_ctl found")
    # durable, as a team's database would be (the tests' default switches fsync off)
    server = PostgresServer(bindir, durable=True).start()
    try:
        yield server.create_database("advisor_load")
    finally:
        server.stop()


def _bounded(low: float, high: float, kind: type[int] | type[float]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--osv", type=Path, required=True, help="an OSV dump zip to serve")
    parser.add_argument("--store", action="append", default=[], help="extra store URL")
    parser.add_argument("--temp-postgres", action="store_true", help="add a throwaway server")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the fresh SQLite store")
    parser.add_argument("--clients", type=_bounded(1, _MAX_CLIENTS, int), default=16)
    parser.add_argument("--duration", type=_bounded(1, _MAX_DURATION, float), default=10.0)
    parser.add_argument("--max-requests", type=_bounded(1, 10**7, int), default=100_000)
    parser.add_argument("--workers", type=_bounded(1, 64, int), default=1)
    parser.add_argument("--batch", type=_bounded(1, 1000, int), default=100)
    parser.add_argument("--scenario", action="append", choices=SCENARIOS)
    parser.add_argument("--index-url", help="the server's index (check, advise)")
    parser.add_argument(
        "--fixture-index",
        action="store_true",
        help="serve benchmarks/load_fixture.py's small index on 127.0.0.1 and send its project"
        " (instead of --index-url and --requirements)",
    )
    parser.add_argument(
        "--requirements", type=Path, help="the project check and advise send (on that index)"
    )
    parser.add_argument("--jobs", type=_bounded(1, 64, int), default=2, help="serve --jobs")
    parser.add_argument("--advise-budget", type=_bounded(1, 100, int), default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)
    wants_advice = any(s in ADVICE_SCENARIOS for s in args.scenario or ())
    if args.fixture_index and (args.index_url or args.requirements):
        parser.error("--fixture-index serves its own index and project")
    if args.fixture_index:
        from load_fixture import REQUIREMENTS, serving_fixture_index

        folder = Path(tempfile.mkdtemp(prefix="advisor-load-index-"))
        (folder / "requirements.in").write_text(REQUIREMENTS, encoding="utf-8")
        with serving_fixture_index(folder / "index") as url:
            args.index_url, args.requirements = url, folder / "requirements.in"
            return _run(args)
    if (wants_advice or args.requirements) and not (args.index_url and args.requirements):
        parser.error("check and advise need --index-url and --requirements")
    return _run(args)


def _run(args: argparse.Namespace) -> int:

    advisories, problems, _ = load_advisories(args.osv)
    pairs = _queries(advisories, seed=args.seed)
    if not pairs:
        raise SystemExit(f"{args.osv}: no affected versions to query")
    stores: list[tuple[str, str]] = []
    scratch = Path(tempfile.mkdtemp(prefix="advisor-load-sqlite-"))
    if not args.no_sqlite:
        stores.append((f"sqlite:///{scratch / 'knowledge.db'}", "sqlite"))
    stores += [(url, f"store {i + 1}") for i, url in enumerate(args.store)]
    temp = _temp_postgres() if args.temp_postgres else None
    results: list[Figures] = []
    try:
        if temp is not None:
            stores.append((next(temp), "postgresql"))
        for url, label in stores:
            results += bench_store(url, label, args, pairs)
    finally:
        if temp is not None:
            temp.close()
    print(
        f"{len(advisories)} advisories ({problems} problems), {args.clients} clients,"
        f" {args.duration:g} s per scenario, {args.workers} worker(s), {os.cpu_count()} cores"
    )
    print(
        f"{'store':<12} {'scenario':<11} {'req/s':>8} {'p50 ms':>8} {'p50 95 % CI':>15}"
        f" {'p99 ms':>8} {'failed':>7}"
    )
    for f in results:
        ci = f"{f.p50_low_ms}-{f.p50_high_ms}"
        print(
            f"{f.store:<12} {f.scenario:<11} {f.per_second:>8} {f.p50_ms:>8} {ci:>15}"
            f" {f.p99_ms:>8} {f.failed:>7}"
        )
    if len(stores) > 1:
        print("ratios of p50 latencies, 95 % bootstrap intervals ...", file=sys.stderr)
    for line in store_ratios(results, seed=args.seed):
        print(line)
    if args.json is not None:
        rows = [{k: v for k, v in asdict(f).items() if k != "latencies"} for f in results]
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 1 if any(f.failed for f in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
