"""Where the curated knowledge this package ships sits (:mod:`advisor.knowledge.bundled`):
the composition root's jobs find the curated folder through here."""

from __future__ import annotations

from advisor.knowledge.bundled import bundled_knowledge_dir, default_benchmarks_dir

__all__ = ["bundled_knowledge_dir", "default_benchmarks_dir"]
