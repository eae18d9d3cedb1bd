"""What the knowledge store holds about a package, as table cells: ``advisor knowledge show``.

The report layer's view of the knowledge schema: one row of short strings per observation
(its kind decides the columns), pure and deterministic. The CLI lays the rows out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from packaging.utils import canonicalize_name

from advisor.knowledge import schema
from advisor.knowledge.osv import fixed_versions

if TYPE_CHECKING:
    from advisor.knowledge.schema import EnvironmentPredicate

__all__ = ["FACT_COLUMNS", "KIND_WORDS", "fact_cells"]

#: The singular and plural word of each kind, for counts ("1 advisory", "2 rules").
KIND_WORDS = {
    "advisory": ("advisory", "advisories"),
    "prescription": ("rule", "rules"),
    "build": ("build observation", "build observations"),
    "performance": ("measurement", "measurements"),
    "image": ("image recipe", "image recipes"),
    "release": ("release fact", "release facts"),
    "compatibility": ("compatibility observation", "compatibility observations"),
}
#: The columns of each kind's table; the cells of :func:`fact_cells` follow them.
FACT_COLUMNS = {
    "advisory": ("id", "severity", "fixed in", "summary"),
    "prescription": ("rule", "action", "specifier", "summary"),
    "build": ("version", "environment", "outcome", "detail", "recorder"),
    "performance": ("version", "probe", "value", "environment"),
    "image": ("image", "base", "python", "platform"),
    "release": ("version", "uploaded", "wheels for", "yanked"),
    "compatibility": ("version", "with", "outcome", "environment", "recorder"),
}
_SUMMARY_WIDTH = 120


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _SUMMARY_WIDTH else line[: _SUMMARY_WIDTH - 1] + "…"


def _predicate_text(env: EnvironmentPredicate) -> str:
    parts = []
    for key, value in msgspec.to_builtins(env).items():
        text = ",".join(value) if isinstance(value, list) else str(value)
        parts.append(f"{key}{'' if text[:1] in '<>=!~' else '='}{text}")
    return " ".join(parts) or "any"


def fact_cells(obs: object, *, name: str) -> tuple[str, ...]:
    """The cells of one observation about the package ``name``, in the order of its kind's
    :data:`FACT_COLUMNS` (four; an unknown kind gives its type name and three blanks)."""
    if isinstance(obs, schema.Advisory):
        ident = obs.id + (f" ({', '.join(obs.aliases)})" if obs.aliases else "")
        if obs.withdrawn:
            ident += " [withdrawn]"
        severity = ", ".join(s.score for s in obs.severity)
        return (ident, severity, ", ".join(fixed_versions(obs, name)), _short(obs.summary))
    if isinstance(obs, schema.Prescription):
        action = obs.action.kind + (f" {obs.action.score:+g}" if obs.action.score else "")
        spec = f"{obs.match.package}{obs.match.specifier}"
        for co in obs.match.co_installed:
            if co.package == name:
                spec += f" (with {co.package}{co.specifier})"
        return (obs.id, action, spec, _short(obs.summary))
    if isinstance(obs, schema.BuildObservation):
        detail = obs.failure_class or ""
        if obs.artefact is not None:
            detail += f": {obs.artefact.filename} had sha256 {obs.artefact.sha256[:12]}…"
        if obs.interpreter:
            detail += ("; " if detail else "") + f"ran {obs.interpreter}"
        return (obs.version or obs.specifier or "any", _predicate_text(obs.environment),
                obs.outcome, detail, obs.provenance.recorder or "-")  # fmt: skip
    if isinstance(obs, schema.PerformanceObservation):
        value = f"{obs.metric} {obs.value:g} {obs.unit}"
        env = f"{obs.environment.python} {obs.environment.platform}"
        return (obs.version or "any", obs.probe, value, env)
    if isinstance(obs, schema.ImageRecipe):
        return (obs.name, obs.base_image, obs.python, obs.platform)
    if isinstance(obs, schema.ReleaseObservation):
        yanked = f"yanked: {obs.yanked_reason or 'no reason'}" if obs.yanked else ""
        wheels = ", ".join(obs.wheel_targets) or ("sdist only" if obs.sdist else "no file")
        return (obs.version, (obs.upload_time or "")[:10], wheels, yanked)
    if isinstance(obs, schema.CompatibilityObservation):
        mine = canonicalize_name(obs.package) == canonicalize_name(name)
        version, other = (
            (obs.version, f"{obs.other}=={obs.other_version}")
            if mine
            else (obs.other_version, f"{obs.package}=={obs.version}")
        )
        outcome = obs.outcome + (f": {obs.failure_class}" if obs.failure_class else "")
        env = _predicate_text(obs.environment)
        if obs.interpreter:
            env += f"; ran {obs.interpreter}"
        return (version, other, outcome, env, obs.provenance.recorder or "-")
    return (type(obs).__name__, "", "", "")
