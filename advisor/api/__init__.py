"""The composition root: wires inputs, index, resolver, knowledge and lockfile writers.

The CLI (and later the pre-commit hook, the image pipeline and the server) call only this
package. It is the one place that reads the process environment and the clock, and passes
them down as values. One module per job: :mod:`advisor.api.locking` (the lock and advise
jobs), :mod:`advisor.api.explaining`, :mod:`advisor.api.imaging`, :mod:`advisor.api.checking`,
:mod:`advisor.api.knowledge` (the knowledge store and its sources) and more; the steps they
share sit beside them (:mod:`~advisor.api.inputs`, :mod:`~advisor.api.resolving`,
:mod:`~advisor.api.advising`). The decisions belong to the layers below (the decide layer is
:mod:`advisor.advice`).
"""

from __future__ import annotations

from advisor.api.locking import (
    IndexConfig,
    LockOptions,
    LockOutcome,
    ResolveOptions,
    build_targets,
    default_cache_dir,
    lock,
    resolve_request,
)

__all__ = [
    "IndexConfig",
    "LockOptions",
    "LockOutcome",
    "ResolveOptions",
    "build_targets",
    "default_cache_dir",
    "lock",
    "resolve_request",
]
