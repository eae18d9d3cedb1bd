"""Image build contexts: ``advisor image generate`` and ``advisor image list``.

Part of the composition root, and only its wiring: the process environment, the clock, the
host, the knowledge folder, and the lock step an image takes (a
:class:`~advisor.image.locker.StackLocker`): the lock job's own steps, ``prepare``,
``choose_stack`` and ``finish`` (so an image's stack is chosen and its locks rendered as
``advisor lock`` does), with the index session that downloads the locked files. What an
image decides is in :mod:`advisor.image` (:mod:`~advisor.image.assembly` first)."""

from __future__ import annotations

import dataclasses
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from advisor.events import SILENT
from advisor.image.assembly import ImageOutcome
from advisor.image.listing import ImageListing
from advisor.image.target import recipe_target
from advisor.knowledge.bundled import recipes_folder
from advisor.models import LockFormat

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

    from advisor.api.context import ResolveOptions
    from advisor.api.inputs import Prepared
    from advisor.api.locking import LockOutcome
    from advisor.events import ProgressEvents
    from advisor.image.assembly import ContextSettings
    from advisor.image.locker import Downloader, ImageLockRequest, LockedImage
    from advisor.knowledge.schema import ImageRecipe

__all__ = [
    "ImageListing",
    "ImageOutcome",
    "generate",
    "image_settings",
    "list_images",
    "list_recipes",
    "recipe_target",
]

#: The context's two locks of one stack, by format.
_LOCKS = {LockFormat.PYLOCK: "pylock.toml", LockFormat.REQUIREMENTS: "requirements.txt"}


def list_recipes(
    *, knowledge_dir: Path | None = None, now: datetime | None = None
) -> tuple[ImageRecipe, ...]:
    """The recipes of ``knowledge_dir/images`` (default: this checkout's ``knowledge/``)."""
    from advisor.image.recipes import load_recipes

    date = (now or datetime.now(UTC)).date().isoformat()
    return load_recipes(recipes_folder(knowledge_dir), date=date)


def image_settings(
    opts: ResolveOptions,
    *,
    knowledge_dir: Path | None,
    environ: Mapping[str, str] | None,
    cwd: Path | None,
    now: datetime | None,
    events: ProgressEvents = SILENT,
) -> ContextSettings:
    """What the images of one job share: the knowledge folder, the lock step over ``opts``,
    this host, the environment (default: the process's) and the time (default: now)."""
    from advisor.environment import RuntimeEnvironment
    from advisor.image.assembly import ContextSettings

    environ = dict(os.environ) if environ is None else environ
    now = now or datetime.now(UTC)
    folder = recipes_folder(knowledge_dir)
    return ContextSettings(
        knowledge=folder,
        lock=_ImageLock(opts=opts, knowledge=folder, environ=environ, cwd=cwd, now=now),
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
    output: Path,
    knowledge_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    now: datetime | None = None,
    vendor: bool = True,
    events: ProgressEvents = SILENT,
    preferences: Mapping[str, str] | None = None,
) -> ImageOutcome:
    """Resolve ``inputs`` (default: the recipe's requirements, written to
    ``output/requirements.in``) for the recipe's base image and write a build context to
    ``output``: Containerfile, pylock.toml, requirements.txt, .containerignore,
    .dockerignore, image.json, and (``vendor``) the locked files in ``wheels/``.

    ``opts.recommendation`` other than ``latest`` runs the advice search and records its
    report in ``image.json``. Resolutions, builds, retries and downloads report to ``events``.
    ``preferences`` (name → version) are tried first where the target allows them, as a
    re-lock keeps its previous pins (``generate --all`` aligns a family of images so).
    Raises :class:`InputError` for an unknown recipe (listing the
    known ones) and :class:`~advisor.errors.NoViableStack` when the base's Python (or
    platform) cannot satisfy the requirements.
    """
    from advisor.image.assembly import generate_context

    settings = image_settings(
        opts, knowledge_dir=knowledge_dir, environ=environ, cwd=cwd, now=now, events=events
    )
    return generate_context(
        recipe_name,
        inputs,
        output=output,
        settings=settings,
        vendor=vendor,
        preferences=preferences,
    )


def list_images(
    *,
    knowledge_dir: Path | None = None,
    store_url: str | None = None,
    resolve: ResolveOptions | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    now: datetime | None = None,
) -> tuple[ImageListing, ...]:
    """``advisor image list``: every recipe (by name) with its last build recorded in the
    knowledge store (``store_url``, default ``ADVISOR_KNOWLEDGE`` or the user's store) and,
    with ``resolve`` (the options to resolve with), the stack its default requirements
    resolve to on its base today. Raises :class:`InputError` when there is no knowledge
    folder with recipes."""
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.image.listing import list_images as listing

    environ = dict(os.environ) if environ is None else environ
    now = now or datetime.now(UTC)
    settings = None
    if resolve is not None:
        settings = image_settings(
            resolve, knowledge_dir=knowledge_dir, environ=environ, cwd=cwd, now=now
        )
    return listing(
        recipes_folder(knowledge_dir),
        today=now.date(),
        store_url=resolve_store_url(store_url, environ),
        resolve=settings,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _ImageLock:
    """The lock step of an image (a :class:`~advisor.image.locker.StackLocker`): the lock
    job's own steps over ``opts``, with the image's target, indexes and preferences; the
    advice search reads the ``knowledge`` folder the recipes come from."""

    opts: ResolveOptions
    knowledge: Path
    environ: Mapping[str, str]
    cwd: Path | None
    now: datetime

    def __call__(self, request: ImageLockRequest) -> LockedImage:
        from advisor.api.advising import AdviseOptions
        from advisor.api.context import target_table
        from advisor.api.inputs import LockOptions, prepare
        from advisor.api.locking import choose_stack, finish
        from advisor.image.locker import LockedImage
        from advisor.report.json import advice_to_dict

        opts = dataclasses.replace(
            self.opts,
            recommendation=request.recommendation,
            extra_index_urls=request.extra_index_urls(self.opts.extra_index_urls),
        )
        out = LockOptions(output=request.folder / "pylock.toml")
        whole = prepare(request.inputs, opts=opts, out=out, environ=self.environ, cwd=self.cwd)
        prep = whole.for_target(
            request.target,
            previous=request.preferences,
            pinned=request.pinned_indexes(whole.index.pinned),
        )
        advice = AdviseOptions(knowledge_dirs=(self.knowledge,))
        stack = choose_stack(prep, opts=opts, advice=advice, now=self.now, events=request.events)

        def render(fmt: LockFormat) -> LockOutcome:  # not written: the context is, whole
            out = LockOptions(
                output=request.folder / _LOCKS[fmt],
                format=fmt,
                dry_run=True,
                command=request.command,
                index_lines=request.index_lines,
            )
            return finish(prep, stack.resolution, opts=opts, out=out, tool=stack.tool)

        pylock, requirements = render(LockFormat.PYLOCK), render(LockFormat.REQUIREMENTS)
        public = prep.index.redacted()
        return LockedImage(
            resolution=stack.resolution,
            pylock=pylock.text,
            requirements=requirements.text,
            input_digest=pylock.digest,
            target_record=target_table(request.target),
            downloads=partial(_downloads, opts, prep, request.events),
            advice=None
            if stack.advice is None
            else tuple(advice_to_dict(a) for a in stack.advice.advices),
            index_urls=(*public.indexes, *public.find_links),
            warnings=stack.warnings,
        )


@contextmanager
def _downloads(
    opts: ResolveOptions, prep: Prepared, events: ProgressEvents
) -> Iterator[Downloader]:
    """The index session of the lock ``prep``, for downloading its files; closed after."""
    from advisor.api.context import open_session

    session = open_session(opts, prep.index, prep.pip, prep.environ, events=events)
    try:
        yield session.fetcher
    finally:
        session.close()
