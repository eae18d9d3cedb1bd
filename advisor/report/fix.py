"""``advisor fix``'s report: the remedy as a diff of pins, PR-ready Markdown or JSON.

The last step of the fix flow: renders the JSON document of
:meth:`advisor.advice.remedy.Remedy.to_dict` (the report layer sits beside, not above, the
decide layer, so it reads the document rather than the values). Pure and deterministic: the
same remedy gives the same bytes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["render_fix"]


def _pin(name: str, version: str | None) -> str:
    return f"{name}=={version}" if version is not None else ""


def _ids(fixes: Sequence[Mapping[str, str]]) -> str:
    return ", ".join(a["id"] for a in fixes)


def _for(change: Mapping[str, Any]) -> str:
    """`` (for py311)`` when a multi-target lock makes the change for some targets only."""
    targets = change.get("targets") or ()
    return f" (for {', '.join(targets)})" if targets else ""


def _text(doc: Mapping[str, Any], *, lock: str, written: bool) -> str:
    lines: list[str] = []
    for change in doc["changes"]:
        name, old, new = change["name"], change["old"], change["new"]
        why = (
            f"fixes {_ids(change['fixes'])}"
            if change["fixes"]
            else "needed by the fixes" + (" (direct)" if change["direct"] else "")
        )
        where = _for(change)
        if old is not None:
            lines.append(f"- {_pin(name, old)}{where}")
        if new is not None:
            lines.append(f"+ {_pin(name, new)}{where}  # {why}")
        elif old is not None:
            lines[-1] += f"  # removed: {why}"
    for item in doc["unfixable"]:
        adv = item["advisory"]
        lines.append(
            f"! {item['name']}=={item['version']}: {adv['id']} cannot be fixed: {item['reason']}"
        )
    if not doc["changes"] and not doc["unfixable"]:
        lines.append(f"{lock}: no fixable advisory affects a pin; nothing to change")
    elif doc["changes"]:
        done = "written" if written else "not written (dry run)"
        count = len(doc["changes"])
        lines.append(
            f"{count} pin{'s' if count != 1 else ''} changed, fixing "
            f"{len(doc['fixed'])} advisor{'ies' if len(doc['fixed']) != 1 else 'y'}: "
            f"{lock} {done}"
        )
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(doc: Mapping[str, Any], *, lock: str) -> str:
    fixed = doc["fixed"]
    out = [f"## Security fixes for `{lock}`", ""]
    if not doc["changes"] and not doc["unfixable"]:
        out.append("No fixable advisory affects a pin: nothing to change.")
        return "\n".join(out)
    if doc["changes"]:
        out += [
            f"Changes {len(doc['changes'])} pin(s) to fix {len(fixed)} advisory(ies); "
            "every other pin is kept.",
            "",
            "| package | from | to | fixes |",
            "|---|---|---|---|",
        ]
        for change in doc["changes"]:
            fixes = ", ".join(f"[{a['id']}]({a['link']})" for a in change["fixes"]) or (
                "needed by the fixes"
            )
            kind = (" (direct)" if change["direct"] else "") + _for(change)
            out.append(
                f"| `{change['name']}`{kind} | {change['old'] or '(new)'} | "
                f"{change['new'] or '(removed)'} | {fixes} |"
            )
    if fixed:
        out += ["", "### Advisories fixed", ""]
        out += [f"- [{a['id']}]({a['link']}): {_cell(a['summary'])}" for a in fixed]
    if doc["unfixable"]:
        out += ["", "### Not fixed", ""]
        for item in doc["unfixable"]:
            adv = item["advisory"]
            out.append(
                f"- `{item['name']}` {item['version']}: [{adv['id']}]({adv['link']}): "
                f"{_cell(item['reason'])}"
            )
    return "\n".join(out)


def render_fix(doc: Mapping[str, Any], *, fmt: str, lock: str, written: bool) -> str:
    """The remedy document ``doc`` as ``fmt`` (``text``: a diff of pins, each new pin with
    the advisories it fixes, then what cannot be fixed and why; ``md``: a pull-request
    description; ``json``: ``doc`` with the lock and whether it was written). ``lock`` names
    the lock; ``written`` says whether it was written. Raises ``ValueError`` for another
    format."""
    if fmt == "text":
        return _text(doc, lock=lock, written=written)
    if fmt == "md":
        return _markdown(doc, lock=lock)
    if fmt == "json":
        return json.dumps({"lock": lock, "written": written, **doc}, indent=2, sort_keys=True)
    raise ValueError(f"unknown report format {fmt!r}")
