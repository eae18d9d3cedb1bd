"""Curated container images: recipes (``knowledge/images/*.toml``) → build contexts → builds.

Sits at the output end of the data flow, beside the lockfile writers: a recipe says which base
image the stack runs on (and so which target the resolver locks for); the lock made for that
target becomes a hash-checked install in a multi-stage Containerfile. The image jobs' own
decisions live here, one module per step (:mod:`~advisor.image.assembly` for a context,
:mod:`~advisor.image.family_contexts` for a family, :mod:`~advisor.image.builder`,
:mod:`~advisor.image.push`, :mod:`~advisor.image.inspection`, :mod:`~advisor.image.listing`);
the composition root (:mod:`advisor.api.imaging` and its neighbours) passes in what only it
has: the process environment, the clock, the host, the store's URL and the lock step
(:class:`~advisor.image.locker.StackLocker`, the lock job's own), so this package never
imports the API."""

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
