"""What an interpreter has installed: each distribution's version and top-level modules.

Shared by both observations that run code in a measured environment: ``observe install``
(:mod:`advisor.observe.install` imports every top-level module of the installed lock) and
``observe bench`` (:mod:`advisor.observe.bench` times the imports and names a probe's
distribution). The listing runs *in* that interpreter, which need not have ``advisor``
installed, so the script below uses the standard library only. A distribution's modules come
from its ``top_level.txt`` when it has one, else from the first part of each path in its
``RECORD``; private names (``_foo``) and non-identifiers are left out.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from advisor.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["InstalledDistribution", "installed_distributions"]

# Prints {name: {"version": ..., "modules": [...]}} for every distribution on sys.path.
_LIST_SCRIPT = r"""
import importlib.metadata as md, json
out = {}
for dist in md.distributions():
    name = dist.metadata["Name"]
    if not name:
        continue
    mods = set()
    top = dist.read_text("top_level.txt")
    if top:
        mods.update(line.strip() for line in top.splitlines() if line.strip())
    else:
        for f in dist.files or ():
            parts = f.parts
            if not parts or parts[0] == ".." or parts[0].endswith((".dist-info", ".data")):
                continue
            if len(parts) > 1 and "." not in parts[0]:
                mods.add(parts[0])
            elif len(parts) == 1 and parts[0].endswith(".py"):
                mods.add(parts[0][:-3])
            elif len(parts) == 1 and parts[0].endswith((".so", ".pyd")):
                mods.add(parts[0].split(".")[0])
    mods = sorted(m for m in mods if m.isidentifier() and not m.startswith("_"))
    out[name] = {"version": dist.version, "modules": mods}
print(json.dumps(out, sort_keys=True))
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class InstalledDistribution:
    """A distribution installed in the measured interpreter and its top-level modules."""

    name: str  # canonical
    version: str
    modules: tuple[str, ...]


def installed_distributions(
    python: str,
    *,
    timeout: float = 60.0,
    environ: Mapping[str, str] | None = None,
    isolated: bool = False,
) -> dict[str, InstalledDistribution]:
    """Canonical name → what ``python`` has installed, sorted by name.

    ``environ`` is the child's whole environment (``None``: this process's). ``isolated``
    runs it with ``-I`` (no current directory, user site or ``PYTHON*`` variables on its
    path), as an import check of a fresh venv wants. Cost: one interpreter start. Raises
    :class:`~advisor.errors.InputError` when the interpreter cannot be run, times out or
    prints no listing.
    """
    argv = [python, *(["-I"] if isolated else []), "-c", _LIST_SCRIPT]
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if environ is None else dict(environ),
            check=False,
        )
    except OSError as exc:
        raise InputError(f"{python}: cannot run this interpreter: {exc.strerror}") from exc
    except subprocess.TimeoutExpired:
        raise InputError(
            f"{python}: listing its installed distributions took over {timeout:g} s"
        ) from None
    try:
        data = json.loads(done.stdout) if done.returncode == 0 else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise InputError(f"{python}: cannot list its installed distributions")
    found: dict[str, InstalledDistribution] = {}
    for name, entry in sorted(data.items()):
        key = str(canonicalize_name(name))
        found[key] = InstalledDistribution(
            name=key, version=str(entry["version"]), modules=tuple(entry["modules"])
        )
    return found
