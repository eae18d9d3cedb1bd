"""Benchmark tool adapters: how each resolver is called, and how its answer is read back.

Sits between ``compare.py`` (which times the runs) and the tools themselves. For each tool
one value builds the command line and the environment for one requirements file, one list
of package sources and one cache folder, and reads the resolved pins back from the file the
tool wrote. Every tool is isolated from the machine's configuration, so that all of them see
exactly the sources given on the benchmark's command line.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

__all__ = [
    "AdvisorTool",
    "Invocation",
    "PinDiff",
    "PipTool",
    "Sources",
    "Tool",
    "UvTool",
    "canonical_name",
    "diff_pins",
    "isolated_env",
    "strip_userinfo",
]

_SEPARATORS = re.compile(r"[-_.]+")
_UV_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@")


def canonical_name(name: str) -> str:
    """A project name as PEP 503 normalises it."""
    return _SEPARATORS.sub("-", name).lower()


def _canonical_version(version: str) -> str:
    """A version in its PEP 440 normal form when ``packaging`` can parse it, else as given."""
    try:
        from packaging.version import InvalidVersion, Version
    except ImportError:  # the benchmark also runs from an interpreter without packaging
        return version
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def strip_userinfo(url: str) -> str:
    """``url`` without ``user:password@``, for anything that is printed or written."""
    return _USERINFO.sub(r"\1", url)


def isolated_env(
    base: Mapping[str, str], *, drop_prefixes: Sequence[str], devnull: str
) -> dict[str, str]:
    """``base`` without variables that start with ``drop_prefixes``; pip's files disabled.

    ``PIP_CONFIG_FILE`` set to the null device makes pip (and the advisor, which reads pip's
    configuration the same way) load no configuration file at all.
    """
    env = {k: v for k, v in base.items() if not k.startswith(tuple(drop_prefixes))}
    env["PIP_CONFIG_FILE"] = devnull
    return env


@dataclass(frozen=True, slots=True, kw_only=True)
class Sources:
    """Where packages come from: index URLs (the first is primary) and find-links locations."""

    index_urls: tuple[str, ...]
    find_links: tuple[str, ...] = ()

    @property
    def merged(self) -> bool:
        """True when several sources exist, so tools must merge them as pip does."""
        return len(self.index_urls) + len(self.find_links) > 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Invocation:
    """One command to run: argv, its full environment, and the file its answer lands in."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    output: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class PinDiff:
    """How a tool's pins differ from pip's (empty everywhere means they agree)."""

    only_tool: tuple[str, ...] = ()
    only_pip: tuple[str, ...] = ()
    versions: tuple[tuple[str, str, str], ...] = ()  # (name, tool version, pip version)

    @property
    def agrees(self) -> bool:
        return not (self.only_tool or self.only_pip or self.versions)

    def summary(self, *, limit: int = 6) -> str:
        """A short one-line description for the table and the report."""
        if self.agrees:
            return "same pins"
        parts = [f"{n}: {t} vs pip {p}" for n, t, p in self.versions]
        parts += [f"+{n}" for n in self.only_tool]
        parts += [f"-{n}" for n in self.only_pip]
        more = f" (+{len(parts) - limit} more)" if len(parts) > limit else ""
        return "; ".join(parts[:limit]) + more


def diff_pins(tool: Mapping[str, str], pip: Mapping[str, str]) -> PinDiff:
    """Compare two ``{canonical name: version}`` maps; output is sorted, so deterministic."""
    return PinDiff(
        only_tool=tuple(sorted(set(tool) - set(pip))),
        only_pip=tuple(sorted(set(pip) - set(tool))),
        versions=tuple(
            (name, tool[name], pip[name])
            for name in sorted(set(tool) & set(pip))
            if tool[name] != pip[name]
        ),
    )


class Tool(Protocol):
    """A resolver under benchmark."""

    @property
    def name(self) -> str: ...

    def invocation(
        self, requirements: Path, *, sources: Sources, cache_dir: Path, output: Path
    ) -> Invocation:
        """The command that resolves ``requirements`` with ``cache_dir`` into ``output``."""
        ...

    def read_pins(self, output: Path) -> dict[str, str]:
        """``{canonical name: version}`` from the file :meth:`invocation` wrote."""
        ...

    def version_argv(self) -> tuple[str, ...]:
        """A command that prints the tool's version."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class PipTool:
    """``python -m pip install --dry-run --ignore-installed --report`` for the host target."""

    python: str
    env: Mapping[str, str]
    name: str = field(default="pip", init=False)

    def invocation(
        self, requirements: Path, *, sources: Sources, cache_dir: Path, output: Path
    ) -> Invocation:
        argv = [self.python, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
        argv += ["--disable-pip-version-check", "-q", "--report", str(output)]
        argv += ["-r", str(requirements), "--index-url", sources.index_urls[0]]
        for url in sources.index_urls[1:]:
            argv += ["--extra-index-url", url]
        for link in sources.find_links:
            argv += ["--find-links", link]
        argv += ["--cache-dir", str(cache_dir)]
        return Invocation(argv=tuple(argv), env=self.env, output=output)

    def read_pins(self, output: Path) -> dict[str, str]:
        report = json.loads(output.read_text(encoding="utf-8"))
        pins: dict[str, str] = {}
        for item in report.get("install", []):
            meta = item["metadata"]
            pins[canonical_name(meta["name"])] = _canonical_version(meta["version"])
        return pins

    def version_argv(self) -> tuple[str, ...]:
        return (self.python, "-m", "pip", "--version")


@dataclass(frozen=True, slots=True, kw_only=True)
class UvTool:
    """``uv pip compile`` for the host platform and the given Python version."""

    command: tuple[str, ...]
    python_version: str
    env: Mapping[str, str]
    name: str = field(default="uv", init=False)

    def invocation(
        self, requirements: Path, *, sources: Sources, cache_dir: Path, output: Path
    ) -> Invocation:
        argv = [*self.command, "pip", "compile", str(requirements), "-q"]
        argv += ["--index-url", sources.index_urls[0]]
        for url in sources.index_urls[1:]:
            argv += ["--extra-index-url", url]
        for link in sources.find_links:
            argv += ["--find-links", link]
        if sources.merged:
            argv += ["--index-strategy", "unsafe-best-match"]
        argv += ["--cache-dir", str(cache_dir), "--python-version", self.python_version]
        argv += ["-o", str(output)]
        return Invocation(argv=tuple(argv), env=self.env, output=output)

    def read_pins(self, output: Path) -> dict[str, str]:
        pins: dict[str, str] = {}
        for line in output.read_text(encoding="utf-8").splitlines():
            match = _UV_PIN.match(line)
            if match:
                pins[canonical_name(match[1])] = _canonical_version(match[2])
        return pins

    def version_argv(self) -> tuple[str, ...]:
        return (*self.command, "--version")


@dataclass(frozen=True, slots=True, kw_only=True)
class AdvisorTool:
    """``advisor lock`` writing a ``pylock.toml`` for the host target."""

    command: tuple[str, ...]
    env: Mapping[str, str]
    name: str = field(default="advisor", init=False)

    def invocation(
        self, requirements: Path, *, sources: Sources, cache_dir: Path, output: Path
    ) -> Invocation:
        argv = [*self.command, "lock", str(requirements), "-q"]
        argv += ["--index-url", sources.index_urls[0]]
        for url in sources.index_urls[1:]:
            argv += ["--extra-index-url", url]
        for link in sources.find_links:
            argv += ["--find-links", link]
        if sources.merged:
            argv += ["--index-strategy", "unsafe-best-match"]
        argv += ["--cache-dir", str(cache_dir), "-o", str(output)]
        return Invocation(argv=tuple(argv), env=self.env, output=output)

    def read_pins(self, output: Path) -> dict[str, str]:
        lock = tomllib.loads(output.read_text(encoding="utf-8"))
        pins: dict[str, str] = {}
        for package in lock.get("packages", []):
            if package.get("version"):
                pins[canonical_name(package["name"])] = _canonical_version(package["version"])
        return pins

    def version_argv(self) -> tuple[str, ...]:
        return (*self.command, "--version")
