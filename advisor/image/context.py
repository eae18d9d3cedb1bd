"""Write an image build context folder: Containerfile, the lock in both formats,
``.containerignore`` and ``image.json`` (what the image was made from).

Sits at the output edge, after :mod:`advisor.image.containerfile` and the lock renderers:
the API hands over finished texts and the record, this module only writes them (atomically,
each file replaced whole) in a fixed order with fixed formatting, so that the same inputs
give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from advisor.errors import InputError
from advisor.lockfile.write import write_atomic

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = [
    "CONTAINERIGNORE",
    "BuildContext",
    "prune_folder",
    "render_image_json",
    "sha256_of",
    "write_context",
]

#: Only the files the build reads go to the builder (an accidental secret in the folder
#: stays). Written as ``.containerignore`` (buildah, podman) and ``.dockerignore`` (docker).
CONTAINERIGNORE = "*\n!Containerfile\n!requirements.txt\n!pylock.toml\n!image.json\n!wheels\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildContext:
    """The texts of one build context. ``inputs`` maps extra file names (the recipe's
    default ``requirements.in``) to their text; ``record`` becomes ``image.json``."""

    containerfile: str
    pylock: str
    requirements: str
    record: Mapping[str, Any]
    inputs: Mapping[str, str] = field(default_factory=dict)


def render_image_json(record: Mapping[str, Any]) -> str:
    """``image.json``: sorted keys, two-space indent, a final newline."""
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_context(folder: Path, context: BuildContext) -> tuple[Path, ...]:
    """Write ``context`` into ``folder`` (created if missing); returns the written paths,
    sorted. Raises :class:`InputError` naming the path when it cannot be written."""
    files = {
        "Containerfile": context.containerfile,
        "pylock.toml": context.pylock,
        "requirements.txt": context.requirements,
        ".containerignore": CONTAINERIGNORE,
        ".dockerignore": CONTAINERIGNORE,
        "image.json": render_image_json(context.record),
        **context.inputs,
    }
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            path = folder / name
            write_atomic(path, files[name])
            written.append(path)
    except OSError as exc:
        raise InputError(f"cannot write the build context {folder}: {exc.strerror or exc}") from exc
    return tuple(written)


def sha256_of(path: Path) -> str | None:
    """The hex sha256 of the file at ``path``, or ``None`` when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def prune_folder(folder: Path, *, keep: set[str]) -> None:
    """Remove the files of ``folder`` not named in ``keep`` (a regenerated context must not
    carry files of an earlier lock). Raises :class:`InputError` naming a file it cannot
    remove."""
    for path in sorted(folder.iterdir()):
        if path.name in keep or not path.is_file():
            continue
        try:
            path.unlink()
        except OSError as exc:
            raise InputError(f"cannot remove {path}: {exc.strerror or exc}") from exc
