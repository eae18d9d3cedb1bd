"""Read the project's Markdown (README.md, docs/*.md) the way GitHub renders it (test support).

Only what the documentation tests need: fenced code blocks (with their info string, the HTML
comment just above them and their first line number), inline code spans outside fences,
links outside fences and code spans, and the anchors GitHub gives headings. Not a Markdown
parser: the project's pages use plain CommonMark (backtick fences, ATX headings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Block", "Link", "code_spans", "fenced_blocks", "heading_anchors", "links", "prose"]

_FENCE = re.compile(r"^(\s*)(```+)\s*([\w+-]*)")
_COMMENT = re.compile(r"^<!--\s*(.*?)\s*-->$")
_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    """One fenced code block: ``lang`` is the info string's first word (``""`` if none),
    ``note`` the text of an HTML comment on the line just above the fence (``""`` if none),
    ``line`` the 1-based line number of the block's first content line."""

    lang: str
    note: str
    line: int
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    target: str
    line: int


def fenced_blocks(text: str) -> tuple[Block, ...]:
    """Every fenced code block of ``text``, in order."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence = opening.group(2)
        above = _COMMENT.match(lines[i - 1].strip()) if i > 0 else None
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j])
            j += 1
        blocks.append(
            Block(
                lang=opening.group(3).lower(),
                note=above.group(1) if above else "",
                line=i + 2,
                lines=tuple(body),
            )
        )
        i = j + 1
    return tuple(blocks)


def prose(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of every line outside fenced code blocks."""
    inside: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opening = _FENCE.match(line)
        if inside is None and opening is not None:
            inside = opening.group(2)
        elif inside is not None and line.strip().startswith(inside):
            inside = None
        elif inside is None:
            yield number, line


def _paragraphs(text: str) -> Iterator[tuple[int, str]]:
    """``(first line number, text)`` of every run of non-blank lines outside fenced blocks,
    lines joined by ``\n`` (a code span or a link may wrap onto the next line)."""
    start, run, previous = 0, [], -1
    for number, line in prose(text):
        if run and (not line.strip() or number != previous + 1):
            yield start, "\n".join(run)
            run = []
        if line.strip():
            if not run:
                start = number
            run.append(line)
        previous = number
    if run:
        yield start, "\n".join(run)


def code_spans(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, content)`` of every inline code span outside fenced blocks; a span
    wrapped onto the next line is joined with one space."""
    for start, paragraph in _paragraphs(text):
        for match in _SPAN.finditer(paragraph):
            line = start + paragraph.count("\n", 0, match.start())
            yield line, " ".join(match.group(2).split())


def links(text: str) -> Iterator[Link]:
    """Every inline link ``[text](target)`` outside fenced blocks and code spans."""
    for start, paragraph in _paragraphs(text):
        # blank out code spans, keeping the line breaks that number the lines
        plain = _SPAN.sub(lambda m: re.sub(r"[^\n]", "x", m.group(0)), paragraph)
        for match in _LINK.finditer(plain):
            yield Link(target=match.group(1), line=start + plain.count("\n", 0, match.start()))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation other than
    ``-`` and ``_`` removed, each space a hyphen."""
    text = _LINK.sub(lambda m: m.group(0)[1 : m.group(0).index("](")], heading)
    text = text.replace("`", "").replace("*", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def heading_anchors(text: str) -> frozenset[str]:
    """The anchors of every heading of ``text``; a repeated heading gets ``-1``, ``-2`` …"""
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    for _, line in prose(text):
        match = _HEADING.match(line)
        if match is None:
            continue
        slug = _slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(anchors)
