"""The lock's own record: what ``[tool.advisor]`` of a ``pylock.toml`` says about its making.

Sits beside :mod:`.pylock` at the output end of the data flow. ``advisor lock`` builds a
:class:`LockRecord` from what it was asked (inputs, options, index configuration, targets)
and :mod:`.pylock` writes its :meth:`~LockRecord.to_table`; reading a lock back
(:func:`~advisor.lockfile.pylock.read_pylock`) turns the table into a record again with
:meth:`~LockRecord.from_table`. ``advisor check`` recomputes the input digest from the
record alone (:meth:`~LockRecord.digest_fields`), and ``check --fix`` / ``advise`` rebuild
the request from it, so no other module reads or writes this table.

The table round-trips unchanged: what a record was read from, :meth:`~LockRecord.to_table`
gives back, key for key, including the tables this version does not interpret (the advice
search's ``advice``, a later version's keys), which are carried as read. That keeps the
digest of every lock an earlier version wrote as it was. Empty values are left out where
earlier versions left them out (``options`` and ``inputs``), and written where they wrote
them (``index``), since either choice is part of the digest.

The advice's and the fix's tables, outside the digest, are :mod:`.advice_record`'s (and
re-exported here); each table is read through :class:`~.table_reader.TableReader`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import LockfileError
from advisor.lockfile.advice_record import AdviceRecord, FixRecord
from advisor.lockfile.table_reader import TableReader, toml_number

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "AdviceRecord",
    "FixRecord",
    "IndexRecord",
    "InputsRecord",
    "LockRecord",
    "OptionsRecord",
    "TargetRecord",
]

_PREFIX = "tool.advisor"


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexRecord:
    """``[tool.advisor.index]``: where the lock's packages came from, without credentials.

    Every key is always written, an empty list or table included (the digest has always
    covered them so); a table without one is refused.
    """

    indexes: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    strategy: str = "first-index"
    pinned: Mapping[str, str] = field(default_factory=dict)  # project → index URL
    other: Mapping[str, object] = field(default_factory=dict)  # keys not known here

    @classmethod
    def from_table(cls, table: object, *, source: str) -> IndexRecord:
        read = TableReader(table, source=source, where=f"{_PREFIX}.index")
        return cls(
            indexes=read.strings("indexes", required=True),
            find_links=read.strings("find-links", required=True),
            strategy=read.string("strategy"),
            pinned=read.string_table("pinned"),
            other=read.other(_INDEX_KEYS),
        )

    def to_table(self) -> dict[str, Any]:
        return {
            "indexes": list(self.indexes),
            "find-links": list(self.find_links),
            "strategy": self.strategy,
            "pinned": dict(self.pinned),
            **self.other,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetRecord:
    """One ``[[tool.advisor.targets]]`` entry: a runtime environment the lock is for, by the
    fields that shape a resolution. ``None`` fields are not written (nor were they ever)."""

    name: str | None = None
    python_version: str | None = None
    implementation: str | None = None
    abi: str | None = None
    platform: str | None = None
    libc: str | None = None
    libc_version: str | None = None
    cuda_version: str | None = None  # only when asked for: it shapes the lock
    other: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_table(cls, table: object, *, source: str, where: str) -> TargetRecord:
        read = TableReader(table, source=source, where=where)
        return cls(
            name=read.optional_string("name"),
            python_version=read.optional_string("python_version"),
            implementation=read.optional_string("implementation"),
            abi=read.optional_string("abi"),
            platform=read.optional_string("platform"),
            libc=read.optional_string("libc"),
            libc_version=read.optional_string("libc_version"),
            cuda_version=read.optional_string("cuda_version"),
            other=read.other(_TARGET_KEYS),
        )

    def to_table(self) -> dict[str, Any]:
        table = {key: getattr(self, key) for key in _TARGET_KEYS}
        return {**{k: v for k, v in table.items() if v is not None}, **self.other}


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionsRecord:
    """``[tool.advisor.options]``: the resolution options that shape a lock.

    ``pre`` and ``no-build`` are always written (a table without them is refused); the
    others only when set (an empty list or text is left out), as every earlier version did.
    ``exclude_newer`` is the recorded ISO 8601 text, kept as written; ``cooldown_days`` the
    ``--cooldown`` (``cooldown-days``, a number; a whole one is written as an integer);
    ``workload`` the workload a performance advice was optimised for (``advise --workload``),
    so a lock made without one keeps the digest it had.
    """

    pre: bool = False
    pre_packages: tuple[str, ...] = ()
    only_binary: tuple[str, ...] = ()
    no_build: bool = False
    exclude_newer: str | None = None
    cooldown_days: float | None = None
    workload: str | None = None
    other: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def made_with(
        cls,
        *,
        pre: bool,
        pre_packages: Iterable[str],
        only_binary: Iterable[str],
        no_build: bool,
        exclude_newer: datetime | None,
        cooldown_days: float | None = None,
        workload: str | None = None,
    ) -> OptionsRecord:
        """The record of a lock made with these options (lists sorted, the time in ISO 8601,
        the workload's name lower-cased)."""
        return cls(
            pre=pre,
            pre_packages=tuple(sorted(pre_packages)),
            only_binary=tuple(sorted(only_binary)),
            no_build=no_build,
            exclude_newer=exclude_newer.isoformat() if exclude_newer else None,
            cooldown_days=cooldown_days,
            workload=workload.strip().lower() if workload else None,
        )

    def exclude_newer_time(self) -> datetime | None:
        """The recorded ``exclude-newer`` as an aware time (UTC when it names no zone);
        raises :class:`LockfileError` naming the key when it is not ISO 8601."""
        if self.exclude_newer is None:
            return None
        try:
            stamp = datetime.fromisoformat(self.exclude_newer.replace("Z", "+00:00"))
        except ValueError:
            raise LockfileError(
                f"[{_PREFIX}.options] exclude-newer: {self.exclude_newer!r} is not an ISO 8601 time"
            ) from None
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)

    @classmethod
    def from_table(cls, table: object, *, source: str) -> OptionsRecord:
        read = TableReader(table, source=source, where=f"{_PREFIX}.options")
        return cls(
            pre=read.boolean("pre"),
            pre_packages=read.strings("pre-packages"),
            only_binary=read.strings("only-binary"),
            no_build=read.boolean("no-build"),
            exclude_newer=read.optional_string("exclude-newer") or None,
            cooldown_days=read.optional_number("cooldown-days"),
            workload=read.optional_string("workload") or None,
            other=read.other(_OPTION_KEYS),
        )

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            "pre": self.pre,
            "pre-packages": list(self.pre_packages),
            "only-binary": list(self.only_binary),
            "no-build": self.no_build,
            "exclude-newer": self.exclude_newer,
            "cooldown-days": toml_number(self.cooldown_days),
            "workload": self.workload,
        }
        # no empty values (False is kept): the record then survives a TOML round trip as is
        return {**{k: v for k, v in table.items() if v not in ("", [], None)}, **self.other}


@dataclass(frozen=True, slots=True, kw_only=True)
class InputsRecord:
    """``[tool.advisor.inputs]``: what the lock was made from, paths relative to the lock's
    folder (POSIX). ``requirements`` are the inputs' requirements and ``pip_constraints`` the
    requirements of pip's configured constraint files, both normalised and sorted. Empty
    values are not written."""

    files: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    pip_constraints: tuple[str, ...] = ()
    other: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def made_from(
        cls,
        files: Sequence[Path],
        *,
        lock_dir: Path,
        extras: Sequence[str] = (),
        groups: Sequence[str] = (),
        constraints: Sequence[Path] = (),
        overrides: Sequence[Path] = (),
        requirements: Iterable[str] = (),
        pip_constraints: Iterable[str] = (),
    ) -> InputsRecord:
        """The record of a lock in ``lock_dir`` made from these inputs: paths relative to
        ``lock_dir``; ``requirements`` and ``pip_constraints`` (normalised by the caller)
        sorted, once each. The constraints of pip's configuration are recorded by content:
        their files belong to the machine, and ``check`` must not need them."""

        def rel(path: Path) -> str:
            return Path(os.path.relpath(Path(path).resolve(), lock_dir)).as_posix()

        return cls(
            files=tuple(rel(p) for p in files),
            extras=tuple(extras),
            groups=tuple(groups),
            constraints=tuple(rel(p) for p in constraints),
            overrides=tuple(rel(p) for p in overrides),
            requirements=tuple(sorted(set(requirements))),
            pip_constraints=tuple(sorted(set(pip_constraints))),
        )

    @classmethod
    def from_table(cls, table: object, *, source: str) -> InputsRecord:
        read = TableReader(table, source=source, where=f"{_PREFIX}.inputs")
        return cls(
            files=read.strings("files"),
            extras=read.strings("extras"),
            groups=read.strings("groups"),
            constraints=read.strings("constraints"),
            overrides=read.strings("overrides"),
            requirements=read.strings("requirements"),
            pip_constraints=read.strings("pip-constraints"),
            other=read.other(_INPUT_KEYS),
        )

    def to_table(self) -> dict[str, Any]:
        table = {
            "files": list(self.files),
            "extras": list(self.extras),
            "groups": list(self.groups),
            "constraints": list(self.constraints),
            "overrides": list(self.overrides),
            "requirements": list(self.requirements),
            "pip-constraints": list(self.pip_constraints),
        }
        return {**{k: v for k, v in table.items() if v}, **self.other}


@dataclass(frozen=True, slots=True, kw_only=True)
class LockRecord:
    """``[tool.advisor]`` of a lock as one value.

    A field is ``None`` when the table does not hold it: a lock of another tool holds
    nothing, one of the first versions no ``options`` or ``inputs``. ``other`` holds the
    top-level entries this version does not interpret (the advice search's ``advice``),
    as read, so they are written back unchanged.
    """

    advisor_version: str | None = None
    input_digest: str | None = None
    recommendation: str | None = None
    index: IndexRecord | None = None
    targets: tuple[TargetRecord, ...] | None = None
    options: OptionsRecord | None = None
    inputs: InputsRecord | None = None
    other: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], *, source: str) -> LockRecord:
        """Read ``table`` (the parsed ``[tool.advisor]``). Raises :class:`LockfileError`
        naming ``source`` and the key for a value of the wrong type, or a missing key of
        what advisor always writes (every key of ``index``; ``pre`` and ``no-build`` of
        ``options``). Cost: linear in the table."""
        read = TableReader(table, source=source, where=_PREFIX)
        index, options, inputs = (read.optional(k) for k in ("index", "options", "inputs"))
        targets = read.optional_tables("targets")
        return cls(
            advisor_version=read.optional_string("advisor-version"),
            input_digest=read.optional_string("input-digest"),
            recommendation=read.optional_string("recommendation"),
            index=None if index is None else IndexRecord.from_table(index, source=source),
            targets=None
            if targets is None
            else tuple(
                TargetRecord.from_table(t, source=source, where=f"{_PREFIX}.targets[{i}]")
                for i, t in enumerate(targets)
            ),
            options=None if options is None else OptionsRecord.from_table(options, source=source),
            inputs=None if inputs is None else InputsRecord.from_table(inputs, source=source),
            other=read.other(_RECORD_KEYS),
        )

    def to_table(self) -> dict[str, Any]:
        """The ``[tool.advisor]`` table (TOML- and JSON-ready; ``None`` fields left out):
        for a record read from a table, what :meth:`from_table` read."""
        table: dict[str, Any] = {
            "advisor-version": self.advisor_version,
            "input-digest": self.input_digest,
            "recommendation": self.recommendation,
            "index": self.index.to_table() if self.index is not None else None,
            "targets": [t.to_table() for t in self.targets] if self.targets is not None else None,
            "options": self.options.to_table() if self.options is not None else None,
            "inputs": self.inputs.to_table() if self.inputs is not None else None,
        }
        return {**{k: v for k, v in table.items() if v is not None}, **self.other}

    def with_advice(self, advice: AdviceRecord | FixRecord | None) -> LockRecord:
        """This record with ``advice`` beside it (as ``advice``; a :class:`FixRecord` as
        ``fixed``, in place of any ``advice``; ``None``: unchanged)."""
        if advice is None:
            return self
        if isinstance(advice, FixRecord):
            rest = {k: v for k, v in self.other.items() if k not in ("advice", "fixed")}
            return dataclasses.replace(self, other={**rest, "fixed": advice.to_table()})
        return dataclasses.replace(self, other={**self.other, "advice": advice.to_table()})

    def digest_fields(self) -> dict[str, Any]:
        """What the record adds to the lock's input digest (the request adds the rest): the
        recorded index configuration, targets, recommendation and options as written (each
        ``None`` when not recorded), and the recorded requirements of pip's configured
        constraint files when there are any (a lock made without them keeps the digest it
        had). JSON-ready."""
        table = self.to_table()
        fields = {k: table.get(k) for k in ("index", "targets", "recommendation", "options")}
        configured = self.inputs.pip_constraints if self.inputs is not None else ()
        if configured:
            fields["pip-constraints"] = sorted(configured)
        return fields


_INDEX_KEYS = ("indexes", "find-links", "strategy", "pinned")
_TARGET_KEYS = (
    "name",
    "python_version",
    "implementation",
    "abi",
    "platform",
    "libc",
    "libc_version",
    "cuda_version",
)
_OPTION_KEYS = (
    "pre",
    "pre-packages",
    "only-binary",
    "no-build",
    "exclude-newer",
    "cooldown-days",
    "workload",
)
_INPUT_KEYS = (
    "files",
    "extras",
    "groups",
    "constraints",
    "overrides",
    "requirements",
    "pip-constraints",
)
_RECORD_KEYS = (
    "advisor-version",
    "input-digest",
    "recommendation",
    "index",
    "targets",
    "options",
    "inputs",
)
