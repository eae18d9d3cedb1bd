"""The targets of a run: the runtime environments a command resolves for, and how a lock names
each one.

Sits beside :class:`~advisor.environment.RuntimeEnvironment`, under the composition root,
which passes the command line's :class:`TargetSpec` and the configured named environments
(``[tool.advisor.environments]``, anything with a :class:`TargetSpec`'s fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from advisor.environment import RuntimeEnvironment
from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["TargetFields", "TargetSpec", "build_targets", "described_target", "lock_table"]


class TargetFields(Protocol):
    """What describes a target: each ``None`` is "like the host"."""

    @property
    def python(self) -> str | None: ...
    @property
    def platform(self) -> str | None: ...
    @property
    def implementation(self) -> str | None: ...
    @property
    def cuda(self) -> str | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetSpec:
    """The targets the command line asks for: ``envs`` names configured environments (each
    field given here overrides theirs), else the one target the fields describe."""

    python: str | None = None
    platform: str | None = None
    implementation: str | None = None
    cuda: str | None = None  # the target's CUDA (X.Y): decides +cuXYZ variants
    envs: tuple[str, ...] = ()


def build_targets(
    spec: TargetSpec,
    *,
    named: Mapping[str, TargetFields],
    where: str | None,
    host: RuntimeEnvironment,
) -> tuple[RuntimeEnvironment, ...]:
    """The target environments of ``spec``, filled in from ``host``. Raises
    :class:`~advisor.errors.InputError` for a name ``named`` (read from ``where``) lacks."""
    if not spec.envs:
        return (
            RuntimeEnvironment.for_target(
                host=host,
                python=spec.python,
                platform=spec.platform,
                implementation=spec.implementation,
                cuda=spec.cuda,
            ),
        )
    out = []
    for name in spec.envs:
        env = named.get(name)
        if env is None:
            known = ", ".join(sorted(named)) or "none are configured"
            where = where or "pyproject.toml [tool.advisor] or advisor.toml"
            raise InputError(f"unknown environment {name!r} (in {where}: {known})")
        out.append(
            RuntimeEnvironment.for_target(
                host=host,
                name=name,
                python=spec.python or env.python,
                platform=spec.platform or env.platform,
                implementation=spec.implementation or env.implementation,
                cuda=spec.cuda or env.cuda,
            )
        )
    return tuple(out)


_LOCKED = ("name", "python_version", "implementation", "abi", "platform", "libc", "libc_version")


def lock_table(target: RuntimeEnvironment) -> dict[str, str]:
    """The fields of ``target`` that shape a resolution, as a lock records them (empty ones
    left out); its CUDA version only when the user asked for it (it shapes the lock then)."""
    table = {k: v for k in _LOCKED if (v := getattr(target, k)) not in (None, "")}
    if target.cuda_version and target.cuda_source == "user":
        table["cuda_version"] = target.cuda_version
    return table


def described_target(
    host: RuntimeEnvironment,
    *,
    python: str | None = None,
    platform: str | None = None,
    implementation: str | None = None,
    cuda: str | None = None,
) -> RuntimeEnvironment:
    """``host`` itself, or with ``python``, ``platform``, ``implementation`` or ``cuda`` the target
    they describe (:meth:`RuntimeEnvironment.for_target`: the host's values fill the rest),
    as ``advisor env detect`` shows it. Raises :class:`InputError` for a version or platform
    tag it cannot read."""
    if python or platform or implementation or cuda:
        return RuntimeEnvironment.for_target(
            host=host, python=python, platform=platform, implementation=implementation, cuda=cuda
        )
    return host
