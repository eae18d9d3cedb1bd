"""Lockfiles: render a resolution as ``pylock.toml`` or hashed ``requirements.txt``, read them back.

The output layer of the data flow (resolution → lockfile). Each format has its own module;
:mod:`.write` puts the text on disk atomically, never replacing a link, device or FIFO.
"""

from __future__ import annotations

from advisor.lockfile.pylock import (
    LockedPackage,
    LockedStack,
    LockMeta,
    TargetLike,
    load_pylock,
    lock_url,
    parse_pylock,
    read_pylock,
    render_pylock,
)
from advisor.lockfile.requirements import (
    is_requirements_lock,
    read_requirements_lock,
    render_requirements,
)
from advisor.lockfile.write import write_atomic, write_output

__all__ = [
    "LockMeta",
    "LockedPackage",
    "LockedStack",
    "TargetLike",
    "is_requirements_lock",
    "load_pylock",
    "lock_url",
    "parse_pylock",
    "read_pylock",
    "read_requirements_lock",
    "render_pylock",
    "render_requirements",
    "write_atomic",
    "write_output",
]
