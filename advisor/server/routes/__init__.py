"""The server's routes, one module per area: :mod:`.osv` (OSV-compatible advisories) and
:mod:`.knowledge` (packages, stats, uploads). Each module's ``ROUTES`` lists its routes; every
handler authorises first (:func:`advisor.server.auth.authorize`), then reads its body within
the size limit, then calls the store on a worker thread (the store is synchronous)."""

from __future__ import annotations

__all__: list[str] = []
