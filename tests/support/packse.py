"""Load packse resolution scenarios (TOML) into fixture-index specs (test support).

A scenario file describes a tiny index (``[packages.NAME.versions."V"]``), the root
requirements, resolver options, the installation environment and the expected outcome.
:func:`load_scenario` turns one into a :class:`Scenario` whose ``projects`` feed
:func:`tests.support.index.build_index`; the functional resolver tests compare our result
with ``expected``.

Files per version (packse's rules, which the scenario descriptions rely on, e.g.
``local-used-without-sdist``: "no sdist and no compatible wheels"):

* ``sdist`` defaults to true: one ``.tar.gz`` unless ``sdist = false``;
* ``wheel`` defaults to true: one wheel per entry of ``wheel_tags`` (each may be a
  compressed tag set), or a single ``py3-none-any`` wheel when ``wheel_tags`` is absent;
  ``wheel = false`` means no wheel at all;
* ``requires`` → Requires-Dist; ``extras`` (``{extra: [requirement, ...]}``) →
  Provides-Extra plus ``extra == "..."`` requirements; ``yanked`` (bool, or a reason string)
  applies to every file of the version;
* ``requires_python`` defaults to packse's ``">=3.8"`` (``default_requires_python``) for
  every file; the root's ``requires_python`` is ``None`` when the file does not give one.

``environment.python`` is ``None`` when absent: packse's own default changed between
releases, so the caller decides (see :attr:`Scenario.target_python`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.support.index import FileSpec, Project, release

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

__all__ = [
    "Environment",
    "Expected",
    "ResolverOptions",
    "Scenario",
    "ScenarioError",
    "iter_scenarios",
    "load_scenario",
]

PACKSE_REQUIRES_PYTHON = ">=3.8"


class ScenarioError(ValueError):
    """A scenario file that cannot be read; names the file and the offending key."""

    def __init__(self, message: str, *, path: Path, key: str = "") -> None:
        where = f"{path}: {key}: " if key else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.key = key


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolverOptions:
    """``[resolver_options]``. ``other`` keeps keys this loader does not know, verbatim."""

    python: str | None = None
    python_platform: str | None = None
    prereleases: bool = False
    universal: bool = False
    resolution: str | None = None  # "highest" (None), "lowest", "lowest-direct"
    no_build: tuple[str, ...] = ()
    no_binary: tuple[str, ...] = ()
    required_environments: tuple[str, ...] = ()
    other: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Environment:
    python: str | None = None
    additional_python: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Expected:
    """``satisfiable``; ``packages`` = expected pins (name → version), possibly partial."""

    satisfiable: bool
    packages: Mapping[str, str] = field(default_factory=dict)
    explanation: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    name: str
    description: str
    path: Path
    requires: tuple[str, ...]
    requires_python: str | None
    projects: tuple[Project, ...]
    resolver_options: ResolverOptions
    environment: Environment
    expected: Expected
    testgen_disabled: bool = False

    @property
    def target_python(self) -> str | None:
        """The Python to resolve for: the resolver override, else the environment's."""
        return self.resolver_options.python or self.environment.python


def _table(data: Mapping[str, Any], key: str, path: Path) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ScenarioError("expected a table", path=path, key=key)
    return value


def _strings(data: Mapping[str, Any], key: str, path: Path, where: str = "") -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScenarioError("expected a list of strings", path=path, key=where + key)
    return tuple(value)


def _version_files(
    version: str, meta: Mapping[str, Any], *, path: Path, where: str, requires_python: str | None
) -> tuple[FileSpec, ...]:
    known = {"requires", "requires_python", "wheel_tags", "sdist", "wheel", "yanked", "extras"}
    known |= {"description"}
    if unknown := sorted(set(meta) - known):
        raise ScenarioError(f"unknown keys {unknown}", path=path, key=where)
    extras_table = _table(meta, "extras", path)
    extras = {e: _strings(extras_table, e, path, f"{where}.extras.") for e in extras_table}
    yanked = meta.get("yanked", False)
    if not isinstance(yanked, bool | str):
        raise ScenarioError("expected a boolean or a reason", path=path, key=f"{where}.yanked")
    tags = _strings(meta, "wheel_tags", path, where + ".") or ("py3-none-any",)
    return release(
        version,
        wheel_tags=tags if meta.get("wheel", True) else (),
        sdist=bool(meta.get("sdist", True)),
        requires_dist=_strings(meta, "requires", path, where + "."),
        requires_python=meta.get("requires_python", requires_python),
        yanked=yanked,
        extras=extras,
    )


def load_scenario(
    path: Path, *, default_requires_python: str | None = PACKSE_REQUIRES_PYTHON
) -> Scenario:
    """Read one scenario file. Raises :class:`ScenarioError` for unreadable or bad TOML."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(str(exc), path=path) from exc
    projects = []
    for name, package in _table(data, "packages", path).items():
        versions = _table(package, "versions", path)
        files: list[FileSpec] = []
        for version, meta in versions.items():
            where = f"packages.{name}.versions.{version!r}"
            if not isinstance(meta, dict):
                raise ScenarioError("expected a table", path=path, key=where)
            files += _version_files(
                version, meta, path=path, where=where, requires_python=default_requires_python
            )
        projects.append(Project(name=name, files=tuple(files)))
    root = _table(data, "root", path)
    opts = dict(_table(data, "resolver_options", path))
    env = _table(data, "environment", path)
    expected = _table(data, "expected", path)
    if not isinstance(expected.get("satisfiable"), bool):
        raise ScenarioError("expected a boolean", path=path, key="expected.satisfiable")
    lists = ("no_build", "no_binary", "required_environments")
    options = ResolverOptions(
        python=opts.pop("python", None),
        python_platform=opts.pop("python_platform", None),
        prereleases=bool(opts.pop("prereleases", False)),
        universal=bool(opts.pop("universal", False)),
        resolution=opts.pop("resolution", None),
        **{k: _strings(opts, k, path, "resolver_options.") for k in lists},
        other={k: v for k, v in opts.items() if k not in lists},
    )
    return Scenario(
        name=str(data.get("name", path.stem)),
        description=str(data.get("description", "")),
        path=path,
        requires=_strings(root, "requires", path, "root."),
        requires_python=root.get("requires_python"),
        projects=tuple(projects),
        resolver_options=options,
        environment=Environment(
            python=env.get("python"),
            additional_python=_strings(env, "additional_python", path, "environment."),
        ),
        expected=Expected(
            satisfiable=expected["satisfiable"],
            packages=dict(_table(expected, "packages", path)),
            explanation=expected.get("explanation"),
        ),
        testgen_disabled=bool(_table(data, "testgen", path).get("disable", False)),
    )


def iter_scenarios(folder: Path, *, category: str | None = None) -> Iterator[Scenario]:
    """Every ``<category>/<name>.toml`` under ``folder``, sorted by relative path."""
    pattern = f"{category}/*.toml" if category else "*/*.toml"
    for path in sorted(folder.glob(pattern)):
        yield load_scenario(path)
