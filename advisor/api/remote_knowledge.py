"""``knowledge show --server``: what a team server's store knows about a package.

Part of the composition root, wiring only (beside :mod:`advisor.api.remote`, which the
advice jobs import: kept apart so the knowledge jobs do not import those): the request goes
through :class:`~advisor.server.client.AdvisorClient` over the index client's Fetcher, and
the answer is read back as the :class:`~advisor.knowledge.package_facts.PackageKnowledge`
``knowledge show`` prints.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from advisor.index.settings import PipSettings
    from advisor.knowledge.package_facts import PackageKnowledge

__all__ = ["TOKEN_ENV", "remote_show"]

TOKEN_ENV = "ADVISOR_SERVER_TOKEN"


def remote_show(
    server: str,
    name: str,
    version: str | None = None,
    *,
    source: str | None = None,
    recorder: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> PackageKnowledge:
    """``knowledge show`` answered by the server at ``server`` (``GET /v1/packages/NAME``)."""
    import urllib.parse

    from advisor.index.fetch import Fetcher
    from advisor.knowledge.package_facts import PackageKnowledge
    from advisor.server.client import AdvisorClient, ServerLink

    environ = dict(os.environ) if environ is None else environ
    link = ServerLink.parse(server, token=environ.get(TOKEN_ENV) or None)
    pip = _pip_settings(environ)
    path = f"/v1/packages/{urllib.parse.quote(name, safe='')}"
    query = {"version": version, "source": source, "recorder": recorder}
    with Fetcher(pip.network_settings()) as fetcher:
        answer = AdvisorClient(link, fetcher).get(path, query)
    try:
        return PackageKnowledge.from_dict(answer)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"the server's answer is not a package's knowledge: {exc}") from exc


def _pip_settings(environ: Mapping[str, str]) -> PipSettings:
    """pip's configuration here: the client's TLS settings, trusted hosts and timeouts."""
    from advisor.index.settings import load_pip_settings

    return load_pip_settings(environ=environ, cwd=Path.cwd())
