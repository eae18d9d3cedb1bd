"""What the image jobs are asked: how contexts are written, how one is built, how one is pushed.

Sits at the entrance of the image package: the composition root (:mod:`advisor.api.imaging`,
:mod:`~advisor.api.building`, :mod:`~advisor.api.publishing`) takes these values from its
callers (the CLI, a notebook) and hands them down to :mod:`advisor.image.assembly`,
:mod:`~advisor.image.family_contexts`, :mod:`~advisor.image.builder` and
:mod:`~advisor.image.push`, so a job's signature holds its subject, one options value and
what only the root knows (the process environment, the clock, the host, the store).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from advisor.image.build import Progress
    from advisor.image.tools import BuildTool

__all__ = [
    "DEFAULT_BUILD_TIMEOUT",
    "DEFAULT_PUSH_TIMEOUT",
    "BuildOptions",
    "ImageOptions",
    "LineSink",
    "PushOptions",
]

#: Seconds a build may run before it is stopped (``advisor image build --timeout``).
DEFAULT_BUILD_TIMEOUT = 3600.0
#: Seconds a push may run before it is stopped (``advisor image push --timeout``).
DEFAULT_PUSH_TIMEOUT = 1800.0

#: Where a build's or a push's output goes, one line at a time, with the build step the
#: line starts (``None`` for any other line).
LineSink = Callable[[str, "Progress | None"], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageOptions:
    """How an image job writes build contexts (``advisor image generate``).

    ``output`` is the context's folder (with ``--all``, the parent of one folder per
    recipe); the recipes come from ``knowledge_dir/images`` (default: the curated
    ``knowledge/``); ``vendor`` downloads the locked files into ``wheels/`` (so the build
    needs no index). For one image, ``preferences`` (name → version) are tried first where
    the target allows them, as a re-lock keeps its previous pins; for a family, ``align``
    makes later recipes prefer the earlier ones' pins (without: each resolves alone).
    """

    output: Path
    knowledge_dir: Path | None = None
    vendor: bool = True
    preferences: Mapping[str, str] = field(default_factory=dict)
    align: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class PushOptions:
    """How a built image is pushed (``advisor image push``, ``image build --push``).

    ``tool``: buildah, podman or skopeo (default: the tool that built the image; skopeo for
    an ``archive``, an OCI archive pushed instead of the last build); ``tls_verify``:
    ``None`` lets the tool's registries.conf decide (verify, unless the registry is marked
    insecure there); the push is stopped after ``timeout`` seconds; its output goes to
    ``on_line``.
    """

    tool: str | None = None
    archive: Path | None = None
    tls_verify: bool | None = None
    timeout: float = DEFAULT_PUSH_TIMEOUT
    on_line: LineSink | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildOptions:
    """How a context is built (``advisor image build``).

    ``tool``: buildah, podman or docker (default: the first that works here); ``tag``
    (default ``localhost/advisor-RECIPE:LOCKDIGEST``); ``build_args`` as ``(KEY, VALUE)``
    pairs; the build is stopped after ``timeout`` seconds. Its output goes to ``on_line``,
    and ``on_start`` hears the tool chosen and the tag before the build starts. With
    ``push_to`` (``HOST[:PORT]/NAME[:TAG]``), a build that passed is pushed there as
    ``push`` says.
    """

    tool: str | None = None
    tag: str | None = None
    build_args: tuple[tuple[str, str], ...] = ()
    timeout: float = DEFAULT_BUILD_TIMEOUT
    on_line: LineSink | None = None
    on_start: Callable[[BuildTool, str], None] | None = None
    push_to: str | None = None
    push: PushOptions = field(default_factory=PushOptions)
