"""The image's software bill of materials: CycloneDX JSON generated from its ``pylock.toml``.

Sits after the lock writers, beside :mod:`advisor.image.containerfile`: the API hands over
the pylock text it just rendered (the very file the image carries), this module reads it
back with :func:`advisor.lockfile.parse_pylock` and lets ``cyclonedx-python-lib`` build and
serialise the document (the one seam for that library), so the SBOM follows the standard's
schema without a hand-written JSON shape. One component per locked package (its PyPI
package URL, its locked files with their sha256 as distribution references, its
dependencies as the lock records them); the image itself is the metadata component, of
type ``container``, with the recipe, lock digest and recommendation as properties.

Deterministic: the serial number is derived from the lock digest and no timestamp is
written (the image's configuration carries its creation date), so the same lock gives the
same bytes with the same library version.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["SBOM_SPEC_VERSION", "SbomSubject", "SbomSummary", "read_sbom", "render_sbom"]

#: The CycloneDX specification version written (widely read by scanners).
SBOM_SPEC_VERSION = "1.6"
_PROPERTY = "stack-advisor:"  # namespace of our properties (CycloneDX's own convention)
_SERIAL_NAMESPACE = uuid.UUID("0b8a2d44-6c1e-4f3e-9d55-2b7a2e1c9a10")  # ours, fixed forever
_IMAGE_REF = "image"


@dataclass(frozen=True, slots=True, kw_only=True)
class SbomSubject:
    """What the SBOM describes: the image made from ``recipe`` whose lock has the digest
    ``lock_digest`` (``sha256:…``); ``properties`` are added to the image component."""

    recipe: str
    lock_digest: str
    tool_version: str
    properties: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class SbomSummary:
    """An SBOM read back: its format and spec version, the subject's name, and the
    components as ``(name, version)``, sorted."""

    spec_version: str
    subject: str | None
    components: tuple[tuple[str, str], ...]


def _purl_name(name: str) -> str:
    # the package-URL spec's pypi rule: lower case, '_' as '-'
    return name.lower().replace("_", "-")


def render_sbom(pylock: str, *, subject: SbomSubject) -> str:
    """The CycloneDX JSON document (spec :data:`SBOM_SPEC_VERSION`) for the lock text
    ``pylock``. Raises :class:`~advisor.errors.LockfileError` when the text is not a valid
    lock. Cost: one parse of the lock and one serialisation."""
    from cyclonedx.model import (
        ExternalReference,
        ExternalReferenceType,
        HashAlgorithm,
        HashType,
        Property,
        XsUri,
    )
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    from advisor.lockfile import parse_pylock

    stack = parse_pylock(pylock, source="pylock.toml")
    image = Component(
        name=subject.recipe,
        type=ComponentType.CONTAINER,
        version=subject.lock_digest,
        bom_ref=_IMAGE_REF,
        properties=[
            Property(name=f"{_PROPERTY}{key}", value=value)
            for key, value in sorted(subject.properties.items())
        ],
    )
    metadata = BomMetaData(component=image)
    metadata.tools.components.add(
        Component(
            name="stack-advisor", type=ComponentType.APPLICATION, version=subject.tool_version
        )
    )
    # no timestamp: the same lock gives the same bytes (the setter is typed without None,
    # the serialiser leaves a missing value out)
    metadata.timestamp = None  # type: ignore[assignment]
    serial = uuid.uuid5(_SERIAL_NAMESPACE, subject.lock_digest)
    bom = Bom(serial_number=serial, metadata=metadata)
    components: dict[str, Component] = {}
    for pkg in stack.packages:
        version = str(pkg.version) if pkg.version is not None else None
        purl = PackageURL(type="pypi", name=_purl_name(str(pkg.name)), version=version)
        references = [
            ExternalReference(
                type=ExternalReferenceType.DISTRIBUTION,
                url=XsUri(name),
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content=digest)],
            )
            for name, digest in pkg.sha256
        ]
        component = Component(
            name=str(pkg.name),
            version=version,
            purl=purl,
            bom_ref=purl.to_string(),
            external_references=references,
        )
        components[str(pkg.name)] = component
        bom.components.add(component)
    bom.register_dependency(image, components.values())
    for pkg in stack.packages:
        deps = [components[str(d)] for d in pkg.dependencies if str(d) in components]
        bom.register_dependency(components[str(pkg.name)], deps)
    text: str = JsonV1Dot6(bom).output_as_string(indent=2)
    return text + "\n"


def read_sbom(text: str, *, source: str) -> SbomSummary:
    """The summary of a CycloneDX JSON document. Raises :class:`InputError` naming
    ``source`` when it is not one."""
    try:
        data: Any = json.loads(text)
        if data.get("bomFormat") != "CycloneDX":
            raise ValueError("bomFormat is not CycloneDX")
        subject = (data.get("metadata") or {}).get("component") or {}
        components = tuple(
            sorted((str(c["name"]), str(c.get("version", ""))) for c in data.get("components", ()))
        )
        return SbomSummary(
            spec_version=str(data["specVersion"]),
            subject=str(subject["name"]) if "name" in subject else None,
            components=components,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{source}: not a CycloneDX JSON document ({exc})") from exc
