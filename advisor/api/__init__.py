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

# The table of public names: one import per name, from the module that defines it (a job
# module of this package, or the layer below for the values the jobs take and return). Type
# checkers read it as written; at run time _WHERE below says where each name is, and it is
# imported on first use, so adding a name is adding its line here and there.
if TYPE_CHECKING:
    from advisor.api.advisory_update import update_advisories as update_advisories
    from advisor.api.building import build_image as build_image
    from advisor.api.cache import cache_info as cache_info
    from advisor.api.cache import clean_cache as clean_cache
    from advisor.api.checking import CheckOptions as CheckOptions
    from advisor.api.checking import CheckReport as CheckReport
    from advisor.api.checking import run_check as check
    from advisor.api.context import IndexConfig as IndexConfig
    from advisor.api.context import build_targets as build_targets
    from advisor.api.context import default_cache_dir as default_cache_dir
    from advisor.api.environment import detect_environment as detect_environment
    from advisor.api.explaining import explain_pin as explain
    from advisor.api.fixing import fix as fix
    from advisor.api.imaging import FamilyOutcome as FamilyOutcome
    from advisor.api.imaging import ImageOutcome as ImageOutcome
    from advisor.api.imaging import generate as generate_image
    from advisor.api.imaging import generate_family as generate_images
    from advisor.api.imaging import list_images as list_images
    from advisor.api.imaging import list_recipes as list_recipes
    from advisor.api.knowledge import import_osv as import_osv
    from advisor.api.knowledge import show as show_knowledge
    from advisor.api.knowledge import stats as knowledge_stats
    from advisor.api.knowledge import sync as sync_knowledge
    from advisor.api.knowledge import validate as validate_knowledge
    from advisor.api.lock_facts import export_lock_graph as export_lock_graph
    from advisor.api.lock_facts import index_facts as index_facts
    from advisor.api.locking import advise as advise
    from advisor.api.locking import lock as lock
    from advisor.api.locking import resolve_request as resolve_request
    from advisor.api.observing import export_observations as export_observations
    from advisor.api.observing import import_observations as import_observations
    from advisor.api.observing import observe_bench as observe_bench
    from advisor.api.observing import observe_install as observe_install
    from advisor.api.observing import plan_sweep as plan_sweep
    from advisor.api.observing import run_sweep as run_sweep
    from advisor.api.observing import run_sweep_job as run_sweep_job
    from advisor.api.publishing import PushOutcome as PushOutcome
    from advisor.api.publishing import inspect_image as inspect_image
    from advisor.api.publishing import push_image as push_image
    from advisor.image.options import BuildOptions as BuildOptions
    from advisor.image.options import ImageOptions as ImageOptions
    from advisor.image.options import PushOptions as PushOptions
    from advisor.install import install_lock as install_lock
    from advisor.models import IndexStrategy as IndexStrategy
    from advisor.models import LockFormat as LockFormat
    from advisor.models import RecommendationType as RecommendationType
    from advisor.options import AdviceResult as AdviceResult
    from advisor.options import AdviseOptions as AdviseOptions
    from advisor.options import ComparisonResult as ComparisonResult
    from advisor.options import Explanation as Explanation
    from advisor.options import FixOptions as FixOptions
    from advisor.options import FixOutcome as FixOutcome
    from advisor.options import LockOptions as LockOptions
    from advisor.options import LockOutcome as LockOutcome
    from advisor.options import ReportOptions as ReportOptions
    from advisor.options import ResolveOptions as ResolveOptions


# The same table for the lazy imports at run time (tests/test_public_api.py checks that the two
# agree): public name -> (the module that defines it, its name there).
_WHERE: dict[str, tuple[str, str]] = {
    "AdviceResult": ("advisor.options", "AdviceResult"),
    "AdviseOptions": ("advisor.options", "AdviseOptions"),
    "BuildOptions": ("advisor.image.options", "BuildOptions"),
    "CheckOptions": ("advisor.api.checking", "CheckOptions"),
    "CheckReport": ("advisor.api.checking", "CheckReport"),
    "ComparisonResult": ("advisor.options", "ComparisonResult"),
    "Explanation": ("advisor.options", "Explanation"),
    "FamilyOutcome": ("advisor.api.imaging", "FamilyOutcome"),
    "FixOptions": ("advisor.options", "FixOptions"),
    "FixOutcome": ("advisor.options", "FixOutcome"),
    "ImageOptions": ("advisor.image.options", "ImageOptions"),
    "ImageOutcome": ("advisor.api.imaging", "ImageOutcome"),
    "IndexConfig": ("advisor.api.context", "IndexConfig"),
    "IndexStrategy": ("advisor.models", "IndexStrategy"),
    "LockFormat": ("advisor.models", "LockFormat"),
    "LockOptions": ("advisor.options", "LockOptions"),
    "LockOutcome": ("advisor.options", "LockOutcome"),
    "PushOptions": ("advisor.image.options", "PushOptions"),
    "PushOutcome": ("advisor.api.publishing", "PushOutcome"),
    "RecommendationType": ("advisor.models", "RecommendationType"),
    "ReportOptions": ("advisor.options", "ReportOptions"),
    "ResolveOptions": ("advisor.options", "ResolveOptions"),
    "advise": ("advisor.api.locking", "advise"),
    "build_image": ("advisor.api.building", "build_image"),
    "build_targets": ("advisor.api.context", "build_targets"),
    "cache_info": ("advisor.api.cache", "cache_info"),
    "check": ("advisor.api.checking", "run_check"),
    "clean_cache": ("advisor.api.cache", "clean_cache"),
    "default_cache_dir": ("advisor.api.context", "default_cache_dir"),
    "detect_environment": ("advisor.api.environment", "detect_environment"),
    "explain": ("advisor.api.explaining", "explain_pin"),
    "export_lock_graph": ("advisor.api.lock_facts", "export_lock_graph"),
    "export_observations": ("advisor.api.observing", "export_observations"),
    "fix": ("advisor.api.fixing", "fix"),
    "generate_image": ("advisor.api.imaging", "generate"),
    "generate_images": ("advisor.api.imaging", "generate_family"),
    "import_observations": ("advisor.api.observing", "import_observations"),
    "import_osv": ("advisor.api.knowledge", "import_osv"),
    "index_facts": ("advisor.api.lock_facts", "index_facts"),
    "inspect_image": ("advisor.api.publishing", "inspect_image"),
    "install_lock": ("advisor.install", "install_lock"),
    "knowledge_stats": ("advisor.api.knowledge", "stats"),
    "list_images": ("advisor.api.imaging", "list_images"),
    "list_recipes": ("advisor.api.imaging", "list_recipes"),
    "lock": ("advisor.api.locking", "lock"),
    "observe_bench": ("advisor.api.observing", "observe_bench"),
    "observe_install": ("advisor.api.observing", "observe_install"),
    "plan_sweep": ("advisor.api.observing", "plan_sweep"),
    "push_image": ("advisor.api.publishing", "push_image"),
    "resolve_request": ("advisor.api.locking", "resolve_request"),
    "run_sweep": ("advisor.api.observing", "run_sweep"),
    "run_sweep_job": ("advisor.api.observing", "run_sweep_job"),
    "show_knowledge": ("advisor.api.knowledge", "show"),
    "sync_knowledge": ("advisor.api.knowledge", "sync"),
    "update_advisories": ("advisor.api.advisory_update", "update_advisories"),
    "validate_knowledge": ("advisor.api.knowledge", "validate"),
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> object:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'advisor.api' has no attribute {name!r}")
    module, attr = where
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # once found, a plain attribute
    return value
