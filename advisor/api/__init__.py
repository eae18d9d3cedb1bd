"""The composition root and the public Python API (``docs/python-api.md``).

One function per job, wiring the layers below, which hold the decisions (the decide layer is
:mod:`advisor.advice`); the CLI, the hooks, the image pipeline and the server call only this
package, the one place that reads the process environment and the clock. One module per job
(:mod:`~advisor.api.locking`: lock and advise, which share one private step); the steps they
share sit beside them (:mod:`~advisor.api.context`: the index session, the targets, the
planner). The values the jobs take and return (``ResolveOptions``, ``LockOptions``,
``LockOutcome`` ...) live one layer below, in :mod:`advisor.options`. The names below are
re-exported lazily, so importing one job's module does not load the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = [
    "AdviceResult",
    "AdviseOptions",
    "BuildOptions",
    "CheckOptions",
    "CheckReport",
    "ComparisonResult",
    "Explanation",
    "FamilyOutcome",
    "FixOptions",
    "FixOutcome",
    "ImageOptions",
    "ImageOutcome",
    "IndexConfig",
    "IndexStrategy",
    "LockFormat",
    "LockOptions",
    "LockOutcome",
    "PushOptions",
    "PushOutcome",
    "RecommendationType",
    "ReportOptions",
    "ResolveOptions",
    "advise",
    "build_image",
    "build_targets",
    "cache_info",
    "check",
    "clean_cache",
    "default_cache_dir",
    "detect_environment",
    "explain",
    "export_lock_graph",
    "export_observations",
    "fix",
    "generate_image",
    "generate_images",
    "import_observations",
    "import_osv",
    "index_facts",
    "inspect_image",
    "install_lock",
    "knowledge_stats",
    "list_images",
    "list_recipes",
    "lock",
    "observe_bench",
    "observe_install",
    "plan_sweep",
    "push_image",
    "resolve_request",
    "run_sweep",
    "run_sweep_job",
    "show_knowledge",
    "sync_knowledge",
    "update_advisories",
    "validate_knowledge",
]

# public name -> (module under advisor.api, or a module of the package by its full name: the
# values the jobs take and return live one layer below, in advisor.options; its name there)
_WHERE = {
    "AdviceResult": ("advisor.options", "AdviceResult"),
    "AdviseOptions": ("advisor.options", "AdviseOptions"),
    "BuildOptions": ("advisor.image.options", "BuildOptions"),
    "CheckOptions": ("checking", "CheckOptions"),
    "CheckReport": ("checking", "CheckReport"),
    "ComparisonResult": ("advisor.options", "ComparisonResult"),
    "Explanation": ("advisor.options", "Explanation"),
    "FamilyOutcome": ("imaging", "FamilyOutcome"),
    "FixOptions": ("advisor.options", "FixOptions"),
    "FixOutcome": ("advisor.options", "FixOutcome"),
    "ImageOptions": ("advisor.image.options", "ImageOptions"),
    "ImageOutcome": ("imaging", "ImageOutcome"),
    "IndexConfig": ("context", "IndexConfig"),
    "IndexStrategy": ("advisor.models", "IndexStrategy"),
    "LockFormat": ("advisor.models", "LockFormat"),
    "LockOptions": ("advisor.options", "LockOptions"),
    "LockOutcome": ("advisor.options", "LockOutcome"),
    "PushOptions": ("advisor.image.options", "PushOptions"),
    "PushOutcome": ("publishing", "PushOutcome"),
    "RecommendationType": ("advisor.models", "RecommendationType"),
    "ReportOptions": ("advisor.options", "ReportOptions"),
    "ResolveOptions": ("advisor.options", "ResolveOptions"),
    "advise": ("locking", "advise"),
    "build_image": ("building", "build_image"),
    "build_targets": ("context", "build_targets"),
    "cache_info": ("cache", "cache_info"),
    "check": ("checking", "run_check"),
    "clean_cache": ("cache", "clean_cache"),
    "default_cache_dir": ("context", "default_cache_dir"),
    "detect_environment": ("environment", "detect_environment"),
    "explain": ("explaining", "explain_pin"),
    "export_lock_graph": ("lock_facts", "export_lock_graph"),
    "export_observations": ("observing", "export_observations"),
    "fix": ("fixing", "fix"),
    "generate_image": ("imaging", "generate"),
    "generate_images": ("imaging", "generate_family"),
    "import_observations": ("observing", "import_observations"),
    "import_osv": ("knowledge", "import_osv"),
    "index_facts": ("lock_facts", "index_facts"),
    "inspect_image": ("publishing", "inspect_image"),
    "install_lock": ("advisor.install", "install_lock"),
    "knowledge_stats": ("knowledge", "stats"),
    "list_images": ("imaging", "list_images"),
    "list_recipes": ("imaging", "list_recipes"),
    "lock": ("locking", "lock"),
    "observe_bench": ("observing", "observe_bench"),
    "observe_install": ("observing", "observe_install"),
    "plan_sweep": ("observing", "plan_sweep"),
    "push_image": ("publishing", "push_image"),
    "resolve_request": ("locking", "resolve_request"),
    "run_sweep": ("observing", "run_sweep"),
    "run_sweep_job": ("observing", "run_sweep_job"),
    "show_knowledge": ("knowledge", "show"),
    "sync_knowledge": ("knowledge", "sync"),
    "update_advisories": ("advisory_update", "update_advisories"),
    "validate_knowledge": ("knowledge", "validate"),
}

if TYPE_CHECKING:
    from advisor.api.advisory_update import update_advisories
    from advisor.api.building import build_image
    from advisor.api.cache import cache_info, clean_cache
    from advisor.api.checking import CheckOptions, CheckReport
    from advisor.api.checking import run_check as check
    from advisor.api.context import IndexConfig, build_targets, default_cache_dir
    from advisor.api.environment import detect_environment
    from advisor.api.explaining import explain_pin as explain
    from advisor.api.fixing import fix
    from advisor.api.imaging import FamilyOutcome, ImageOutcome, list_images, list_recipes
    from advisor.api.imaging import generate as generate_image
    from advisor.api.imaging import generate_family as generate_images
    from advisor.api.knowledge import import_osv
    from advisor.api.knowledge import show as show_knowledge
    from advisor.api.knowledge import stats as knowledge_stats
    from advisor.api.knowledge import sync as sync_knowledge
    from advisor.api.knowledge import validate as validate_knowledge
    from advisor.api.lock_facts import export_lock_graph, index_facts
    from advisor.api.locking import advise, lock, resolve_request
    from advisor.api.observing import (
        export_observations,
        import_observations,
        observe_bench,
        observe_install,
        plan_sweep,
        run_sweep,
        run_sweep_job,
    )
    from advisor.api.publishing import PushOutcome, inspect_image, push_image
    from advisor.image.options import BuildOptions, ImageOptions, PushOptions
    from advisor.install import install_lock
    from advisor.models import IndexStrategy, LockFormat, RecommendationType
    from advisor.options import (
        AdviceResult,
        AdviseOptions,
        ComparisonResult,
        Explanation,
        FixOptions,
        FixOutcome,
        LockOptions,
        LockOutcome,
        ReportOptions,
        ResolveOptions,
    )


def __getattr__(name: str) -> object:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'advisor.api' has no attribute {name!r}")
    module, attr = where
    path = module if module.startswith("advisor.") else f"advisor.api.{module}"
    value = getattr(importlib.import_module(path), attr)
    globals()[name] = value  # once found, a plain attribute
    return value
