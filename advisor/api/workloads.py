"""Workloads for ``advisor advise --workload NAME``: the probes that matter to a kind of work
(sort, matmul, groupby, strings, CSV, import …), read from the curated benchmarks.

Part of the composition root, beside :mod:`advisor.api.advising`: it joins the probes
:func:`advisor.observe.probes.workload` finds to the performance unit's
:class:`~advisor.scoring.units.performance.Workload` (neither layer imports the other).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from advisor.scoring.base import Recommendation
    from advisor.scoring.units.performance import Workload

__all__ = ["load_workload", "workload_recommendation"]


def load_workload(name: str, *, knowledge_dirs: Sequence[Path] = ()) -> Workload:
    """The workload ``name`` (:func:`advisor.observe.probes.workload`)."""
    from advisor.observe.probes import workload
    from advisor.scoring.units.performance import Workload

    wanted, probes = workload(name, knowledge_dirs=knowledge_dirs)
    return Workload(name=wanted, probes=probes)


def workload_recommendation(
    kind: Recommendation, name: str, *, knowledge_dirs: Sequence[Path] = ()
) -> Recommendation:
    """``kind`` weighing only the workload ``name``'s probes
    (:func:`advisor.scoring.types.with_workload`)."""
    from advisor.scoring.types import with_workload

    return with_workload(kind, load_workload(name, knowledge_dirs=knowledge_dirs))
