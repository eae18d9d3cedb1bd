"""Probe definitions: the family benchmarks, kept as data under ``knowledge/benchmarks/``.

First step of ``advisor observe bench``: :func:`load_probes` reads every ``*.toml`` file of a
benchmarks folder into :class:`Probe` values; :mod:`advisor.observe.bench` then runs the ones
whose ``requires`` are importable in the measured interpreter. A file holds one or more
``[[probe]]`` tables::

    [[probe]]
    name = "numpy.matmul-256"      # unique across the folder
    family = "numpy"               # the package the measurement is attributed to
    requires = ["numpy"]           # top-level modules that must import
    setup = "import numpy as np; a = np.ones((256, 256))"
    statement = "a @ a"
    number = 5                     # statement executions per timed sample
    repeat = 5                     # timed samples (the median is recorded)
    warmup = 1                     # untimed samples first
    unit = "s"                     # per statement execution
    metric = "median_time"
    workload = "matmul"            # what user code it stands for (advise --workload NAME)

A workload names what the user's code mostly does; ``advisor advise --workload NAME`` weighs
only its probes (:func:`workload_probes`). Without ``workload`` a probe's workload is its
name's middle part (``pandas.groupby-sum`` → ``groupby``). The workload
:data:`IMPORT_WORKLOAD` is built in: the import times of every module.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from advisor.observe.sweep import JobSpec

__all__ = [
    "IMPORT_WORKLOAD",
    "Probe",
    "chosen_probes",
    "job_probes",
    "load_probe_folders",
    "load_probes",
    "parse_probes",
    "select_probes",
    "workload",
    "workload_probes",
]

_KEYS = frozenset(
    "name family requires setup statement number repeat warmup unit metric workload".split()
)
#: The built-in workload of import times; its probe pattern matches ``import:MODULE``.
IMPORT_WORKLOAD = "import"
_IMPORT_PATTERN = "import:*"


@dataclass(frozen=True, slots=True, kw_only=True)
class Probe:
    """One family benchmark: ``setup`` once, then ``statement`` timed ``number`` times per
    sample, ``warmup`` untimed samples, ``repeat`` timed ones. ``workload`` is what it
    stands for; ``source`` names its file."""

    name: str
    family: str
    requires: tuple[str, ...]
    setup: str
    statement: str
    number: int = 1
    repeat: int = 5
    warmup: int = 1
    unit: str = "s"
    metric: str = "median_time"
    workload: str = ""
    source: str = ""


def _text(table: dict[str, Any], key: str, where: str, *, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or (key != "setup" and not value.strip()):
        raise InputError(f"{where}: {key!r} must be a non-empty string")
    return value


def _count(table: dict[str, Any], key: str, where: str, *, default: int, low: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(f"{where}: {key!r} must be an integer >= {low}")
    return value


def _probe(table: object, where: str, source: str) -> Probe:
    if not isinstance(table, dict):
        raise InputError(f"{where}: a probe must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}")
    requires = table.get("requires", [])
    if not isinstance(requires, list) or not all(
        isinstance(r, str) and r.isidentifier() for r in requires
    ):
        raise InputError(f"{where}: 'requires' must be a list of module names")
    setup = _text(table, "setup", where, default="")
    statement = _text(table, "statement", where)
    for label, code in (("setup", setup), ("statement", statement)):
        try:
            compile(code, f"{where}:{label}", "exec")
        except SyntaxError as exc:
            raise InputError(f"{where}: {label} is not valid Python: {exc.msg}") from exc
    return Probe(
        name=_text(table, "name", where),
        family=_text(table, "family", where),
        requires=tuple(requires),
        setup=setup,
        statement=statement,
        number=_count(table, "number", where, default=1, low=1),
        repeat=_count(table, "repeat", where, default=5, low=1),
        warmup=_count(table, "warmup", where, default=1, low=0),
        unit=_text(table, "unit", where, default="s"),
        metric=_text(table, "metric", where, default="median_time"),
        workload=_text(table, "workload", where, default=_default_workload(table, where)),
        source=source,
    )


def _default_workload(table: dict[str, Any], where: str) -> str:
    """``pandas.groupby-sum`` → ``groupby``: the name without its family and its variant."""
    name = _text(table, "name", where)
    return name.rpartition(".")[2].split("-")[0] or name


def parse_probes(text: str, *, source: str) -> tuple[Probe, ...]:
    """The probes of one TOML document; ``source`` names it in errors.
    Raises :class:`InputError` on bad TOML, keys, types or Python code."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: invalid TOML: {exc}") from exc
    tables = data.get("probe")
    if not isinstance(tables, list) or not tables:
        raise InputError(f"{source}: expected one or more [[probe]] tables")
    return tuple(_probe(t, f"{source}: probe {i + 1}", source) for i, t in enumerate(tables))


def load_probes(folder: Path) -> tuple[Probe, ...]:
    """Every probe of ``folder/*.toml`` (sorted by file, then file order). Raises
    :class:`InputError` when the folder is missing, a file is bad or a name repeats."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such benchmarks folder")
    out: list[Probe] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read: {exc}") from exc
        for probe in parse_probes(text, source=str(path)):
            if probe.name in seen:
                raise InputError(
                    f"{path}: probe {probe.name!r} is already defined in {seen[probe.name]}"
                )
            seen[probe.name] = str(path)
            out.append(probe)
    return tuple(out)


def load_probe_folders(folders: Iterable[Path]) -> tuple[Probe, ...]:
    """The probes of every folder of ``folders`` that exists (:func:`load_probes`), each
    folder read once, in the order given: the curated benchmarks and a project's."""
    return tuple(p for f in dict.fromkeys(folders) if f.is_dir() for p in load_probes(f))


def chosen_probes(benchmarks: Path | str | None, names: Iterable[str]) -> tuple[Probe, ...]:
    """The probes ``names`` selects (:func:`select_probes`; empty: all) in the folder
    ``benchmarks`` (``None`` or empty: the curated one, :mod:`advisor.knowledge.bundled`).
    Raises :class:`InputError` for a missing folder or a name that matches nothing."""
    from pathlib import Path

    from advisor.knowledge.bundled import default_benchmarks_dir

    folder = Path(benchmarks) if benchmarks else default_benchmarks_dir()
    return select_probes(load_probes(folder), names)


def job_probes(spec: JobSpec) -> tuple[Probe, ...]:
    """The probes a sweep job's ``spec`` selects in the benchmarks folder it names
    (:func:`chosen_probes`)."""
    return chosen_probes(spec.benchmarks, spec.probes)


def select_probes(probes: Iterable[Probe], names: Iterable[str]) -> tuple[Probe, ...]:
    """The probes named (a name, or a family selecting all of its probes); all when ``names``
    is empty. Raises :class:`InputError` for a name that matches nothing."""
    every = tuple(probes)
    wanted = tuple(names)
    if not wanted:
        return every
    known = {p.name for p in every} | {p.family for p in every}
    missing = [n for n in wanted if n not in known]
    if missing:
        raise InputError(
            f"unknown probe(s) {', '.join(missing)} (known: {', '.join(sorted(known))})"
        )
    return tuple(p for p in every if p.name in wanted or p.family in wanted)


def workload_probes(probes: Iterable[Probe], name: str) -> frozenset[str]:
    """The probe names (or, for :data:`IMPORT_WORKLOAD`, the pattern ``import:*``) of the
    workload ``name``. Raises :class:`InputError` naming the known workloads when no probe
    has it."""
    every = tuple(probes)
    wanted = name.strip().lower()
    if wanted == IMPORT_WORKLOAD:
        return frozenset({_IMPORT_PATTERN})
    found = frozenset(p.name for p in every if p.workload.lower() == wanted)
    if not found:
        known = sorted({p.workload for p in every} | {IMPORT_WORKLOAD})
        raise InputError(f"unknown workload {name!r} (known: {', '.join(known)})")
    return found


def workload(name: str, *, knowledge_dirs: Iterable[Path] = ()) -> tuple[str, frozenset[str]]:
    """The workload ``name`` as ``advise --workload`` weighs it: its name (stripped, lower
    case) and its probes (:func:`workload_probes`) in the curated benchmarks and in the
    ``benchmarks/`` folder of each of ``knowledge_dirs`` that has one. Raises
    :class:`InputError` naming the known workloads for an unknown name."""
    from advisor.knowledge.bundled import default_benchmarks_dir

    folders = [default_benchmarks_dir(), *(d / "benchmarks" for d in knowledge_dirs)]
    return name.strip().lower(), workload_probes(load_probe_folders(folders), name)
