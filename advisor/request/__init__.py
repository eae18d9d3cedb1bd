"""The input layer: requirements files and pyproject.toml → :class:`AdviceRequest`.

First stop of the data flow (inputs → sources → knowledge → decide → outputs). Parsing is
local and fast (it runs on every command): no network, no environment-variable reads.

* :mod:`~advisor.request.model`: the frozen values (``AdviceRequest``, ``RequirementLine``…);
* :mod:`~advisor.request.requirements_file`: pip's requirements-file format;
* :mod:`~advisor.request.pyproject`: PEP 621 dependencies and PEP 735 groups;
* :mod:`~advisor.request.reference`: direct references, bare paths, refused forms;
* :mod:`~advisor.request.load`: :func:`load_request`, the entry point;
* :mod:`~advisor.request.digest`: :func:`request_digest` for lock freshness.
"""

from __future__ import annotations

from advisor.request.digest import normalize_requirement, request_digest
from advisor.request.load import (
    load_request,
    load_resolvable,
    lock_inputs,
    parse_requirements_file,
    read_constraint_files,
)
from advisor.request.model import (
    AdviceRequest,
    IndexOptions,
    InputFile,
    RequirementLine,
    apply_overrides,
)

__all__ = [
    "AdviceRequest",
    "IndexOptions",
    "InputFile",
    "RequirementLine",
    "apply_overrides",
    "load_request",
    "load_resolvable",
    "lock_inputs",
    "normalize_requirement",
    "parse_requirements_file",
    "read_constraint_files",
    "request_digest",
]
