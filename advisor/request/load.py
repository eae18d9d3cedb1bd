"""Assemble an :class:`AdviceRequest` from input files (inputs layer, first stop of the data flow).

The one entry point of :mod:`advisor.request`: requirements files, ``pyproject.toml`` files,
constraints and overrides are read here (no network, no environment variables: ``environ``
and ``cwd`` are passed in by the caller) and validated into one frozen request.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import InvalidName, canonicalize_name

from advisor.errors import ConfigError, InputError
from advisor.request.model import AdviceRequest, InputFile, RequirementLine
from advisor.request.pyproject import merge_requires_python, parse_pyproject
from advisor.request.requirements_file import RequirementsReader, display_path

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.request.model import IndexOptions

__all__ = [
    "load_request",
    "load_resolvable",
    "lock_inputs",
    "parse_requirements_file",
    "read_constraint_files",
]


def load_request(
    inputs: Sequence[Path],
    *,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    constraints: Sequence[Path] = (),
    overrides: Sequence[Path] = (),
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> AdviceRequest:
    """Read and validate every input into one :class:`AdviceRequest`.

    ``inputs`` are requirements files or ``pyproject.toml`` files (by file name); relative
    paths are relative to ``cwd`` (default: the process's working directory). ``extras``
    and ``groups`` select optional dependencies and PEP 735 groups of every pyproject input
    (each must define them). ``constraints`` and ``overrides`` are requirements files.
    ``environ`` supplies ``${VAR}`` values in requirements files; ``None`` expands nothing.

    Raises :class:`~advisor.errors.InputError` (or its subclasses
    :class:`~advisor.errors.InvalidRequirement` and
    :class:`~advisor.errors.UnsupportedRequirement`) naming the file and line.
    Cost: one read per file; no network.
    """
    if not inputs:
        raise InputError("no input given: name a requirements file or a pyproject.toml")
    root = (cwd if cwd is not None else Path.cwd()).absolute()
    extra_names = _names(extras, "extra")
    group_names = _names(groups, "dependency group")
    reader = RequirementsReader(environ=environ)
    pythons: list[str] = []
    project_name: str | None = None
    seen_pyprojects: set[str] = set()
    for given in inputs:
        path, display = _locate(given, root)
        if path.name != "pyproject.toml":
            reader.read(path, display=display, role="requirements")
            continue
        real = os.path.realpath(path)
        if real in seen_pyprojects:
            continue
        seen_pyprojects.add(real)
        parsed = parse_pyproject(path, display=display, extras=extra_names, groups=group_names)
        reader.files.append(InputFile(path=display, role="pyproject"))
        reader.lines["requirements"].extend(parsed.requirements)
        if parsed.requires_python is not None:
            pythons.append(parsed.requires_python)
        project_name = project_name or parsed.project_name
    if (extra_names or group_names) and not seen_pyprojects:
        raise InputError(
            "extras and dependency groups are read from a pyproject.toml, "
            "and no pyproject.toml was given as an input"
        )
    for role, paths in (("constraints", constraints), ("overrides", overrides)):
        for given in paths:
            path, display = _locate(given, root)
            if path.name == "pyproject.toml":
                raise InputError(f"{display}: {role} must be a requirements file")
            reader.read(path, display=display, role=role)
    return AdviceRequest(
        requirements=tuple(reader.lines["requirements"]),
        constraints=tuple(reader.lines["constraints"]),
        overrides=tuple(reader.lines["overrides"]),
        index_options=reader.index_options(),
        files=tuple(reader.files),
        requires_python=merge_requires_python(pythons),
        project_name=project_name,
        extras=extra_names,
        groups=group_names,
        root=root.as_posix(),
    )


def parse_requirements_file(
    path: Path,
    *,
    role: str = "requirements",
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> AdviceRequest:
    """Read one requirements file (and its includes) as ``role``; see :func:`load_request`."""
    if role not in ("requirements", "constraints", "overrides"):
        raise ValueError(f"unknown role {role!r}")
    root = (cwd if cwd is not None else Path.cwd()).absolute()
    reader = RequirementsReader(environ=environ)
    full, display = _locate(path, root)
    reader.read(full, display=display, role=role)
    return AdviceRequest(
        requirements=tuple(reader.lines["requirements"]),
        constraints=tuple(reader.lines["constraints"]),
        overrides=tuple(reader.lines["overrides"]),
        index_options=reader.index_options(),
        files=tuple(reader.files),
        root=root.as_posix(),
    )


def load_resolvable(
    inputs: Sequence[Path],
    *,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    constraints: Sequence[Path] = (),
    overrides: Sequence[Path] = (),
    pip_constraints: Sequence[str] = (),
    pip_source: str = "",
    environ: Mapping[str, str],
    cwd: Path,
) -> tuple[AdviceRequest, AdviceRequest, tuple[RequirementLine, ...]]:
    """What ``inputs`` ask (:func:`load_request`: what a lock's digest covers), what is
    resolved, and the requirements of ``pip_constraints``, the constraint files pip's
    configuration names (in ``pip_source``; recorded in a lock by content). What is resolved
    is the request with those files read as ``-c`` files too: pip applies them so, their
    options included, and read together, one reader merges and checks them as pip would.
    Raises as :func:`load_request` and :func:`read_constraint_files` do."""

    def read(more: Sequence[Path]) -> AdviceRequest:
        return load_request(inputs, extras=extras, groups=groups, constraints=more,
                            overrides=overrides, environ=environ, cwd=cwd)  # fmt: skip

    request = read(constraints)
    configured = read_constraint_files(pip_constraints, source=pip_source, environ=environ, cwd=cwd)
    if not pip_constraints:
        return request, request, configured
    return request, read([*constraints, *(Path(p) for p in pip_constraints)]), configured


def read_constraint_files(
    paths: Sequence[str], *, source: str, environ: Mapping[str, str], cwd: Path
) -> tuple[RequirementLine, ...]:
    """The requirements of the constraint files ``paths`` that pip's configuration names
    (its ``constraint`` setting, set in ``source``), in file order.

    Raises :class:`~advisor.errors.ConfigError` naming ``source`` when a file is missing or
    invalid (pip refuses to install then), or remote (pip would fetch it; the advisor reads
    local files only).
    """
    from advisor.urls import redact_url

    lines: list[RequirementLine] = []
    for path in paths:
        if "://" in path:
            raise ConfigError(
                f"pip's constraint setting names a remote file, {redact_url(path)} "
                f"({source}); the advisor reads local constraint files only: "
                "download it and name the copy"
            )
        try:
            parsed = parse_requirements_file(
                Path(path), role="constraints", environ=environ, cwd=cwd
            )
        except InputError as exc:
            where = f"a constraint file of pip's configuration: {source}"
            raise ConfigError(f"{exc} ({where})") from exc
        lines.extend(parsed.constraints)
    return tuple(lines)


def lock_inputs(
    lock: Path, inputs: Sequence[Path], *, cwd: Path, environ: Mapping[str, str]
) -> tuple[list[Path], IndexOptions]:
    """What the requirements lock ``lock`` is resolved again from (``fix``, ``check --fix``):
    ``inputs`` (relative to ``cwd``), else its ``.in`` sibling, and the index options its own
    lines name. Raises :class:`InputError` when the first input is not a file."""
    files = [i if i.is_absolute() else cwd / i for i in inputs] or [lock.with_suffix(".in")]
    if not files[0].is_file():
        raise InputError(f"{lock}: no input to re-resolve from (pass --inputs)")
    found = load_request([lock], environ=environ, cwd=lock.resolve().parent)
    return files, found.index_options


def _locate(given: Path, root: Path) -> tuple[Path, str]:
    """Absolute path of an input, and its display form (relative to ``root`` if inside)."""
    path = root / given
    if given.is_absolute():
        try:
            return path, path.relative_to(root).as_posix()
        except ValueError:
            return path, display_path(given.as_posix())
    return path, display_path(given.as_posix())


def _names(values: Sequence[str], kind: str) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for value in values:
        try:
            out[canonicalize_name(value, validate=True)] = None
        except InvalidName as exc:
            raise InputError(f"{value!r} is not a valid {kind} name") from exc
    return tuple(out)
