"""``knowledge show --server``: :func:`advisor.api.remote.remote_show`, under the name the
knowledge jobs (``advisor.api.knowledge``) import it by."""

from __future__ import annotations

from advisor.api.remote import remote_show

__all__ = ["remote_show"]
