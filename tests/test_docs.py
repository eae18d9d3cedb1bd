"""The documentation stays true: README.md and every page of docs/ checked against the code.

- every ``advisor …`` command line the pages show (fenced blocks: ``$ `` lines of console
  blocks and of any other shell block holding one, which is then a transcript; plain lines of
  other shell blocks; inline code spans starting with ``advisor ``)
  names commands that exist and options that exist *for that command*, read from the click
  objects themselves (the synopsis notation ``[…]``, ``A|B`` and ``…`` is understood);
- every relative link points at a file that exists and, with ``#anchor``, at a heading there;
- every repository path named in a code span (``tests/…``, ``advisor/…``, ``benchmarks/…`` …)
  exists (a glob matches something; paths the repository ignores, which are outputs, are
  exempt);
- every page of docs/ is linked from the README, and the README stays short;
- the README's quick start holds exactly the two commands, and ``.ci/run`` runs the second;
- a block marked ``<!-- golden: PATH -->`` quotes that golden file.

The README's examples with their output are replayed in ``test_docs_examples.py``.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path

import click
import pytest

from advisor.cli import cli
from tests.support.markdown import code_spans, fenced_blocks, heading_anchors, links

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = (README, *sorted((REPO / "docs").glob("*.md")))
README_MAX_LINES = 250

MAIN_JOB = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e . "
    "&& .venv/bin/advisor lock examples/datascience/requirements.in"
)
TEST_SUITE = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test,postgres]' "
    "&& .venv/bin/python -m pytest -n 2"
)

SHELL_LANGS = frozenset({"", "console", "shell", "sh", "bash", "text"})
_ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
_REPO_PATH = re.compile(r"^(?:advisor|tests|benchmarks|examples|knowledge|docs|\.ci)/[^\s<>{}$…]*$")


def _id(path: Path) -> str:
    return str(path.relative_to(REPO))


# --- command lines ------------------------------------------------------------------------


def _command_lines(text: str) -> list[tuple[int, str]]:
    """``(line, command)`` for every ``advisor`` command line shown in a page."""
    found: list[tuple[int, str]] = []
    for block in fenced_blocks(text):
        if block.lang not in SHELL_LANGS:
            continue
        # a transcript (a console block, or any block with a ``$ `` line, such as the README's
        # real-index runs in text blocks): its ``$`` lines are the commands, the rest output
        transcript = block.lang == "console" or any(
            raw.strip().startswith("$ ") for raw in block.lines
        )
        for offset, raw in enumerate(block.lines):
            line = raw.strip()
            if transcript:
                if not line.startswith("$ "):
                    continue  # output
                line = line[2:]
            for part in line.split("&&"):
                if "advisor" in part.split("#", 1)[0]:
                    found.append((block.line + offset, part.strip()))
    found.extend((n, span) for n, span in code_spans(text) if span.startswith("advisor "))
    return found


def _words(part: str) -> list[str]:
    try:
        words = shlex.split(part)
    except ValueError:
        words = part.split()
    kept = [w.strip("[]") for w in words]
    return [w for w in kept if w and w not in ("…", "...")]


def _options(command: click.Command) -> dict[str, click.Option]:
    named: dict[str, click.Option] = {}
    for param in command.params:
        if isinstance(param, click.Option):
            for name in (*param.opts, *param.secondary_opts):
                named[name] = param
    return named


def _check_words(
    words: list[str], command: click.Command, where: str
) -> tuple[click.Command, list[str]]:
    """Walk ``words`` (after the program name) from ``command``: subcommands must exist,
    options must belong to the command reached; returns that command and the problems."""
    problems: list[str] = []
    values = 0
    for word in words:
        if values:
            values -= 1
            continue
        if word.startswith("-") and word != "-":
            name = word.split("=", 1)[0]
            if name in ("-h", "--help"):
                continue
            option = _options(command).get(name)
            if option is None:
                problems.append(f"{where}: `{command.name}` has no option {name}")
            elif "=" not in word and not option.is_flag and not option.count:
                values = option.nargs
            continue
        if isinstance(command, click.Group):
            alternatives = word.split("|")
            unknown = [a for a in alternatives if a not in command.commands]
            if unknown:
                problems.append(f"{where}: `{command.name}` has no command {', '.join(unknown)}")
                break
            if len(alternatives) > 1:
                break  # several commands at once: nothing after them is checked
            command = command.commands[alternatives[0]]
        # else: an argument of the command (a path, a name): not checked
    return command, problems


def check_command_line(line: str, where: str) -> list[str]:
    """The problems of one shown command line; ``[]`` when it would parse.

    ``A | B``: a part starting with ``advisor`` is a command of its own, one starting with
    ``-`` continues the options of the first part, one starting with a sibling subcommand is
    an alternative to it (``image list | generate …``); anything else is a shell pipe.
    """
    line = line.replace("\\|", "|")
    line = re.split(r"\s#|\s>\s|\s;\s", line, maxsplit=1)[0]
    parts = line.split(" | ")
    words = _words(parts[0])
    while words and _ENV_ASSIGNMENT.match(words[0]):
        words = words[1:]
    if not words or not words[0].endswith("advisor"):
        return []
    parent: click.Command = cli
    reached, problems = _check_words(words[1:], cli, where)
    if len(words) > 2 and isinstance(cli, click.Group):
        walked, _ = _check_words(words[1:-1], cli, where)
        parent = walked if isinstance(walked, click.Group) else cli
    for part in parts[1:]:
        more = _words(part)
        if not more:
            continue
        if more[0].endswith("advisor"):
            problems += check_command_line(part, where)
        elif more[0].startswith("-"):
            problems += _check_words(more, reached, where)[1]
        elif isinstance(parent, click.Group) and more[0].split("|")[0] in parent.commands:
            problems += _check_words(more, parent, where)[1]
    return problems


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_every_command_line_shown_parses(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    shown = _command_lines(text)
    problems = [
        problem
        for number, line in shown
        for problem in check_command_line(line, f"{_id(page)}:{number}")
    ]
    assert not problems, "\n".join(problems)


def test_the_checker_catches_unknown_commands_and_options() -> None:
    """The checker itself: an option of another command, an unknown option or command, and
    the synopsis notation it must accept."""
    assert check_command_line("advisor lock requirements.in --count 3", "x") == [
        "x: `lock` has no option --count"
    ]
    assert check_command_line("advisor knowledge validate|sink", "x") == [
        "x: `knowledge` has no command sink"
    ]
    assert check_command_line("advisor image list | generate --recipe N --bogus", "x") == [
        "x: `generate` has no option --bogus"
    ]
    assert check_command_line("advisor check [LOCK|INPUT...] --format github", "x") == []
    assert check_command_line("advisor lock r.in -o - --python 3.12 --pre r.in", "x") == []
    assert check_command_line("advisor knowledge graph LOCK | dot -Tsvg > a.svg", "x") == []


def test_a_text_block_with_dollar_lines_is_a_transcript() -> None:
    """A ``text`` block holding ``$ `` lines (the README's real-index runs, not replayed) has its
    commands checked and its output left alone; a block without one is all commands."""
    shown = "```text\n$ advisor lock r.in --bogus\nadvisor-knowledge/x.jsonl: advisor y\n```\n"
    assert _command_lines(shown) == [(2, "advisor lock r.in --bogus")]
    assert check_command_line(_command_lines(shown)[0][1], "x") == [
        "x: `lock` has no option --bogus"
    ]
    plain = "```\nadvisor lock r.in\n```\n"
    assert _command_lines(plain) == [(2, "advisor lock r.in")]


# --- links and paths ----------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_every_relative_link_resolves(page: Path) -> None:
    problems: list[str] = []
    for link in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", link.target):
            continue  # https:, mailto: …: not checked offline
        path, _, anchor = link.target.partition("#")
        target = (page.parent / path).resolve() if path else page
        where = f"{_id(page)}:{link.line}: {link.target}"
        if not target.exists():
            problems.append(f"{where}: no such file")
        elif anchor and target.suffix == ".md":
            if anchor not in heading_anchors(target.read_text(encoding="utf-8")):
                problems.append(f"{where}: no heading with that anchor")
    assert not problems, "\n".join(problems)


def _ignored(path: str) -> bool:
    """Whether ``.gitignore`` ignores ``path`` (its patterns with a folder part)."""
    patterns = (REPO / ".gitignore").read_text(encoding="utf-8").split()
    return any("/" in p.rstrip("/") and fnmatch.fnmatch(path, p) for p in patterns)


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_every_repository_path_named_exists(page: Path) -> None:
    problems: list[str] = []
    for number, span in code_spans(page.read_text(encoding="utf-8")):
        if not _REPO_PATH.match(span) or _ignored(span):
            continue
        exists = any(REPO.glob(span.rstrip("/"))) if "*" in span else (REPO / span).exists()
        if not exists:
            problems.append(f"{_id(page)}:{number}: {span} does not exist")
    assert not problems, "\n".join(problems)


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {
        (REPO / link.target.partition("#")[0]).resolve()
        for link in links(README.read_text(encoding="utf-8"))
    }
    unlinked = [_id(page) for page in PAGES[1:] if page.resolve() not in linked]
    assert not unlinked, f"not linked from README.md: {unlinked}"


def test_readme_stays_short() -> None:
    count = len(README.read_text(encoding="utf-8").splitlines())
    assert count <= README_MAX_LINES, f"README.md has {count} lines: move reference to docs/"


# --- quick start and CI -------------------------------------------------------------------


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README.md has no section '## {heading}'"
    return match.group(1)


def test_quick_start_has_exactly_the_two_commands() -> None:
    section = _section(README.read_text(encoding="utf-8"), "Quick start")
    commands = [line for block in fenced_blocks(section) for line in block.lines if line.strip()]
    assert commands == [MAIN_JOB, TEST_SUITE]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line for line in script if line.strip() and not line.startswith(("#", " "))]
    assert commands[-1] == TEST_SUITE


# --- quoted golden files ------------------------------------------------------------------


def _golden_quotes() -> list[tuple[Path, int, str, tuple[str, ...]]]:
    return [
        (page, block.line, block.note.split(":", 1)[1].strip(), block.lines)
        for page in PAGES
        for block in fenced_blocks(page.read_text(encoding="utf-8"))
        if block.note.startswith("golden:")
    ]


def test_quoted_golden_files_match() -> None:
    """A conflict quoted from the conformance suite's golden files reads as the golden file
    does (which stands ``<platform>`` for the host's tag; the CLI prefixes ``error: ``)."""
    quotes = _golden_quotes()
    assert quotes, "no block marked <!-- golden: PATH --> any more"
    for page, line, golden, lines in quotes:
        shown = "\n".join(lines).removeprefix("error: ")
        shown = re.sub(r"host \([^)]*\)", "host (<platform>)", shown)
        expected = (REPO / golden).read_text(encoding="utf-8").strip()
        assert shown == expected, f"{_id(page)}:{line} no longer quotes {golden}"
