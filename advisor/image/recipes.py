"""Image recipes: read ``knowledge/images/*.toml`` into :class:`ImageRecipe` values.

Sits between the curated knowledge folder (loaded and checked by
:mod:`advisor.knowledge.sources.folder` and :mod:`advisor.knowledge.validate`) and the image
jobs, and ``advise --compare-env image:NAME`` (which reads a recipe's runtime): a recipe
names the base image and the target it gives the resolver. Which folder a job reads them
from is decided here too (:func:`read_recipes`, :func:`first_recipes`), so every job that
reads recipes reads them alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.knowledge.schema import ImageRecipe

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = ["find_recipe", "first_recipes", "load_recipes", "read_recipes"]


def load_recipes(folder: Path, *, date: str) -> tuple[ImageRecipe, ...]:
    """Every recipe of ``folder/images/*.toml`` (``folder`` is a knowledge folder), sorted by
    name. ``date`` (ISO 8601) goes into their provenance.

    Raises :class:`InputError` naming the file and line of the first problem (a recipe that
    does not decode, a duplicate name), or when ``folder/images`` does not exist.
    """
    from advisor.knowledge.sources.folder import load_knowledge_file

    images = folder / "images"
    if not images.is_dir():
        raise InputError(f"{images}: no image recipes (no such directory)")
    recipes: dict[str, ImageRecipe] = {}
    for path in sorted(images.glob("*.toml")):
        loaded = load_knowledge_file(path, kind="images", date=date)
        if loaded.problems:
            p = loaded.problems[0]
            where = f"{p.file}:{p.line}" if p.line else p.file
            what = f"{p.field}: " if p.field else ""
            raise InputError(f"{where}: {what}{p.message}")
        for obs in loaded.observations:
            if not isinstance(obs, ImageRecipe):  # pragma: no cover - the loader's contract
                continue
            if obs.name in recipes:
                raise InputError(f"{path}: image name {obs.name!r} is defined twice")
            recipes[obs.name] = obs
    return tuple(recipes[name] for name in sorted(recipes))


def find_recipe(recipes: Iterable[ImageRecipe], name: str) -> ImageRecipe:
    """The recipe called ``name``; :class:`InputError` listing the known names otherwise."""
    known = {r.name: r for r in recipes}
    if name in known:
        return known[name]
    names = ", ".join(sorted(known)) or "none"
    raise InputError(f"unknown image recipe {name!r} (known recipes: {names})")


def read_recipes(knowledge_dir: Path | None, *, date: str) -> tuple[ImageRecipe, ...]:
    """The recipes an image job reads: those of ``knowledge_dir`` (``--knowledge-dir``), else
    of the curated folder (:func:`advisor.knowledge.bundled.recipes_folder`). Raises
    :class:`InputError` as :func:`load_recipes` does, or when there is no folder at all."""
    from advisor.knowledge.bundled import recipes_folder

    return load_recipes(recipes_folder(knowledge_dir), date=date)


def first_recipes(knowledge_dirs: Iterable[Path], *, date: str) -> tuple[ImageRecipe, ...]:
    """The recipes ``advise --compare-env image:NAME`` reads: those of the first of
    ``knowledge_dirs`` that has an ``images/`` folder (a project's folder may hold only
    prescriptions), else the curated folder's; raises as :func:`read_recipes`."""
    folder = next((d for d in knowledge_dirs if (d / "images").is_dir()), None)
    return read_recipes(folder, date=date)
