"""This machine as an observation records it: a fingerprint and an environment predicate.

Sits between :class:`~advisor.environment.RuntimeEnvironment` (usually ``detect()``, passed
in) and the observations ``advisor observe`` writes. A performance measurement carries the
whole :class:`~advisor.knowledge.schema.EnvironmentFingerprint` (CPU model, level, features,
cores, GPU: what speed depends on); a build outcome carries an
:class:`~advisor.knowledge.schema.EnvironmentPredicate` that says where it holds (Python
minor, platform tag, OS, architecture, C library: what installing depends on). Neither
holds a host name, a user, a path or the kernel's version string.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.environment.platforms import parse_platform
from advisor.knowledge.schema import EnvironmentFingerprint, EnvironmentPredicate

if TYPE_CHECKING:
    from advisor.environment import RuntimeEnvironment

__all__ = ["build_predicate", "fingerprint"]


def _python_minor(env: RuntimeEnvironment) -> str:
    major, minor = env.python_version.split(".")[:2]
    return f"{major}.{minor}"


def _arch(env: RuntimeEnvironment) -> str | None:
    plat = parse_platform(env.platform)
    return plat.arch or (env.cpu.arch if env.cpu else None)


def fingerprint(env: RuntimeEnvironment) -> EnvironmentFingerprint:
    """The fingerprint of ``env``: Python ``X.Y``, platform tag, implementation, CPU (vendor,
    model, x86-64 level, sorted features, cores), the first GPU's model and the CUDA version.
    The run's BLAS library and thread count are the bench's to add (they depend on what the
    measured interpreter loads, not on the machine)."""
    cpu = env.cpu
    gpu = env.gpus[0] if env.gpus else None
    return EnvironmentFingerprint(
        python=_python_minor(env),
        platform=env.platform,
        implementation=env.implementation,
        arch=_arch(env),
        cpu_vendor=cpu.vendor if cpu else None,
        cpu_model=cpu.model if cpu else None,
        cpu_level=cpu.level if cpu else None,
        cpu_features=tuple(sorted(cpu.features)) if cpu else (),
        cores=cpu.cores if cpu else None,
        gpu=f"{gpu.vendor} {gpu.model}" if gpu else None,
        cuda=env.cuda_version,
    )


def build_predicate(env: RuntimeEnvironment) -> EnvironmentPredicate:
    """Where a build outcome observed in ``env`` holds: ``python ==X.Y.*``, the platform tag,
    the OS family (``linux``/``macos``/``windows``), the architecture and the C library."""
    plat = parse_platform(env.platform)
    libc: str | None = None
    if plat.kind == "manylinux":
        libc = "glibc"
    elif plat.kind == "musllinux":
        libc = "musl"
    elif plat.family == "linux":
        libc = env.libc
    return EnvironmentPredicate(
        python=f"=={_python_minor(env)}.*",
        platform=env.platform,
        os=plat.family if plat.family != "any" else None,
        arch=_arch(env),
        libc=libc,
    )
