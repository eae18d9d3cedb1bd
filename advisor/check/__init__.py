"""``advisor check`` below the composition root: which locks the given paths name, the checks
run over each lock, and the pure checks themselves.

Between the lockfile, request, config and knowledge layers (which it reads) and ``api/``
(which gives it the store, the index and the re-lock job through the
:class:`~advisor.check.sources.CheckSources` protocol): :mod:`~advisor.check.paths` (lock
selection), :mod:`~advisor.check.run` (the checks over a pylock or a requirements lock, and
``--fix``), :mod:`~advisor.check.sources` (advisories from a store or an OSV dump; the
protocol) and :mod:`~advisor.check.findings` (pure functions over values → :class:`Finding`).
Only the pure checks are re-exported here: importing them loads nothing else.
"""

from __future__ import annotations

from advisor.check.findings import (
    Finding,
    check_advisories,
    check_advisory_data,
    check_environments,
    check_freshness,
    check_hashes,
    check_indexes,
    check_requirements_satisfied,
)

__all__ = [
    "Finding",
    "check_advisories",
    "check_advisory_data",
    "check_environments",
    "check_freshness",
    "check_hashes",
    "check_indexes",
    "check_requirements_satisfied",
]
