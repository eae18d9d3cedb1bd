"""Stack Advisor: resolve, score and lock Python dependency stacks for a target environment.

The public API lives in :mod:`advisor.api`; it is re-exported here lazily so that importing
``advisor`` (the CLI does, on every run) costs nothing until a name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor._version import __version__

__all__ = [
    "AdviceResult",
    "AdviseOptions",
    "IndexConfig",
    "IndexStrategy",
    "LockFormat",
    "LockOptions",
    "LockOutcome",
    "RecommendationType",
    "ResolveOptions",
    "__version__",
    "advise",
    "lock",
]

if TYPE_CHECKING:
    from advisor.api import (
        AdviceResult,
        AdviseOptions,
        IndexConfig,
        IndexStrategy,
        LockFormat,
        LockOptions,
        LockOutcome,
        RecommendationType,
        ResolveOptions,
        advise,
        lock,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        from advisor import api

        return getattr(api, name)
    raise AttributeError(f"module 'advisor' has no attribute {name!r}")
