"""Curated container images: recipes (``knowledge/images/*.toml``) → a build context.

Sits at the output end of the data flow, beside the lockfile writers: a recipe says which base
image the stack runs on (and so which target the resolver locks for); the lock the API made
for that target becomes a hash-checked install in a multi-stage Containerfile. The API
(:mod:`advisor.api.imaging`) wires resolution in; this package does no I/O but writing the
context folder it is given.
"""

from __future__ import annotations

from advisor.image.containerfile import ContainerfileSpec, render_containerfile
from advisor.image.context import BuildContext, write_context
from advisor.image.recipes import find_recipe, load_recipes

__all__ = [
    "BuildContext",
    "ContainerfileSpec",
    "find_recipe",
    "load_recipes",
    "render_containerfile",
    "write_context",
]
