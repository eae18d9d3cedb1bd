"""Resolution: the resolvelib provider, one resolution per target, and conflict explanations.

Sits between the index (files and metadata, reached through the ``Finder`` and
``MetadataSource`` protocols) and the lockfile writers (which take a
:class:`~advisor.models.Resolution`).
"""

from __future__ import annotations

from advisor.resolution.candidates import BinaryPolicy, Candidate, FileFilter, Requirement
from advisor.resolution.provider import (
    AdvisorProvider,
    CandidateOrder,
    Finder,
    MetadataSource,
    ProviderOptions,
)
from advisor.resolution.resolve import TargetResult, merge, resolve

__all__ = [
    "AdvisorProvider",
    "BinaryPolicy",
    "Candidate",
    "CandidateOrder",
    "FileFilter",
    "Finder",
    "MetadataSource",
    "ProviderOptions",
    "Requirement",
    "TargetResult",
    "merge",
    "resolve",
]
