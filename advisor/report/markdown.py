"""The Markdown report, fit for a pull-request comment.

A heading with the scores, an explicit warning when the advice scores lower than the
project's own lock, a table of the pins that differ from ``latest`` and why, warnings and
removed candidates as lists, how much was known (said once), a collapsible ``<details>``
with every pin, and a line of totals. Plain Markdown and a little HTML (``<details>``,
``<br>``): no terminal escapes. Text from packages and knowledge is escaped so it cannot
break a table or inject markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.report.digest import (
    count_changes,
    digest_advice,
    format_score,
    is_rejection,
    knowledge_text,
    stack_differences,
    summarise_names,
)

if TYPE_CHECKING:
    from advisor.report.digest import Digest, Reason
    from advisor.scoring.advice import Advice, PinAdvice
    from advisor.scoring.base import Justification, ScoreTerm

__all__ = ["escape", "render_markdown"]


def escape(text: str) -> str:
    """``text`` safe inside a Markdown table cell: HTML and Markdown specials escaped,
    line breaks as ``<br>``."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\`*_[]|":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\r\n", "\n").replace("\n", "<br>")


def _link(target: str, label: str) -> str:
    if target.startswith(("https://", "http://")):
        url = target.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
        return f"[{label}]({url})"
    return escape(target)


def _term(term: ScoreTerm) -> str:
    text = f"{escape(term.unit)} {term.value:+.2f}: {escape(term.reason)}"
    if term.evidence:
        text += f" ({_link(term.evidence, 'evidence')})"
    return text


def _reason(reason: Reason) -> str:
    body = _term(reason.term) if reason.term is not None else escape(reason.note)
    return f"{escape(reason.version)}: {body}" if reason.version else body


def _justification(j: Justification) -> str:
    text = f"**{j.level}** `{j.package or 'stack'}`: {escape(j.message)} \\[{escape(j.unit)}\\]"
    if j.link:
        text += f" ({_link(j.link, 'details')})"
    return text


def render_markdown(advice: Advice, *, verbose: bool = False) -> str:
    """The Markdown report of ``advice``; ``verbose`` adds alternatives to the full list."""
    digest = digest_advice(advice, top=2)
    targets = ", ".join(f"`{t}`" for t in advice.targets) or "the host"
    scores = [f"latest {format_score(advice.latest.score)}"]
    if advice.baseline is not None:
        scores.append(f"your lock {format_score(advice.baseline.score)}")
    workload = f", optimised for workload `{escape(advice.workload)}`" if advice.workload else ""
    out = [
        f"### Stack advice: {escape(advice.recommendation)} for {targets}{workload}",
        "",
        f"**Score {format_score(advice.best.score)}** ({', '.join(scores)})",
    ]
    if advice.baseline is not None and digest.worse_than_baseline:
        out += [
            "",
            "> [!WARNING]",
            f"> The advice scores **lower than your lock** "
            f"({format_score(advice.best.score)} < {format_score(advice.baseline.score)}): "
            f"by {escape(advice.recommendation)}'s measure your lock is better; keep it "
            "unless the changes below are wanted.",
        ]
    out += ["", *_changes(digest, advice.recommendation)]
    stack_terms = [t for t in advice.best.stack_terms if t.value != 0.0]
    if stack_terms:
        out += ["", "#### Stack checks", "", *(f"- {_term(t)}" for t in stack_terms)]
    if digest.warnings:
        out += ["", "#### Warnings", "", *(f"- {_justification(j)}" for j in digest.warnings)]
    rejected = [j for j in advice.best.justifications if is_rejection(j)]
    if rejected and digest.changes:
        out += ["", "#### Rejected stacks", "", *(f"- {_justification(j)}" for j in rejected)]
    if advice.lessons:
        out += ["", "#### Learnt by --verify", "", *(f"- {escape(x)}" for x in advice.lessons)]
    if digest.removed:
        out += ["", "#### Removed candidates", ""]
        for r in digest.removed:
            many = f"{len(r.versions)} versions" if len(r.versions) > 1 else "version"
            versions = escape(summarise_names(r.versions, limit=4))
            out.append(f"- `{r.name}`: {many} {versions} removed: {escape(r.reason)}")
    notes = []
    known = knowledge_text(advice, limit=8)
    if known is not None:
        notes.append(f"Knowledge: {escape(known)}.")
    if advice.baseline is not None:
        changed = digest.baseline_changes or 0
        notes.append(
            f"Your lock: score {format_score(advice.baseline.score)}; this advice changes "
            f"{changed} {'pin' if changed == 1 else 'pins'}."
        )
    if notes:
        out += ["", *notes]
    if advice.others:
        out += ["", *_others(advice)]
    out += ["", *_all_pins(advice, verbose=verbose), "", _totals(advice, digest)]
    return "\n".join(out)


def _others(advice: Advice) -> list[str]:
    """The other stacks found, each with its score, how far below the best, and the pins
    that differ from the best."""
    out = [
        "#### Other stacks found",
        "",
        "| # | Score | vs best | Differences from the best |",
        "|---|---|---|---|",
    ]
    for i, stack in enumerate(advice.others, start=2):
        diffs = ", ".join(
            f"`{escape(n)}` {escape(a or '—')} → {escape(b or '—')}"
            for n, a, b in stack_differences(advice.best, stack)
        )
        delta = format_score(stack.score - advice.best.score)
        out.append(f"| {i} | {format_score(stack.score)} | {delta} | {diffs or 'same pins'} |")
    return out


def _changes(digest: Digest, recommendation: str) -> list[str]:
    if not digest.changes:
        return [f"Every pin is the same as latest's: {escape(recommendation)} changes nothing."]
    n = len(digest.changes)
    out = [
        f"#### {n} {'pin differs' if n == 1 else 'pins differ'} from latest",
        "",
        "| Package | Latest | Advised | Why |",
        "| --- | --- | --- | --- |",
    ]
    for c in digest.changes:
        why = [_reason(r) for r in c.reasons]
        if c.more:
            why.append(f"(+{c.more} more terms)")
        name = f"`{c.name}`" + (" (direct)" if c.direct else "")
        advised = f"{escape(c.version or '—')} ({c.direction})"
        out.append(f"| {name} | {escape(c.latest or '—')} | {advised} | {'<br>'.join(why)} |")
    return out


def _all_pins(advice: Advice, *, verbose: bool) -> list[str]:
    pins = advice.best.pins
    header = "| Package | Version | Latest | Score | Terms |"
    rule = "| --- | --- | --- | --- | --- |"
    if verbose:
        header, rule = header + " Alternatives |", rule + " --- |"
    out = [
        "<details>",
        f"<summary>All {len(pins)} pins</summary>",
        "",
        header,
        rule,
    ]
    out += [_pin_row(p, verbose=verbose) for p in pins]
    out += ["", "</details>"]
    return out


def _pin_row(pin: PinAdvice, *, verbose: bool) -> str:
    flags = [f for f, on in (("direct", pin.direct), ("build", pin.needs_build)) if on]
    name = f"`{pin.name}`" + (f" ({', '.join(flags)})" if flags else "")
    if pin.marker:
        name += f"<br>{escape(pin.marker)}"
    terms = [_term(t) for t in pin.terms] or ["neutral"]
    terms += [f"{j.level}: {escape(j.message)}" for j in pin.justifications]
    latest = escape(pin.latest or "—") + (" ≠" if pin.differs else "")
    cells = [name, escape(pin.version), latest, format_score(pin.score), "<br>".join(terms)]
    if verbose:
        alts = [
            f"{escape(a.version)} {format_score(a.score)}"
            + (f" {escape(a.reason)}" if a.reason else "")
            if a.score is not None
            else f"{escape(a.version)} removed: {escape(a.reason or 'ruled out')}"
            for a in pin.alternatives
        ]
        cells.append("<br>".join(alts) or "—")
    return "| " + " | ".join(cells) + " |"


def _totals(advice: Advice, digest: Digest) -> str:
    n = len(digest.warnings)
    parts = [
        f"{len(advice.best.pins)} packages",
        f"{len(digest.changes)} differ from latest",
        f"{n} {'warning' if n == 1 else 'warnings'}",
        f"{advice.resolutions}/{advice.budget} resolutions (seed {advice.seed})",
        f"{advice.elapsed:.1f} s",
    ]
    if advice.verified is not None:
        parts.insert(-1, f"{advice.verified} verified here")
    if advice.baseline is not None:
        parts.insert(2, f"{count_changes(advice.baseline, advice.best)} changed from your lock")
    return f"<sub>{' · '.join(parts)}</sub>"
