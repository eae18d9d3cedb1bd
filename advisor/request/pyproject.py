"""Read the requirements of a ``pyproject.toml`` (inputs layer, first stop of the data flow).

PEP 621 ``[project]``: ``dependencies``, the ``optional-dependencies`` selected as extras,
``requires-python`` and ``name``; PEP 735 ``[dependency-groups]`` selected as groups, with
``{include-group = "..."}`` includes. A requirement on the project itself
(``myproject[test]`` inside an extra or a group, a common way to share lists) is expanded
into the named extras' requirements, since the project is not on any index. Group and extra
names compare normalised (PEP 685/735).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.markers import Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from advisor.errors import InputError
from advisor.request.model import RequirementLine
from advisor.request.reference import parse_requirement_text
from advisor.request.requirements_file import read_text

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


__all__ = ["PyprojectRequirements", "load_toml", "merge_requires_python", "parse_pyproject"]

_TOML_LINE = re.compile(r"at line (\d+)")


@dataclass(frozen=True, slots=True, kw_only=True)
class PyprojectRequirements:
    """What one pyproject.toml contributes to a request."""

    requirements: tuple[RequirementLine, ...]
    requires_python: str | None = None
    project_name: str | None = None


def load_toml(text: str, *, display: str) -> dict[str, Any]:
    """Parse TOML text read from ``display``; errors become :class:`InputError` naming
    ``display:line`` (the line tomllib reports)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_LINE.search(message)
        where = f"{display}:{match.group(1)}" if match else display
        raise InputError(f"{where}: invalid TOML: {message}") from exc


def parse_pyproject(
    path: Path, *, display: str, extras: Sequence[str] = (), groups: Sequence[str] = ()
) -> PyprojectRequirements:
    """Requirements of ``path``: its dependencies, plus the selected extras and groups.

    Raises :class:`InputError` for invalid TOML, a malformed table, dynamic dependencies,
    an unknown extra or group (listing the known ones) and an include cycle between groups;
    :class:`~advisor.errors.InvalidRequirement` (with the line found in the file, when it
    can be found) for a bad requirement string.
    """
    text = read_text(path, display=display)
    data = load_toml(text, display=display)
    reader = _Reader(path=path, display=display, text=text)
    project = data.get("project")
    if project is not None and not isinstance(project, dict):
        raise InputError(f"{display}: [project] must be a table")
    if project is None and not groups:
        raise InputError(
            f"{display}: no [project] table (PEP 621) to read dependencies from; "
            "select dependency groups or pass a requirements file"
        )
    project = project or {}
    dynamic = reader.strings(project.get("dynamic", []), "project.dynamic")
    if "dependencies" in dynamic:
        raise InputError(
            f"{display}: [project] declares its dependencies as dynamic (the build backend "
            "computes them); list them in [project] dependencies or pass a requirements file"
        )
    name = project.get("name")
    if name is not None and not isinstance(name, str):
        raise InputError(f"{display}: project.name must be a string")
    requires_python = project.get("requires-python")
    if requires_python is not None:
        requires_python = reader.specifier(requires_python)
    optional = project.get("optional-dependencies", {})
    if not isinstance(optional, dict):
        raise InputError(f"{display}: project.optional-dependencies must be a table")
    if extras and "optional-dependencies" in dynamic:
        raise InputError(
            f"{display}: [project] declares optional-dependencies as dynamic; extras "
            "cannot be read from it"
        )
    reader.extras = {
        canonicalize_name(key): (key, reader.strings(value, f"project.optional-dependencies.{key}"))
        for key, value in optional.items()
    }
    reader.self_name = canonicalize_name(name) if name else None
    reader.dependencies = reader.strings(project.get("dependencies", []), "project.dependencies")
    reader.groups = _group_table(data.get("dependency-groups", {}), display=display)

    out: list[RequirementLine] = []
    reader.add_dependencies(out, marker=None)
    for extra in extras:
        reader.add_extra(out, canonicalize_name(extra), marker=None)
    for group in groups:
        reader.add_group(out, canonicalize_name(group), stack=())
    return PyprojectRequirements(
        requirements=tuple(out), requires_python=requires_python, project_name=name
    )


def _group_table(table: Any, *, display: str) -> dict[str, tuple[str, list[Any]]]:
    if not isinstance(table, dict):
        raise InputError(f"{display}: [dependency-groups] must be a table")
    out: dict[str, tuple[str, list[Any]]] = {}
    for key, entries in table.items():
        normal = canonicalize_name(key)
        if normal in out:
            raise InputError(
                f"{display}: dependency groups {out[normal][0]!r} and {key!r} have the same "
                "normalised name"
            )
        if not isinstance(entries, list):
            raise InputError(f"{display}: dependency-groups.{key} must be an array")
        out[normal] = (key, entries)
    return out


class _Reader:
    """State for reading one pyproject: the tables, and what was already expanded."""

    def __init__(self, *, path: Path, display: str, text: str) -> None:
        self.path = path
        self.display = display
        self.lines = text.splitlines()
        self.extras: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.groups: dict[str, tuple[str, list[Any]]] = {}
        self.dependencies: tuple[str, ...] = ()
        self.self_name: str | None = None
        self._expanded: set[tuple[str, str | None]] = set()

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{self.display}: {key} must be an array of strings")
        return tuple(value)

    def specifier(self, value: Any) -> str:
        if not isinstance(value, str):
            raise InputError(f"{self.display}: project.requires-python must be a string")
        try:
            return str(SpecifierSet(value))
        except InvalidSpecifier as exc:
            raise InputError(
                f"{self.display}: project.requires-python {value!r} is not a version specifier"
            ) from exc

    def add_dependencies(self, out: list[RequirementLine], *, marker: Marker | None) -> None:
        if not self._first_time("", marker):
            return
        origin = f"{self.display} [project.dependencies]"
        for text in self.dependencies:
            self._add(out, text, origin=origin, marker=marker)

    def add_extra(self, out: list[RequirementLine], extra: str, *, marker: Marker | None) -> None:
        if extra not in self.extras:
            known = ", ".join(sorted(self.extras)) or "none are defined"
            raise InputError(
                f"{self.display}: unknown extra {extra!r} "
                f"(project.optional-dependencies has: {known})"
            )
        if not self._first_time(f"extra:{extra}", marker):
            return
        key, texts = self.extras[extra]
        origin = f"{self.display} [project.optional-dependencies] {key}"
        for text in texts:
            self._add(out, text, origin=origin, marker=marker)

    def add_group(self, out: list[RequirementLine], group: str, *, stack: tuple[str, ...]) -> None:
        if group not in self.groups:
            known = ", ".join(sorted(self.groups)) or "none are defined"
            via = f" (included from {stack[-1]!r})" if stack else ""
            raise InputError(
                f"{self.display}: unknown dependency group {group!r}{via} "
                f"([dependency-groups] has: {known})"
            )
        if group in stack:
            chain = " -> ".join((*stack, group))
            raise InputError(f"{self.display}: dependency groups include each other: {chain}")
        if not self._first_time(f"group:{group}", None):
            return
        key, entries = self.groups[group]
        origin = f"{self.display} [dependency-groups] {key}"
        for entry in entries:
            if isinstance(entry, str):
                self._add(out, entry, origin=origin, marker=None)
            elif (
                isinstance(entry, dict)
                and set(entry) == {"include-group"}
                and isinstance(entry["include-group"], str)
            ):
                included = canonicalize_name(entry["include-group"])
                self.add_group(out, included, stack=(*stack, group))
            else:
                raise InputError(
                    f"{self.display}: dependency-groups.{key} entries must be requirement "
                    f'strings or {{include-group = "name"}} tables, not {entry!r}'
                )

    def _first_time(self, key: str, marker: Marker | None) -> bool:
        marker_key = None if marker is None else str(marker)
        if (key, marker_key) in self._expanded:
            return False
        self._expanded.add((key, marker_key))
        return True

    def _add(
        self, out: list[RequirementLine], text: str, *, origin: str, marker: Marker | None
    ) -> None:
        req = parse_requirement_text(
            text, base_dir=self.path.parent, path=self.display, line=self._line_of(text)
        )
        combined = _and_markers(marker, req.marker)
        if self.self_name is not None and canonicalize_name(req.name) == self.self_name:
            # The project names itself: inline what it would bring, not the project.
            if req.url is None:
                if origin.endswith("[project.dependencies]"):
                    raise InputError(f"{self.display}: project.dependencies names the project")
                if "[dependency-groups]" in origin:
                    self.add_dependencies(out, marker=combined)
                for extra in sorted(req.extras):
                    self.add_extra(out, canonicalize_name(extra), marker=combined)
                return
        req.marker = combined
        out.append(RequirementLine(requirement=req, origin=origin))

    def _line_of(self, text: str) -> int:
        for number, line in enumerate(self.lines, start=1):
            if f'"{text}"' in line or f"'{text}'" in line:
                return number
        return 0


def _and_markers(first: Marker | None, second: Marker | None) -> Marker | None:
    if first is None or second is None:
        return first or second
    return Marker(f"({first}) and ({second})")


def merge_requires_python(values: Sequence[str]) -> str | None:
    """The intersection of several valid ``requires-python`` specifiers (``None`` if none)."""
    if not values:
        return None
    total = SpecifierSet()
    for value in values:
        total &= SpecifierSet(value)
    return str(total)
