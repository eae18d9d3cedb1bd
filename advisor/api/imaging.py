"""Image build contexts: ``advisor image generate`` and ``advisor image list``.

Part of the composition root, wiring only: the process environment, the clock, the host,
and the lock step an image takes (a :class:`~advisor.image.locker.StackLocker`): the lock
job's own steps, so an image's stack is chosen and its locks rendered as ``advisor lock``
does. What an image decides is in :mod:`advisor.image` (:mod:`~advisor.image.assembly`).
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
from advisor.image.listing import ImageListing
from advisor.image.options import ImageOptions
from advisor.image.target import recipe_target
from advisor.knowledge.bundled import recipes_folder

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from advisor.events import ProgressEvents
    from advisor.image.assembly import ContextSettings
    from advisor.image.locker import ImageLockRequest, LockedImage
    from advisor.knowledge.schema import ImageRecipe
    from advisor.options.resolve import ResolveOptions

__all__ = [
    "ImageListing",
    "ImageOptions",
    "ImageOutcome",
    "generate",
    "image_settings",
    "list_images",
    "list_recipes",
    "recipe_target",
]


def list_recipes(
    *, knowledge_dir: Path | None = None, now: datetime | None = None
) -> tuple[ImageRecipe, ...]:
    """The recipes of ``knowledge_dir`` (default: the curated folder)."""
    from advisor.image.recipes import read_recipes

    return read_recipes(knowledge_dir, date=(now or datetime.now(UTC)).date().isoformat())


def image_settings(
    opts: ResolveOptions,
    *,
    knowledge_dir: Path | None,
    environ: Mapping[str, str] | None,
    cwd: Path | None,
    now: datetime | None,
    events: ProgressEvents = SILENT,
) -> ContextSettings:
    """What the images of one job share (:class:`~advisor.image.assembly.ContextSettings`)."""
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

    settings = image_settings(opts, knowledge_dir=image.knowledge_dir, environ=environ,
                              cwd=cwd, now=now, events=events)  # fmt: skip
    return generate_context(recipe_name, inputs, output=image.output, settings=settings,
                            vendor=image.vendor, preferences=image.preferences)  # fmt: skip


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
    settings = None
    if resolve is not None:
        settings = image_settings(
            resolve, knowledge_dir=knowledge_dir, environ=environ, cwd=cwd, now=now
        )
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

        extra = request.extra_index_urls(self.opts.extra_index_urls)
        opts = dataclasses.replace(
            self.opts, recommendation=request.recommendation, extra_index_urls=extra
        )
        out = LockOptions(output=request.folder / "pylock.toml")
        whole = prepare(request.inputs, opts=opts, out=out, environ=self.environ, cwd=self.cwd)
        pinned = request.pinned_indexes(whole.index.pinned)
        prep = whole.for_target(request.target, previous=request.preferences, pinned=pinned)
        advice = AdviseOptions(knowledge_dirs=request.knowledge_dirs)
        stack = choose_stack(prep, opts=opts, advice=advice, now=self.now, events=request.events)
        # both locks rendered, not written: the context is written whole, below
        dry = LockOptions(dry_run=True, command=request.command, index_lines=request.index_lines)
        locks = {
            fmt: finish(
                prep,
                stack.resolution,
                opts=opts,
                tool=stack.tool,
                out=dataclasses.replace(dry, output=path, format=fmt),
            )
            for fmt, path in request.lock_paths().items()
        }
        public = prep.index.redacted()
        return LockedImage(
            resolution=stack.resolution,
            pylock=locks[LockFormat.PYLOCK].text,
            requirements=locks[LockFormat.REQUIREMENTS].text,
            input_digest=locks[LockFormat.PYLOCK].digest,
            downloads=partial(
                open_session, opts, prep.index, prep.pip, prep.environ, events=request.events
            ),
            advice=None
            if stack.advice is None
            else tuple(advice_to_dict(a) for a in stack.advice.advices),
            index_urls=(*public.indexes, *public.find_links),
            warnings=stack.warnings,
        )
