"""A lock or advise run before resolving: the inputs read, the targets, indexes and output.

First step of the composition root's lock and advise jobs (and of an image's lock): reads the
requirements files or pyproject.toml, pip's configuration (its constraint files included),
the ``[tool.advisor]`` configuration (read once, here) and the lock being replaced; the
targets, the indexes and where the lock goes are decided below (through
:mod:`advisor.api.context` and :mod:`advisor.options.prepared`), which also holds the
:class:`~advisor.options.prepared.Prepared` value and :class:`LockOptions` (re-exported).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.options.jobs import LockOptions
from advisor.options.prepared import Prepared

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from advisor.options.resolve import ResolveOptions

__all__ = ["LockOptions", "Prepared", "prepare"]


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
    from advisor.lockfile.render import previous_pins
    from advisor.options.prepared import existing_lock, lock_output
    from advisor.request import load_resolvable

    environ = dict(os.environ) if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    if not inputs:
        raise InputError("no input given: name a requirements file or a pyproject.toml")
    pip = load_pip_settings(environ=environ, cwd=cwd)
    request, resolvable, configured = load_resolvable(
        list(inputs),
        extras=opts.extras,
        groups=opts.groups,
        constraints=opts.constraints,
        overrides=opts.overrides,
        pip_constraints=pip.constraints,
        pip_source=pip.constraint_source,
        environ=environ,
        cwd=cwd,
    )
    config = load_config(Path(inputs[0]).resolve().parent)
    targets = build_targets(opts, config, RuntimeEnvironment.detect())
    index, pip = index_config(opts, resolvable, config, environ, cwd, pip=pip)
    if not index.indexes and not index.find_links:
        raise InputError("no index to resolve from: --no-index is set and no --find-links given")
    output = lock_output(inputs[0], out)
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
        previous=previous_pins(existing_lock(output, opts)),
        environ=environ,
        cwd=cwd,
    )
