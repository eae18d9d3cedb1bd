"""``[tool.advisor.policy]`` → :class:`~advisor.scoring.base.AdvicePolicy`.

Sits between the configuration (:mod:`advisor.config` keeps the ``policy`` table raw) and the
scoring units, which read the policy from their :class:`~advisor.scoring.base.ScoringContext`.
Pure: the table and the name of the file it came from go in, a value comes out. Keys::

    [tool.advisor.policy]
    minimum-release-age-days = 7          # a number >= 0 (default 7)
    allow-prereleases = ["torch"]         # projects whose pre-releases are not penalised
    allow-advisories = [                  # waivers: advisory id or alias, why, until when
      { id = "GHSA-xxxx-xxxx-xxxx", reason = "not reachable from our code", until = 2025-06-30 },
    ]

``until`` is a date (TOML date or ``"YYYY-MM-DD"``): the waiver holds until the end of that
day, UTC. A datetime is accepted too (a naive one is read as UTC). ``max-advisory-age-days``
and ``allowed-indexes`` belong to ``advisor check`` and are accepted here unread; any other
key is a :class:`~advisor.errors.ConfigError` naming the file and the dotted key.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from packaging.utils import InvalidName, canonicalize_name

from advisor.errors import ConfigError
from advisor.scoring.base import AdvicePolicy, Waiver

if TYPE_CHECKING:
    from collections.abc import Callable

    _Fail = Callable[[str, str], NoReturn]

__all__ = ["POLICY_KEYS", "parse_advice_policy"]

#: The keys this module reads.
POLICY_KEYS: tuple[str, ...] = (
    "minimum-release-age-days",
    "allow-advisories",
    "allow-prereleases",
)
# Read by ``advisor check`` (advisor/check.py): accepted, not interpreted here.
_OTHER_KEYS: tuple[str, ...] = ("max-advisory-age-days", "allowed-indexes")
_WAIVER_KEYS: tuple[str, ...] = ("id", "reason", "until")


def _prefix_for(source: str) -> str:
    """How the table is spelled in ``source``: under ``tool.advisor`` in a pyproject.toml."""
    return "tool.advisor.policy." if source.endswith("pyproject.toml") else "policy."


def parse_advice_policy(
    raw: Mapping[str, Any], *, source: str, prefix: str | None = None
) -> AdvicePolicy:
    """Validate the raw ``policy`` table read from ``source`` (a file name for messages).

    ``prefix`` is put before key names in messages (default: ``tool.advisor.policy.`` when
    ``source`` is a pyproject.toml, else ``policy.``). Raises
    :class:`~advisor.errors.ConfigError` ("<source>: <key> <problem>") for an unknown key or
    a value of the wrong type or range.
    """
    where = _prefix_for(source) if prefix is None else prefix

    def fail(key: str, problem: str) -> NoReturn:
        raise ConfigError(f"{source}: {where}{key} {problem}")

    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: {where.rstrip('.')} must be a table")
    known = POLICY_KEYS + _OTHER_KEYS
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key).replace("_", "-"), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            fail(str(key), f"is not a known key{hint} (known: {', '.join(known)})")

    age = raw.get("minimum-release-age-days", 7)
    if (
        isinstance(age, bool)
        or not isinstance(age, int | float)
        or math.isnan(age)
        or math.isinf(age)
        or age < 0
    ):
        fail("minimum-release-age-days", f"must be a number of days >= 0 (got {age!r})")

    allowed = raw.get("allow-prereleases", [])
    if not isinstance(allowed, list) or not all(isinstance(n, str) and n for n in allowed):
        fail("allow-prereleases", "must be an array of project names")
    names: set[str] = set()
    for i, name in enumerate(allowed):
        try:
            names.add(canonicalize_name(name, validate=True))
        except InvalidName:
            fail(f"allow-prereleases[{i}]", f"has {name!r}, which is not a valid project name")

    entries = raw.get("allow-advisories", [])
    if not isinstance(entries, list):
        fail("allow-advisories", "must be an array of tables {id, reason, until}")
    waivers = tuple(
        _waiver(entry, f"allow-advisories[{i}]", fail) for i, entry in enumerate(entries)
    )
    return AdvicePolicy(
        minimum_release_age_days=float(age),
        waivers=waivers,
        allow_prereleases=frozenset(names),
    )


def _waiver(entry: Any, key: str, fail: _Fail) -> Waiver:
    if not isinstance(entry, dict):
        fail(key, "must be a table {id, reason, until}")
    for field in entry:
        if field not in _WAIVER_KEYS:
            fail(f"{key}.{field}", f"is not a known key (known: {', '.join(_WAIVER_KEYS)})")
    waiver_id = entry.get("id")
    if not isinstance(waiver_id, str) or not waiver_id.strip():
        fail(f"{key}.id", "is required: the advisory id or one of its aliases")
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        fail(f"{key}.reason", "is required: a waiver says why the advisory is accepted")
    return Waiver(
        id=waiver_id.strip(),
        reason=" ".join(reason.split()),
        until=_until(entry.get("until"), f"{key}.until", fail),
    )


def _until(value: Any, key: str, fail: _Fail) -> dt.datetime | None:
    """A waiver's end as an aware UTC datetime: a date lasts until the end of its day."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            try:
                value = dt.datetime.fromisoformat(text)
            except ValueError:
                fail(key, f'must be a date like 2025-06-30 (got "{text}")')
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time.max, tzinfo=dt.UTC)
    fail(key, f"must be a date like 2025-06-30 (got {value!r})")
