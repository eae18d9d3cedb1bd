"""``docs/python-api.md`` runs as written: its Python cells, executed in order in one
namespace against a fixture index, print exactly the output the page shows.

The page's first cell names a placeholder index (``INDEX_URL``); the test runs it and then
points ``INDEX_URL`` at a ``file://`` fixture index. The cells run in a fresh folder (the
page's ``work`` folder is relative), with pip's configuration off and the cache and the
knowledge store in that folder. The report's elapsed time is the only output normalised.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

from tests.support import Project, build_index, release

DOC = Path(__file__).resolve().parents[2] / "docs" / "python-api.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_ELAPSED = re.compile(r"\b\d+(\.\d+)? s(</sub>)?$", re.MULTILINE)


def _cells(text: str) -> list[tuple[str, str | None]]:
    """The page's Python cells in order, each with the ``text`` block that follows it
    (``None`` when the cell shows no output)."""
    cells: list[tuple[str, str | None]] = []
    for match in _FENCE.finditer(text):
        kind, body = match.group(1), match.group(2)
        if kind == "python":
            cells.append((body, None))
        elif kind == "text":
            assert cells and cells[-1][1] is None, f"output without a cell: {body[:40]!r}"
            cells[-1] = (cells[-1][0], body)
    return cells


def _normalised(output: str) -> str:
    return _ELAPSED.sub(lambda m: "0.0 s" + (m.group(2) or ""), output)


def test_cells_are_read_in_order() -> None:
    """The reader itself: cells, the output after each, and cells without output."""
    page = "a\n```python\nx = 1\n```\n\n```python\nprint(x)\n```\n\n```text\n1\n```\n"
    assert _cells(page) == [("x = 1\n", None), ("print(x)\n", "1\n")]
    elapsed = "· 1/12 resolutions · 12.3 s</sub>\n"
    assert _normalised(elapsed) == "· 1/12 resolutions · 0.0 s</sub>\n"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder; no pip configuration, cache and store inside the folder."""
    for name in list(os.environ):
        if name.upper().startswith(("PIP_", "ADVISOR_")) or name.upper() == "NETRC":
            monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ADVISOR_KNOWLEDGE", f"sqlite:///{tmp_path / 'knowledge.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_page_runs_as_written(isolated: Path) -> None:
    index = build_index(
        isolated / "index",
        [
            Project(
                name="tablekit",
                files=[
                    *release("1.0", requires_dist=["numcore>=1"]),
                    *release("1.1", requires_dist=["numcore>=1.5"]),
                ],
            ),
            Project(name="numcore", files=[*release("1.0"), *release("1.5")]),
            Project(name="plotkit", files=[*release("1.0"), *release("2.0b1")]),
        ],
    )
    cells = _cells(DOC.read_text(encoding="utf-8"))
    assert len(cells) > 5 and "INDEX_URL" in cells[0][0]
    namespace: dict[str, object] = {"__name__": "__main__"}
    for number, (code, expected) in enumerate(cells, start=1):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"{DOC.name}, cell {number}", "exec"), namespace)
        if number == 1:
            namespace["INDEX_URL"] = index.file_url
        shown = _normalised(printed.getvalue())
        assert shown == _normalised(expected or ""), f"cell {number}:\n{code}"
