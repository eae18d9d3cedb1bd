"""``advisor image generate`` (one recipe, or ``--all``) and ``image list``: the process
environment, the clock, the host and the lock step an image takes (the lock job's own steps,
a :class:`~advisor.image.locker.StackLocker`) handed to :mod:`advisor.image`, which decides.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from advisor.events import SILENT
from advisor.image.assembly import ImageOutcome
from advisor.image.family_contexts import FamilyOutcome
from advisor.image.listing import ImageListing
from advisor.knowledge.bundled import recipes_folder

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from advisor.events import ProgressEvents
    from advisor.image.assembly import ContextSettings
    from advisor.image.locker import ImageLockRequest, LockedImage
    from advisor.image.options import ImageOptions
    from advisor.knowledge.schema import ImageRecipe
    from advisor.options.resolve import ResolveOptions

__all__ = [
    "FamilyOutcome",
    "ImageListing",
    "ImageOutcome",
    "generate",
    "generate_family",
    "list_images",
    "list_recipes",
]


def list_recipes(
    *, knowledge_dir: Path | None = None, now: datetime | None = None
) -> tuple[ImageRecipe, ...]:
    """The recipes of ``knowledge_dir`` (default: the curated folder)."""
    from advisor.image.recipes import read_recipes

    return read_recipes(knowledge_dir, date=(now or datetime.now(UTC)).date().isoformat())


def _settings(
    opts: ResolveOptions,
    *,
    knowledge_dir: Path | None,
    environ: Mapping[str, str] | None,
    cwd: Path | None,
    now: datetime | None,
    events: ProgressEvents = SILENT,
) -> ContextSettings:
    """What the images of one job share (:class:`~advisor.image.assembly.ContextSettings`):
    the lock step is the lock job's own (:class:`_ImageLock`)."""
    from advisor.environment import RuntimeEnvironment
    from advisor.image.assembly import ContextSettings

    environ = dict(os.environ) if environ is None else environ
    now = now or datetime.now(UTC)
    return ContextSettings(
        knowledge=recipes_folder(knowledge_dir),
        lock=_ImageLock(opts=opts, environ=environ, cwd=cwd, now=now),
        recommendation=opts.recommendation,
        host=RuntimeEnvironment.detect(),
        environ=environ,
        now=now,
        events=events,
    )


def generate(
    recipe_name: str,
    inputs: Sequence[Path] = (),
    *,
    opts: ResolveOptions,
    image: ImageOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    now: datetime | None = None,
    events: ProgressEvents = SILENT,
) -> ImageOutcome:
    """Lock ``inputs`` for the recipe's base and write its build context where ``image``
    says; see :func:`advisor.image.assembly.generate_context`."""
    from advisor.image.assembly import generate_context

    settings = _settings(opts, knowledge_dir=image.knowledge_dir, environ=environ, cwd=cwd,
                         now=now, events=events)  # fmt: skip
    return generate_context(recipe_name, inputs, output=image.output, settings=settings,
                            vendor=image.vendor, preferences=image.preferences)  # fmt: skip


def generate_family(
    *,
    opts: ResolveOptions,
    image: ImageOptions,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    now: datetime | None = None,
    events: ProgressEvents = SILENT,
) -> FamilyOutcome:
    """Every recipe's context under ``image.output``, resolved as one family, and
    ``family.json``; see :func:`advisor.image.family_contexts.generate_family`."""
    from advisor.image.family_contexts import generate_family as generate_all

    settings = _settings(opts, knowledge_dir=image.knowledge_dir, environ=environ, cwd=cwd,
                         now=now, events=events)  # fmt: skip
    return generate_all(output=image.output, settings=settings, vendor=image.vendor,
                        align=image.align)  # fmt: skip


def list_images(
    *,
    knowledge_dir: Path | None = None,
    store_url: str | None = None,
    resolve: ResolveOptions | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    now: datetime | None = None,
) -> tuple[ImageListing, ...]:
    """Every recipe with its last build in the store (``store_url``, default
    ``ADVISOR_KNOWLEDGE`` or the user's) and, with ``resolve``, the stack it resolves to
    today; see :func:`advisor.image.listing.list_images`."""
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.image.listing import list_images as listing

    environ = dict(os.environ) if environ is None else environ
    now = now or datetime.now(UTC)
    settings = None if resolve is None else _settings(
        resolve, knowledge_dir=knowledge_dir, environ=environ, cwd=cwd, now=now
    )  # fmt: skip
    return listing(recipes_folder(knowledge_dir), today=now.date(), resolve=settings,
                   store_url=resolve_store_url(store_url, environ))  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class _ImageLock:
    """The lock step of an image: the lock job's own steps over ``opts``."""

    opts: ResolveOptions
    environ: Mapping[str, str]
    cwd: Path | None
    now: datetime

    def __call__(self, request: ImageLockRequest) -> LockedImage:
        from advisor.api.context import open_session
        from advisor.api.inputs import LockOptions, prepare
        from advisor.api.locking import choose_stack, finish
        from advisor.image.locker import LockedImage
        from advisor.models import LockFormat
        from advisor.options.jobs import AdviseOptions
        from advisor.report.json import advice_to_dict

        opts = self.opts.for_image(request.recommendation, extra_indexes=request.extra_indexes)
        paths = request.lock_paths()
        out = LockOptions(output=paths[LockFormat.PYLOCK])
        whole = prepare(request.inputs, opts=opts, out=out, environ=self.environ, cwd=self.cwd)
        pinned = request.pinned_indexes(whole.index.pinned)
        prep = whole.for_target(request.target, previous=request.preferences, pinned=pinned)
        advice = AdviseOptions(knowledge_dirs=request.knowledge_dirs)
        stack = choose_stack(prep, opts=opts, advice=advice, now=self.now, events=request.events)
        # both locks rendered, not written: image/ writes the context whole
        dry = LockOptions(dry_run=True, command=request.command, index_lines=request.index_lines)
        locks = {fmt: finish(prep, stack, opts=opts,
                             out=dataclasses.replace(dry, output=path, format=fmt))
                 for fmt, path in paths.items()}  # fmt: skip
        public = prep.index.redacted()
        advices = None if stack.advice is None else stack.advice.advices
        return LockedImage(
            resolution=stack.resolution, pylock=locks[LockFormat.PYLOCK].text,
            requirements=locks[LockFormat.REQUIREMENTS].text,
            input_digest=locks[LockFormat.PYLOCK].digest,
            downloads=partial(open_session, opts, prep.index, prep.pip, prep.environ,
                              events=request.events),
            advice=None if advices is None else tuple(advice_to_dict(a) for a in advices),
            index_urls=(*public.indexes, *public.find_links), warnings=stack.warnings,
        )  # fmt: skip
