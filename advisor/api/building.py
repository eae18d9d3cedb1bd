"""``advisor image build``: build a generated context, record the outcome, push on request.

Part of the composition root, and only its wiring: it reads the process environment, the
clock and the host, finds the knowledge store, and runs
:func:`advisor.image.builder.build_context` (read the context, pick the tool, build, record
the observations); with ``push_to``, a build that passed is then pushed
(:func:`advisor.api.publishing.push_image`), so ``advisor image build --push`` is one call.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from advisor.image.base_facts import ObservedBase, observed_base
from advisor.image.build import Progress
from advisor.image.builder import DEFAULT_BUILD_TIMEOUT, BuildOutcome
from advisor.image.context import ContextInfo, read_context
from advisor.image.tools import BuildTool
from advisor.knowledge.schema import BuildObservation

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from advisor.environment import RuntimeEnvironment

__all__ = [
    "DEFAULT_BUILD_TIMEOUT",
    "BuildObservation",
    "BuildOutcome",
    "BuildTool",
    "ContextInfo",
    "ObservedBase",
    "Progress",
    "build_image",
    "last_builds",
    "observed_base",
    "read_context",
]


def build_image(
    folder: Path,
    *,
    tool: str | None = None,
    tag: str | None = None,
    build_args: Sequence[tuple[str, str]] = (),
    store_url: str | None = None,
    timeout: float = DEFAULT_BUILD_TIMEOUT,
    environ: Mapping[str, str] | None = None,
    on_line: Callable[[str, Progress | None], None] | None = None,
    on_start: Callable[[BuildTool, str], None] | None = None,
    now: datetime | None = None,
    host: RuntimeEnvironment | None = None,
    push_to: str | None = None,
    tls_verify: bool | None = None,
    on_push_line: Callable[[str, Progress | None], None] | None = None,
) -> BuildOutcome:
    """Build the context ``folder`` with ``tool`` (default: the first of buildah, podman
    and docker that works) as ``tag`` (default ``localhost/advisor-RECIPE:LOCKDIGEST``),
    stream the output to ``on_line``, and store the outcome's observations. With
    ``push_to`` (``HOST[:PORT]/NAME[:TAG]``), a build that passed is pushed there as
    :func:`~advisor.api.publishing.push_image` pushes (``tls_verify``, its output to
    ``on_push_line``); the outcome's ``push`` holds it.

    Raises :class:`~advisor.errors.InputError` for a folder that is not a build context or
    when no tool works (no build ran, so nothing is recorded), or when the push cannot
    start.
    """
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.environment import RuntimeEnvironment
    from advisor.image.builder import build_context

    environ = dict(os.environ if environ is None else environ)
    outcome = build_context(
        folder,
        store_url=resolve_store_url(store_url, environ),
        host=host or RuntimeEnvironment.detect(),
        environ=environ,
        now=now or datetime.now(UTC),
        tool=tool,
        tag=tag,
        build_args=build_args,
        timeout=timeout,
        on_line=on_line,
        on_start=on_start,
    )
    from advisor.api.publishing import push_image

    push = partial(
        push_image, folder, tls_verify=tls_verify, store_url=store_url, environ=environ,
        on_line=on_push_line, now=now, host=host,
    )  # fmt: skip
    return outcome.then_push(push_to, push)  # a build that passed is pushed


def last_builds(
    store_url: str | None = None, *, environ: Mapping[str, str] | None = None
) -> dict[str, BuildObservation]:
    """The newest stack build observation of each image recipe in the store (recipe name →
    observation), for ``advisor image list``. An unreadable store gives an empty answer."""
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.image.listing import last_builds as newest_builds

    return newest_builds(
        resolve_store_url(store_url, dict(os.environ if environ is None else environ))
    )
