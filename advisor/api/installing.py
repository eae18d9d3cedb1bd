"""``advisor install``: install a pylock.toml with pip (``--require-hashes --no-deps``).

Part of the composition root: the installer (:mod:`advisor.install`) takes the interpreter,
the process environment and the progress sink as values; this module is where the CLI (and a
notebook) reach it.
"""

from __future__ import annotations

from advisor.install import InstalledFile, InstallResult, install_lock

__all__ = ["InstallResult", "InstalledFile", "install_lock"]
