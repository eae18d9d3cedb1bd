"""A lock or advise run before resolving: the inputs read, the targets, indexes and output.

Just below the composition root: :func:`read_inputs` reads the inputs, ``[tool.advisor]``
and the lock being replaced, given pip's configuration and this machine
(:func:`advisor.api.inputs.prepare` reads those), and builds a :class:`Prepared`; the lock's record
(:mod:`advisor.options.record`) and every resolving step read it. :func:`lock_output` and
:func:`existing_lock` decide where the lock goes and which lock it replaces, :func:`lock_text`
what its text says besides its pins.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

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

__all__ = ["Prepared", "existing_lock", "lock_output", "lock_text", "read_inputs"]


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


def read_inputs(
    inputs: Sequence[Path],
    *,
    opts: ResolveOptions,
    out: LockOptions,
    pip: PipSettings,
    host: RuntimeEnvironment,
    default_index: Callable[[], str],
    environ: Mapping[str, str],
    cwd: Path,
) -> Prepared:
    """A run of ``inputs`` (at least one) before resolving: the requests (with the
    constraint files of ``pip``, pip's configuration), the project's configuration (beside
    the first input), the targets (``host`` fills what ``opts`` leaves out), the indexes
    (``default_index()`` when none is named), where the lock goes and the pins of the lock it
    replaces. Raises :class:`~advisor.errors.InputError` when there is no index to resolve
    from, and what reading the inputs raises."""
    from advisor.config import load_config
    from advisor.errors import InputError
    from advisor.lockfile.render import previous_pins
    from advisor.options.resolve import build_targets
    from advisor.request import load_resolvable

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
    targets = build_targets(opts, config, host)
    index = opts.index_config(resolvable.index_options, config, pip, default_index=default_index)
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
