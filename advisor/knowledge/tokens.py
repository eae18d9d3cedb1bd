"""The team server's access tokens: scopes, secrets, and the table that keeps their digests.

Sits in the knowledge layer beside the stores, because tokens live in the database whose
knowledge they guard: ``advisor server token create`` adds one (through the composition
root), and every ``advisor serve`` process looks the presented secret up on each request, so
a revocation holds at once on every replica behind a load balancer. Only the sha256 digest
of a secret is stored; the secret itself is shown once, when it is made, and never logged.

Pure values and rules here, plus :class:`TokenTable`, the SQL both backends share (mixed
into :class:`~advisor.knowledge.sqlbase.SqlStoreBase`). A revoked token keeps its row: its
name is the provenance of what it uploaded, and is never given to another holder.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from advisor.errors import InputError

__all__ = [
    "SECRET_PREFIX",
    "IssuedToken",
    "Scope",
    "Token",
    "TokenNameTaken",
    "TokenStore",
    "TokenTable",
    "UnknownToken",
    "check_token_name",
    "issue_token",
    "parse_scope",
    "revoke_token",
    "secret_digest",
]

#: every secret starts with this, so a leaked one is easy to recognise (and to scan for)
SECRET_PREFIX = "adv_"
_SECRET_BYTES = 32
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class Scope(enum.Enum):
    """What a token may do; each scope includes the ones before it."""

    READ = "read"  # advisories and knowledge
    WRITE = "write"  # + upload measurements (build, performance, release observations)
    ADMIN = "admin"  # + upload what changes everyone's advice (advisories, rules, recipes)

    def allows(self, needed: Scope) -> bool:
        return _RANK[self] >= _RANK[needed]


_RANK = {Scope.READ: 0, Scope.WRITE: 1, Scope.ADMIN: 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """A token as stored, without its secret. ``created`` and ``revoked`` are ISO 8601."""

    name: str
    scope: Scope
    created: str
    revoked: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedToken:
    """A token just made, with its secret: the only time the secret exists outside the
    holder's hands (its ``repr`` hides it)."""

    token: Token
    secret: str = field(repr=False)


class TokenNameTaken(InputError):
    """``advisor server token create`` with a name already used (``revoked``: when its
    token was revoked, ``None`` while it is active)."""

    def __init__(self, name: str, *, revoked: str | None) -> None:
        state = f"revoked on {revoked}" if revoked else "active"
        super().__init__(
            f"a token named {name!r} exists ({state}); names are never reused (they are "
            "the provenance of what a token uploaded): choose another name"
        )
        self.name = name
        self.revoked = revoked


class UnknownToken(InputError):
    """No token has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no token named {name!r} (advisor server token list shows them)")
        self.name = name


def check_token_name(name: str) -> str:
    """``name`` when it is 1 to 64 letters, digits, ``.``, ``_``, ``@`` or ``-`` (starting with a
    letter or digit); raises :class:`InputError` otherwise."""
    if not _NAME.fullmatch(name):
        raise InputError(
            f"invalid token name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-',"
            " starting with a letter or digit"
        )
    return name


def parse_scope(text: str) -> Scope:
    """``read``, ``write`` or ``admin``; raises :class:`InputError` otherwise."""
    try:
        return Scope(text.strip().lower())
    except ValueError:
        choices = ", ".join(s.value for s in Scope)
        raise InputError(f"invalid token scope {text!r}: use one of {choices}") from None


def secret_digest(secret: str) -> str:
    """The stored form of a secret: its sha256, hex. A secret holds 256 random bits, so a
    plain digest (no salt, no stretching) cannot be reversed, and one indexed lookup finds
    the token on every request."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class TokenStore(Protocol):
    """Where tokens live (both knowledge stores, in their ``tokens`` table)."""

    def add_token(self, token: Token, *, digest: str) -> bool:
        """Store ``token`` under ``digest``; ``False`` (nothing written) when its name is
        taken."""
        ...

    def get_token(self, name: str) -> Token | None: ...

    def token_for_digest(self, digest: str) -> Token | None:
        """The token whose secret has this digest, revoked or not; one indexed query."""
        ...

    def list_tokens(self) -> tuple[Token, ...]:
        """Every token, revoked ones included, by name."""
        ...

    def revoke_token(self, name: str, *, when: str) -> Token | None:
        """Mark ``name`` revoked at ``when`` (an already revoked token keeps its first
        date); ``None`` when there is no such token."""
        ...


def issue_token(store: TokenStore, name: str, scope: Scope, *, created: str) -> IssuedToken:
    """Make a token: a fresh random secret, stored as its digest. Raises
    :class:`InputError` for a bad name and :class:`TokenNameTaken` for a used one."""
    token = Token(name=check_token_name(name), scope=scope, created=created)
    secret = SECRET_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
    if not store.add_token(token, digest=secret_digest(secret)):
        taken = store.get_token(name)
        raise TokenNameTaken(name, revoked=taken.revoked if taken else None)
    return IssuedToken(token=token, secret=secret)


def revoke_token(store: TokenStore, name: str, *, when: str) -> Token:
    """Revoke ``name`` (idempotent); raises :class:`UnknownToken`."""
    token = store.revoke_token(name, when=when)
    if token is None:
        raise UnknownToken(name)
    return token


_COLUMNS = "name, scope, created, revoked"


def _token(row: tuple[Any, ...]) -> Token:
    name, scope, created, revoked = row
    return Token(
        name=str(name),
        scope=Scope(str(scope)),
        created=str(created),
        revoked=None if revoked is None else str(revoked),
    )


class TokenTable:
    """The ``tokens`` SQL both backends share; they differ only in the driver's parameter
    placeholder (``_MARK``) and provide ``_guard(action)`` (see ``SqlStoreBase``)."""

    _MARK = "?"

    def _guard(self, action: str) -> Any:
        raise NotImplementedError

    def add_token(self, token: Token, *, digest: str) -> bool:
        m = self._MARK
        with self._guard("add_token") as conn:
            cursor = conn.execute(
                f"INSERT INTO tokens (name, scope, digest, created) VALUES ({m}, {m}, {m}, {m})"
                " ON CONFLICT (name) DO NOTHING",
                (token.name, token.scope.value, digest, token.created),
            )
            return bool(cursor.rowcount == 1)

    def get_token(self, name: str) -> Token | None:
        with self._guard("get_token") as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM tokens WHERE name = {self._MARK}", (name,)
            ).fetchone()
        return None if row is None else _token(tuple(row))

    def token_for_digest(self, digest: str) -> Token | None:
        with self._guard("token_for_digest") as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM tokens WHERE digest = {self._MARK}", (digest,)
            ).fetchone()
        return None if row is None else _token(tuple(row))

    def list_tokens(self) -> tuple[Token, ...]:
        with self._guard("list_tokens") as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM tokens ORDER BY name").fetchall()
        return tuple(_token(tuple(row)) for row in rows)

    def revoke_token(self, name: str, *, when: str) -> Token | None:
        m = self._MARK
        with self._guard("revoke_token") as conn:
            conn.execute(
                f"UPDATE tokens SET revoked = {m} WHERE name = {m} AND revoked IS NULL",
                (when, name),
            )
        return self.get_token(name)
