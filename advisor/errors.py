"""Typed errors shared by every layer.

Each error carries the data a user needs (file and line, URL, causes) and the process
exit code the CLI turns it into. Only ``cli.py`` exits; lower layers raise these, translated
from third-party exceptions at the owning seam with ``raise ... from exc``.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "AdvisorError",
    "AdvisoryDumpInvalid",
    "BuildFailed",
    "BuildFailure",
    "CacheError",
    "ConfigError",
    "IndexUnavailable",
    "InputError",
    "InvalidOption",
    "InvalidRequirement",
    "LockfileError",
    "MetadataUnavailable",
    "NoViableStack",
    "UnsupportedRequirement",
    "UnusableCacheDir",
    "UnwritableOutput",
]


class AdvisorError(Exception):
    """Base class: a failure the user can act on. ``exit_code`` is what the CLI returns."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(AdvisorError):
    """A bad input file or option (exit code 2, like a usage error)."""

    exit_code = 2


class InvalidOption(InputError):
    """An option's value out of its range: ``option`` is its Python name (``time_limit``; the
    CLI names its flag), ``value`` the value given, ``expected`` what it must be."""

    def __init__(self, *, option: str, value: object, expected: str) -> None:
        super().__init__(f"{option} must be {expected}, not {value!r}")
        self.option = option
        self.value = value
        self.expected = expected


class InvalidRequirement(InputError):
    """A requirement that cannot be parsed; names the file and the 1-based line."""

    def __init__(self, reason: str, *, path: str, line: int, text: str = "") -> None:
        where = f"{path}:{line}" if line else path
        detail = f": {text.strip()!r}" if text.strip() else ""
        super().__init__(f"{where}: invalid requirement{detail}: {reason}")
        self.reason = reason
        self.path = path
        self.line = line
        self.text = text


class UnsupportedRequirement(InvalidRequirement):
    """A requirement form we refuse on purpose (``git+`` URLs, ``-e`` editables)."""


class ConfigError(InputError):
    """Invalid ``[tool.advisor]``/``advisor.toml`` or pip configuration."""


class IndexUnavailable(AdvisorError):
    """A package index or file could not be read after retries. ``url`` has no credentials."""

    exit_code = 3

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(f"{message} ({url})")
        self.url = url


class AdvisoryDumpInvalid(AdvisorError):
    """A downloaded advisory dump that cannot be used (not a zip, a corrupt member, no
    advisory in it); nothing of it was stored, the advisories stored before are kept.
    ``url`` has no credentials; ``reason`` says what is wrong."""

    exit_code = 3

    def __init__(self, reason: str, *, url: str) -> None:
        super().__init__(
            f"{url}: the downloaded advisory dump is unusable ({reason});"
            " the advisories stored before are kept"
        )
        self.reason = reason
        self.url = url


class MetadataUnavailable(AdvisorError):
    """Core metadata of one distribution could not be obtained (fetch or sdist build)."""

    exit_code = 3

    def __init__(self, message: str, *, filename: str) -> None:
        super().__init__(f"{filename}: {message}")
        self.filename = filename


class BuildFailure(enum.Enum):
    """Why an sdist's metadata build failed. ``remembered`` classes are facts about the sdist
    on this build interpreter and are cached; the others depend on the moment."""

    TIMEOUT = "timeout"  # the per-build timeout passed
    BACKEND_FAILED = "backend-failed"  # the project's build backend raised or exited
    MISSING_BUILD_REQUIREMENT = "missing-build-requirement"  # pip found no such requirement
    UNPACK_ERROR = "unpack-error"  # the archive cannot be unpacked safely
    INVALID_SDIST = "invalid-sdist"  # no pyproject.toml/setup.py, bad config, no METADATA
    REQUIREMENTS_INSTALL = "requirements-install"  # pip failed otherwise (the network...)
    FRONT_END = "front-end"  # the build front end could not run (no ``build`` package...)
    TIME_LIMIT = "time-limit"  # stopped because the command's --time-limit was spent
    CANCELLED = "cancelled"  # stopped because the command was interrupted

    @property
    def remembered(self) -> bool:
        return self in _REMEMBERED


_REMEMBERED = frozenset(
    {
        BuildFailure.TIMEOUT,
        BuildFailure.BACKEND_FAILED,
        BuildFailure.MISSING_BUILD_REQUIREMENT,
        BuildFailure.UNPACK_ERROR,
        BuildFailure.INVALID_SDIST,
    }
)


class BuildFailed(MetadataUnavailable):
    """An sdist's metadata build failed; ``kind`` says how, ``cached`` that the failure was
    remembered from an earlier run (so no build ran this time)."""

    def __init__(
        self, message: str, *, filename: str, kind: BuildFailure, cached: bool = False
    ) -> None:
        super().__init__(message, filename=filename)
        self.kind = kind
        self.cached = cached


class CacheError(AdvisorError):
    """The cache directory cannot be used at all (not a corrupt entry: those are refetched)."""

    exit_code = 3


class UnusableCacheDir(InputError):
    """A cache directory the user chose (``--cache-dir``, ``ADVISOR_CACHE_DIR``) that cannot
    hold a cache: not a directory, or it cannot be created. ``reason`` says which."""

    def __init__(self, *, path: str, reason: str) -> None:
        super().__init__(
            f"cache directory {path} cannot be used: {reason} (set by --cache-dir or"
            " ADVISOR_CACHE_DIR; --no-cache runs without a cache)"
        )
        self.path = path
        self.reason = reason


class UnwritableOutput(InputError):
    """An output path (a lock, a report, an export) that cannot be written; ``reason`` is
    the operating system's (the path is left as it was)."""

    def __init__(self, *, path: str, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")
        self.path = path
        self.reason = reason


class LockfileError(AdvisorError):
    """A lockfile that cannot be read, validated or installed."""

    exit_code = 2


class NoViableStack(AdvisorError):
    """Resolution is impossible; ``causes`` are plain-language lines explaining why."""

    exit_code = 1

    def __init__(self, message: str, *, causes: Sequence[str] = ()) -> None:
        text = message if not causes else message + "\n" + "\n".join(causes)
        super().__init__(text)
        self.summary = message
        self.causes = tuple(causes)
