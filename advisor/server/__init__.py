"""The team server (``advisor serve``): an ASGI app over the knowledge store.

Sits beside the CLI as an entry point, under the composition root, which builds its
:class:`~advisor.server.settings.ServerSettings` and starts it
(:func:`advisor.server.runner.serve`). Modules: :mod:`.settings` (one frozen value),
:mod:`.state` (what a process's requests share), :mod:`.problems` (errors as JSON with a
code), :mod:`.limits` (body size, rate), :mod:`.auth` (tokens and scopes),
:mod:`.osv_format` (OSV's shapes), :mod:`.routes` (one module per area), :mod:`.app`
(Starlette) and :mod:`.runner` (uvicorn). Starlette and uvicorn are imported only here;
Dask distributed only in :mod:`.dispatch` (sweeps, with ``--dask-scheduler``).
"""

from __future__ import annotations

__all__: list[str] = []
