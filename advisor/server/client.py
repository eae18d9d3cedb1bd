"""The CLI's side of the team server: JSON requests to ``advisor serve``, refusals as errors.

Sits under the client's jobs (:mod:`.remote`, which builds the calls and turns the answers
into the values the offline jobs return) and over the index client's one network seam:
requests go through a :class:`JsonPoster` (the
:class:`~advisor.index.fetch.Fetcher`, with its TLS policy, retries and redaction), so no
HTTP library is imported here. :class:`ServerLink` is where the server is and the token
(from ``ADVISOR_SERVER_TOKEN``, or credentials in the URL); the token travels as
``Authorization: Bearer`` and is never shown. A refusal (JSON ``{"code", "message"}``)
becomes the error the offline job would have raised: a conflict is a
:class:`~advisor.errors.NoViableStack` with the same causes (exit 1), bad input an
:class:`~advisor.errors.InputError` (exit 2), anything else a :class:`ServerRefused`.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from advisor.errors import AdvisorError, InputError, NoViableStack
from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["TOKEN_ENV", "AdvisorClient", "JsonPoster", "ServerLink", "ServerRefused", "refusal"]

#: the environment variable a client's token comes from (``advisor observe --upload`` and a
#: sweep's workers read it too)
TOKEN_ENV = "ADVISOR_SERVER_TOKEN"


class _Answer(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def content(self) -> bytes: ...


class JsonPoster(Protocol):
    """The part of :class:`~advisor.index.fetch.Fetcher` the client uses."""

    def post_json(
        self,
        url: str,
        payload: Any,
        *,
        headers: Mapping[str, str] | None = None,
        answer_errors: bool = False,
    ) -> _Answer: ...

    def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, answer_errors: bool = False
    ) -> _Answer: ...


class ServerRefused(AdvisorError):
    """The server refused a request: HTTP ``status``, its ``code`` and message. The exit
    code is the one the server says the same failure has offline (else 2 for a refusal, 3
    when the server failed)."""

    def __init__(self, message: str, *, status: int, code: str, exit_code: int) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerLink:
    """A server's base ``url`` (without credentials) and the ``token`` to send (``None``:
    anonymous)."""

    url: str
    token: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str, *, token: str | None = None) -> ServerLink:
        """``url`` (``http(s)://[user:]token@host[:port][/prefix]``); ``token`` (from
        ``ADVISOR_SERVER_TOKEN``) wins over credentials in the URL. Raises
        :class:`InputError` for anything but an http(s) URL."""
        parts = urllib.parse.urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"--server {redact_url(url)}: not an http(s) URL")
        if parts.query or parts.fragment:
            raise InputError(f"--server {redact_url(url)}: a base URL has no query or fragment")
        netloc = parts.netloc.rpartition("@")[2]
        if parts.username is not None or parts.password is not None:
            given = urllib.parse.unquote(parts.password or parts.username or "")
            token = token or given or None
        base = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        return cls(url=base, token=token or None)


class AdvisorClient:
    """Requests to one server through ``poster``. Cost: one HTTP request per call (plus the
    poster's retries when the connection fails); the server does the work."""

    def __init__(self, link: ServerLink, poster: JsonPoster) -> None:
        self._link = link
        self._poster = poster

    @property
    def url(self) -> str:
        return self._link.url

    def post(self, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``payload`` to ``path`` (``/v1/lock`` …) and return the JSON answer.
        Raises the error of the refusal (see the module's docstring)."""
        answer = self._poster.post_json(
            self._link.url + path, payload, headers=self._headers(), answer_errors=True
        )
        return self._answer(answer)

    def get(self, path: str, query: Mapping[str, str | None] | None = None) -> dict[str, Any]:
        """GET ``path`` with ``query`` (``None`` values left out) and return the JSON answer.
        Raises the error of the refusal."""
        given = {k: v for k, v in (query or {}).items() if v is not None}
        suffix = f"?{urllib.parse.urlencode(given)}" if given else ""
        answer = self._poster.get(
            self._link.url + path + suffix, headers=self._headers(), answer_errors=True
        )
        return self._answer(answer)

    def _headers(self) -> dict[str, str]:
        token = self._link.token
        return {} if token is None else {"authorization": f"Bearer {token}"}

    def _answer(self, answer: _Answer) -> dict[str, Any]:
        body = _decode(answer.content)
        if answer.status in (200, 202) and isinstance(body, dict):  # 202: a sweep accepted
            return body
        raise refusal(answer.status, body, server=self._link.url)


def _decode(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def refusal(status: int, body: Any, *, server: str) -> AdvisorError:
    """The error a refusal stands for (``body``: the server's JSON, or ``None``)."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return ServerRefused(
            f"{server}: HTTP {status} without an advisor answer (is it advisor serve?)",
            status=status,
            code="not-advisor",
            exit_code=3,
        )
    code = str(body.get("code", ""))
    message = body["message"]
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    assert isinstance(details, dict)
    if code == "no-viable-stack":
        causes = [str(c) for c in details.get("causes", [])]
        return NoViableStack(str(details.get("summary", message)), causes=causes)
    if code == "invalid-input":
        return InputError(message)
    exit_code = details.get("exit-code")
    if not isinstance(exit_code, int):
        exit_code = 3 if status >= 500 or status == 429 else 2
    return ServerRefused(
        f"{server}: {message} ({code}, HTTP {status})",
        status=status,
        code=code,
        exit_code=exit_code,
    )
