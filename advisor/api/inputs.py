"""A lock or advise run before resolving: the inputs read, the targets, indexes and output.

First step of the composition root's lock and advise jobs (and of an image's lock): reads the
requirements files or pyproject.toml, pip's configuration (its constraint files included),
the ``[tool.advisor]`` configuration (read once, here) and the lock being replaced; the
targets, the indexes and where the lock goes are decided below (through
:mod:`advisor.api.context` and :mod:`advisor.lockfile.render`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.models import LockFormat

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.api.context import IndexConfig, ResolveOptions
    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.index.settings import PipSettings
    from advisor.request import AdviceRequest, RequirementLine

__all__ = ["LockOptions", "Prepared", "prepare"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOptions:
    """Where a lock goes and how it is written.

    ``output``: the lock's path (``None``: ``pylock.toml`` or ``requirements.txt`` beside the
    first input; ``Path("-")``: written nowhere, the text is in the outcome); ``format``:
    the lock format; ``dry_run``: render, write nothing; ``command``: the command line a
    requirements lock names in its header.
    """

    output: Path | None = None  # None: next to the first input; Path("-"): stdout
    format: LockFormat = LockFormat.PYLOCK
    dry_run: bool = False
    command: str = "advisor lock"
    #: requirements format: the index options (pip-compile style); an image context that
    #: installs from its vendored wheels/ leaves them out (the build cannot reach them)
    index_lines: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """A lock or advise run before resolving: parsed inputs, targets, indexes, output path.

    ``request`` is what the inputs ask (the lock's digest covers it); ``resolvable`` is what
    is resolved: the same plus the constraint files of pip's configuration, whose
    requirements are ``pip_constraints`` (recorded in the lock by content).
    """

    inputs: tuple[Path, ...]
    request: AdviceRequest
    resolvable: AdviceRequest
    pip_constraints: tuple[RequirementLine, ...]
    config: AdvisorConfig
    targets: tuple[RuntimeEnvironment, ...]
    index: IndexConfig
    pip: PipSettings
    output: Path
    previous: Mapping[NormalizedName, Version]
    environ: Mapping[str, str]
    cwd: Path


def prepare(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Prepared:
    """Read the inputs and configuration; decide targets, indexes and where the lock goes."""
    from advisor.api.context import build_targets, index_config
    from advisor.config import load_config
    from advisor.environment import RuntimeEnvironment
    from advisor.index.settings import load_pip_settings
    from advisor.lockfile.render import default_lock_path, previous_pins
    from advisor.request import load_request, read_constraint_files

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    if not inputs:
        raise InputError("no input given: name a requirements file or a pyproject.toml")

    def read(constraints: Sequence[Path]) -> AdviceRequest:
        return load_request(
            list(inputs),
            extras=opts.extras,
            groups=opts.groups,
            constraints=constraints,
            overrides=opts.overrides,
            environ=environ,
            cwd=cwd,
        )

    request = read(opts.constraints)
    pip = load_pip_settings(environ=environ, cwd=cwd)
    configured = read_constraint_files(
        pip.constraints, source=pip.constraint_source, environ=environ, cwd=cwd
    )
    # pip applies its configured constraint files like -c files on its command line (their
    # options included); read together, one reader merges and checks them as pip would
    resolvable = (
        read([*opts.constraints, *(Path(p) for p in pip.constraints)])
        if pip.constraints
        else request
    )
    config = load_config(Path(inputs[0]).resolve().parent)
    targets = build_targets(opts, config, RuntimeEnvironment.detect())
    index, pip = index_config(opts, resolvable, config, environ, cwd, pip=pip)
    if not index.indexes and not index.find_links:
        raise InputError("no index to resolve from: --no-index is set and no --find-links given")
    output = out.output or default_lock_path(inputs[0], out.format)
    existing = opts.preferences_from or (output if str(output) != "-" else None)
    return Prepared(
        inputs=tuple(inputs),
        request=request,
        resolvable=resolvable,
        pip_constraints=configured,
        config=config,
        targets=targets,
        index=index,
        pip=pip,
        output=output,
        previous=previous_pins(existing),
        environ=environ,
        cwd=cwd,
    )
