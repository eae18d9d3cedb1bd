"""A lock or advise run before resolving: the inputs read, the targets, indexes and output.

Just below the composition root: :func:`advisor.api.inputs.prepare` reads the inputs, pip's
configuration and ``[tool.advisor]`` and builds a :class:`Prepared`; the lock's record
(:mod:`advisor.options.record`) and every resolving step read it. :func:`lock_output` and
:func:`existing_lock` decide where the lock goes and which lock it replaces, :func:`lock_text`
what its text says besides its pins.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.config import AdvisorConfig
    from advisor.environment import RuntimeEnvironment
    from advisor.index.session import IndexConfig
    from advisor.index.settings import PipSettings
    from advisor.lockfile.render import LockText
    from advisor.options.jobs import LockOptions
    from advisor.options.resolve import ResolveOptions
    from advisor.request import AdviceRequest, RequirementLine

__all__ = ["Prepared", "existing_lock", "lock_output", "lock_text"]


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

    @property
    def lock_path(self) -> Path | None:
        """Where the lock goes (``None``: stdout)."""
        return self.output if str(self.output) != "-" else None

    def for_target(
        self,
        target: RuntimeEnvironment,
        *,
        previous: Mapping[NormalizedName, Version],
        pinned: Mapping[str, str],
    ) -> Prepared:
        """This run for ``target`` alone (an image's base), keeping the ``previous`` pins
        where it can, with the packages ``pinned`` to one index (name → URL)."""
        index = dataclasses.replace(self.index, pinned=dict(pinned))
        return dataclasses.replace(self, targets=(target,), previous=dict(previous), index=index)


def lock_output(first_input: Path, out: LockOptions) -> Path:
    """Where a lock goes: ``out.output``, else beside ``first_input`` in ``out.format``
    (``Path("-")``: stdout)."""
    from advisor.lockfile.render import default_lock_path

    return out.output or default_lock_path(first_input, out.format)


def existing_lock(output: Path, opts: ResolveOptions) -> Path | None:
    """The lock whose pins a re-lock keeps: ``--preferences-from``, else the lock at
    ``output`` (none for stdout)."""
    return opts.preferences_from or (output if str(output) != "-" else None)


def lock_text(prep: Prepared, out: LockOptions) -> LockText:
    """What the lock of ``prep`` says besides its pins: the targets' markers, the inputs'
    ``requires_python``, the command and the indexes (without credentials)."""
    from advisor.lockfile.render import LockText

    public = prep.index.redacted()
    return LockText(
        format=out.format,
        environments=tuple(t.lock_marker() for t in prep.targets),
        requires_python=prep.request.requires_python,
        command=out.command,
        index_lines=out.index_lines,
        indexes=public.indexes,
        find_links=public.find_links,
    )
