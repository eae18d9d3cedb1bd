"""The curated knowledge ships with the package: a wheel carries ``knowledge/`` as data files
(installed under ``<prefix>/share/stack-advisor/knowledge``), and ``bundled_knowledge_dir``
finds the checkout's folder first, then an installed copy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from advisor import __version__
from advisor.errors import InputError
from advisor.knowledge.bundled import bundled_knowledge_dir, recipes_folder

REPO = Path(__file__).resolve().parents[1]


def _knowledge(root: Path) -> Path:
    folder = root / "knowledge"
    (folder / "prescriptions").mkdir(parents=True)
    return folder


def test_the_checkout_comes_first_then_an_installed_copy(tmp_path: Path) -> None:
    assert bundled_knowledge_dir() == REPO / "knowledge"
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    prefix = tmp_path / "prefix"
    installed = _knowledge(prefix / "share" / "stack-advisor")
    assert bundled_knowledge_dir(checkout=checkout, prefixes=[prefix]) == installed
    assert bundled_knowledge_dir(checkout=checkout, prefixes=[tmp_path / "none"]) is None
    local = _knowledge(checkout)
    assert bundled_knowledge_dir(checkout=checkout, prefixes=[prefix]) == local


def test_the_recipes_folder_is_the_one_given_else_the_curated_one(tmp_path: Path) -> None:
    assert recipes_folder(tmp_path) == tmp_path
    assert recipes_folder(None) == REPO / "knowledge"
    assert recipes_folder(None, bundled=lambda: tmp_path) == tmp_path
    with pytest.raises(InputError, match="no knowledge folder with image recipes"):
        recipes_folder(None, bundled=lambda: None)


@pytest.mark.slow
def test_the_wheel_carries_the_curated_knowledge(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("advisor", "knowledge"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = tmp_path.glob("stack_advisor-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    data = f"stack_advisor-{__version__}.data/data/share/stack-advisor/knowledge"
    for path in sorted((REPO / "knowledge").rglob("*")):
        if path.is_file():
            assert f"{data}/{path.relative_to(REPO / 'knowledge').as_posix()}" in names
