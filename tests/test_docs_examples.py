"""The README's examples, replayed: each console block's commands run for real and print
what the README shows.

Every ```` ```console ```` block of README.md is a transcript: ``$ COMMAND`` lines, each followed
by the output it prints (stdout and stderr, as a terminal shows them). The blocks run in order,
in one folder, ``/home/me/demo`` as the README shows it (really ``<tmp>/home/me/demo``, with
``HOME`` at ``<tmp>/home/me``; ``<tmp>`` is cut from the output). The folder holds the
``requirements.in`` the README shows and ``osv-pypi.zip``, an OSV dump with one advisory
(urllib3's GHSA-34jh-p97f-mpxf, modified now, so it is never too old); ``PIP_INDEX_URL`` points
at a fixture index on 127.0.0.1 on which the newest urllib3 is 2.2.1, an affected version. Each
command runs in a real shell (``advisor`` is this checkout's), with pip's configuration off.

Compared: the output with the block's text after both are normalised: runs of whitespace
(line breaks included) become one space, box-drawing characters are dropped, and a duration
(``0.3 s``) matches any duration; so a wrapped column is no difference, a changed word is. An
ellipsis ``…`` in the README matches any text (a fingerprint, the host's CPU, lines cut).

Only console blocks are replayed. The README's runs on real packages against the configured
index are ```` ```text ```` blocks with ``$`` lines: not replayed (their index moves on), each
dated in the text; ``test_docs.py`` still checks their commands and options.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.functional.helpers import REPO, clean_environ
from tests.support import IndexServer, Project, build_index, release
from tests.support.markdown import fenced_blocks

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow

README = REPO / "README.md"
DEMO = Path("home", "me", "demo")
_REQUESTS_DEPS = (
    "charset-normalizer>=2,<4",
    "idna>=2.5,<4",
    "urllib3>=1.21.1,<3",
    "certifi>=2017.4.17",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    command: str
    shown: str  # the output the README shows
    line: int


def transcript(text: str) -> tuple[Step, ...]:
    """The ``$`` commands of every console block of ``text``, each with its shown output."""
    steps: list[Step] = []
    for block in fenced_blocks(text):
        if block.lang != "console":
            continue
        command: tuple[int, str] | None = None
        output: list[str] = []
        for offset, line in enumerate((*block.lines, "$ ")):
            if line.startswith("$ "):
                if command is not None:
                    steps.append(Step(command=command[1], shown="\n".join(output), line=command[0]))
                command, output = (block.line + offset, line[2:].strip()), []
            elif command is not None:
                output.append(line)
    return tuple(s for s in steps if s.command)


def normalise(text: str) -> str:
    text = re.sub("[\u2500-\u257f]", "", text)
    text = re.sub(r"\b\d+(?:\.\d+)? s\b", "0 s", text)
    return " ".join(text.split())


def matches(shown: str, actual: str) -> bool:
    """Whether ``actual`` reads as ``shown`` (both normalised), ``…`` matching any text."""
    pieces = [re.escape(piece.strip()) for piece in normalise(shown).split("…")]
    return re.fullmatch(r"\s*.*?\s*".join(pieces), normalise(actual), re.S) is not None


def _wheel(version: str, *requires: str) -> tuple[object, ...]:
    return release(version, sdist=False, requires_dist=list(requires))


def _osv_dump(path: Path) -> None:
    record = {
        "id": "GHSA-34jh-p97f-mpxf",
        "aliases": ["CVE-2024-37891"],
        "modified": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "summary": "urllib3's Proxy-Authorization request header isn't stripped during "
        "cross-origin redirects",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "urllib3"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [
                            {"introduced": "0"},
                            {"fixed": "1.26.19"},
                            {"introduced": "2.0.0"},
                            {"fixed": "2.2.2"},
                        ],
                    }
                ],
            }
        ],
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("GHSA-34jh-p97f-mpxf.json", json.dumps(record))


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """The demo folder and the environment the README's commands run in."""
    index = build_index(
        tmp_path / "index",
        [
            Project(
                name="requests",
                files=[*_wheel("2.31.0", *_REQUESTS_DEPS), *_wheel("2.32.3", *_REQUESTS_DEPS)],
            ),
            Project(
                name="urllib3", files=[*_wheel("1.26.18"), *_wheel("1.26.19"), *_wheel("2.2.1")]
            ),
            Project(name="idna", files=[*_wheel("3.7")]),
            Project(name="certifi", files=[*_wheel("2024.8.30")]),
            Project(name="charset-normalizer", files=[*_wheel("3.4.0")]),
        ],
    )
    work = tmp_path / DEMO
    work.mkdir(parents=True)
    (work / "requirements.in").write_text("requests>=2.31\n", encoding="utf-8")
    _osv_dump(work / "osv-pypi.zip")
    # ``advisor`` is this checkout, run by this interpreter, whatever is installed on PATH
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "advisor"
    code = "import sys; sys.argv[0] = 'advisor'; from advisor.cli import main; main()"
    shim.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -c {shlex.quote(code)} "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    home = work.parent
    with IndexServer(index) as server:
        env = clean_environ(
            home,
            XDG_DATA_HOME=str(home / ".local" / "share"),
            PIP_INDEX_URL=server.url,
            PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            PYTHONUNBUFFERED="1",
            COLUMNS="120",
            PATH=os.pathsep.join(
                [str(bin_dir), str(Path(sys.executable).parent), os.environ.get("PATH", "")]
            ),
        )
        yield work, env


def test_the_transcript_reader_and_matcher() -> None:
    steps = transcript(
        "```console\n$ a x\none\n  two\n$ b\n```\n\n```\n$ not run\n```\n"
        "```text\n$ advisor real-index run\nnot replayed\n```\n"
    )
    assert [(s.command, s.shown, s.line) for s in steps] == [("a x", "one\n  two", 2), ("b", "", 5)]
    assert matches("id: …\nname = 'x'\n…", "id: 8a31\nname =   'x'\n[cpu]\nmodel = 'y'")
    assert matches("took 0.3 s", "took 12 s")
    assert not matches("5 packages", "6 packages")
    assert not matches("a\n…", "b\nc")


def test_readme_examples_print_what_the_readme_shows(demo: tuple[Path, dict[str, str]]) -> None:
    work, env = demo
    steps = transcript(README.read_text(encoding="utf-8"))
    assert len(steps) >= 8, "the README lost its examples"
    root = str(work.parents[len(DEMO.parts) - 1])
    for step in steps:
        done = subprocess.run(
            ["bash", "-c", step.command],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            check=False,
        )
        actual = done.stdout.replace(root, "")
        assert "Traceback" not in actual, actual
        assert matches(step.shown, actual), (
            f"README.md:{step.line}: `{step.command}` now prints:\n{actual}"
        )
