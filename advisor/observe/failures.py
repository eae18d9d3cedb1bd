"""Failure classes and log excerpts, read from pip's and Python's own output.

Sits between the subprocesses ``advisor observe install`` runs (pip, a fresh interpreter
importing a module) and the :class:`~advisor.knowledge.schema.BuildObservation` it records:
:func:`classify` names what went wrong in one word the advice can cite, :func:`excerpt`
keeps the last lines of the output with everything machine-specific taken out (URLs become
file names; home, temporary and other given directories become ``<home>``, ``<tmp>`` …), so
an observation can be shared without naming a host, a user or a path.

Classes, checked in this order (the first that matches wins; a build whose compiler failed
because of a missing header says both, and the header is the cause):

=====================  ==========================================================================
``timeout``            the step ran out of time (the caller says so)
``hash-mismatch``      pip: ``THESE PACKAGES DO NOT MATCH THE HASHES``
``no-compatible-file`` pip: ``No matching distribution found``, ``is not a supported wheel on
                       this platform``; the lock's selection: ``No wheel found matching``,
                       ``does not satisfy the Python version``, ``does not satisfy any of the
                       environments``
``headers-missing``    a compiler's ``fatal error: X.h: No such file or directory``
``compiler-missing``   ``error: command 'gcc' failed``, ``unable to execute 'gcc'``, ``No such
                       file or directory: 'cc'``, ``gcc: command not found``, MSVC required …
``import-error``       at import: a Python traceback, ``ImportError``, ``ModuleNotFoundError``
``unknown``            anything else
=====================  ==========================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "COMPATIBILITY_CLASSES",
    "FAILURE_CLASSES",
    "HashMismatch",
    "Stage",
    "classify",
    "classify_pair",
    "excerpt",
    "hash_mismatches",
]

Stage = Literal["install", "import"]

FAILURE_CLASSES: tuple[str, ...] = (
    "timeout",
    "hash-mismatch",
    "no-compatible-file",
    "headers-missing",
    "compiler-missing",
    "import-error",
    "unknown",
)

_COMPILERS = r"(?:[\w./-]*(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+|cl\.exe|gfortran|cl))"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("hash-mismatch", re.compile(r"THESE PACKAGES DO NOT MATCH THE HASHES", re.I)),
    (
        "no-compatible-file",
        re.compile(
            r"No matching distribution found"
            r"|is not a supported wheel on this platform"
            r"|No wheel found matching"
            r"|does not satisfy the Python version requirement"
            r"|does not satisfy any of the environments"
            r"|Could not find a version that satisfies the requirement",
            re.I,
        ),
    ),
    (
        "headers-missing",
        re.compile(
            r"fatal error: [^\n:]+\.(?:h|hpp|hh|hxx)['\"]?: No such file or directory", re.I
        ),
    ),
    (
        "compiler-missing",
        re.compile(
            rf"error: command '{_COMPILERS}' failed"
            rf"|unable to execute '{_COMPILERS}'"
            rf"|No such file or directory: '{_COMPILERS}'"
            rf"|\b{_COMPILERS}: (?:command )?not found"
            r"|Microsoft Visual C\+\+ [\d.]+ or greater is required"
            r"|You need a C compiler",
            re.I,
        ),
    ),
)
_IMPORT_ERROR = re.compile(
    r"^Traceback \(most recent call last\):|^\w*(?:ImportError|ModuleNotFoundError)\b|^\w+Error: ",
    re.M,
)

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>)]+")
_TMP = re.compile(
    r"(?:/private)?/var/folders/[^\s'\"]+"
    r"|(?<![\w.])/(?:var/)?tmp/[^\s'\"]+"
    r"|[A-Za-z]:\\Users\\[^\\\s]+\\AppData\\Local\\Temp\\[^\s'\"]+"
)
_HOME = re.compile(r"(?<![\w.])(?:/home/|/Users/|/root/)[^\s'\"]+|(?<![\w.])/root\b")
_TRAILING = ":,;.)]"


def classify(output: str, *, stage: Stage, timed_out: bool) -> str:
    """The failure class of one failed step (one of :data:`FAILURE_CLASSES`).

    ``output`` is the step's combined stdout and stderr; ``stage`` says whether pip was
    installing or a fresh interpreter was importing; ``timed_out`` wins over any text.
    """
    if timed_out:
        return "timeout"
    for name, pattern in _PATTERNS:
        if pattern.search(output):
            return name
    if stage == "import" and _IMPORT_ERROR.search(output):
        return "import-error"
    return "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class HashMismatch:
    """One file pip refused: the project ``name`` it was for (as pip wrote it), the file's
    name, the digests the requirements expected and the one the file had (hex)."""

    name: str
    filename: str
    expected: tuple[str, ...]
    got: str


_MISMATCH_HEADER = "DO NOT MATCH THE HASHES"
_ENTRY = re.compile(r"^\s+(?P<name>[A-Za-z0-9][\w.\-]*)\s*(?:==|@|\s).*?\bfrom (?P<where>\S+)")
_EXPECTED = re.compile(r"^\s*Expected\s+(?:or|\w+)\s+(?P<hex>[0-9a-fA-F]{32,})\s*$")
_BUILDKIT_PREFIX = re.compile(r"^#\d+ \d+(?:\.\d+)? ")  # docker's plain progress: "#9 1.234 "
_GOT = re.compile(r"^\s*Got\s+(?P<hex>[0-9a-fA-F]{32,})\s*$")


def hash_mismatches(output: str) -> tuple[HashMismatch, ...]:
    """The files pip's ``THESE PACKAGES DO NOT MATCH THE HASHES`` list names, in its order;
    empty when ``output`` has no such list. An entry pip gave no ``Got`` digest for is left
    out (nothing ties the fault to the file's bytes)."""
    _, sep, listing = output.partition(_MISMATCH_HEADER)
    if not sep:
        return ()
    found: list[HashMismatch] = []
    name = filename = got = ""
    expected: list[str] = []

    def close() -> None:
        if name and filename and got:
            found.append(HashMismatch(name=name, filename=filename, expected=tuple(expected),
                                      got=got))  # fmt: skip

    for raw in listing.splitlines()[1:]:
        line = _BUILDKIT_PREFIX.sub("", raw)
        if (match := _EXPECTED.match(line)) is not None:
            expected.append(match["hex"].lower())
        elif (match := _GOT.match(line)) is not None:
            got = match["hex"].lower()
        elif (match := _ENTRY.match(line)) is not None:
            close()
            where = match["where"].rstrip(":,)").split("#", 1)[0]
            name, filename, got, expected = match["name"], re.split(r"[/\\]", where)[-1], "", []
        elif line.strip():
            break  # the list is over (pip's next message)
    close()
    return tuple(found)


#: The classes of a failed pair of releases (see :func:`classify_pair`), in checking order.
COMPATIBILITY_CLASSES: tuple[str, ...] = (
    "timeout",
    "abi-mismatch",
    "crash",
    "import-error",
    "smoke-error",
)

# What NumPy and extensions built against another NumPy ABI say, whichever way round: a
# Cython extension's "numpy.dtype size changed" (built against NumPy 2, run with 1.x),
# NumPy 2's banner for a module built against 1.x, the C-API import failing after it, and
# NumPy's own ABI version check.
_ABI = re.compile(
    r"numpy\.dtype size changed"
    r"|compiled using NumPy 1\.x cannot be run in\s+NumPy 2"
    r"|numpy\.core\.multiarray failed to import"
    r"|_ARRAY_API not found"
    r"|module compiled against (?:ABI|API) version \S+ but this version of numpy is",
    re.I,
)


def classify_pair(
    output: str, *, returncode: int | None, timed_out: bool, imported: bool
) -> str | None:
    """The class of a pair's import and smoke run, ``None`` when it worked.

    ``returncode`` is the process's (negative: killed by that signal); ``imported`` says
    the imports finished before the smoke probe ran. Checked in order: ``timeout``;
    ``abi-mismatch`` when the output carries one of NumPy's ABI messages, even with exit
    code 0 (NumPy's banner says the module "cannot be run" and may crash later); ``crash``
    for a signal; ``import-error`` when the imports did not finish; ``smoke-error`` when
    the probe failed after them.
    """
    if timed_out:
        return "timeout"
    if _ABI.search(output):
        return "abi-mismatch"
    if returncode is not None and returncode < 0:
        return "crash"
    if returncode == 0:
        return None
    return "smoke-error" if imported else "import-error"


def _file_name(match: re.Match[str]) -> str:
    url = match.group(0).rstrip(_TRAILING)
    tail = match.group(0)[len(url) :]
    path = url.split("#", 1)[0].split("?", 1)[0].rstrip("/")
    name = path.rsplit("/", 1)[-1]
    if "://" in path and path.count("/") <= 2:  # nothing but a host: say nothing of it
        name = "<url>"
    return name + tail


def _shorten(label: str, path: str) -> str:
    """``<label>/…/<last part>`` for a path under a machine-specific directory."""
    stripped = path.rstrip(_TRAILING)
    tail = path[len(stripped) :]
    parts = [p for p in re.split(r"[/\\]", stripped) if p]
    last = parts[-1] if parts else ""
    return f"{label}/…/{last}{tail}" if last else f"{label}{tail}"


def excerpt(output: str, *, limit: int = 20, replace: Mapping[str, str] | None = None) -> str:
    """The last ``limit`` non-blank lines of ``output``, safe to store and share.

    ``replace`` maps known directories (the venv, the lock's folder, the home directory,
    the interpreter's prefix) to placeholders such as ``<venv>``; longer prefixes are
    replaced first. Then URLs become their file names, and paths under temporary or home
    directories become ``<tmp>/…/NAME`` and ``<home>/…/NAME``. Trailing spaces are dropped.
    """
    text = output
    for prefix, label in sorted((replace or {}).items(), key=lambda kv: -len(kv[0])):
        if prefix and len(prefix) > 1:
            text = text.replace(prefix, label)
    text = _URL.sub(_file_name, text)
    text = _TMP.sub(lambda m: _shorten("<tmp>", m.group(0)), text)
    text = _HOME.sub(lambda m: _shorten("<home>", m.group(0)), text)
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-limit:]) if limit > 0 else ""
