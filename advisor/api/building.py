"""``advisor image build`` (``--push`` too, one call): the process environment, the clock,
the host and the store handed to :func:`advisor.image.builder.build_context`.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from advisor.image.build import Progress
from advisor.image.builder import BuildOutcome
from advisor.image.options import BuildOptions
from advisor.image.tools import BuildTool
from advisor.knowledge.schema import BuildObservation

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from pathlib import Path

    from advisor.environment import RuntimeEnvironment

__all__ = [
    "BuildObservation",
    "BuildOptions",
    "BuildOutcome",
    "BuildTool",
    "Progress",
    "build_image",
]


def build_image(
    folder: Path,
    *,
    opts: BuildOptions | None = None,
    store_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
    host: RuntimeEnvironment | None = None,
) -> BuildOutcome:
    """:func:`advisor.image.builder.build_context` of ``folder`` into the store ``store_url``,
    then, with ``opts.push_to``, a build that passed pushed (the outcome's ``push``)."""
    from advisor.api.context import here
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.api.publishing import push_image
    from advisor.environment import RuntimeEnvironment
    from advisor.image.builder import build_context

    opts = opts or BuildOptions()
    at = here(environ, now=now)
    outcome = build_context(folder, opts=opts, store_url=resolve_store_url(store_url, at.environ),
                            host=host or RuntimeEnvironment.detect(), environ=at.environ,
                            now=at.now)  # fmt: skip
    push = partial(push_image, folder, opts=opts.push, store_url=store_url, environ=at.environ,
                   now=now, host=host)  # fmt: skip
    return outcome.then_push(opts.push_to, push)
