"""Write an image build context folder: Containerfile, the lock in both formats,
``.containerignore`` and ``image.json`` (what the image was made from); read it back.

Sits at the output edge, after :mod:`advisor.image.containerfile` and the lock renderers:
:mod:`advisor.image.assembly` hands over finished texts and the record, this module only
writes them (atomically, each file replaced whole) in a fixed order with fixed formatting,
so that the same inputs give the same bytes. The build and push steps read the record back
(:func:`read_context`) and add to it (:func:`update_record`).
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

    from advisor.knowledge.schema import ImageRecipe

__all__ = [
    "CONSTRAINTS_FILE",
    "CONSTRAINTS_PATH",
    "CONTAINERIGNORE",
    "IMAGE_DATA_DIR",
    "SBOM_FILE",
    "BuildContext",
    "ContextInfo",
    "prune_folder",
    "read_context",
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
#: :data:`IMAGE_DATA_DIR` (both named by labels, see :mod:`advisor.image.provenance`).
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


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextInfo:
    """What a build context's ``image.json`` says: recipe, pins, locked files, lock digest."""

    recipe: ImageRecipe
    pins: Mapping[str, str]
    files: Mapping[str, tuple[str, ...]]
    lock_digest: str
    #: the last build (``tool``, ``tag``, ``image-id``, ``outcome``, ``date``), if any
    build: Mapping[str, Any] | None = None


def read_context(folder: Path, *, today: str) -> ContextInfo:
    """Read ``folder``'s ``image.json`` (``today``, ISO 8601, goes into the recipe's
    provenance); :class:`InputError` when ``folder`` is not a build context made by
    ``advisor image generate`` (no Containerfile, no or a bad image.json)."""
    import msgspec

    from advisor.knowledge.schema import ImageRecipe
    from advisor.models import parse_dist_filename

    if not (folder / "Containerfile").is_file():
        raise InputError(
            f"{folder}: not a build context (no Containerfile); make one with"
            " 'advisor image generate --recipe NAME -o DIR'"
        )
    path = folder / "image.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        raw_recipe = dict(record["recipe"])
        raw_recipe["provenance"] = {**raw_recipe.get("provenance", {}), "date": today}
        recipe = msgspec.convert(raw_recipe, ImageRecipe)
        pins = {str(k): str(v) for k, v in dict(record["pins"]).items()}
        lock_digest = str(record["lock-digest"])
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (the context was not made by advisor)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (ValueError, KeyError, TypeError, msgspec.ValidationError) as exc:
        raise InputError(f"{path}: not an advisor image record ({exc})") from exc
    files: dict[str, list[str]] = {}
    for name in record.get("wheels", ()):
        parsed = parse_dist_filename(str(name))
        if parsed is not None:
            files.setdefault(str(parsed.name), []).append(str(name))
    return ContextInfo(
        recipe=recipe,
        pins=pins,
        files={k: tuple(v) for k, v in files.items()},
        lock_digest=lock_digest,
        build=record["build"] if isinstance(record.get("build"), dict) else None,
    )
