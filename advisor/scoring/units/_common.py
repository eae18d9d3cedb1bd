"""Small helpers the scoring units share: typed views of a package's observations, times.

Private to :mod:`advisor.scoring.units`; pure.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, TypeVar

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from advisor.scoring.base import ScoringContext

__all__ = [
    "DAY",
    "as_utc",
    "days_text",
    "number_text",
    "of_kind",
    "parse_time",
    "parse_version",
    "same_name",
]

T = TypeVar("T")
DAY = dt.timedelta(days=1)


def of_kind(ctx: ScoringContext, name: str, kind: type[T]) -> tuple[T, ...]:
    """The observations of class ``kind`` the knowledge holds about ``name``, in the view's
    order (by observation key)."""
    return tuple(obs for obs in ctx.knowledge.for_package(name) if isinstance(obs, kind))


def same_name(a: str, b: str) -> bool:
    return canonicalize_name(a) == canonicalize_name(b)


def parse_version(text: str | None) -> Version | None:
    if text is None:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def as_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware UTC datetime (a naive one is read as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def parse_time(text: str | None) -> dt.datetime | None:
    """An ISO 8601 date or datetime (``Z`` accepted) as aware UTC; ``None`` when unusable."""
    if not text:
        return None
    try:
        return as_utc(dt.datetime.fromisoformat(text.strip()))
    except ValueError:
        return None


def days_text(age: dt.timedelta) -> str:
    """``"less than a day"``, ``"1 day"``, ``"12 days"`` (whole days, rounded down)."""
    days = int(age / DAY)
    if days < 1:
        return "less than a day"
    return "1 day" if days == 1 else f"{days} days"


def number_text(value: float) -> str:
    """``7`` for 7.0, ``2.5`` for 2.5: a policy number as people wrote it."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
