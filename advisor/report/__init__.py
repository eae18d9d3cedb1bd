"""Reports: an :class:`~advisor.scoring.advice.Advice` as terminal text, Markdown or JSON.

The last step of the data flow: the stack search's result (best stack, ``latest``, the
project's own lock, what the knowledge graph did not know) becomes what a person reads in a
terminal (:mod:`advisor.report.text`, rich tables), in a pull-request comment
(:mod:`advisor.report.markdown`) or what a machine reads (:mod:`advisor.report.json`, with a
documented JSON Schema). ``advisor explain`` renders one pin through
:mod:`advisor.report.explain`.

The :class:`Digest` the text and Markdown reports share (which pins differ from ``latest``
and the top reasons why, the warnings, the removed candidates that matter, the comparison
with the project's lock) is :mod:`advisor.report.digest`'s, re-exported here. Rendering is
pure and deterministic: the same advice gives the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.report.digest import (
    SCHEMA_VERSION,
    Change,
    Digest,
    Reason,
    Removed,
    ReportFormat,
    count_changes,
    digest_advice,
    format_score,
    format_term,
    is_rejection,
    is_worse_than_baseline,
    knowledge_text,
    stack_differences,
    summarise_names,
    top_terms,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from advisor.scoring.advice import Advice, PinAdvice

__all__ = [
    "SCHEMA_VERSION",
    "Change",
    "Digest",
    "Reason",
    "Removed",
    "ReportFormat",
    "advice_json_schema",
    "advice_to_dict",
    "count_changes",
    "digest_advice",
    "format_score",
    "format_term",
    "is_rejection",
    "is_worse_than_baseline",
    "knowledge_text",
    "render_advice",
    "render_advices",
    "render_explanation",
    "stack_differences",
    "summarise_names",
    "top_terms",
]


def render_advice(
    advice: Advice, *, fmt: ReportFormat, verbose: bool = False, width: int = 100
) -> str:
    """The report of ``advice`` in ``fmt`` (``text``, ``md`` or ``json``), without a final
    newline.

    ``verbose`` shows every pin with all its terms and alternatives (text; Markdown adds the
    alternatives to its collapsed full list); JSON always carries everything. ``width`` is the
    text report's width in columns.

    Raises :class:`~advisor.errors.InputError` for an unknown format.
    """
    if fmt == "text":
        from advisor.report.text import render_text

        return render_text(advice, verbose=verbose, width=width)
    if fmt == "md":
        from advisor.report.markdown import render_markdown

        return render_markdown(advice, verbose=verbose)
    if fmt == "json":
        from advisor.report.json import render_json

        return render_json(advice)
    raise InputError(f"unknown report format {str(fmt)!r} (choose text, md or json)")


def render_advices(advices: Iterable[Advice], *, fmt: ReportFormat, verbose: bool = False) -> str:
    """The reports of ``advices`` (one per target) in ``fmt``, a blank line between two,
    without a final newline (:func:`render_advice`)."""
    return "\n\n".join(render_advice(a, fmt=fmt, verbose=verbose) for a in advices)


def render_explanation(
    name: str,
    *,
    paths: list[list[str]],
    pin: PinAdvice | None,
    version: str,
    fmt: ReportFormat,
    width: int = 100,
) -> str:
    """Why ``name`` is in the lock and why at ``version`` (see :mod:`advisor.report.explain`),
    as ``text`` or ``json``."""
    from advisor.report.explain import render_explanation as render

    return render(name, paths=paths, pin=pin, version=version, fmt=fmt, width=width)


def advice_to_dict(advice: Advice) -> dict[str, object]:
    """The JSON report as a dict (see :func:`advice_json_schema`)."""
    from advisor.report.json import advice_to_dict as to_dict

    return to_dict(advice)


def advice_json_schema() -> dict[str, object]:
    """The JSON Schema of the JSON report (committed as ``docs/advice-report.schema.json``)."""
    from advisor.report.json_schema import advice_json_schema as schema

    return schema()
