"""What a recipe gives the resolver: the target environment of its base, and its indexes.

Sits between the recipes (:mod:`advisor.image.recipes`) and the lock step of an image
(:mod:`advisor.image.assembly`): the stack of an image is resolved for the runtime
environment its base image gives (its Python, implementation, platform and CUDA), never for
the machine running the advisor; a recipe's extra indexes (a framework's own wheel index)
are named by the user's environment, ``${NAME}`` in the recipe, never written there. The
build and push steps use the same target for the observations they record. Pure functions:
the host and the environment variables are passed in.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.environment import RuntimeEnvironment
    from advisor.knowledge.schema import ImageRecipe

__all__ = ["RecipeIndexes", "preferred_pins", "recipe_indexes", "recipe_target"]

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def recipe_target(recipe: ImageRecipe, *, host: RuntimeEnvironment) -> RuntimeEnvironment:
    """The runtime environment the recipe's base image gives (named after the recipe);
    ``host`` gives what the recipe does not say (CPU features, say). Raises
    :class:`InputError` for a platform the advisor cannot target."""
    from advisor.environment import RuntimeEnvironment

    target = RuntimeEnvironment.for_target(
        host=host,
        name=recipe.name,
        python=recipe.python,
        platform=recipe.platform,
        implementation=recipe.implementation,
        cuda=recipe.cuda,
    )
    if recipe.cuda is None:  # the base has no CUDA runtime, whatever the host has
        target = dataclasses.replace(target, cuda_version=None, cuda_source=None, gpus=())
    return target


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipeIndexes:
    """A recipe's extra indexes as the environment names them (``urls``, in the recipe's
    order) and a warning for each one left out (``warnings``)."""

    urls: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def pinned(self, recipe: ImageRecipe) -> dict[str, str]:
        """The recipe's framework packages (``index_packages``) → its first extra index:
        the framework's builds come from its own index only (none without an index)."""
        if not self.urls:
            return {}
        return dict.fromkeys(recipe.index_packages, self.urls[0])


def recipe_indexes(recipe: ImageRecipe, environ: Mapping[str, str]) -> RecipeIndexes:
    """The recipe's extra indexes with ``${NAME}`` taken from ``environ``, and a warning
    for each one left out because its variable is not set (the default index's builds are
    used then). Raises :class:`InputError` for a variable that gives no http(s) or file
    URL (redacted in the message)."""
    from advisor.urls import redact_url

    urls: list[str] = []
    warnings: list[str] = []
    for template in recipe.extra_index_urls:
        missing = [n for n in _VARIABLE.findall(template) if not environ.get(n, "").strip()]
        if missing:
            warnings.append(
                f"recipe {recipe.name}: the extra index {template} is left out because"
                f" {missing[0]} is not set; the default index's builds are used instead"
            )
            continue
        url = _VARIABLE.sub(lambda m: environ[m[1]].strip().rstrip("/"), template)
        if not url.startswith(("http://", "https://", "file:")):
            raise InputError(
                f"recipe {recipe.name}: the extra index {template} gives {redact_url(url)!r},"
                " not an http(s) or file URL"
            )
        urls.append(url)
    return RecipeIndexes(urls=tuple(urls), warnings=tuple(warnings))


def preferred_pins(preferences: Mapping[str, str] | None) -> dict[NormalizedName, Version]:
    """``preferences`` (name → version, as a family of images aligns them) as the pins a
    re-lock prefers."""
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    return {canonicalize_name(n): Version(v) for n, v in (preferences or {}).items()}
