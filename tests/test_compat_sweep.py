"""A real compatibility sweep over fixture wheels, then the advice that avoids what it found.

The fixture index (served on 127.0.0.1) holds a fake ``numpy`` 1.0 and 2.0 and packages
that react to it the way real extensions built against NumPy 1 do: ``oldext`` raises
NumPy 2's own ImportError message under numpy 2, ``crashy`` kills itself with SIGSEGV,
``guarded`` declares ``numpy<2`` (pip refuses the pair: nothing is observed) and
``needsmissing`` imports a module nobody provides. venvs, pip and imports are real.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from advisor.knowledge.schema import CompatibilityObservation, decode_observation
from tests.functional.helpers import clean_environ, lock_pins, read_lock, run_cli
from tests.support.dists import make_wheel
from tests.support.index import FileSpec, FixtureIndex, IndexedFile, write_pages
from tests.support.server import IndexServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

OLD = datetime.now(UTC) - timedelta(days=400)

_NUMPY2 = "import numpy\nNUMPY2 = numpy.__version__.startswith('2')\n"
MODULES: dict[tuple[str, str], tuple[str, ...]] = {
    ("numpy", "1.0"): ("__version__ = '1.0'\n", ""),
    ("numpy", "2.0"): ("__version__ = '2.0'\n", ""),
    ("oldext", "1.0"): (
        _NUMPY2 + "if NUMPY2:\n    raise ImportError('A module that was compiled using NumPy "
        "1.x cannot be run in\\nNumPy 2.0 as it may crash.')\n",
        "numpy>=1",
    ),
    ("crashy", "1.0"): (
        _NUMPY2 + "import os, signal\nif NUMPY2:\n    os.kill(os.getpid(), signal.SIGSEGV)\n",
        "numpy>=1",
    ),
    ("guarded", "1.0"): ("import numpy\n", "numpy<2"),
    ("needsmissing", "1.0"): ("import numpy\nimport advisor_test_nowhere_to_be_found\n", "numpy"),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("compat-index")
    built = []
    for (name, version), (source, requires) in MODULES.items():
        wheel = make_wheel(
            root / "files",
            name=name,
            version=version,
            requires_dist=[requires] if requires else [],
            files={f"{name}/__init__.py": source.encode()},
        )
        data = wheel.read_bytes()
        built.append(
            IndexedFile(
                project=name, filename=wheel.name, path=wheel,
                sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                spec=FileSpec(version=version, requires_dist=[requires] if requires else [],
                              upload_time=OLD),
            )
        )  # fmt: skip
    write_pages(root, built, {name: name for name, _ in MODULES})
    with IndexServer(FixtureIndex(root=root, files=tuple(built))) as server:
        yield server.url


@pytest.mark.slow
def test_a_sweep_records_abi_mismatches_and_crashes_and_stable_avoids_them(
    served: str, tmp_path: Path
) -> None:
    env = {**clean_environ(tmp_path / "home"), "ADVISOR_RECORDER": "compat-box"}
    knowledge = f"sqlite:///{tmp_path / 'k.db'}"
    out = tmp_path / "compat.jsonl"
    result = run_cli(
        [
            "observe", "sweep", "numpy", "--versions", "2",
            "--with", "oldext", "--with", "crashy", "--with", "guarded",
            "--with", "needsmissing", "--with-versions", "1", "--jobs", "2",
            "--index-url", served, "--workdir", tmp_path / "work", "--output", out,
            "--knowledge", knowledge, "--json",
        ],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = {(r["version"], r["other"]): r for r in json.loads(result.stdout)}
    assert len(rows) == 8
    assert rows["2.0", "guarded"]["status"] == "declared-conflict"
    assert "numpy<2" in rows["2.0", "guarded"]["detail"]
    observations = [decode_observation(line) for line in out.read_text().splitlines()]
    assert all(isinstance(o, CompatibilityObservation) for o in observations)
    found = {
        (o.version, o.other): (o.outcome, o.failure_class)
        for o in observations
        if isinstance(o, CompatibilityObservation)
    }
    assert found == {
        ("2.0", "oldext"): ("failed", "abi-mismatch"),
        ("1.0", "oldext"): ("ok", None),
        ("2.0", "crashy"): ("failed", "crash"),
        ("1.0", "crashy"): ("ok", None),
        ("1.0", "guarded"): ("ok", None),
        ("2.0", "needsmissing"): ("failed", "import-error"),
        ("1.0", "needsmissing"): ("failed", "import-error"),
    }
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    for obs in observations:
        assert isinstance(obs, CompatibilityObservation)
        assert obs.provenance.recorder == "compat-box"
        assert obs.environment.python == f"=={here}.*"
        assert obs.interpreter is not None and obs.interpreter.endswith(
            ".".join(map(str, sys.version_info[:3]))
        )
    abi = next(o for o in observations if o.failure_class == "abi-mismatch")
    assert isinstance(abi, CompatibilityObservation)
    assert "compiled using NumPy 1.x" in abi.log_excerpt
    text = out.read_text()
    assert "127.0.0.1" not in text and str(tmp_path) not in text
    # every venv is gone
    assert not any((tmp_path / "work").iterdir())

    req = tmp_path / "requirements.in"
    req.write_text("numpy\noldext\n")
    stable = run_cli(
        ["advise", req, "--index-url", served, "--knowledge", knowledge,
         "--recommendation", "stable", "-o", tmp_path / "pylock.toml", "--report", "json"],
        env=env,
    )  # fmt: skip
    assert stable.exit_code == 0, stable.stderr
    assert lock_pins(read_lock(tmp_path / "pylock.toml")) == {"numpy": "1.0", "oldext": "1.0"}
    assert "numpy==2.0 with oldext==1.0 failed together: abi-mismatch" in stable.stdout
