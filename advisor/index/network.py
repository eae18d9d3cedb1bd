"""Who the index client trusts and which credentials it sends: pure rules over URLs.

Sits under :mod:`advisor.index.fetch` (the one network seam), which asks it per request:
:class:`NetworkSettings` is the frozen value the composition root builds from pip's
settings; :func:`is_trusted` applies pip's ``trusted-host`` entries, and
:func:`configured_credentials` picks the configured credentials for a URL. Also the small
parsers of HTTP answers that need no HTTP library (``Retry-After``, a truncated body).
No I/O, no httpx: each rule is tested on its own.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor._version import USER_AGENT
from advisor.errors import ConfigError

if TYPE_CHECKING:
    import ssl

__all__ = [
    "NetworkSettings",
    "configured_credentials",
    "is_loopback",
    "is_trusted",
    "origin",
    "retry_after",
    "split_userinfo",
    "ssl_context",
    "truncation",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkSettings:
    """How to talk to indexes. Built by the composition root (from pip's settings).

    ``cert`` is a CA bundle added to the system trust store (pip's ``cert``);
    ``client_cert`` a PEM file holding a client certificate and its key. ``trusted_hosts``
    are ``host`` or ``host:port`` entries for which plain http is allowed and TLS is not
    verified. ``credentials`` are ``(url prefix without userinfo, username, password)``.
    """

    timeout: float = 15.0
    retries: int = 5
    cert: str | None = None
    client_cert: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    user_agent: str = USER_AGENT
    max_connections: int = 16
    credentials: tuple[tuple[str, str, str], ...] = ()


def split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """``(url without userinfo, (user, password) or None)``; both parts percent-decoded."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urllib.parse.urlunsplit(parts._replace(netloc=hostport))
    return clean, (urllib.parse.unquote(user), urllib.parse.unquote(password))


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or ""), port


def _under(url: str, prefix: str) -> bool:
    """``url`` is under ``prefix`` on a boundary (``/a`` covers ``/a/b``, not ``/ab``)."""
    if not url.startswith(prefix):
        return False
    return len(url) == len(prefix) or prefix.endswith("/") or url[len(prefix)] in "/?#:"


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_matches(entry: str, *, host: str, port: int | None) -> bool:
    """``entry`` is ``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` (pip's trusted-host)."""
    parts = urllib.parse.urlsplit("//" + entry.strip())
    try:
        eport = parts.port
    except ValueError:
        return False
    return (parts.hostname or "") == host.lower() and (eport is None or eport == port)


def is_trusted(settings: NetworkSettings, url: str) -> bool:
    """``url``'s host (and port) is one of ``settings.trusted_hosts``: plain http allowed,
    TLS not verified."""
    _, host, port = origin(url)
    return any(_host_matches(entry, host=host, port=port) for entry in settings.trusted_hosts)


def configured_credentials(
    settings: NetworkSettings, url: str
) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """``(best, same origin)``: the configured entry with the longest prefix covering
    ``url``, and the first configured entry for ``url``'s origin (either ``None``)."""
    best: tuple[int, str, str] | None = None
    same_origin: tuple[str, str] | None = None
    where = origin(url)
    for prefix, user, password in settings.credentials:
        if _under(url, prefix) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), user, password)
        elif same_origin is None and origin(prefix) == where:
            same_origin = (user, password)
    return (None if best is None else (best[1], best[2])), same_origin


def ssl_context(settings: NetworkSettings, *, verify: bool) -> ssl.SSLContext:
    """The TLS context for https: the system trust store (truststore, as pip does) plus
    ``settings.cert``, and the client certificate; ``verify=False`` for trusted hosts."""
    import ssl  # lazily: only https needs it, and it costs start-up time

    s = settings
    if verify:
        import truststore

        ctx: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if verify and s.cert:
        try:
            ctx.load_verify_locations(cafile=s.cert)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load the CA bundle {s.cert}: {exc}") from exc
    if s.client_cert:
        try:
            ctx.load_cert_chain(s.client_cert)
        except (OSError, ssl.SSLError) as exc:
            msg = f"cannot load the client certificate {s.client_cert}: {exc}"
            raise ConfigError(msg) from exc
    return ctx


def retry_after(value: str | None) -> float:
    if value and value.strip().isdigit():
        return float(value.strip())
    return 0.0


def truncation(content_length: str | None, received: int) -> str | None:
    if content_length and content_length.isdigit() and int(content_length) != received:
        return f"truncated body ({received} of {content_length} bytes)"
    return None
