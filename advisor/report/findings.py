"""The findings of ``advisor check`` as text: one line each, a JSON list, or GitHub workflow
annotations.

The report layer's end of the checks (:mod:`advisor.check.findings` finds, this renders): pure and
deterministic, the same findings give the same bytes.
"""

from __future__ import annotations

import enum
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from advisor.check.findings import Finding

__all__ = ["FindingsFormat", "render_findings"]


class FindingsFormat(enum.StrEnum):
    """``advisor check --format``."""

    TEXT = "text"  # FILE[:LINE]: LEVEL: [ID] MESSAGE, and an indented hint
    JSON = "json"  # a list of objects
    GITHUB = "github"  # workflow commands: annotations on the pull request's files


def _gh_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's runner expects."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    """A workflow command's property value (``file=``, ``title=``), escaped."""
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def render_findings(findings: Sequence[Finding], *, fmt: FindingsFormat) -> str:
    """``text`` (one line each), ``json`` (a list), or ``github`` (workflow annotations),
    without a final newline."""
    if fmt == "json":
        return json.dumps(
            [
                {
                    "id": f.id,
                    "level": f.level,
                    "path": f.path,
                    "line": f.line,
                    "package": f.package,
                    "message": f.message,
                    "hint": f.hint,
                }
                for f in findings
            ],
            indent=2,
        )
    lines = []
    for f in findings:
        if fmt == "github":
            level = "error" if f.level == "error" else "warning"
            where = f"file={_gh_property(f.path)}" + (f",line={f.line}" if f.line else "")
            text = _gh_data(f"{f.message}. {f.hint}")
            lines.append(f"::{level} {where},title={_gh_property(f'advisor {f.id}')}::{text}")
        else:
            where = f.path + (f":{f.line}" if f.line else "")
            lines.append(
                f"{where}: {f.level}: [{f.id}] {f.message}"
                + (f"\n  hint: {f.hint}" if f.hint else "")
            )
    return "\n".join(lines)
