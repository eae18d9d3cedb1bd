"""``advisor lock --json``: a lock made, as a JSON object.

The report layer's end of the lock job (:mod:`advisor.options.record` makes the lock, the API
writes it, this renders what was made; the CLI prints). It reads a lock outcome through the
:class:`LockSummary` Protocol (:class:`advisor.options.LockOutcome` is one), since the report
layer sits below the jobs' values. Pure and deterministic: builtins only, for ``json.dumps``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from advisor.environment import RuntimeEnvironment
    from advisor.models import Pin, Resolution

__all__ = ["LockSummary", "lock_json", "pin_entry"]


class LockSummary(Protocol):
    """What ``lock --json`` reads of a lock made."""

    @property
    def resolution(self) -> Resolution: ...
    @property
    def text(self) -> str: ...
    @property
    def path(self) -> Path | None: ...
    @property
    def targets(self) -> Sequence[RuntimeEnvironment]: ...
    @property
    def digest(self) -> str: ...
    @property
    def warnings(self) -> Sequence[str]: ...
    @property
    def changed(self) -> Sequence[tuple[str, str | None, str | None]]: ...


def lock_json(outcome: LockSummary, *, with_text: bool) -> dict[str, object]:
    """The path written (``None``: none), the input digest, the targets' names, each pin
    (name, version, marker, whether it needs a build), the pins changed against the previous
    lock (name, old, new), the warnings; and the lock's text with ``with_text`` (when it
    goes to stdout)."""
    payload: dict[str, object] = {
        "path": str(outcome.path) if outcome.path else None,
        "digest": outcome.digest,
        "targets": [t.name for t in outcome.targets],
        "packages": [pin_entry(p) for p in outcome.resolution.pins],
        "changed": [{"name": n, "old": o, "new": v} for n, o, v in outcome.changed],
        "warnings": list(outcome.warnings),
    }
    if with_text:
        payload["lock"] = outcome.text
    return payload


def pin_entry(pin: Pin) -> dict[str, object]:
    """One pin as ``lock --json`` and the team server's lock answers show it: name,
    version, marker, whether it needs a build."""
    return {
        "name": str(pin.name),
        "version": str(pin.version),
        "marker": pin.marker,
        "needs-build": pin.needs_build,
    }
