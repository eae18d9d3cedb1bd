"""``advisor image push`` and ``image inspect``: the process environment, the clock, the host
and the store handed to :mod:`advisor.image.push` and :mod:`advisor.image.inspection`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.image.options import PushOptions
from advisor.image.push import PushOutcome

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from pathlib import Path

    from advisor.environment import RuntimeEnvironment
    from advisor.image.inspection import ImageInspection

__all__ = ["PushOptions", "PushOutcome", "inspect_image", "push_image"]


def push_image(
    folder: Path,
    destination: str,
    *,
    opts: PushOptions | None = None,
    store_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
    host: RuntimeEnvironment | None = None,
) -> PushOutcome:
    """:func:`advisor.image.push.push_context` of the context ``folder`` to ``destination``,
    recorded in the store ``store_url``."""
    from advisor.api.context import here
    from advisor.api.knowledge import store_url as resolve_store_url
    from advisor.environment import RuntimeEnvironment
    from advisor.image.push import push_context

    at = here(environ, now=now)
    return push_context(folder, destination, opts=opts or PushOptions(),
                        store_url=resolve_store_url(store_url, at.environ),
                        host=RuntimeEnvironment.detect if host is None else lambda: host,
                        environ=at.environ, now=at.now)  # fmt: skip


def inspect_image(
    reference: str, *, tls_verify: bool | None = None, environ: Mapping[str, str] | None = None
) -> ImageInspection:
    """What the image ``reference`` was made from; see
    :func:`advisor.image.inspection.inspect_reference`."""
    from advisor.api.context import here
    from advisor.image.inspection import inspect_reference

    return inspect_reference(reference, environ=here(environ).environ, tls_verify=tls_verify)
