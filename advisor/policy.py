"""``[tool.advisor.policy]`` → one :class:`Policy`, parsed once when the configuration loads.

Sits beside :mod:`advisor.config` at the bottom of the flow: :func:`advisor.config.load_config`
parses the table with :func:`parse_policy`, and both readers take the value from there:
``advisor check`` (waivers, data age, allowed indexes) and the scoring units of ``advise``
(waivers, minimum release age, pre-releases), and the cooldown of ``lock``/``advise``
(its per-package exemptions). One :class:`Waiver` with one matching rule
(:meth:`Waiver.matches`, :meth:`Waiver.holds_at`) serves both, so the two can never judge
the same waiver differently. Pure: the table and the name of its file go in, a value comes
out. Keys::

    [tool.advisor.policy]
    minimum-release-age-days = 7          # a number >= 0 (default 7)
    allow-prereleases = ["torch"]         # projects whose pre-releases are not penalised
    allow-advisories = [                  # waivers: advisory id or alias, why, until when
      { id = "GHSA-xxxx-xxxx-xxxx", reason = "not reachable from our code", until = 2025-06-30 },
    ]
    max-advisory-age-days = 30            # advisor check: older advisory data is a finding
    allowed-indexes = ["https://…"]       # advisor check: where locked files come from
    cooldown-exemptions = [               # --cooldown lets these through, why, until when
      { package = "django", reason = "we take its security releases at once", until = 2025-06-30 },
    ]

A waiver's id matches the advisory's id or any of its aliases, case-insensitively. ``until``
is a date (TOML date or ``"YYYY-MM-DD"``): the waiver holds until the end of that day, UTC;
a date-time (a naive one is read as UTC) holds until that instant. A cooldown exemption needs
a reason and an ``until`` (an exemption never lasts for ever); an expired one no longer applies
(the resolution warns about it). Any other key, or a value
of the wrong type, is a :class:`~advisor.errors.ConfigError` naming the file and dotted key.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from packaging.utils import InvalidName, NormalizedName, canonicalize_name

from advisor.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    _Fail = Callable[[str, str], NoReturn]

__all__ = ["POLICY_KEYS", "CooldownExemption", "Policy", "Waiver", "parse_policy"]

#: Every key of the table, in the order messages list them.
POLICY_KEYS: tuple[str, ...] = (
    "minimum-release-age-days",
    "allow-advisories",
    "allow-prereleases",
    "max-advisory-age-days",
    "allowed-indexes",
    "cooldown-exemptions",
)
_WAIVER_KEYS: tuple[str, ...] = ("id", "reason", "until")
_EXEMPTION_KEYS: tuple[str, ...] = ("package", "reason", "until")


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiver:
    """An advisory the team accepts, with the reason, until an instant (``None``: no end)."""

    id: str
    reason: str
    until: dt.datetime | None = None  # aware, UTC

    def matches(self, ids: Iterable[str]) -> bool:
        """True when the waiver names one of ``ids`` (an advisory's id and its aliases),
        compared case-insensitively."""
        wanted = self.id.casefold()
        return any(wanted == i.casefold() for i in ids)

    def holds_at(self, now: dt.datetime) -> bool:
        """True while the waiver has not expired at ``now`` (a naive ``now`` is UTC)."""
        if self.until is None:
            return True
        return _as_utc(now) <= self.until


@dataclass(frozen=True, slots=True, kw_only=True)
class CooldownExemption:
    """A project whose releases the cooldown lets through, with the reason, until an
    instant (aware, UTC; always set)."""

    package: NormalizedName
    reason: str
    until: dt.datetime

    def holds_at(self, now: dt.datetime) -> bool:
        """True while the exemption has not expired at ``now`` (a naive ``now`` is UTC)."""
        return _as_utc(now) <= self.until


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """The team's policy, as ``check`` and the scoring units read it."""

    minimum_release_age_days: float = 7.0
    allow_prereleases: frozenset[str] = frozenset()
    waivers: tuple[Waiver, ...] = ()
    max_advisory_age_days: int = 30
    allowed_indexes: tuple[str, ...] | None = None  # None: those recorded in the lock
    cooldown_exemptions: tuple[CooldownExemption, ...] = ()

    def waivers_for(
        self, ids: Iterable[str], *, now: dt.datetime
    ) -> tuple[Waiver | None, Waiver | None]:
        """(the first waiver covering ``ids`` that holds at ``now``, the first that
        matched but expired) — either ``None`` when there is none."""
        names = tuple(ids)
        active = expired = None
        for waiver in self.waivers:
            if not waiver.matches(names):
                continue
            if waiver.holds_at(now):
                active = active or waiver
            else:
                expired = expired or waiver
        return active, expired


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _prefix_for(source: str) -> str:
    """How the table is spelled in ``source``: under ``tool.advisor`` in a pyproject.toml."""
    return "tool.advisor.policy." if source.endswith("pyproject.toml") else "policy."


def parse_policy(raw: Mapping[str, Any], *, source: str, prefix: str | None = None) -> Policy:
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
    for key in raw:
        if key not in POLICY_KEYS:
            close = difflib.get_close_matches(str(key).replace("_", "-"), POLICY_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            fail(str(key), f"is not a known key{hint} (known: {', '.join(POLICY_KEYS)})")

    age = raw.get("minimum-release-age-days", 7)
    if (
        isinstance(age, bool)
        or not isinstance(age, int | float)
        or math.isnan(age)
        or math.isinf(age)
        or age < 0
    ):
        fail("minimum-release-age-days", f"must be a number of days >= 0 (got {age!r})")

    entries = raw.get("allow-advisories", [])
    if not isinstance(entries, list):
        fail("allow-advisories", "must be an array of tables {id, reason, until}")
    waivers = tuple(
        _waiver(entry, f"allow-advisories[{i}]", fail) for i, entry in enumerate(entries)
    )

    data_age = raw.get("max-advisory-age-days", 30)
    if not isinstance(data_age, int) or isinstance(data_age, bool) or data_age < 0:
        fail("max-advisory-age-days", f"must be a whole number of days >= 0 (got {data_age!r})")

    allowed = raw.get("allowed-indexes")
    if allowed is not None and (
        not isinstance(allowed, list) or not all(isinstance(a, str) and a for a in allowed)
    ):
        fail("allowed-indexes", "must be an array of index URLs")

    exemptions = raw.get("cooldown-exemptions", [])
    if not isinstance(exemptions, list):
        fail("cooldown-exemptions", "must be an array of tables {package, reason, until}")
    return Policy(
        cooldown_exemptions=tuple(
            _exemption(entry, f"cooldown-exemptions[{i}]", fail)
            for i, entry in enumerate(exemptions)
        ),
        minimum_release_age_days=float(age),
        allow_prereleases=_project_names(raw.get("allow-prereleases", []), fail),
        waivers=waivers,
        max_advisory_age_days=data_age,
        allowed_indexes=tuple(allowed) if allowed is not None else None,
    )


def _project_names(allowed: Any, fail: _Fail) -> frozenset[str]:
    if not isinstance(allowed, list) or not all(isinstance(n, str) and n for n in allowed):
        fail("allow-prereleases", "must be an array of project names")
    names: set[str] = set()
    for i, name in enumerate(allowed):
        try:
            names.add(canonicalize_name(name, validate=True))
        except InvalidName:
            fail(f"allow-prereleases[{i}]", f"has {name!r}, which is not a valid project name")
    return frozenset(names)


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


def _exemption(entry: Any, key: str, fail: _Fail) -> CooldownExemption:
    if not isinstance(entry, dict):
        fail(key, "must be a table {package, reason, until}")
    for field in entry:
        if field not in _EXEMPTION_KEYS:
            fail(f"{key}.{field}", f"is not a known key (known: {', '.join(_EXEMPTION_KEYS)})")
    package = entry.get("package")
    if not isinstance(package, str) or not package.strip():
        fail(f"{key}.package", "is required: the project the cooldown lets through")
    try:
        name = canonicalize_name(package.strip(), validate=True)
    except InvalidName:
        fail(f"{key}.package", f"has {package!r}, which is not a valid project name")
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        fail(f"{key}.reason", "is required: an exemption says why the cooldown is skipped")
    until = _until(entry.get("until"), f"{key}.until", fail)
    if until is None:
        fail(f"{key}.until", "is required: a date like 2025-06-30, after which it expires")
    return CooldownExemption(package=name, reason=" ".join(reason.split()), until=until)


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
        return _as_utc(value)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time.max, tzinfo=dt.UTC)
    fail(key, f"must be a date like 2025-06-30 (got {value!r})")
