"""The terminal report: rich tables rendered to plain text at a fixed width.

Short by default, so a 100-package stack's report fits on one screen: a header with the
scores, only the pins that differ from ``latest`` and why, warnings, the removed candidates
that matter, how much was known (said once), the comparison with the project's lock and one
line of totals. ``verbose`` adds every pin with all its terms and alternatives, and the other
stacks found. No colours and no terminal escapes: the same advice gives the same bytes.
"""

from __future__ import annotations

from io import StringIO
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from advisor.report.digest import (
    digest_advice,
    format_score,
    format_term,
    is_rejection,
    knowledge_text,
    stack_differences,
    summarise_names,
)

if TYPE_CHECKING:
    from rich.console import RenderableType

    from advisor.report.digest import Digest
    from advisor.scoring.advice import Advice, PinAdvice, StackAdvice
    from advisor.scoring.base import Justification

__all__ = ["new_console", "render_text", "to_text"]


def new_console(*, width: int) -> Console:
    """A console that writes plain text to memory: no colour, no markup, no highlighting,
    no environment variables consulted (``COLUMNS``, ``NO_COLOR`` …), a fixed width."""
    return Console(
        file=StringIO(),
        width=width,
        color_system=None,
        force_terminal=False,
        force_jupyter=False,
        force_interactive=False,
        markup=False,
        emoji=False,
        highlight=False,
        legacy_windows=False,
        _environ={},
    )


def to_text(parts: list[RenderableType], *, width: int) -> str:
    """``parts`` printed one after the other; trailing spaces and blank tail removed."""
    console = new_console(width=width)
    for part in parts:
        console.print(part)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    lines = [line.rstrip() for line in str(out).splitlines()]
    return "\n".join(lines).strip("\n")


def render_text(advice: Advice, *, verbose: bool = False, width: int = 100) -> str:
    """The terminal report of ``advice`` (see the module docstring)."""
    digest = digest_advice(advice, top=4 if verbose else 2)
    parts: list[RenderableType] = [_header(advice)]
    if digest.changes:
        parts += ["", _changes(digest)]
    else:
        parts += ["", Text(f"every pin is {advice.recommendation}'s and latest's choice alike")]
    stack_terms = [t for t in advice.best.stack_terms if t.value != 0.0]
    if stack_terms:
        parts += ["", Text("Stack checks", style="bold")]
        parts += [Text(format_term(t)) for t in stack_terms]
    if digest.warnings:
        parts += ["", _justifications("Warnings", digest.warnings)]
    rejected = _rejected(advice.best)
    if rejected and digest.changes:
        # why the advice is not latest's stack, when a stack check said so
        parts += ["", _justifications("Rejected stacks", rejected)]
    if advice.lessons:
        parts += ["", Text("Learnt by --verify", style="bold")]
        parts += [Text(lesson) for lesson in advice.lessons]
    if digest.removed:
        parts += ["", Text("Removed candidates", style="bold")]
        for r in digest.removed:
            many = f"{len(r.versions)} versions" if len(r.versions) > 1 else "version"
            versions = summarise_names(r.versions, limit=4)
            parts.append(Text(f"{r.name}: {many} {versions} removed: {r.reason}"))
    tail = _tail(advice, digest, verbose=verbose)
    if tail:
        parts += ["", *tail]
    if verbose:
        parts += ["", _all_pins(advice.best)]
        infos = _infos(advice.best)
        if infos:
            parts += ["", _justifications("Notes", infos)]
        if advice.others:
            parts += ["", _others(advice)]
    parts += ["", Text(_totals(advice, digest))]
    return to_text(parts, width=width)


def _header(advice: Advice) -> Text:
    targets = ", ".join(advice.targets) or "the host"
    scores = [f"latest {format_score(advice.latest.score)}"]
    if advice.baseline is not None:
        scores.append(f"your lock {format_score(advice.baseline.score)}")
    text = Text(f"{advice.recommendation} advice for {targets}", style="bold")
    if advice.workload is not None:
        text.append(f", optimised for workload {advice.workload!r}", style="bold")
    text.append(f"\nscore {format_score(advice.best.score)} ({', '.join(scores)})")
    return text


def _table(title: str, *headers: str, show_header: bool = True) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD if show_header else None,
        show_header=show_header,
        show_edge=False,
        pad_edge=False,
        expand=False,
    )
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


def _changes(digest: Digest) -> Table:
    count = len(digest.changes)
    noun = "pin differs" if count == 1 else "pins differ"
    table = _table(f"{count} {noun} from latest", "package", "latest → advised", "why")
    for c in digest.changes:
        why = [str(r) for r in c.reasons]
        if c.more:
            why.append(f"(+{c.more} more terms: -v)")
        name = f"{c.name} (direct)" if c.direct else c.name
        move = f"{c.latest or '—'} → {c.version or '—'}"
        table.add_row(Text(name), Text(f"{move}\n{c.direction}"), Text("\n".join(why)))
    return table


def _justifications(title: str, items: tuple[Justification, ...]) -> Table:
    table = _table(title, "level", "package", "message", show_header=False)
    for j in items:
        message = f"{j.message} [{j.unit}]" + (f" <{j.link}>" if j.link else "")
        table.add_row(Text(j.level), Text(j.package or "(stack)"), Text(message))
    return table


def _rejected(stack: StackAdvice) -> tuple[Justification, ...]:
    """The search's notes of the stacks a stack check rejected."""
    return tuple(j for j in stack.justifications if is_rejection(j))


def _infos(stack: StackAdvice) -> tuple[Justification, ...]:
    found = [j for j in stack.justifications if j.level == "info" and not is_rejection(j)]
    for pin in stack.pins:
        found += [j for j in pin.justifications if j.level == "info"]
    return tuple(sorted(found, key=lambda j: (j.package or "", j.message)))


def _tail(advice: Advice, digest: Digest, *, verbose: bool) -> list[RenderableType]:
    out: list[RenderableType] = []
    known = knowledge_text(advice, limit=None if verbose else 5)
    if known is not None:
        out.append(Text(f"knowledge: {known}"))
    baseline = advice.baseline
    if baseline is not None:
        changes = digest.baseline_changes or 0
        out.append(
            Text(
                f"your lock: score {format_score(baseline.score)}; "
                f"this advice changes {changes} {'pin' if changes == 1 else 'pins'}"
            )
        )
        if digest.worse_than_baseline:
            out.append(
                Text(
                    f"WARNING: the advice scores LOWER than your lock "
                    f"({format_score(advice.best.score)} < {format_score(baseline.score)}): "
                    f"by {advice.recommendation}'s measure your lock is better; "
                    "keep it unless the changes above are wanted",
                    style="bold",
                )
            )
    return out


def _all_pins(stack: StackAdvice) -> Table:
    table = _table(f"All {len(stack.pins)} pins")
    table.expand = True
    table.add_column("package", overflow="fold", ratio=3)
    table.add_column("version", overflow="fold", ratio=2)
    table.add_column("score", no_wrap=True, width=6)
    table.add_column("terms", overflow="fold", ratio=6)
    table.add_column("alternatives", overflow="fold", ratio=4)
    for pin in stack.pins:
        table.add_row(*_pin_row(pin))
    return table


def _pin_row(pin: PinAdvice) -> tuple[Text, Text, Text, Text, Text]:
    flags = [f for f, on in (("direct", pin.direct), ("build", pin.needs_build)) if on]
    name = pin.name + (f" ({', '.join(flags)})" if flags else "")
    if pin.marker:
        name += f"\n; {pin.marker}"
    version = pin.version
    if pin.differs:
        version += f"\nlatest {pin.latest or '—'}"
    terms = [format_term(t) for t in pin.terms] or ["neutral"]
    terms += [f"{j.level}: {j.message}" for j in pin.justifications]
    alts = [
        f"{a.version} {format_score(a.score)}" + (f" {a.reason}" if a.reason else "")
        if a.score is not None
        else f"{a.version} removed: {a.reason or 'ruled out'}"
        for a in pin.alternatives
    ]
    return (
        Text(name),
        Text(version),
        Text(format_score(pin.score)),
        Text("\n".join(terms)),
        Text("\n".join(alts) or "—"),
    )


def _others(advice: Advice) -> Table:
    table = _table("Other stacks found", "#", "score", "vs best", "differences from the best")
    for i, stack in enumerate(advice.others, start=2):
        table.add_row(
            Text(str(i)),
            Text(format_score(stack.score)),
            Text(format_score(stack.score - advice.best.score)),
            Text(_differences(advice.best, stack)),
        )
    return table


def _differences(best: StackAdvice, stack: StackAdvice) -> str:
    diffs = [f"{n} {a or '—'} → {b or '—'}" for n, a, b in stack_differences(best, stack)]
    return ", ".join(diffs) or "same pins"


def _totals(advice: Advice, digest: Digest) -> str:
    parts = [
        f"{len(advice.best.pins)} packages",
        f"{len(digest.changes)} differ from latest",
        f"{len(digest.warnings)} {'warning' if len(digest.warnings) == 1 else 'warnings'}",
        f"{advice.resolutions}/{advice.budget} resolutions (seed {advice.seed})",
        f"{advice.elapsed:.1f} s",
    ]
    if advice.verified is not None:
        parts.insert(-1, f"{advice.verified} verified here")
    if advice.others:
        parts.insert(3, f"{len(advice.others) + 1} stacks")
    return " · ".join(parts)
