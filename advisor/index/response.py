"""The shape every fetch returns: shared by the network and ``file://`` halves of the index
client (:mod:`advisor.index.fetch`, :mod:`advisor.index.local`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Response"]


@dataclass(frozen=True, slots=True)
class Response:
    """What came back: ``url`` is the final URL (after redirects), credentials stripped;
    ``headers`` have lower-case keys; ``content`` is the whole (decoded) body."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
