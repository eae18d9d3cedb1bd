"""What a command needs to show and write its results: URLs without credentials, and files
written atomically.

Part of the composition root, for its callers (the CLI, a notebook): every URL shown goes
through :func:`redact_url` (one rule for every layer, :mod:`advisor.urls`), and every report,
graph or lock written to a path goes through :func:`write_output` (never half a file, never
through a link: :mod:`advisor.lockfile.write`).
"""

from __future__ import annotations

from advisor.lockfile.write import write_output
from advisor.urls import redact_url

__all__ = ["redact_url", "write_output"]
