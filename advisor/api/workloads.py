"""``advisor advise --workload NAME``: the probes :func:`advisor.observe.probes.workload`
finds joined to the performance unit's weights (neither layer imports the other).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from advisor.scoring.base import Recommendation

__all__ = ["workload_recommendation"]


def workload_recommendation(
    kind: Recommendation, name: str, *, knowledge_dirs: Sequence[Path] = ()
) -> Recommendation:
    """``kind`` weighing only the probes of the workload ``name``
    (:func:`advisor.observe.probes.workload`, :func:`advisor.scoring.types.with_workload`)."""
    from advisor.observe.probes import workload
    from advisor.scoring.types import with_workload
    from advisor.scoring.units.performance import Workload

    wanted, probes = workload(name, knowledge_dirs=knowledge_dirs)
    return with_workload(kind, Workload(name=wanted, probes=probes))
