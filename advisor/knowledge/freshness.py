"""How current the store's advisory data is: recorded after each OSV import, read by checks.

Sits in the knowledge layer beside the stores, pure apart from the store's meta table and
its stats: the composition root records, after an import (``knowledge import-osv``,
``knowledge update``) has stored its advisories, how current they are; ``advisor check``
reads it back, with the count of every advisory held (uploaded and curated ones too), to
tell "no advisory data" from "data too old", and the server's dashboard shows it as the
advisories' freshness.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from advisor.knowledge.store import KnowledgeStore

__all__ = ["advisory_data", "record_advisory_data"]

# what `advisor check` reads to tell "no advisory data" and "data too old" apart
_IMPORTED_AT = "osv-imported-at"  # the day of the last import
_COUNT = "osv-advisories"  # how many it held then (older advisors read it; we count anew)
_AS_OF = "osv-data-as-of"  # how current the data of the last import is (see below)


def record_advisory_data(store: KnowledgeStore, *, as_of: dt.date, today: str) -> None:
    """Record, after an import has stored its advisories, how many the store holds and how
    current the imported data is: ``as_of`` is a dump's newest ``modified`` day (an old
    dump imported today is old), or the day of an API query (the API answers with what it
    knows then). Written after the data, so a crash in between only makes it look older."""
    count = sum(k.count for k in store.stats().kinds if k.kind == "advisory")
    store.set_meta(_IMPORTED_AT, today)
    store.set_meta(_COUNT, str(count))
    store.set_meta(_AS_OF, as_of.isoformat())


def advisory_data(store: KnowledgeStore) -> tuple[int, dt.date | None]:
    """How many advisories the store holds and how current they are (``None``: none held).

    Every advisory counts, however it came: an OSV import, an upload to the team server
    (``upload:<token>``), a curated folder. After an OSV import, the data is as current as
    that import recorded (uploads since do not make an old feed fresh); a store that was
    never imported (only a team's own advisories) is as current as its newest advisory's
    provenance date, its newest upload. A store imported by an older advisor has no
    recorded age: the newest provenance date of its advisories (a record's ``modified``)
    stands in for it. Cost: the store's stats (an index scan) and three meta reads."""
    kinds = {k.kind: k for k in store.stats().kinds}
    held = kinds.get("advisory")
    count = held.count if held is not None else 0
    if not count:
        return 0, None
    text = store.get_meta(_AS_OF) if store.get_meta(_IMPORTED_AT) else None
    if not text:
        text = held.newest if held is not None else None
        text = text or store.get_meta(_IMPORTED_AT)
    try:
        return count, dt.date.fromisoformat((text or "")[:10])
    except ValueError:
        return count, None
