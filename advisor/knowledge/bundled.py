"""Where the curated knowledge this package ships sits: the checkout's ``knowledge/`` folder,
or the copy an installed wheel put under ``<prefix>/share/stack-advisor``.

Part of the knowledge layer, beside the loader of the curated folders
(:mod:`advisor.knowledge.sources.folder`): the advise, check, image and bench jobs all find
the curated folder through here, and sync it into a store under :data:`CURATED_PREFIX`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["CURATED_PREFIX", "bundled_knowledge_dir", "default_benchmarks_dir", "recipes_folder"]

#: the source prefix of the shipped curated folder's facts in a store (``advisor-knowledge/
#: prescriptions/numpy.yaml``), so a project's own folder laid out the same way
#: (``knowledge/prescriptions/numpy.yaml``) never replaces them, nor they it
CURATED_PREFIX = "advisor-knowledge"


def bundled_knowledge_dir(
    *, checkout: Path | None = None, prefixes: Sequence[Path] | None = None
) -> Path | None:
    """The curated ``knowledge/`` folder: this checkout's when running from one (an editable
    install), else the copy an installed wheel put under ``<prefix>/share/stack-advisor``
    (``prefixes``: this environment's data path and ``sys.prefix``), else ``None``."""
    import sys
    import sysconfig

    root = checkout or Path(__file__).resolve().parents[2]
    found = [root / "knowledge"]
    if prefixes is None:
        prefixes = [Path(sysconfig.get_path("data")), Path(sys.prefix)]
    found += [p / "share" / "stack-advisor" / "knowledge" for p in prefixes]
    return next((f for f in found if (f / "prescriptions").is_dir()), None)


def default_benchmarks_dir() -> Path:
    """The curated ``knowledge/benchmarks`` folder (see ``bundled_knowledge_dir``)."""
    folder = bundled_knowledge_dir()
    if folder is None:
        raise InputError("no curated knowledge folder: neither a checkout nor an installed copy")
    return folder / "benchmarks"


def recipes_folder(
    knowledge_dir: Path | None, *, bundled: Callable[[], Path | None] | None = None
) -> Path:
    """The knowledge folder an image job reads its recipes from: ``knowledge_dir``
    (``--knowledge-dir``), else the curated one ``bundled()`` finds (default:
    :func:`bundled_knowledge_dir`). Raises :class:`InputError` when there is neither."""
    folder = knowledge_dir or (bundled or bundled_knowledge_dir)()
    if folder is None:
        raise InputError("no knowledge folder with image recipes: pass --knowledge-dir")
    return folder
