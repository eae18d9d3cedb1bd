"""What an image says about where it comes from: its OCI labels, ``image.json``, its SBOM.

Sits between the lock step (:mod:`advisor.image.locker`: the stack, its locks and the
advice's report) and the context writer (:mod:`advisor.image.context`): the labels name
the recipe, the base, the digests, the tool and, by path, what the image carries (its
constraints, lock and SBOM; ``advisor image inspect`` reads them back,
:mod:`advisor.image.inspection`); ``image.json`` records what the context was made from
and of; the SBOM is generated from the ``pylock.toml`` text (:mod:`advisor.image.sbom`).
Pure functions, stable bytes: the same stack gives the same record.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from advisor._version import __version__

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from advisor.environment import RuntimeEnvironment
    from advisor.image.locker import LockedImage
    from advisor.knowledge.schema import ImageRecipe
    from advisor.models import RecommendationType

__all__ = ["image_labels", "image_record", "image_sbom"]


def image_labels(
    recipe: ImageRecipe, locked: LockedImage, *, recommendation: RecommendationType
) -> dict[str, str]:
    """The image's OCI labels (provenance: recipe, base, digests, tool; what the image
    carries, by path; the advice's summary), empty ones left out."""
    labels = {
        "org.opencontainers.image.title": recipe.name,
        "org.opencontainers.image.description": recipe.summary,
        "org.opencontainers.image.base.name": recipe.base_image,
        **(
            {"org.opencontainers.image.base.digest": recipe.base_digest}
            if recipe.base_digest
            else {}
        ),
        "io.stack-advisor.recipe": recipe.name,
        "io.stack-advisor.recommendation": recommendation,
        "io.stack-advisor.lock-digest": locked.lock_digest,
        "io.stack-advisor.input-digest": locked.input_digest,
        "io.stack-advisor.version": __version__,
        **_content_labels(locked.advice),
    }
    return {k: v for k, v in labels.items() if v}


def _content_labels(advice: Sequence[Mapping[str, Any]] | None) -> dict[str, str]:
    """Labels naming what the image carries (its constraints, lock and SBOM, by path) and,
    for an advised image, the advice's summary as compact JSON (``advisor image inspect``
    reads them back)."""
    from advisor.image.context import CONSTRAINTS_PATH, IMAGE_DATA_DIR, SBOM_FILE

    labels = {
        "io.stack-advisor.constraints": CONSTRAINTS_PATH,
        "io.stack-advisor.lock": f"{IMAGE_DATA_DIR}/pylock.toml",
        "io.stack-advisor.sbom": f"{IMAGE_DATA_DIR}/{SBOM_FILE}",
    }
    if advice:
        summary = {"recommendation": advice[0].get("recommendation"), **advice[0]["summary"]}
        labels["io.stack-advisor.advice"] = json.dumps(summary, sort_keys=True)
    return labels


def image_sbom(
    recipe: ImageRecipe, locked: LockedImage, *, recommendation: RecommendationType
) -> str:
    """The image's CycloneDX SBOM, generated from its ``pylock.toml`` text."""
    from advisor.image.sbom import SbomSubject, render_sbom

    subject = SbomSubject(
        recipe=recipe.name,
        lock_digest=locked.lock_digest,
        tool_version=__version__,
        properties={
            "recipe": recipe.name,
            "base-image": recipe.base_image,
            "lock-digest": locked.lock_digest,
            "recommendation": str(recommendation),
        },
    )
    return render_sbom(locked.pylock, subject=subject)


def image_record(
    recipe: ImageRecipe,
    target: RuntimeEnvironment,
    locked: LockedImage,
    *,
    recommendation: RecommendationType,
    knowledge: Path,
    wheels: tuple[str, ...],
    env_advice: Mapping[str, tuple[str, str]],
) -> dict[str, Any]:
    """``image.json``: what the context was made from and of: the recipe, the target, the
    digests of the knowledge folder and of the locks, the pins, the vendored ``wheels``,
    the environment variables advised (with the rule of each) and, when the advice search
    chose the stack, its report (one per target)."""
    from advisor.environment.targets import lock_table
    from advisor.knowledge.sources.folder import content_digest

    record: dict[str, Any] = {
        "advisor-version": __version__,
        "recipe": _recipe_record(recipe),
        "environment": {**lock_table(target), **_cuda(target)},  # as the lock records it
        "recommendation": recommendation,
        "knowledge-digest": content_digest(knowledge),
        "lock-digest": locked.lock_digest,
        "input-digest": locked.input_digest,
        "pins": {str(p.name): str(p.version) for p in locked.resolution.pins},
        "wheels": list(wheels),
        "env-advice": {k: {"value": v, "rule": r} for k, (v, r) in sorted(env_advice.items())},
    }
    if locked.advice is not None:
        record["advice"] = [dict(a) for a in locked.advice]
    return record


def _recipe_record(recipe: ImageRecipe) -> dict[str, Any]:
    """The recipe as JSON, with its source file but not the load date (stable bytes)."""
    import msgspec

    data: dict[str, Any] = msgspec.to_builtins(recipe)
    data["provenance"] = {"source": recipe.provenance.source}
    return data


def _cuda(target: RuntimeEnvironment) -> dict[str, str]:
    """The target's CUDA, always recorded (the lock's target record has it only when the
    user asked for one)."""
    cuda = target.to_dict().get("cuda_version")
    return {"cuda_version": str(cuda)} if cuda else {}
