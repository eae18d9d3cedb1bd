"""The index client: where distribution files and their metadata come from.

Data flow inside the package: ``settings`` (pip's configuration) → ``fetch`` (the one
network seam: http(s) via httpx, ``file://`` in-process) → ``pages`` (PEP 691/503 parsing)
→ ``finder`` (indexes, find-links, caching) → the resolution layer; ``metadata`` fetches
core metadata on top of the same fetcher (sdists through ``builds``, which runs ``sdist``
builds: remembered, bounded, cancellable), and ``cache`` stores both on disk.

Names are re-exported lazily, so importing ``advisor.index.cache`` does not load httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "Fetcher",
    "IndexStrategy",
    "NetworkSettings",
    "PackageFinder",
    "PipSettings",
    "Response",
    "default_index_url",
    "load_pip_settings",
    "parse_links_listing",
    "parse_project_page",
]

_WHERE = {
    "Fetcher": "fetch",
    "NetworkSettings": "network",
    "Response": "fetch",
    "IndexStrategy": "finder",
    "PackageFinder": "finder",
    "PipSettings": "settings",
    "default_index_url": "settings",
    "load_pip_settings": "settings",
    "parse_links_listing": "pages",
    "parse_project_page": "pages",
}

if TYPE_CHECKING:
    from advisor.index.fetch import Fetcher, Response
    from advisor.index.finder import IndexStrategy, PackageFinder
    from advisor.index.network import NetworkSettings
    from advisor.index.pages import parse_links_listing, parse_project_page
    from advisor.index.settings import PipSettings, default_index_url, load_pip_settings


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'advisor.index' has no attribute {name!r}")
    return getattr(importlib.import_module(f"advisor.index.{module}"), name)
