"""The knowledge layer: typed observations, stores, loaders and graph views.

Sits above the index (release facts come from it) and below scoring and reports. Everything
here is an overlay: what is not known never blocks a resolution.
"""

from __future__ import annotations

__all__: list[str] = []
