"""The public surface (STYLE.md habit 2): ``advisor.__all__`` and the shared types' ``__all__``
are pinned, and every module under ``advisor/`` says what it exports.

Changing a pinned list is a deliberate API change: update the list here in the same commit.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import advisor
import advisor.api
import advisor.errors
import advisor.models

ROOT = Path(advisor.__file__).resolve().parent


def _module_names() -> list[str]:
    names = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


# Modules known to lack ``__all__``; each one fails strictly once fixed (then drop it here).
MISSING_ALL: dict[str, str] = {}


def _module_params() -> list[object]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=MISSING_ALL[name]))
        if name in MISSING_ALL
        else name
        for name in _module_names()
    ]


def test_package_all_is_pinned() -> None:
    assert advisor.__all__ == [
        "AdviceResult",
        "AdviseOptions",
        "IndexConfig",
        "IndexStrategy",
        "LockFormat",
        "LockOptions",
        "LockOutcome",
        "RecommendationType",
        "ResolveOptions",
        "__version__",
        "advise",
        "lock",
    ]


def test_api_all_is_pinned() -> None:
    """One function per job (issue 12.4), and the values they take and return."""
    from advisor import api

    assert api.__all__ == [
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


def test_api_names_load_lazily() -> None:
    """``import advisor.api`` loads no job module; a name loads only its own."""
    code = (
        "import json, sys; import advisor.api; "
        "jobs = lambda: sorted(m for m in sys.modules if m.startswith('advisor.api.')); "
        "first = jobs(); advisor.api.cache_info; print(json.dumps([first, jobs()]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == [[], ["advisor.api.cache", "advisor.api.context"]]


@pytest.mark.parametrize("name", advisor.api.__all__)
def test_api_names_resolve(name: str) -> None:
    """Each line of the table in ``advisor/api/__init__.py`` names a real object, found
    lazily under its public name."""
    from advisor import api

    module, there = api._WHERE[name]
    assert getattr(api, name) is getattr(importlib.import_module(module), there)


def test_api_tables_agree() -> None:
    """The lazy table (``_WHERE``) says what the typed one (the imports under
    ``TYPE_CHECKING`` in ``advisor/api/__init__.py``) says, name for name."""
    from advisor import api

    tree = ast.parse(Path(api.__file__).read_text(encoding="utf-8"))
    typed = next(
        n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
    )
    imports = {
        alias.asname or alias.name: (node.module, alias.name)
        for node in typed.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imports == api._WHERE


def test_api_rejects_unknown_names() -> None:
    from advisor import api

    with pytest.raises(AttributeError, match="no_such_job"):
        api.no_such_job  # noqa: B018


@pytest.mark.parametrize("name", advisor.__all__)
def test_package_names_resolve(name: str) -> None:
    value = getattr(advisor, name)
    if name != "__version__":
        from advisor import api

        assert value is getattr(api, name)


def test_package_rejects_unknown_names() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        advisor.no_such_name  # noqa: B018


def test_models_all_is_pinned() -> None:
    assert advisor.models.__all__ == [
        "CoreMetadata",
        "DistFile",
        "DistKind",
        "Edge",
        "IndexStrategy",
        "LockFormat",
        "Pin",
        "ProjectPage",
        "ProjectState",
        "ProjectStatus",
        "RecommendationType",
        "Resolution",
        "parse_dist_filename",
    ]


def test_errors_all_is_pinned() -> None:
    assert advisor.errors.__all__ == [
        "AdvisorError",
        "AdvisoryDumpInvalid",
        "BuildFailed",
        "BuildFailure",
        "CacheError",
        "ConfigError",
        "IndexUnavailable",
        "InputError",
        "InvalidOption",
        "InvalidRequirement",
        "LockfileError",
        "MetadataUnavailable",
        "NoViableStack",
        "UnsupportedRequirement",
        "UnusableCacheDir",
        "UnwritableOutput",
    ]


@pytest.mark.parametrize("name", _module_params())
def test_module_defines_all(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__dict__.get("__all__")
    assert isinstance(exported, list | tuple), f"{name} defines no __all__"
    assert all(isinstance(n, str) for n in exported)
    assert len(set(exported)) == len(exported), f"{name}.__all__ has duplicates"
    unresolved = [n for n in exported if not hasattr(module, n)]
    assert unresolved == [], f"{name}.__all__ names what it does not define"
