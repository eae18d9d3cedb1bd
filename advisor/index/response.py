"""The shape every fetch returns, and URL redaction: shared by the network and ``file://``
halves of the index client (:mod:`advisor.index.fetch`, :mod:`advisor.index.local`)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Response", "redact_url"]


@dataclass(frozen=True, slots=True)
class Response:
    """What came back: ``url`` is the final URL (after redirects), credentials stripped;
    ``headers`` have lower-case keys; ``content`` is the whole (decoded) body."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes


def redact_url(url: str) -> str:
    """``url`` without its ``user:password@`` part (removed entirely). Other parts unchanged."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
