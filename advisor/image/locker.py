"""The lock step of an image: what the image asks of the lock job, and what it gets back.

Sits between :mod:`advisor.image.assembly` (which decides the target, the indexes and the
preferred pins of one image) and the composition root, which implements
:class:`StackLocker` with the stack-choosing step the ``lock`` and ``advise`` jobs share
(:func:`advisor.api.locking.choose_stack`) and the lock renderer they share: so an image's
stack is chosen, and its locks written, exactly as ``advisor lock`` would, and this package
never imports the API. The lock's files are downloaded through the :class:`DownloadSession`
the same step hands back (the index session of that lock).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from advisor.events import SILENT
from advisor.models import LockFormat

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from contextlib import AbstractContextManager
    from pathlib import Path

    from packaging.utils import NormalizedName
    from packaging.version import Version

    from advisor.environment import RuntimeEnvironment
    from advisor.events import ProgressEvents
    from advisor.models import RecommendationType, Resolution

__all__ = [
    "LOCK_FILES",
    "DownloadSession",
    "Downloader",
    "ImageLockRequest",
    "LockedImage",
    "StackLocker",
]

#: The context's two locks of one stack: the file of each format.
LOCK_FILES = {LockFormat.PYLOCK: "pylock.toml", LockFormat.REQUIREMENTS: "requirements.txt"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageLockRequest:
    """One image's lock: ``inputs`` resolved for the one ``target`` with
    ``recommendation``, the lock's folder ``folder`` (its ``pylock.toml`` and
    ``requirements.txt``, rendered, not written), the recipe's ``extra_indexes`` added to
    the job's (``ResolveOptions.for_image``), packages ``pinned`` to one index (name →
    URL), ``preferences`` tried first instead of a previous lock's pins (an image locks
    afresh), and whether the requirements lock names its indexes (``index_lines``: not
    when the build installs from vendored files). The advice search reads the
    ``knowledge_dirs`` (the folder the recipes come from) besides the curated one. Progress
    goes to ``events``; ``command`` is what the requirements lock's header names."""

    inputs: tuple[Path, ...]
    folder: Path
    target: RuntimeEnvironment
    recommendation: RecommendationType
    extra_indexes: tuple[str, ...] = ()
    pinned: Mapping[str, str] = field(default_factory=dict)
    preferences: Mapping[NormalizedName, Version] = field(default_factory=dict)
    index_lines: bool = True
    knowledge_dirs: tuple[Path, ...] = ()
    command: str = "advisor image generate"
    events: ProgressEvents = SILENT

    def lock_paths(self) -> dict[LockFormat, Path]:
        """Where each of the two locks goes in the context (:data:`LOCK_FILES`)."""
        return {fmt: self.folder / name for fmt, name in LOCK_FILES.items()}

    def pinned_indexes(self, job: Mapping[str, str]) -> dict[str, str]:
        """The job's packages pinned to one index ``job`` (name → URL), the recipe's pins
        over them."""
        return {**job, **self.pinned}


class Downloader(Protocol):
    """Saves one locked file (:meth:`advisor.index.fetch.Fetcher.download` is one)."""

    def download(self, url: str, dest: Path, *, sha256: str | None = None) -> int:
        """Save ``url`` as ``dest`` whole or not at all, checked against ``sha256`` (hex);
        returns its size. Raises :class:`~advisor.errors.AdvisorError` when it cannot."""
        ...


class DownloadSession(Protocol):
    """An open index session (:class:`advisor.index.session.Session` is one): its
    ``fetcher`` saves the locked files."""

    @property
    def fetcher(self) -> Downloader: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedImage:
    """The stack chosen for an image and its two locks, as the lock job renders them.

    ``advice`` is the advice search's report (one JSON object per target, as ``advisor
    advise --format json`` writes it; ``None`` when pip's choice was taken under
    ``latest``); ``index_urls`` the indexes and find-links the lock used (no
    credentials); ``downloads`` opens the lock's index session for the files (closed when
    the context ends).
    """

    resolution: Resolution
    pylock: str
    requirements: str
    input_digest: str  # the lock's input digest (both locks record the same)
    downloads: Callable[[], AbstractContextManager[DownloadSession]]
    advice: tuple[Mapping[str, Any], ...] | None = None
    index_urls: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def lock_digest(self) -> str:
        """sha256 of ``pylock.toml``'s text: what the image's labels and record name."""
        return "sha256:" + hashlib.sha256(self.pylock.encode("utf-8")).hexdigest()


class StackLocker(Protocol):
    """The lock step an image takes (the composition root passes it in). Called once per
    image (and once per family divergence checked): it resolves, or runs the advice search,
    over the index; seconds to minutes."""

    def __call__(self, request: ImageLockRequest) -> LockedImage:
        """Choose the stack of ``request`` and render its locks. Raises
        :class:`~advisor.errors.NoViableStack` when the target has no stack,
        :class:`~advisor.errors.InputError` for inputs that cannot be read."""
        ...
