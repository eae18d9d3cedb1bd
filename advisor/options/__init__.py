"""The values the composition root's resolving jobs take and return, one layer below it.

:class:`ResolveOptions` (what every resolving command takes, split here into each layer's
small value: :mod:`advisor.options.resolve`), the jobs' own options
(:mod:`advisor.options.jobs`), a run before resolving (:mod:`advisor.options.prepared`), the
lock's record made from the options and back (:mod:`advisor.options.record`) and the jobs'
results (:mod:`advisor.options.outcomes`). ``advisor.api`` re-exports the public ones; the
layers the jobs compose, and the server's client, import them from here without reaching up
into ``api/``.
"""

from __future__ import annotations

from advisor.options.jobs import AdviseOptions, FixOptions, LockOptions, ReportOptions
from advisor.options.outcomes import (
    AdviceResult,
    ComparisonResult,
    Explanation,
    FixOutcome,
    LockOutcome,
)
from advisor.options.resolve import ResolveOptions

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
