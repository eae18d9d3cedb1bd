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
    "CONSTRAINTS_FILE",
    "CONSTRAINTS_PATH",
    "CONTAINERIGNORE",
    "IMAGE_DATA_DIR",
    "SBOM_FILE",
    "BuildContext",
    "prune_folder",
    "render_constraints",
    "render_image_json",
    "sha256_of",
    "update_record",
    "write_context",
]

#: The context's constraints file (``name==version`` per pin) and where the image has it
#: (NVIDIA's framework images use the same path; ``PIP_CONSTRAINT`` points there).
CONSTRAINTS_FILE = "constraints.txt"
CONSTRAINTS_PATH = "/etc/pip/constraint.txt"
#: The context's CycloneDX SBOM; the image has it beside its ``pylock.toml`` in
#: :data:`IMAGE_DATA_DIR` (both named by labels, see :mod:`advisor.api.imaging`).
SBOM_FILE = "sbom.cdx.json"
IMAGE_DATA_DIR = "/usr/share/stack-advisor"

#: Only the files the build reads go to the builder (an accidental secret in the folder
#: stays). Written as ``.containerignore`` (buildah, podman) and ``.dockerignore`` (docker).
CONTAINERIGNORE = (
    "*\n!Containerfile\n!requirements.txt\n!pylock.toml\n!image.json\n!wheels\n"
    f"!{CONSTRAINTS_FILE}\n!{SBOM_FILE}\n"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildContext:
    """The texts of one build context. ``inputs`` maps extra file names (the recipe's
    default ``requirements.in``) to their text; ``record`` becomes ``image.json``;
    ``constraints`` and ``sbom`` are the image's constraints file and CycloneDX SBOM."""

    containerfile: str
    pylock: str
    requirements: str
    record: Mapping[str, Any]
    constraints: str
    sbom: str
    inputs: Mapping[str, str] = field(default_factory=dict)


def render_image_json(record: Mapping[str, Any]) -> str:
    """``image.json``: sorted keys, two-space indent, a final newline."""
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_constraints(pins: Mapping[str, str], *, recipe: str) -> str:
    """The image's pip constraints: one ``name==version`` line per pin, sorted by name."""
    lines = [
        f"# The versions of the image {recipe!r}, written by advisor image generate.",
        "# PIP_CONSTRAINT points here: a pip install in the image keeps these versions.",
        *(f"{name}=={version}" for name, version in sorted(pins.items())),
    ]
    return "\n".join(lines) + "\n"


def update_record(folder: Path, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Set the top-level keys ``changes`` in ``folder/image.json`` (replaced whole,
    atomically); returns the new record. Raises :class:`InputError` naming the file when
    it cannot be read, is not a JSON object, or cannot be written."""
    path = folder / "image.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise InputError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(record, dict):
        raise InputError(f"{path}: not an advisor image record (not a JSON object)")
    record.update(changes)
    try:
        write_atomic(path, render_image_json(record))
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return record


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
        CONSTRAINTS_FILE: context.constraints,
        SBOM_FILE: context.sbom,
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
