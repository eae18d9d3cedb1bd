"""The values the composition root's resolving jobs take and return, one layer below it.

:class:`ResolveOptions` (what every resolving command takes, split here into each layer's
small value: :mod:`advisor.options.resolve`), the jobs' own options
(:mod:`advisor.options.jobs`), a run before resolving (:mod:`advisor.options.prepared`), the
lock's record made from the options and back (:mod:`advisor.options.record`) and the jobs'
results (:mod:`advisor.options.outcomes`). ``advisor.api`` re-exports the public ones; the
layers the jobs compose, and the server's client, import them from here without reaching up
into ``api/``. The names are loaded lazily: a plain ``lock`` loads no report or advice value.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = [
    "AdviceResult",
    "AdviseOptions",
    "ComparisonResult",
    "Explanation",
    "FixOptions",
    "FixOutcome",
    "LockOptions",
    "LockOutcome",
    "ReportOptions",
    "ResolveOptions",
]

# public name -> its module under advisor.options
_WHERE = {
    "AdviceResult": "outcomes",
    "AdviseOptions": "jobs",
    "ComparisonResult": "outcomes",
    "Explanation": "outcomes",
    "FixOptions": "jobs",
    "FixOutcome": "outcomes",
    "LockOptions": "jobs",
    "LockOutcome": "outcomes",
    "ReportOptions": "jobs",
    "ResolveOptions": "resolve",
}

if TYPE_CHECKING:
    from advisor.options.jobs import AdviseOptions, FixOptions, LockOptions, ReportOptions
    from advisor.options.outcomes import (
        AdviceResult,
        ComparisonResult,
        Explanation,
        FixOutcome,
        LockOutcome,
    )
    from advisor.options.resolve import ResolveOptions


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'advisor.options' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"advisor.options.{module}"), name)
    globals()[name] = value  # once found, a plain attribute
    return value
