"""Value types of a parsed advice request (inputs layer, first stop of the data flow).

The parsers in :mod:`advisor.request.requirements_file` and :mod:`advisor.request.pyproject`
produce these; :func:`advisor.request.load.load_request` assembles one :class:`AdviceRequest`;
the resolution layer consumes it. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from packaging.utils import NormalizedName

__all__ = [
    "AdviceRequest",
    "IndexOptions",
    "InputFile",
    "RequirementLine",
    "apply_overrides",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RequirementLine:
    """One requirement as written in an input, with where it came from.

    ``origin`` is ``"requirements.in:3"`` for a requirements file (the first physical line of
    a continued logical line), ``"pyproject.toml [project.dependencies]"``,
    ``"pyproject.toml [project.optional-dependencies] test"`` or
    ``"pyproject.toml [dependency-groups] test"``. ``hashes`` are the ``--hash`` options of
    the line as ``(algorithm, lowercase hexdigest)`` pairs, sorted and without duplicates.
    A direct reference keeps its URL in ``requirement.url``; a local file is an absolute
    ``file://`` URL.
    """

    requirement: Requirement
    origin: str
    hashes: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> NormalizedName:
        return canonicalize_name(self.requirement.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexOptions:
    """Index options found *inside* requirements files (pip's per-file options), merged.

    Local paths given to ``--index-url``, ``--extra-index-url`` and ``--find-links`` are
    resolved against the directory of the file that names them and kept as absolute
    ``file://`` URLs. URLs keep their credentials (they are used to fetch); never print
    them without stripping the userinfo. ``only_binary``/``no_binary`` hold canonical
    project names and the special values ``:all:`` and ``:none:``, in file order.
    """

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    trusted_hosts: tuple[str, ...] = ()
    pre: bool = False
    only_binary: tuple[str, ...] = ()
    no_binary: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class InputFile:
    """One file that was read, with its ``role``: ``"requirements"``, ``"constraints"``,
    ``"overrides"`` or ``"pyproject"``. ``path`` is as given (joined to the including
    file's directory for ``-r``/``-c``; relative to the working directory when given
    absolute inside it), normalised, with ``/`` separators."""

    path: str
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AdviceRequest:
    """Everything the user asked for, parsed and validated, before any index is consulted.

    ``files`` lists every file read, nested ``-r``/``-c`` files included, in reading order.
    ``requires_python`` comes from ``[project] requires-python`` (several pyproject inputs
    are intersected). ``extras`` and ``groups`` are the canonical names that were selected.
    ``root`` is the absolute working directory the display paths are relative to; the
    digest uses it to make paths and local ``file://`` URLs independent of where the
    checkout lives and of the directory the command ran in.
    """

    requirements: tuple[RequirementLine, ...]
    constraints: tuple[RequirementLine, ...] = ()
    overrides: tuple[RequirementLine, ...] = ()
    index_options: IndexOptions = IndexOptions()
    files: tuple[InputFile, ...] = ()
    requires_python: str | None = None
    project_name: str | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    root: str | None = None


def apply_overrides(
    requirement: Requirement, overrides: Sequence[RequirementLine]
) -> tuple[Requirement, ...]:
    """Replace ``requirement`` by the overrides on its name (uv's override semantics).

    Returns ``(requirement,)`` when no override names its project. Otherwise one
    requirement per override on that name: the override's specifier or URL replaces the
    original's; the original's extras are kept (added to the override's), and the original's
    marker is and-ed with the override's, since the dependency only exists where the
    original marker holds. Cost: one pass over ``overrides``; callers resolving many
    requirements should pre-filter ``overrides`` by name.
    """
    name = canonicalize_name(requirement.name)
    matching = [o.requirement for o in overrides if o.name == name]
    if not matching:
        return (requirement,)
    return tuple(_merge_override(requirement, o) for o in matching)


def _merge_override(original: Requirement, override: Requirement) -> Requirement:
    merged = Requirement(str(override))
    merged.extras = set(override.extras) | set(original.extras)
    if original.marker is not None:
        if override.marker is None:
            merged.marker = original.marker
        else:
            merged.marker = Marker(f"({original.marker}) and ({override.marker})")
    return merged
