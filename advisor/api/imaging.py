"""``advisor image generate`` (one recipe, or ``--all``) and ``image list``: the process
environment, the clock, the host and the lock step an image takes (the lock job's own steps,
a :class:`~advisor.image.locker.StackLocker`) handed to :mod:`advisor.image`, which decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from advisor.api.context import Here, here
from advisor.events import SILENT
from advisor.image.assembly import ImageOutcome
from advisor.image.family_contexts import FamilyOutcome
from advisor.image.listing import ImageListing
from advisor.knowledge.bundled import recipes_folder

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime
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

    return read_recipes(knowledge_dir, date=here(now=now).today)


def _settings(
    opts: ResolveOptions, knowledge_dir: Path | None, at: Here, events: ProgressEvents = SILENT
) -> ContextSettings:
    """What the images of one job share; the lock step is the lock job's own."""
    from advisor.environment import RuntimeEnvironment
    from advisor.image.assembly import ContextSettings

    lock = _ImageLock(opts=opts, at=at)
    return ContextSettings(knowledge=recipes_folder(knowledge_dir), lock=lock,
                           recommendation=opts.recommendation, host=RuntimeEnvironment.detect(),
                           environ=at.environ, now=at.now, events=events)  # fmt: skip


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
    """The recipe's build context, ``inputs`` locked for its base, written where ``image``
    says (:func:`advisor.image.assembly.generate_context`)."""
    from advisor.image.assembly import generate_context

    settings = _settings(opts, image.knowledge_dir, here(environ, cwd, now), events)
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
    """Every recipe's context under ``image.output``, resolved as one family
    (:func:`advisor.image.family_contexts.generate_family`)."""
    from advisor.image.family_contexts import generate_family as generate_all

    settings = _settings(opts, image.knowledge_dir, here(environ, cwd, now), events)
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
    """Every recipe with its last build in the store and, with ``resolve``, the stack it
    resolves to today (:func:`advisor.image.listing.list_images`)."""
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.image.listing import list_images as listing

    at = here(environ, cwd, now)
    settings = None if resolve is None else _settings(resolve, knowledge_dir, at)
    return listing(recipes_folder(knowledge_dir), today=at.now.date(), resolve=settings,
                   store_url=resolve_store_url(store_url, at.environ))  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class _ImageLock:
    """The lock step of an image: the lock job's own steps over ``opts``."""

    opts: ResolveOptions
    at: Here

    def __call__(self, request: ImageLockRequest) -> LockedImage:
        from advisor.api.context import open_session
        from advisor.api.inputs import LockOptions, prepare
        from advisor.api.locking import choose_stack, finish
        from advisor.image.locker import LockedImage
        from advisor.models import LockFormat
        from advisor.options.jobs import AdviseOptions
        from advisor.report.json import advice_to_dict

        opts = self.opts.for_image(request.recommendation, extra_indexes=request.extra_indexes)
        paths, at = request.lock_paths(), self.at
        out = LockOptions(output=paths[LockFormat.PYLOCK])
        whole = prepare(request.inputs, opts=opts, out=out, environ=at.environ, cwd=at.cwd)
        pinned = request.pinned_indexes(whole.index.pinned)
        prep = whole.for_target(request.target, previous=request.preferences, pinned=pinned)
        advice = AdviseOptions(knowledge_dirs=request.knowledge_dirs)
        stack = choose_stack(prep, opts=opts, advice=advice, now=at.now, events=request.events)
        # both locks rendered, not written: image/ writes the context whole
        dry = partial(LockOptions, dry_run=True, command=request.command,
                      index_lines=request.index_lines)  # fmt: skip
        locks = {fmt: finish(prep, stack, opts=opts, out=dry(output=path, format=fmt))
                 for fmt, path in paths.items()}  # fmt: skip
        pylock, requirements = locks[LockFormat.PYLOCK], locks[LockFormat.REQUIREMENTS]
        public = prep.index.redacted()
        return LockedImage(
            resolution=stack.resolution, pylock=pylock.text, requirements=requirements.text,
            input_digest=pylock.digest, warnings=stack.warnings,
            downloads=partial(open_session, opts, prep.index, prep.pip, prep.environ,
                              events=request.events),
            advice=None if stack.advice is None else tuple(map(advice_to_dict, stack.advices)),
            index_urls=(*public.indexes, *public.find_links),
        )  # fmt: skip
