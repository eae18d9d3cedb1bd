"""Workloads for ``advisor advise --workload NAME``: the probes that matter to a kind of work
(sort, matmul, groupby, strings, CSV, import …), read from the curated benchmarks.

Part of the composition root, beside :mod:`advisor.api.advising`, which narrows the
performance unit of a recommendation to one workload through here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.api.bundled import default_benchmarks_dir

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from advisor.scoring.base import Recommendation
    from advisor.scoring.units.performance import Workload

__all__ = ["load_workload", "workload_recommendation"]


def load_workload(name: str, *, knowledge_dirs: Sequence[Path] = ()) -> Workload:
    """The workload ``name`` (``advisor advise --workload``): its probes in the curated
    benchmarks and in the ``benchmarks/`` folder of each of ``knowledge_dirs`` that has one.
    Raises :class:`InputError` naming the known workloads for an unknown name."""
    from advisor.observe.probes import load_probe_folders, workload_probes
    from advisor.scoring.units.performance import Workload

    folders = [default_benchmarks_dir(), *(d / "benchmarks" for d in knowledge_dirs)]
    probes = load_probe_folders(folders)
    return Workload(name=name.strip().lower(), probes=workload_probes(probes, name))


def workload_recommendation(
    kind: Recommendation, name: str, *, knowledge_dirs: Sequence[Path] = ()
) -> Recommendation:
    """``kind`` with its performance unit weighing only the workload ``name``'s probes (see
    :func:`load_workload` and :func:`advisor.scoring.types.with_workload`)."""
    from advisor.scoring.types import with_workload

    return with_workload(kind, load_workload(name, knowledge_dirs=knowledge_dirs))
