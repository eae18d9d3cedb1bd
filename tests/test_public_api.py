"""The public surface (STYLE.md habit 2): ``advisor.__all__`` and the shared types' ``__all__``
are pinned, and every module under ``advisor/`` says what it exports.

Changing a pinned list is a deliberate API change: update the list here in the same commit.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import advisor
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
        "IndexConfig",
        "LockOptions",
        "LockOutcome",
        "ResolveOptions",
        "__version__",
        "lock",
    ]


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
        "Pin",
        "ProjectPage",
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
