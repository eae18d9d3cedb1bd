"""Two ``advisor lock`` processes share one cache while an entry is corrupt; warm runs are free.

A cold run fills the cache (index pages, PEP 658 metadata, a wheel's METADATA read by range
requests, an sdist's metadata from a PEP 517 build). Then one entry of every cache bucket is
truncated, and two lock processes start together on the same ``--cache-dir``: both must
succeed and write byte-identical locks (equal to the cold one). A third, warm run makes no
request at all: it re-reads no index page and re-fetches no wheel (project pages are fresh
for 600 s by default, and parsed metadata is cached).
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.functional.helpers import REPO, clean_environ, run_advisor
from tests.support import FileSpec, IndexServer, Project, build_index, release

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow


def _projects() -> list[Project]:
    return [
        Project(
            name="app",
            files=[
                *release("1.0", requires_dist=["lib"]),
                *release("2.0", requires_dist=["lib>=1.5", "nometa", "srcdep"]),
            ],
        ),
        Project(name="lib", files=[*release("1.0"), *release("1.5"), *release("2.0")]),
        # no PEP 658 file: metadata comes from the wheel itself (range requests)
        Project(
            name="nometa",
            files=[FileSpec(version="3.0", metadata_file=False, extra_size=200_000)],
        ),
        # sdist only: metadata from a PEP 517 build
        Project(name="srcdep", files=[*release("0.9", wheel_tags=())]),
    ]


def _start(args: list[str | Path], env: dict[str, str]) -> subprocess.Popen[str]:
    code = "import sys; sys.argv[0] = 'advisor'; from advisor.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *(str(a) for a in args)],
        env={**env, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_shared_cache_with_a_corrupt_entry(tmp_path: Path) -> None:
    index = build_index(tmp_path / "index", _projects())
    env = clean_environ(tmp_path / "home")
    cache = tmp_path / "cache"
    req = tmp_path / "requirements.in"
    req.write_text("app\n")
    with IndexServer(index) as server:

        def args(out: Path) -> list[str | Path]:
            return ["lock", req, "--index-url", server.url, "--cache-dir", cache, "-o", out]

        cold = run_advisor(args(tmp_path / "cold.toml"), env=env)
        assert cold.returncode == 0, cold.stderr
        reference = (tmp_path / "cold.toml").read_bytes()
        assert b'name = "srcdep"' in reference and b'name = "nometa"' in reference

        # truncate one entry of every bucket (pages, metadata, ...)
        buckets = sorted(p for p in cache.iterdir() if p.is_dir())
        assert buckets
        truncated = []
        for bucket in buckets:
            entries = sorted(p for p in bucket.rglob("*") if p.is_file())
            victim = max(entries, key=lambda p: (p.stat().st_size, p.name))
            victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
            truncated.append(victim)

        server.reset()
        server.delay(0.02)  # widen the window in which both processes work
        first = _start(args(tmp_path / "a.toml"), env)
        second = _start(args(tmp_path / "b.toml"), env)
        outs = [p.communicate(timeout=120) for p in (first, second)]
        server.delay(0)
        for proc, (_, err) in zip((first, second), outs, strict=True):
            assert proc.returncode == 0, err
            assert "Traceback" not in err
        assert server.requests, "the corrupt entries must have been refetched"
        assert (tmp_path / "a.toml").read_bytes() == (tmp_path / "b.toml").read_bytes()
        assert (tmp_path / "a.toml").read_bytes() == reference

        # warm: no request at all, same lock
        server.reset()
        warm = run_advisor(args(tmp_path / "warm.toml"), env=env)
        assert warm.returncode == 0, warm.stderr
        assert server.requests == []
        assert (tmp_path / "warm.toml").read_bytes() == reference
