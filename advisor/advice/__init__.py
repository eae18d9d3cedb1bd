"""The decide layer: which stack to recommend for a request and a target, and why.

Sits above :mod:`advisor.resolution` (providers, one resolution, the stack search) and
:mod:`advisor.scoring` (the units, their verdicts), below the API, which opens the index
session, loads the knowledge, reads the inputs and the baseline lock, merges the targets and
writes the lock. In the order of the flow:

* :mod:`advisor.advice.planner`: the providers of a request, for each target;
* :mod:`advisor.advice.engine`: for one target, the stack search, ``latest`` and the baseline,
  scored the same way (:func:`advise_target` → :class:`TargetAdvice`);
* :mod:`advisor.advice.describer`: scored stacks → the report's values.

Nothing is imported here: a plain ``lock`` takes the planner and the targets without the
engine, the describer and the scoring units they bring (import each from its module).
"""

from __future__ import annotations

__all__: list[str] = []
