"""``advisor image push`` and ``advisor image inspect``: publish a built image, read one back.

Part of the composition root, and only its wiring: it reads the process environment, the
clock and (only when the store has no build of the stack) the host, finds the knowledge
store, and runs :func:`advisor.image.push.push_context` (push the context's last build or an
OCI archive, record the digest in ``image.json`` and the store) or
:func:`advisor.image.inspection.inspect_reference` (an image's labels and files, through
buildah).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from advisor.image.push import DEFAULT_PUSH_TIMEOUT, PushOutcome

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from advisor.environment import RuntimeEnvironment
    from advisor.image.build import Progress
    from advisor.image.inspection import ImageInspection

__all__ = ["DEFAULT_PUSH_TIMEOUT", "PushOutcome", "inspect_image", "push_image"]


def push_image(
    folder: Path,
    destination: str,
    *,
    tool: str | None = None,
    archive: Path | None = None,
    tls_verify: bool | None = None,
    store_url: str | None = None,
    timeout: float = DEFAULT_PUSH_TIMEOUT,
    environ: Mapping[str, str] | None = None,
    on_line: Callable[[str, Progress | None], None] | None = None,
    now: datetime | None = None,
    host: RuntimeEnvironment | None = None,
) -> PushOutcome:
    """Push the last build of the context ``folder`` (or the OCI ``archive``) to
    ``destination`` (``HOST[:PORT]/NAME[:TAG]``; the tag defaults to the build's), with
    TLS verification unless ``tls_verify`` is ``False`` or the tool's registries.conf
    marks the registry insecure. On success the manifest digest goes to ``image.json``
    and the knowledge store. Raises :class:`~advisor.errors.InputError` when no push can
    start (not a context, nothing built, a bad destination, no tool)."""
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.environment import RuntimeEnvironment
    from advisor.image.push import push_context

    environ = dict(os.environ if environ is None else environ)
    return push_context(
        folder,
        destination,
        store_url=resolve_store_url(store_url, environ),
        host=RuntimeEnvironment.detect if host is None else lambda: host,
        environ=environ,
        now=now or datetime.now(UTC),
        tool=tool,
        archive=archive,
        tls_verify=tls_verify,
        timeout=timeout,
        on_line=on_line,
    )


def inspect_image(
    reference: str,
    *,
    tls_verify: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> ImageInspection:
    """The recipe, lock digest (checked against the lock file inside), advice summary, pins
    and SBOM of the image ``reference``: a local image name or id, a registry reference
    (pulled when missing, ``tls_verify`` as for a push) or ``oci-archive:PATH``. Read
    through buildah. Raises :class:`~advisor.errors.InputError` when buildah cannot get or
    mount the image, or when it is not an image advisor made."""
    from advisor.image.inspection import inspect_reference

    environ = dict(os.environ if environ is None else environ)
    return inspect_reference(reference, environ=environ, tls_verify=tls_verify)
