"""HTML built in code, escaped by construction: the dashboard's only way to make markup.

Sits at the bottom of the dashboard package: the pages (:mod:`.pages`) and the plot
(:mod:`.plot`) build every element with :func:`element`, which escapes every text child and
attribute value that is not already :class:`Markup` (markup made here). Package names,
summaries, messages and URLs come from uploads and advisory databases, so they are untrusted:
nothing reaches the page without passing through :func:`escape`, and a URL becomes a link
only when :func:`safe_link` accepts it (``http``/``https``, no credentials). Pages carry no
script at all; :data:`CONTENT_SECURITY_POLICY` forbids one anyway.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "Child",
    "Markup",
    "document",
    "element",
    "escape",
    "package_path",
    "safe_link",
]

#: no script, no remote resource, forms posting only here, never framed
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

_VOID = frozenset({"br", "input", "meta", "hr"})

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 0 1em;
       color: #1b1f24; }
header { display: flex; gap: 1.5em; align-items: baseline; border-bottom: 1px solid #ccd;
         padding: .6em 0; }
header .who { margin-left: auto; color: #555; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccd; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f2f4f8; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #116329; } .bad { color: #b3261e; font-weight: 600; } .muted { color: #666; }
.stale { color: #9a6700; font-weight: 600; }
figure { margin: 1em 0; } figcaption { color: #444; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
form.login { display: grid; gap: .6em; max-width: 24em; margin-top: 2em; }
.error { color: #b3261e; }
"""


class Markup(str):
    """Text that is already HTML (made by :func:`element` or :func:`escape`): never escaped
    again."""

    __slots__ = ()


Child = Markup | str | int | float | None | Iterable["Child"]


def escape(value: object) -> Markup:
    """``value`` as HTML text: markup as it is, anything else escaped (quotes included)."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def _children(children: Iterable[Child]) -> str:
    parts: list[str] = []
    for child in children:
        if child is None:
            continue
        if isinstance(child, str | int | float):
            parts.append(escape(child))
        else:
            parts.append(_children(child))
    return "".join(parts)


def element(tag: str, *children: Child, **attrs: str | float | bool | None) -> Markup:
    """``<tag attrs>children</tag>``. An attribute's name loses a trailing ``_``
    (``class_``) and turns ``_`` into ``-`` (``data_version``); ``None`` and ``False``
    leave it out, ``True`` writes it bare; every value and text child is escaped."""
    rendered = []
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        key = name.rstrip("_").replace("_", "-")
        rendered.append(f" {key}" if value is True else f' {key}="{escape(value)}"')
    opening = f"<{tag}{''.join(rendered)}>"
    if tag in _VOID:
        return Markup(opening)
    return Markup(f"{opening}{_children(children)}</{tag}>")


def safe_link(url: str, text: Child | None = None) -> Markup:
    """A link to ``url`` when it is an ``http(s)`` URL without credentials; otherwise the
    URL as plain text (a ``javascript:`` or ``data:`` URL from a record never becomes a
    link)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return escape(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return escape(url)
    return element("a", url if text is None else text, href=url, rel="nofollow noreferrer")


def package_path(name: str) -> str:
    """The dashboard's path of a package's page (the name percent-encoded)."""
    return "/packages/" + quote(name, safe="")


def document(title: str, *body: Child, who: str | None, anonymous: bool = False) -> Markup:
    """A whole page: ``title``, the navigation (with who is signed in: ``who``, a token's
    name, or nobody when ``anonymous``) and ``body``."""
    if who is not None:
        account: Markup = element(
            "form",
            f"signed in as {who} ",
            element("button", "sign out", type="submit"),
            method="post",
            action="/logout",
            class_="who",
        )
    elif anonymous:
        account = element(
            "span", "anonymous reads · ", element("a", "sign in", href="/login"), class_="who"
        )
    else:
        account = Markup("")
    head = element(
        "head",
        element("meta", charset="utf-8"),
        element("meta", name="viewport", content="width=device-width, initial-scale=1"),
        element("title", f"{title} · Stack Advisor"),
        element("style", Markup(_STYLE)),
    )
    nav = element("header", element("strong", element("a", "Stack Advisor", href="/")), account)
    return Markup(
        "<!DOCTYPE html>\n"
        + element("html", head, element("body", nav, element("main", *body)), lang="en")
    )
