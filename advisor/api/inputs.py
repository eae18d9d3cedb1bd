"""A resolving run's first step: :func:`advisor.options.prepared.read_inputs` with what only
the root reads (the process environment, pip's configuration, this machine).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.options.jobs import LockOptions
from advisor.options.prepared import Prepared

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

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
    from advisor.api.context import here
    from advisor.environment import RuntimeEnvironment
    from advisor.index.settings import default_index_url, load_pip_settings
    from advisor.options.prepared import read_inputs

    if not inputs:
        raise InputError("no input given: name a requirements file or a pyproject.toml")
    at = here(environ, cwd)
    pip = load_pip_settings(environ=at.environ, cwd=at.cwd)
    return read_inputs(inputs, opts=opts, out=out, pip=pip, host=RuntimeEnvironment.detect(),
                       default_index=default_index_url, environ=at.environ, cwd=at.cwd)  # fmt: skip
