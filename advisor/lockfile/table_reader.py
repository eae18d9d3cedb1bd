"""Reading one TOML table of a lock's record with types checked: the helper every record of
:mod:`advisor.lockfile.record` (and :mod:`advisor.lockfile.advice_record`) reads through.

Sits under the lock's record at the output end of the data flow; it decides nothing about
the record's meaning, only that each value has the type the record expects, and names the
lock and the key when it does not (:class:`~advisor.errors.LockfileError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from advisor.errors import LockfileError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["TableReader", "invalid_value", "toml_number"]


class TableReader:
    """One table being read: typed values by key, errors naming ``source`` and the key."""

    __slots__ = ("data", "source", "where")

    def __init__(self, table: object, *, source: str, where: str) -> None:
        if not isinstance(table, Mapping):
            raise invalid_value(source, where, "a table")
        self.data: Mapping[str, Any] = table
        self.source = source
        self.where = where

    def optional(self, key: str) -> object | None:
        return self.data.get(key)

    def _required(self, key: str) -> object:
        if key not in self.data:
            raise LockfileError(f"{self.source}: invalid lock at {self.where!r}: missing {key!r}")
        return self.data[key]

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}"

    def string(self, key: str) -> str:
        value = self._required(key)
        if not isinstance(value, str):
            raise invalid_value(self.source, self._path(key), "a string")
        return value

    def optional_string(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.string(key)

    def optional_number(self, key: str) -> float | None:
        """A number >= 0 (integer or float), or ``None`` when absent."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise invalid_value(self.source, self._path(key), "a number >= 0")
        return value

    def boolean(self, key: str) -> bool:
        value = self._required(key)
        if not isinstance(value, bool):
            raise invalid_value(self.source, self._path(key), "true or false")
        return value

    def strings(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        """An array of strings; ``()`` when absent and not ``required``."""
        value = self._required(key) if required else self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid_value(self.source, self._path(key), "an array of strings")
        return tuple(value)

    def string_table(self, key: str) -> dict[str, str]:
        value = self._required(key)
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            raise invalid_value(self.source, self._path(key), "a table of strings")
        return dict(value)

    def optional_tables(self, key: str) -> list[object] | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, list):
            raise invalid_value(self.source, self._path(key), "an array of tables")
        return value

    def other(self, known: Iterable[str]) -> dict[str, object]:
        """The entries not in ``known``, as read (they are written back as they are)."""
        skip = set(known)
        return {k: v for k, v in self.data.items() if k not in skip}


def toml_number(value: float | None) -> float | int | None:
    """A number as written: a whole one as an integer (``7``, not ``7.0``)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def invalid_value(source: str, where: str, expected: str) -> LockfileError:
    return LockfileError(f"{source}: invalid lock at {where!r}: expected {expected}")
