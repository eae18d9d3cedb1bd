"""An image's build context, assembled: recipe → target → lock → Containerfile + context.

Sits at the output end of the image pipeline, under the composition root
(:mod:`advisor.api.imaging` builds the :class:`ContextSettings` and calls
:func:`generate_context`). The steps, each in its own module: the recipe's target and
indexes (:mod:`advisor.image.target`); the lock step, passed in as a
:class:`~advisor.image.locker.StackLocker` (the stack is chosen as ``advisor lock`` chooses
it); the environment variables the prescriptions advise (:mod:`advisor.image.env_advice`);
the locked files vendored into ``wheels/`` (:mod:`advisor.image.vendor`), so the build needs
no index; the labels, record and SBOM (:mod:`advisor.image.provenance`); the Containerfile
(:mod:`advisor.image.containerfile`); and the folder written (:mod:`advisor.image.context`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError, NoViableStack
from advisor.events import SILENT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.image.locker import LockedImage, StackLocker
    from advisor.knowledge.schema import ImageRecipe
    from advisor.models import RecommendationType, Resolution

__all__ = ["ContextSettings", "ImageOutcome", "generate_context", "resolve_recipes"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextSettings:
    """What every image of one job shares: the ``knowledge`` folder (recipes,
    prescriptions), the lock step ``lock``, the ``recommendation`` type, the ``host`` (for
    what a recipe does not say of its target), the ``environ`` that names the recipes'
    extra indexes, the time ``now`` and where progress goes (``events``)."""

    knowledge: Path
    lock: StackLocker
    recommendation: RecommendationType
    host: RuntimeEnvironment
    environ: Mapping[str, str]
    now: datetime
    events: ProgressEvents = SILENT


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageOutcome:
    """A written build context: its folder, files, the recipe, target and resolution."""

    folder: Path
    files: tuple[Path, ...]
    recipe: ImageRecipe
    target: RuntimeEnvironment
    resolution: Resolution
    lock_digest: str  # sha256 of pylock.toml
    input_digest: str  # the lock's input digest
    wheels: tuple[str, ...] = ()  # file names vendored into wheels/
    env_advice: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def generate_context(
    recipe_name: str,
    inputs: Sequence[Path] = (),
    *,
    output: Path,
    settings: ContextSettings,
    vendor: bool = True,
    preferences: Mapping[str, str] | None = None,
) -> ImageOutcome:
    """Lock ``inputs`` (default: the recipe's requirements, written to
    ``output/requirements.in``) for the recipe's base image and write a build context to
    ``output``: Containerfile, pylock.toml, requirements.txt, .containerignore,
    .dockerignore, image.json, constraints, SBOM and (``vendor``) the locked files in
    ``wheels/``.

    ``preferences`` (name → version) are tried first where the target allows them, as a
    re-lock keeps its previous pins (a family of images aligns so). Raises
    :class:`InputError` for an unknown recipe (listing the known ones) and
    :class:`~advisor.errors.NoViableStack` when the base's Python (or platform) cannot
    satisfy the requirements; nothing of the context is written then but the default
    ``requirements.in``.
    """
    from advisor.image.locker import ImageLockRequest
    from advisor.image.recipes import find_recipe, load_recipes
    from advisor.image.target import preferred_pins, recipe_indexes, recipe_target

    today = settings.now.date()
    recipe = find_recipe(load_recipes(settings.knowledge, date=today.isoformat()), recipe_name)
    extra_inputs: dict[str, str] = {}
    if not inputs:
        inputs, extra_inputs = _default_inputs(recipe, output)
    indexes = recipe_indexes(recipe, settings.environ)
    target = recipe_target(recipe, host=settings.host)
    locked = settings.lock(
        ImageLockRequest(
            inputs=tuple(inputs),
            folder=output,
            target=target,
            recommendation=settings.recommendation,
            extra_indexes=indexes.urls,
            pinned=indexes.pinned(recipe),
            preferences=preferred_pins(preferences),
            index_lines=not vendor,
            knowledge_dirs=(settings.knowledge,),
            events=settings.events,
        )
    )
    return _write(
        recipe,
        target,
        locked,
        output=output,
        settings=settings,
        vendor=vendor,
        inputs=extra_inputs,
        warnings=(*indexes.warnings, *locked.warnings),
    )


def _write(
    recipe: ImageRecipe,
    target: RuntimeEnvironment,
    locked: LockedImage,
    *,
    output: Path,
    settings: ContextSettings,
    vendor: bool,
    inputs: Mapping[str, str],
    warnings: tuple[str, ...],
) -> ImageOutcome:
    """The context of the stack ``locked``: advise its variables, vendor its files, render
    the Containerfile, labels, record and SBOM, and write the folder."""
    from advisor.image.containerfile import WHEELS, ContainerfileSpec, render_containerfile
    from advisor.image.context import BuildContext, render_constraints, write_context
    from advisor.image.env_advice import advise_env
    from advisor.image.provenance import image_labels, image_record, image_sbom
    from advisor.image.vendor import unreachable_indexes, vendor_wheels

    resolution, recommendation = locked.resolution, settings.recommendation
    env = advise_env(
        settings.knowledge,
        resolution,
        target=target,
        recommendation=recommendation,
        today=settings.now.date(),
    )
    wheels: tuple[str, ...] = ()
    unreachable: tuple[str, ...] = ()
    if vendor:
        wheels = vendor_wheels(locked, output / WHEELS)
    else:
        unreachable = unreachable_indexes(locked.index_urls)
    spec = ContainerfileSpec(
        needs_build=any(p.needs_build for p in resolution.pins),
        packages=len(resolution.pins),
        wheels=vendor,
        labels=image_labels(recipe, locked, recommendation=recommendation),
        env=env.variables,
    )
    record = image_record(
        recipe,
        target,
        locked,
        recommendation=recommendation,
        knowledge=settings.knowledge,
        wheels=wheels,
        env_advice=env.variables,
    )
    files = write_context(
        output,
        BuildContext(
            containerfile=render_containerfile(recipe, spec),
            pylock=locked.pylock,
            requirements=locked.requirements,
            record=record,
            inputs=inputs,
            constraints=render_constraints(
                {str(p.name): str(p.version) for p in resolution.pins}, recipe=recipe.name
            ),
            sbom=image_sbom(recipe, locked, recommendation=recommendation),
        ),
    )
    return ImageOutcome(
        folder=output,
        files=files,
        recipe=recipe,
        target=target,
        resolution=resolution,
        lock_digest=locked.lock_digest,
        input_digest=locked.input_digest,
        wheels=wheels,
        env_advice=env.variables,
        warnings=(*warnings, *env.warnings, *unreachable),
    )


def _default_inputs(recipe: ImageRecipe, output: Path) -> tuple[tuple[Path, ...], dict[str, str]]:
    """The recipe's own requirements, written to ``output/requirements.in``: the inputs, and
    the file for the context (name → text)."""
    from advisor.lockfile.write import write_atomic

    text = "".join(f"{r}\n" for r in recipe.requirements)
    extra = {"requirements.in": f"# the default requirements of {recipe.name}\n{text}"}
    try:
        output.mkdir(parents=True, exist_ok=True)
        write_atomic(output / "requirements.in", extra["requirements.in"])
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    return (output / "requirements.in",), extra


def resolve_recipes(
    names: Sequence[str], *, settings: ContextSettings
) -> dict[str, dict[str, str] | str]:
    """What each recipe's default requirements resolve to on its base (name → version of
    every pin), or why nothing does (``"no stack: …"``), as :func:`generate_context` would
    lock them (in a scratch folder, nothing downloaded). Index failures raise as usual."""
    out: dict[str, dict[str, str] | str] = {}
    with tempfile.TemporaryDirectory(prefix="advisor-image-list-") as tmp:
        for name in names:
            try:
                outcome = generate_context(
                    name, output=Path(tmp) / name, settings=settings, vendor=False
                )
            except NoViableStack as exc:
                out[name] = "no stack: " + exc.message.splitlines()[0]
                continue
            out[name] = {str(p.name): str(p.version) for p in outcome.resolution.pins}
    return out
