"""The version of Stack Advisor, written once.

A leaf every layer may import (it imports nothing). ``pyproject.toml`` reads
:data:`__version__` from here (setuptools' dynamic ``version``, read statically, without
importing the package), so the wheel's metadata, ``advisor.__version__``, the lock's
``advisor-version``, the ``tool`` of every observation's provenance and the index client's
User-Agent all say the same, in a checkout as in an installed wheel.
"""

from __future__ import annotations

__all__ = ["TOOL", "USER_AGENT", "__version__"]

__version__ = "0.1.0"

#: The tool that made an observation, as its provenance records it.
TOOL = f"stack-advisor {__version__}"

#: The ``User-Agent`` header of every request to an index.
USER_AGENT = f"stack-advisor/{__version__}"
