"""The recipes as ``advisor image list`` shows them: each with its last build and, when asked,
the stack it resolves to today.

Sits at the top of the image package, under the composition root
(:func:`advisor.api.imaging.list_images`, one call from the command): the recipes come from
the knowledge folder (:mod:`advisor.image.recipes`), the builds from the knowledge store
(the newest stack build observation of each recipe, which :mod:`advisor.image.builder` and
:mod:`advisor.image.push` record), the stacks from :func:`advisor.image.assembly.
resolve_recipes` (one lock per recipe, nothing written but a scratch folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.errors import AdvisorError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date
    from pathlib import Path

    from advisor.image.assembly import ContextSettings
    from advisor.knowledge.schema import BuildObservation, ImageRecipe

__all__ = ["ImageListing", "last_builds", "list_images"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageListing:
    """One recipe, its newest recorded build (``None``: none recorded) and, when resolving
    was asked for, what it resolves to (``resolves_to``: name → version of every pin, or
    ``"no stack: …"``; ``None`` when not asked)."""

    recipe: ImageRecipe
    last_build: BuildObservation | None = None
    resolves_to: Mapping[str, str] | str | None = None


def list_images(
    knowledge: Path,
    *,
    today: date,
    store_url: str,
    resolve: ContextSettings | None = None,
) -> tuple[ImageListing, ...]:
    """Every recipe of ``knowledge`` (by name) with its last build in the store at
    ``store_url`` and, with ``resolve`` (the settings of the lock each recipe takes), the
    stack its default requirements resolve to on its base. Raises
    :class:`~advisor.errors.InputError` for a knowledge folder without recipes; an
    unreadable store shows no builds; index failures raise as usual."""
    from advisor.image.assembly import resolve_recipes
    from advisor.image.recipes import load_recipes

    recipes = load_recipes(knowledge, date=today.isoformat())
    builds = last_builds(store_url)
    resolved: dict[str, dict[str, str] | str] = {}
    if resolve is not None:
        resolved = resolve_recipes([r.name for r in recipes], settings=resolve)
    return tuple(
        ImageListing(recipe=r, last_build=builds.get(r.name), resolves_to=resolved.get(r.name))
        for r in recipes
    )


def last_builds(store_url: str) -> dict[str, BuildObservation]:
    """The newest stack build observation of each image recipe in the store at
    ``store_url`` (recipe name → observation). An unreadable store gives an empty answer."""
    from advisor.knowledge.schema import BuildObservation
    from advisor.knowledge.store import open_store

    newest: dict[str, BuildObservation] = {}
    try:
        with open_store(store_url) as store:
            builds = list(store.iter_kind("build"))
    except AdvisorError:
        return {}
    for obs in builds:
        if not isinstance(obs, BuildObservation) or obs.image is None or obs.package:
            continue
        seen = newest.get(obs.image)
        if seen is None or obs.provenance.date >= seen.provenance.date:
            newest[obs.image] = obs
    return dict(newest)
