"""Observations of real installs and runs on this machine (``advisor observe``).

Sits after the lockfile and before the knowledge store: :mod:`.install` installs a lock into
a fresh venv and records a build observation per package (failures classified by
:mod:`.failures`), :mod:`.fingerprint` says which machine it was, :mod:`.exchange` shares
observations as JSON lines; benchmarks and sweeps live in their own modules. Nothing here
opens a store or reads the process environment: the composition root passes values in.
"""

from __future__ import annotations

__all__: list[str] = []
