"""``advisor image generate --all``: every recipe's build context, resolved as one family.

Part of the composition root, wiring only: the settings every image shares
(:func:`advisor.api.imaging.image_settings`), handed to
:func:`advisor.image.family_contexts.generate_family`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.events import SILENT
from advisor.image.family_contexts import FAMILY_FILE, FamilyOutcome

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from pathlib import Path

    from advisor.events import ProgressEvents
    from advisor.image.options import ImageOptions
    from advisor.options.resolve import ResolveOptions

__all__ = ["FAMILY_FILE", "FamilyOutcome", "generate_family"]


def generate_family(
    *,
    opts: ResolveOptions,
    image: ImageOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    now: datetime | None = None,
    events: ProgressEvents = SILENT,
) -> FamilyOutcome:
    """Every recipe's context under ``image.output`` and ``family.json``; see
    :func:`advisor.image.family_contexts.generate_family`."""
    from advisor.api.imaging import image_settings
    from advisor.image.family_contexts import generate_family as generate

    settings = image_settings(opts, knowledge_dir=image.knowledge_dir, environ=environ,
                              cwd=cwd, now=now, events=events)  # fmt: skip
    return generate(output=image.output, settings=settings, vendor=image.vendor,
                    align=image.align)  # fmt: skip
