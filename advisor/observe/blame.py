"""Which package a failed install is about: the packages pip's output (or a lock
selection's error) names, and the files it refused for their digest.

Sits between the installs that observe (:mod:`advisor.observe.install`,
:mod:`advisor.observe.verify`, the image build's log in :mod:`advisor.image.build`) and the
observations they record: a failure goes to the packages named here, and a refused file is
an ``artefact-fault`` of that file (:func:`artefact_faults`), never a failure of its
release. Pure: text in, packages out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from advisor.knowledge.schema import ArtefactFault
from advisor.observe.failures import hash_mismatches

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["PinnedPackage", "artefact_faults", "culprits"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PinnedPackage:
    """One package the lock selects for the venv: ``built`` when its file is an sdist."""

    name: str
    version: str | None
    filename: str
    built: bool


_NAMED = (
    re.compile(r"Failed to build (?:installable wheels for some pyproject\.toml based projects )?"
               r"\(?(?P<names>[\w.\-, ]+)\)?"),
    re.compile(r"Failed building wheel for (?P<names>[\w.\-]+)"),
    re.compile(r"for package '(?P<names>[\w.\-]+)'"),
    re.compile(r"Could not build wheels for (?P<names>[\w.\-, ]+?), which"),
    re.compile(r"No matching distribution found for (?P<names>[\w.\-]+)"),
)  # fmt: skip


def culprits(output: str, packages: Sequence[PinnedPackage]) -> tuple[PinnedPackage, ...]:
    """The packages pip's (or the selection's) output blames; empty when it names none."""
    by_name = {p.name: p for p in packages}
    found: set[str] = set()
    for pattern in _NAMED:
        for match in pattern.finditer(output):
            for word in re.split(r"[,\s]+", match["names"]):
                name = canonicalize_name(word) if word else ""
                if name in by_name:
                    found.add(name)
    _, sep, hashes = output.partition("DO NOT MATCH THE HASHES")
    if sep:
        for line in hashes.splitlines():
            head = re.match(r"\s+(?P<name>[A-Za-z0-9][\w.\-]*)\s*(?:@|==|\s)", line)
            if head and canonicalize_name(head["name"]) in by_name:
                found.add(canonicalize_name(head["name"]))
    if not found:
        for pkg in packages:
            if pkg.filename and re.search(
                rf"(?:ERROR|error).*{re.escape(pkg.filename)}", output, re.I
            ):
                found.add(pkg.name)
    return tuple(p for p in packages if p.name in found)


def artefact_faults(
    output: str, packages: Sequence[PinnedPackage]
) -> list[tuple[PinnedPackage, ArtefactFault]]:
    """The packages whose file pip refused for its digest (``output``: pip's), each with the
    fault of that file; a package is matched by its file name, else by its name."""
    by_file = {p.filename: p for p in packages if p.filename}
    by_name = {p.name: p for p in packages}
    found: dict[str, tuple[PinnedPackage, ArtefactFault]] = {}
    for mismatch in hash_mismatches(output):
        pkg = by_file.get(mismatch.filename) or by_name.get(canonicalize_name(mismatch.name))
        if pkg is not None and pkg.name not in found:
            fault = ArtefactFault(
                filename=mismatch.filename, sha256=mismatch.got, expected=mismatch.expected
            )
            found[pkg.name] = (pkg, fault)
    return [found[name] for name in sorted(found)]
