"""``advisor explain``: why a package is in a lock (the lock's graph:
:func:`advisor.knowledge.graph.why`), and why at this version (its recorded inputs advised
again, the lock as the baseline: :func:`~advisor.api.advising.run_advice`). Composition only.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from advisor.events import SILENT
from advisor.options.outcomes import Explanation

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from advisor.events import ProgressEvents
    from advisor.options.jobs import AdviseOptions
    from advisor.options.resolve import ResolveOptions

__all__ = ["Explanation", "explain_pin"]


def explain_pin(
    lock_path: Path,
    name: str,
    *,
    advise: AdviseOptions,
    environ: Mapping[str, str] | None = None,
    events: ProgressEvents = SILENT,
    server: str | None = None,
    override: Callable[[ResolveOptions], ResolveOptions] | None = None,
) -> Explanation:
    """Why ``name`` is in the lock and at this version, here or on ``server``; ``override``
    changes the recorded options first (the server puts its indexes in)."""
    from advisor.api.context import here

    environ = here(environ).environ
    if server:
        from advisor.api.remote import remote_jobs

        return remote_jobs(server, environ=environ, events=events).explain(
            lock_path, name, advise=advise
        )
    from advisor.api.advising import run_advice
    from advisor.api.inputs import LockOptions, prepare
    from advisor.api.knowledge import store_url
    from advisor.api.lock_facts import stack_graph_for_lock
    from advisor.knowledge.graph import why
    from advisor.knowledge.lock_graph import locked_version
    from advisor.lockfile.pylock import read_pylock
    from advisor.options.record import recorded_request

    canonical, version = locked_version(read_pylock(lock_path), name, source=str(lock_path))
    graph = stack_graph_for_lock(lock_path, store_url=store_url(advise.knowledge, environ))
    files, recorded = recorded_request(lock_path)
    opts = (recorded if override is None else override(recorded)).for_explanation()
    out = LockOptions(output=lock_path, dry_run=True)
    prep = prepare(files, opts=opts, out=out, environ=environ, cwd=lock_path.resolve().parent)
    again = dataclasses.replace(advise, baseline=lock_path, budget=1)
    baseline = run_advice(prep, opts=opts, advise=again, events=events).advices[0].baseline
    pin = baseline.pin(canonical) if baseline is not None else None
    return Explanation(name=canonical, version=version, paths=why(graph, canonical), pin=pin)
