"""``advisor image generate --all``: every recipe's build context, resolved as one family.

Part of the composition root, and only its wiring: the images share the settings
:func:`advisor.api.imaging.image_settings` makes (the knowledge folder, the lock step, the
host, the environment, the time), and :mod:`advisor.image.family_contexts` resolves the
recipes in name order, each preferring the earlier ones' pins, and explains every version
that still differs (``family.json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.events import SILENT
from advisor.image.family_contexts import FAMILY_FILE, FamilyOutcome

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from pathlib import Path

    from advisor.api.context import ResolveOptions
    from advisor.events import ProgressEvents

__all__ = ["FAMILY_FILE", "FamilyOutcome", "generate_family"]


def generate_family(
    *,
    opts: ResolveOptions,
    output: Path,
    knowledge_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    now: datetime | None = None,
    vendor: bool = True,
    align: bool = True,
    events: ProgressEvents = SILENT,
) -> FamilyOutcome:
    """Write ``output/NAME/`` for every recipe (its default requirements) and
    ``output/family.json``. With ``align`` (the default) later recipes prefer the earlier
    ones' pins; without, each resolves on its own (to see what alignment changes).
    A recipe with no stack is reported in ``failures``, not raised. Raises
    :class:`~advisor.errors.InputError` when ``output`` cannot be written or there is no
    recipe."""
    from advisor.api.imaging import image_settings
    from advisor.image.family_contexts import generate_family as generate

    settings = image_settings(
        opts, knowledge_dir=knowledge_dir, environ=environ, cwd=cwd, now=now, events=events
    )
    return generate(output=output, settings=settings, vendor=vendor, align=align)
