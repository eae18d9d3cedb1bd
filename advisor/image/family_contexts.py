"""Every recipe's build context, resolved as one family (``advisor image generate --all``).

Sits above :mod:`advisor.image.assembly` (whose :func:`generate_context` it runs per recipe)
and :mod:`advisor.image.family` (which compares the pins), under the composition root
(:func:`advisor.api.imaging.generate_family`). The recipes are resolved in name order; each
prefers the versions the earlier ones pinned (the preference a multi-target lock uses: later
targets prefer earlier pins), so a package several images carry gets one version wherever a
recipe's target allows it. Every version that still differs is explained: the recipe takes
the package from its own index (``index_packages``), or the family version does not resolve
for that recipe (its requirements, its base's Python or platform exclude it: the resolver's
own conflict message is the reason), or an advice other than ``latest`` chose otherwise. A
divergence with no such reason is *unexplained*. ``family.json`` in the output folder lists
each package's version per recipe and every divergence with its reason.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError, NoViableStack
from advisor.events import SILENT
from advisor.models import RecommendationType

if TYPE_CHECKING:
    from collections.abc import Mapping

    from advisor.image.assembly import ContextSettings, ImageOutcome
    from advisor.image.family import Divergence, Parting
    from advisor.knowledge.schema import ImageRecipe

__all__ = ["FAMILY_FILE", "FamilyOutcome", "generate_family"]

#: The family's summary in the output folder.
FAMILY_FILE = "family.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class FamilyOutcome:
    """Every recipe's context under ``folder`` (``images``, in name order), the divergences
    left with their reasons, and the recipes that did not resolve (name → why)."""

    folder: Path
    images: tuple[ImageOutcome, ...]
    divergences: tuple[Divergence, ...]
    failures: Mapping[str, str]

    @property
    def unexplained(self) -> tuple[Divergence, ...]:
        return tuple(d for d in self.divergences if not d.explained)

    @property
    def ok(self) -> bool:
        """Every recipe resolved and every divergence has a reason."""
        return not self.failures and not self.unexplained


def generate_family(
    *, output: Path, settings: ContextSettings, vendor: bool = True, align: bool = True
) -> FamilyOutcome:
    """Write ``output/NAME/`` for every recipe (its default requirements) and
    ``output/family.json``. With ``align`` (the default) later recipes prefer the earlier
    ones' pins; without, each resolves on its own (to see what alignment changes).
    A recipe with no stack is reported in ``failures``, not raised. Raises
    :class:`InputError` when ``output`` cannot be written or there is no recipe."""
    from advisor.image.assembly import generate_context
    from advisor.image.context import render_image_json
    from advisor.image.family import family_versions, find_partings, render_family
    from advisor.image.recipes import load_recipes
    from advisor.lockfile.write import write_atomic

    recipes = load_recipes(settings.knowledge, date=settings.now.date().isoformat())
    if not recipes:
        raise InputError("no image recipes to generate")
    images: list[ImageOutcome] = []
    pins: list[tuple[str, dict[str, str]]] = []
    failures: dict[str, str] = {}
    for recipe in recipes:
        preferred = {n: v for n, (v, _) in family_versions(pins).items()} if align else {}
        try:
            image = generate_context(
                recipe.name,
                output=output / recipe.name,
                settings=settings,
                vendor=vendor,
                preferences=preferred,
            )
        except NoViableStack as exc:
            failures[recipe.name] = exc.message.splitlines()[0]
            continue
        images.append(image)
        pins.append((recipe.name, {str(p.name): str(p.version) for p in image.resolution.pins}))
    by_name = {r.name: r for r in recipes}
    divergences = tuple(_explain(p, by_name, settings=settings) for p in find_partings(pins))
    summary = render_family(pins, divergences, failures)
    try:
        write_atomic(output / FAMILY_FILE, render_image_json(summary))
    except OSError as exc:
        raise InputError(f"cannot write {output / FAMILY_FILE}: {exc.strerror or exc}") from exc
    return FamilyOutcome(
        folder=output, images=tuple(images), divergences=divergences, failures=failures
    )


def _explain(
    parting: Parting, recipes: Mapping[str, ImageRecipe], *, settings: ContextSettings
) -> Divergence:
    """Why each recipe of ``parting`` pins another version than the family's (see the
    module's docstring); a recipe for which the family version resolves under ``latest``
    is unexplained."""
    from advisor.image.family import Divergence
    from advisor.image.target import recipe_indexes

    reasons: dict[str, str] = {}
    unexplained: list[str] = []
    pinned = f"{parting.package}=={parting.version}"
    for name, version in parting.versions.items():
        recipe = recipes[name]
        indexes = recipe_indexes(recipe, settings.environ).urls
        if indexes and parting.package in recipe.index_packages:
            reasons[name] = (
                f"{name} takes {parting.package} from its own index ({indexes[0]}), which has"
                f" {version}, not {parting.version} (set by {parting.first})"
            )
            continue
        conflict = _conflict(recipe, pinned, settings=settings)
        if conflict is not None:
            reasons[name] = (
                f"{pinned} (set by {parting.first}) does not resolve for {name}: {conflict}"
            )
        elif settings.recommendation != "latest":
            reasons[name] = (
                f"the {settings.recommendation} advice for {name} chose {version} over"
                f" {pinned}, which also resolves (its image.json has the advice's reasons)"
            )
        else:
            unexplained.append(name)
            reasons[name] = f"{pinned} (set by {parting.first}) also resolves for {name}"
    return Divergence(
        package=parting.package,
        version=parting.version,
        first=parting.first,
        versions=dict(parting.versions),
        reasons=reasons,
        unexplained=tuple(unexplained),
    )


def _conflict(recipe: ImageRecipe, pinned: str, *, settings: ContextSettings) -> str | None:
    """The resolver's explanation when ``recipe``'s requirements plus ``pinned`` have no
    stack on its base, or ``None`` when they resolve (one ``latest`` resolution, silent, no
    downloads, in a scratch folder)."""
    from advisor.image.assembly import generate_context

    check = dataclasses.replace(settings, recommendation=RecommendationType.LATEST, events=SILENT)
    with tempfile.TemporaryDirectory(prefix="advisor-family-") as scratch:
        inputs = Path(scratch) / "requirements.in"
        inputs.write_text("".join(f"{r}\n" for r in (*recipe.requirements, pinned)), "utf-8")
        try:
            generate_context(
                recipe.name, (inputs,), output=Path(scratch) / "ctx", settings=check, vendor=False
            )
        except NoViableStack as exc:
            lines = [line.strip() for line in exc.message.splitlines() if line.strip()]
            return " ".join(lines[:3])
    return None
