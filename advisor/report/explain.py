"""``advisor explain NAME``: why a package is in the lock and why at this version.

Takes what the composition root found (the paths from the inputs through the dependency
graph, the pin's scored terms and alternatives) and renders it to fit on a screen: every
path "a → b → name" (up to a limit, then a count), the version's terms with their units and
evidence, its justifications and the alternatives with their scores or why they were ruled
out. JSON carries everything, in the layout of :func:`~advisor.report.json_schema.
explanation_json_schema`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from advisor.errors import InputError
from advisor.report.digest import SCHEMA_VERSION, format_score, format_term
from advisor.report.json import dump_json, pin_to_dict
from advisor.report.text import to_text

if TYPE_CHECKING:
    from rich.console import RenderableType

    from advisor.report.digest import ReportFormat
    from advisor.scoring.advice import PinAdvice

__all__ = ["explanation_to_dict", "render_explanation"]

_MAX_PATHS = 12  # a screen: the rest is counted, and shown by the JSON output


def render_explanation(
    name: str,
    *,
    paths: list[list[str]],
    pin: PinAdvice | None,
    version: str,
    fmt: ReportFormat,
    width: int = 100,
) -> str:
    """Why ``name`` (locked at ``version``) is in the lock: ``paths`` are the dependency
    paths from the inputs (each ending at ``name``; ``[name]`` alone: a direct requirement),
    ``pin`` the scored pin (``None`` when the version was not scored).

    Raises :class:`~advisor.errors.InputError` for an unknown format.
    """
    if fmt == "json":
        return dump_json(explanation_to_dict(name, paths=paths, pin=pin, version=version))
    if fmt != "text":
        raise InputError(f"unknown explanation format {str(fmt)!r} (choose text or json)")
    parts: list[RenderableType] = [Text(f"{name} {version}", style="bold")]
    parts += _paths(name, paths)
    parts += ["", *_version(pin, version)]
    return to_text(parts, width=width)


def explanation_to_dict(
    name: str, *, paths: list[list[str]], pin: PinAdvice | None, version: str
) -> dict[str, object]:
    """The JSON form: every path, the whole pin."""
    return {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "version": version,
        "paths": [list(p) for p in paths],
        "pin": None if pin is None else pin_to_dict(pin),
    }


def _paths(name: str, paths: list[list[str]]) -> list[RenderableType]:
    if not paths:
        return [Text("in the lock, but no requirement of the inputs leads to it")]
    n = len(paths)
    out: list[RenderableType] = [
        Text(f"why in the lock ({n} {'path' if n == 1 else 'paths'} from the inputs):")
    ]
    for path in paths[:_MAX_PATHS]:
        if list(path) == [name]:
            out.append(Text(f"  {name} (a direct requirement)"))
        else:
            out.append(Text("  " + " → ".join(path)))
    if n > _MAX_PATHS:
        out.append(Text(f"  … and {n - _MAX_PATHS} more (--json lists all)"))
    return out


def _version(pin: PinAdvice | None, version: str) -> list[RenderableType]:
    if pin is None:
        return [Text(f"why {version}: not scored (no unit of the recommendation saw it): neutral")]
    out: list[RenderableType] = [Text(f"why {version}: score {format_score(pin.score)}")]
    if pin.latest is not None and pin.latest != pin.version:
        out.append(Text(f"  latest would pick {pin.latest}"))
    elif pin.latest is None:
        out.append(Text("  latest's stack does not contain it"))
    else:
        out.append(Text("  the same as latest's choice"))
    if pin.needs_build:
        out.append(Text("  no wheel for the target: built from source"))
    if pin.terms:
        out += [Text(f"  {format_term(t)}") for t in pin.terms]
    else:
        out.append(Text("  no terms: nothing known for or against it (neutral)"))
    out += [
        Text(f"  {j.level}: {j.message} [{j.unit}]" + (f" <{j.link}>" if j.link else ""))
        for j in pin.justifications
    ]
    if pin.alternatives:
        grid = Table.grid(padding=(0, 2), pad_edge=True)
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for a in pin.alternatives:
            if a.score is None:
                grid.add_row(Text(a.version), Text(f"removed: {a.reason or 'ruled out'}"))
            else:
                tail = f" {a.reason}" if a.reason else ""
                grid.add_row(Text(a.version), Text(f"{format_score(a.score)}{tail}"))
        out += ["", Text("alternatives:"), grid]
    return out
