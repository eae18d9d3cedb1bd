"""Lockfiles: render a resolution as ``pylock.toml`` or hashed ``requirements.txt``, read them back.

The output layer of the data flow (resolution → lockfile). Each format has its own module;
:mod:`.record` is the lock's own record (``[tool.advisor]``: inputs, options, index, targets,
digest), read and written only in this package; :mod:`.write` puts the text on disk
atomically, never replacing a link, device or FIFO.
"""

from __future__ import annotations

from advisor.lockfile.pylock import (
    InvalidLockToml,
    LockedPackage,
    LockedStack,
    LockMeta,
    TargetLike,
    is_pylock_text,
    load_pylock,
    lock_url,
    parse_pylock,
    read_pylock,
    render_pylock,
)
from advisor.lockfile.record import (
    IndexRecord,
    InputsRecord,
    LockRecord,
    OptionsRecord,
    TargetRecord,
)
from advisor.lockfile.requirements import (
    is_requirements_lock,
    read_requirements_lock,
    render_requirements,
    requirements_header,
)
from advisor.lockfile.write import write_atomic, write_output

__all__ = [
    "IndexRecord",
    "InputsRecord",
    "InvalidLockToml",
    "LockMeta",
    "LockRecord",
    "LockedPackage",
    "LockedStack",
    "OptionsRecord",
    "TargetLike",
    "TargetRecord",
    "is_pylock_text",
    "is_requirements_lock",
    "load_pylock",
    "lock_url",
    "parse_pylock",
    "read_pylock",
    "read_requirements_lock",
    "render_pylock",
    "render_requirements",
    "requirements_header",
    "write_atomic",
    "write_output",
]
