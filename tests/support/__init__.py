"""Test support: fixture distributions, generated package indexes and a real HTTP index server.

``dists`` builds wheels/sdists → ``index`` lays them out as a PEP 503/691 index on disk →
``server`` serves that tree on 127.0.0.1; ``packse`` turns resolver scenarios into specs.
"""

from __future__ import annotations

from tests.support.index import FileSpec, FixtureIndex, IndexedFile, Project, build_index, release
from tests.support.server import IndexServer

__all__ = [
    "FileSpec",
    "FixtureIndex",
    "IndexServer",
    "IndexedFile",
    "Project",
    "build_index",
    "release",
]
