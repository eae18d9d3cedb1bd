"""``advisor explain``: why a package is in a lock, and why at this version.

Part of the composition root, above the lock's record (:func:`~advisor.options.record.
recorded_request`) and the advice search (:func:`~advisor.api.advising.run_advice`): the
paths come from the lock's stack graph (:mod:`advisor.knowledge.graph`), the version's terms
and alternatives from advising the lock's inputs again with the lock as the baseline.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

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
    """Why ``name`` is in the lock (paths from the roots) and why this version: the lock's
    inputs are advised again under the lock's recommendation (stable for a latest lock), with
    the lock as the baseline, so the locked version's own terms and its alternatives show.

    With ``server`` (a team server's URL) the server explains from its index and knowledge
    (:func:`~advisor.api.remote.remote_explain`). ``override`` changes the options the lock
    records before advising (the server's job puts its own indexes and cache in).

    ``environ`` defaults to the process's. Raises :class:`~advisor.errors.InputError` when
    ``name`` is not in the lock or the lock records no inputs."""
    environ = dict(os.environ) if environ is None else environ
    if server:
        from advisor.api.remote import remote_explain

        return remote_explain(
            server, lock_path, name, advise=advise, environ=environ, events=events
        )
    from advisor.api.advising import run_advice
    from advisor.api.inputs import LockOptions, prepare
    from advisor.api.knowledge import store_url
    from advisor.api.lock_facts import stack_graph_for_lock
    from advisor.errors import InputError
    from advisor.knowledge.graph import why
    from advisor.lockfile.pylock import read_pylock
    from advisor.options.record import recorded_request

    canonical = canonicalize_name(name)
    locked = {p.name: p for p in read_pylock(lock_path).packages}
    if canonical not in locked:
        known = ", ".join(sorted(locked)[:8])
        raise InputError(f"{name} is not in {lock_path} (it locks {known}, ...)")
    version = str(locked[canonical].version)
    graph = stack_graph_for_lock(lock_path, store_url=store_url(advise.knowledge, environ))
    paths = why(graph, canonical)
    files, recorded = recorded_request(lock_path)
    if override is not None:
        recorded = override(recorded)
    opts = recorded.for_explanation()
    out = LockOptions(output=lock_path, dry_run=True)
    prep = prepare(files, opts=opts, out=out, environ=environ, cwd=lock_path.resolve().parent)
    outcome = run_advice(
        prep,
        opts=opts,
        advise=dataclasses.replace(advise, baseline=lock_path, budget=1),
        events=events,
    )
    baseline = outcome.advices[0].baseline
    pin = baseline.pin(canonical) if baseline is not None else None
    return Explanation(name=canonical, version=version, paths=paths, pin=pin)
