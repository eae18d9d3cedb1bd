"""The dashboard's routes: ``/``, ``/packages/{name}``, sign-in and sign-out, as HTML.

Sits between HTTP and the pages (:mod:`.pages`). The dashboard follows the API's read rule
(:func:`~advisor.server.auth.authorize` with scope ``read``): anonymous only when the server
allows anonymous reads; otherwise a token, sent as the API takes it (``Authorization``:
Bearer, or Basic from credentials in the URL) or through the sign-in form, which
checks the token and keeps it in a cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure``
over https, ending with the browser session). The cookie holds the secret itself, so no
server keeps a session: every request looks the token up in the store as an API request
does, and a revoked token is signed out on its next page. Sign-in refuses a cross-site
``Origin`` (login CSRF). Refusals are HTML pages with the API's status codes (401 shows the
sign-in form); no page has a script.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from packaging.utils import InvalidName, canonicalize_name
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from advisor.knowledge.store import KnowledgeStoreError
from advisor.knowledge.tokens import Scope
from advisor.server.auth import authorize
from advisor.server.dashboard.html import CONTENT_SECURITY_POLICY, package_path
from advisor.server.dashboard.pages import (
    Viewer,
    read_home,
    read_package,
    render_home,
    render_login,
    render_message,
    render_package,
)
from advisor.server.limits import read_body
from advisor.server.problems import ApiError
from advisor.server.state import server_state

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request

    from advisor.server.dashboard.html import Markup

__all__ = ["COOKIE", "ROUTES"]

COOKIE = "advisor_token"
_MAX_FORM = 4096  # bytes of a sign-in form


def _html(markup: Markup, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return HTMLResponse(
        markup,
        status_code=status,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
            **(headers or {}),
        },
    )


def _local(path: str | None) -> str:
    """``path`` when it is a path of this site (never ``//host`` or a URL), else ``/``."""
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(path)
    return "/" if parts.scheme or parts.netloc else path


def _login_page(request: Request, message: str | None, *, status: int) -> Response:
    next_path = _local(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if request.url.path in ("/login", "/logout"):
        next_path = "/"
    # a 401 names a scheme; Bearer, since a Basic challenge would make the browser prompt
    # over the form
    challenge = {"WWW-Authenticate": 'Bearer realm="advisor"'}
    page = render_login(message=message, next_path=next_path)
    response = _html(page, status=status, headers=challenge)
    if request.cookies.get(COOKIE):
        response.delete_cookie(COOKIE, path="/")
    return response


async def _viewer(request: Request) -> Viewer:
    state = server_state(request)
    principal = await authorize(request, Scope.READ, cookie_secret=request.cookies.get(COOKIE))
    return Viewer(name=principal.name, anonymous_reads=state.settings.allow_anonymous_reads)


def _page(
    render: Callable[[Request, Viewer], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A dashboard route: the viewer authorized first; refusals as HTML pages."""

    async def route(request: Request) -> Response:
        try:
            viewer = await _viewer(request)
        except ApiError as exc:
            if exc.status == 401:
                presented = COOKIE in request.cookies or "authorization" in request.headers
                return _login_page(request, exc.message if presented else None, status=401)
            refused = render_message("Refused", exc.message, viewer=None)
            return _html(refused, status=exc.status, headers=exc.headers)
        try:
            return await render(request, viewer)
        except ApiError as exc:
            title = "Not found" if exc.status == 404 else "Refused"
            page = render_message(title, exc.message, viewer=viewer)
            return _html(page, status=exc.status, headers=exc.headers)
        except KnowledgeStoreError:
            message = "The knowledge store is unavailable; try again shortly."
            page = render_message("Unavailable", message, viewer=viewer)
            return _html(page, status=503, headers={"Retry-After": "5"})

    return route


async def _home(request: Request, viewer: Viewer) -> Response:
    state = server_state(request)
    today = dt.date.fromisoformat(state.today()[:10])
    home = await run_in_threadpool(read_home, state.store, today=today)
    return _html(render_home(home, viewer))


def _package_name(raw: str) -> str:
    try:
        return canonicalize_name(raw, validate=True)
    except InvalidName:
        raise ApiError(400, "invalid-request", f"{raw!r} is not a valid package name") from None


async def _package(request: Request, viewer: Viewer) -> Response:
    state = server_state(request)
    name = _package_name(str(request.path_params["name"]))
    page = await run_in_threadpool(read_package, state.store, name)
    if not page.knowledge.facts:
        raise ApiError(404, "not-found", f"nothing is known about {name}")
    return _html(render_package(page, viewer))


async def _find_package(request: Request, viewer: Viewer) -> Response:
    """The home page's form: ``/packages?name=X`` goes to X's page."""
    name = _package_name(request.query_params.get("name", "").strip())
    return RedirectResponse(package_path(name), status_code=303)


async def login_form(request: Request) -> Response:
    next_path = _local(request.query_params.get("next"))
    return _html(render_login(message=None, next_path=next_path))


def _cross_site(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin == "null"
    return urlsplit(origin).netloc != request.url.netloc


async def login(request: Request) -> Response:
    """Check the posted token (scope ``read`` at least) and keep it in the cookie."""
    if _cross_site(request):
        refused = render_message("Refused", "sign-in from another site", viewer=None)
        return _html(refused, status=403)
    if "authorization" in request.headers:  # it would be checked instead of the form's token
        refused = render_message("Refused", "sign in without an Authorization header", viewer=None)
        return _html(refused, status=400)
    try:
        body = await read_body(request, limit=_MAX_FORM)
    except ApiError as exc:
        return _html(render_message("Refused", exc.message, viewer=None), status=exc.status)
    form = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=8)
    secret = (form.get("token") or [""])[0].strip()
    next_path = _local((form.get("next") or ["/"])[0])
    if not secret:
        return _html(render_login(message="no token given", next_path=next_path), status=401)
    try:
        # a secret in the form stands in for the header: what the cookie will carry
        await authorize(request, Scope.READ, cookie_secret=secret)
    except ApiError as exc:
        return _html(render_login(message=exc.message, next_path=next_path), status=exc.status)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        COOKIE,
        secret,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


ROUTES = (
    Route("/", _page(_home), methods=["GET"]),
    Route("/packages", _page(_find_package), methods=["GET"]),
    Route("/packages/{name}", _page(_package), methods=["GET"]),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
)
