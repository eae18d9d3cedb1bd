"""The advisor configuration: ``advisor.toml`` or ``[tool.advisor]`` in pyproject.toml.

Inputs layer, beside :mod:`advisor.request`: read once per command by :mod:`advisor.api`,
which combines it with command-line options (those win) and pip's configuration. Keys are
kebab-case, the same in both files (at the top level of ``advisor.toml``)::

    index-url = "https://packages.example/simple"
    extra-index-urls = ["https://mirror.example/simple"]
    find-links = ["./wheels"]
    index-strategy = "first-index"        # or "unsafe-best-match"
    recommendation = "stable"             # latest, stable, performance, security, testing
    exclude-newer = "2024-06-01T00:00:00Z"  # or a TOML date/datetime
    prerelease-packages = ["torch"]
    osv-dump-url = "https://mirror.example/osv/PyPI/all.zip"  # for `advisor knowledge update`

    [pinned-indexes]                      # project -> the only index it is taken from
    torch = "https://gpu-wheels.example/cu121"

    [environments.gpu]                    # a named target runtime environment
    python = "3.12"
    platform = "linux_x86_64"
    implementation = "cpython"
    cuda = "12.1"
    cpu-features = ["avx2"]

    [policy]                              # parsed by advisor.policy (see there)
    minimum-release-age-days = 7

Relative ``find-links`` paths are resolved against the configuration file's directory.
Every value is checked; a wrong one is a :class:`~advisor.errors.ConfigError` naming the
file and the dotted key.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, NoReturn

from packaging.utils import InvalidName, canonicalize_name

from advisor.errors import ConfigError
from advisor.models import IndexStrategy, RecommendationType
from advisor.policy import Policy, parse_policy

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = [
    "INDEX_STRATEGIES",
    "RECOMMENDATIONS",
    "AdvisorConfig",
    "EnvironmentSpec",
    "load_config",
    "parse_config",
]

INDEX_STRATEGIES: Final = tuple(s.value for s in IndexStrategy)
RECOMMENDATIONS: Final = tuple(r.value for r in RecommendationType)
_TOP_KEYS: Final = (
    "environments",
    "index-url",
    "extra-index-urls",
    "find-links",
    "index-strategy",
    "pinned-indexes",
    "recommendation",
    "exclude-newer",
    "prerelease-packages",
    "osv-dump-url",
    "policy",
)
_ENV_KEYS: Final = ("python", "platform", "implementation", "cuda", "cpu-features")
_PYTHON = re.compile(r"^\d+\.\d+(\.\d+)?$")
_CUDA = re.compile(r"^\d+(\.\d+){0,2}$")
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_URL = re.compile(r"^(https?|file)://", re.IGNORECASE)
_TOML_LINE = re.compile(r"at line (\d+)")


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvironmentSpec:
    """A named target runtime environment as configured (resolved later by the environment
    layer into a ``RuntimeEnvironment``); ``None`` means "like the host"."""

    name: str
    python: str | None = None
    platform: str | None = None
    implementation: str | None = None
    cuda: str | None = None
    cpu_features: tuple[str, ...] = ()


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class AdvisorConfig:
    """The validated configuration; the defaults mean "nothing configured".

    ``pinned_indexes`` maps canonical project names to the index URL they must come from.
    ``prerelease_packages`` holds canonical names. ``exclude_newer`` is an ISO 8601 date or
    datetime string. ``osv_dump_url`` is where ``advisor knowledge update`` downloads OSV's
    advisories from. ``policy`` is the parsed ``[policy]`` table. ``source`` is the file it was
    read from (``None`` when no configuration was found).
    """

    environments: Mapping[str, EnvironmentSpec] = field(default_factory=_empty)
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    index_strategy: IndexStrategy | None = None
    pinned_indexes: Mapping[str, str] = field(default_factory=_empty)
    recommendation: RecommendationType | None = None
    exclude_newer: str | None = None
    prerelease_packages: tuple[str, ...] = ()
    osv_dump_url: str | None = None
    policy: Policy = field(default_factory=Policy)
    source: str | None = None


def load_config(start: Path) -> AdvisorConfig:
    """Find and read the configuration that applies to the directory ``start``.

    Looks in ``start`` (its parent when ``start`` is a file), then each parent directory,
    stopping after a directory that holds ``.git`` or at the filesystem root. In each
    directory ``advisor.toml`` wins over ``pyproject.toml``; a pyproject.toml without a
    ``[tool.advisor]`` table does not count (the search goes on). Returns the empty
    :class:`AdvisorConfig` when nothing is found. Raises :class:`ConfigError`.
    Cost: a few ``stat`` calls per directory, one or two file reads.
    """
    start_dir = start.parent if start.is_file() else start
    here = start_dir.absolute()
    for directory in (here, *here.parents):
        candidate = directory / "advisor.toml"
        display = _display(candidate, start_dir=start_dir, here=here)
        if candidate.is_file():
            return parse_config(_read_toml(candidate, display), source=display, base=directory)
        candidate = directory / "pyproject.toml"
        display = _display(candidate, start_dir=start_dir, here=here)
        if candidate.is_file():
            tool = _read_toml(candidate, display).get("tool", {})
            if isinstance(tool, dict) and "advisor" in tool:
                table = tool["advisor"]
                if not isinstance(table, dict):
                    raise ConfigError(f"{display}: [tool.advisor] must be a table")
                return parse_config(table, source=display, base=directory, prefix="tool.advisor.")
        if (directory / ".git").exists():
            break
    return AdvisorConfig()


def parse_config(
    table: Mapping[str, Any], *, source: str, base: Path, prefix: str = ""
) -> AdvisorConfig:
    """Validate a configuration table read from ``source`` (``prefix`` is prepended to key
    names in messages, e.g. ``tool.advisor.``). ``base`` resolves relative find-links."""
    check = _Checker(source=source, prefix=prefix)
    check.known_keys(table, _TOP_KEYS, "")
    environments_table = check.table(table.get("environments", {}), "environments")
    environments = {
        name: _environment(check, name, spec) for name, spec in environments_table.items()
    }
    pinned_table = check.table(table.get("pinned-indexes", {}), "pinned-indexes")
    pinned = {
        check.project(name, "pinned-indexes"): check.url(url, f"pinned-indexes.{name}")
        for name, url in pinned_table.items()
    }
    find_links = tuple(
        value if _URL.match(value) else (base / value).absolute().as_uri()
        for value in check.strings(table.get("find-links"), "find-links")
    )
    index_url = table.get("index-url")
    osv_dump_url = table.get("osv-dump-url")
    strategy = check.choice(table.get("index-strategy"), "index-strategy", INDEX_STRATEGIES)
    recommendation = check.choice(table.get("recommendation"), "recommendation", RECOMMENDATIONS)
    return AdvisorConfig(
        environments=MappingProxyType(environments),
        index_url=None if index_url is None else check.url(index_url, "index-url"),
        extra_index_urls=tuple(
            check.url(u, f"extra-index-urls[{i}]")
            for i, u in enumerate(check.strings(table.get("extra-index-urls"), "extra-index-urls"))
        ),
        find_links=find_links,
        index_strategy=None if strategy is None else IndexStrategy(strategy),
        pinned_indexes=MappingProxyType(pinned),
        recommendation=None if recommendation is None else RecommendationType(recommendation),
        exclude_newer=check.timestamp(table.get("exclude-newer"), "exclude-newer"),
        prerelease_packages=tuple(
            dict.fromkeys(
                check.project(n, "prerelease-packages")
                for n in check.strings(table.get("prerelease-packages"), "prerelease-packages")
            )
        ),
        osv_dump_url=None if osv_dump_url is None else check.url(osv_dump_url, "osv-dump-url"),
        policy=parse_policy(
            check.table(table.get("policy", {}), "policy"), source=source, prefix=f"{prefix}policy."
        ),
        source=source,
    )


def _environment(check: _Checker, name: str, spec: Any) -> EnvironmentSpec:
    key = f"environments.{name}"
    if not _WORD.match(name):
        check.fail(key, "is not a valid environment name (letters, digits, '.', '_', '-')")
    table = check.table(spec, key)
    check.known_keys(table, _ENV_KEYS, f"{key}.")
    return EnvironmentSpec(
        name=name,
        python=check.pattern(table.get("python"), f"{key}.python", _PYTHON, 'like "3.12"'),
        platform=check.pattern(
            table.get("platform"), f"{key}.platform", _WORD, 'like "linux_x86_64"'
        ),
        implementation=check.pattern(
            table.get("implementation"), f"{key}.implementation", _WORD, 'like "cpython"'
        ),
        cuda=check.pattern(table.get("cuda"), f"{key}.cuda", _CUDA, 'like "12.1"'),
        cpu_features=tuple(check.strings(table.get("cpu-features"), f"{key}.cpu-features")),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Checker:
    """Type checks that raise :class:`ConfigError` naming ``source`` and the dotted key."""

    source: str
    prefix: str

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ConfigError(f"{self.source}: {self.prefix}{key} {problem}")

    def known_keys(self, table: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key.replace("_", "-"), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.fail(f"{where}{key}", f"is not a known key{hint} (known: {', '.join(known)})")

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(key, "must be a table")
        return value

    def strings(self, value: Any, key: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(key, "must be an array of non-empty strings")
        return value

    def url(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not _URL.match(value):
            self.fail(key, "must be a URL string (https://, http:// or file://)")
        return value

    def project(self, value: str, key: str) -> str:
        try:
            return canonicalize_name(value, validate=True)
        except InvalidName:
            self.fail(key, f"has {value!r}, which is not a valid project name")

    def choice(self, value: Any, key: str, choices: tuple[str, ...]) -> str | None:
        if value is not None and value not in choices:
            self.fail(key, f"must be one of {', '.join(choices)} (got {value!r})")
        return None if value is None else str(value)

    def pattern(self, value: Any, key: str, regex: re.Pattern[str], example: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not regex.match(value):
            self.fail(key, f"must be a string {example}")
        return value

    def timestamp(self, value: Any, key: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                dt.datetime.fromisoformat(value)
                return value
            except ValueError:
                pass
        self.fail(key, 'must be a date or datetime like "2024-06-01" or "2024-06-01T00:00:00Z"')


def _read_toml(path: Path, display: str) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{display}: cannot read: {exc}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        where = f"{display}:{match.group(1)}" if match else display
        raise ConfigError(f"{where}: invalid TOML: {exc}") from exc


def _display(candidate: Path, *, start_dir: Path, here: Path) -> str:
    """``candidate`` as the user would write it: under ``start_dir`` as given when it sits
    there, else absolute."""
    if candidate.parent == here:
        return (start_dir / candidate.name).as_posix()
    return candidate.as_posix()
