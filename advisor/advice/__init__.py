"""The decide layer: which stack to recommend for a request and a target, and why.

Sits above :mod:`advisor.resolution` (providers, one resolution, the stack search) and
:mod:`advisor.scoring` (the units, their verdicts), below the API, which opens the index
session, loads the knowledge, reads the inputs and writes the lock. The planner
(:mod:`advisor.advice.planner`) builds the providers of a request for each target; the
describer (:mod:`advisor.advice.describer`) turns scored stacks into the report's values.
"""

from __future__ import annotations

from advisor.advice.describer import Describer
from advisor.advice.planner import Planner, PlanOptions

__all__ = ["Describer", "PlanOptions", "Planner"]
