"""The dashboard: server-rendered HTML pages over the store, beside the JSON API.

:mod:`.views` (routes and sign-in) over :mod:`.pages` (store reads and page renderers) over
:mod:`.plot` (a probe's SVG) and :mod:`.html` (escaped markup).
"""

from __future__ import annotations

__all__: list[str] = []
