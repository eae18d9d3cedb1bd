"""A runtime environment as text: ``advisor env detect``'s TOML or JSON.

The report layer's view of :class:`~advisor.environment.RuntimeEnvironment`: TOML that
:meth:`~advisor.environment.RuntimeEnvironment.from_dict` reads back
(:func:`~advisor.environment.render_toml`), or JSON with the target's markers added, for
machines. Pure and deterministic: the same environment gives the same text.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from advisor.environment import render_toml

if TYPE_CHECKING:
    from advisor.environment import RuntimeEnvironment

__all__ = ["render_environment"]


def render_environment(env: RuntimeEnvironment, *, as_json: bool = False) -> str:
    """``env`` as TOML headed by its fingerprint and lock marker, or with ``as_json`` as
    JSON (keys sorted, two-space indent) holding ``env.to_dict()`` and its ``markers``.
    Either text ends with a newline."""
    if not as_json:
        return render_toml(env)
    data = env.to_dict()
    data["markers"] = env.markers()
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
