"""Credentials out of URLs: the one rule for everything the advisor shows, writes or records.

At the bottom of the flow, beside :mod:`advisor.errors`: the index client, the requirements
parser, the knowledge stores, the API and the CLI all redact through here, so a URL is
cleaned the same way whether it ends up in a lock, an input digest, a log line, an error
message, a progress display or a stored observation.

What counts as a credential: the whole userinfo (``user:password@``, and a bare ``token@``,
since indexes take tokens as the user name) and a ``password`` query parameter (libpq's
``postgresql://…?password=``). :func:`redact_url` removes them from one URL;
:func:`redact_text` marks them as ``***@`` inside free text (an error message quoting a
requirement line), so a reader sees that something was hidden and where.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["redact_text", "redact_url"]

# a URL inside free text: a scheme, "://", then up to white space or a quote
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_PASSWORD_PARAM = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)
_SECRET_QUERY_KEYS = frozenset({"password"})


def redact_url(url: str) -> str:
    """``url`` without its userinfo and without ``password=`` query parameters.

    A string that is not a URL (a path, ``not a url``) and a URL with nothing to hide come
    back unchanged, byte for byte (``sqlite:////abs/path.db`` stays as written). A URL that
    cannot be parsed keeps only its scheme: ``scheme://…``.
    """
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("://", 1)[0] + "://…"
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in _SECRET_QUERY_KEYS for k, _ in pairs):
            query = urlencode([(k, v) for k, v in pairs if k.lower() not in _SECRET_QUERY_KEYS])
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """``text`` with the credentials of every URL in it marked: the userinfo becomes ``***@``
    and a ``password=`` value ``***`` (for messages that quote what the user wrote)."""
    return _URL_IN_TEXT.sub(lambda match: _mark(match.group(0)), text)


def _mark(url: str) -> str:
    scheme, _, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return _PASSWORD_PARAM.sub(r"\1***", f"{scheme}://{netloc}{slash}{path}")
