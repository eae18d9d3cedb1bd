"""OSV's advisory dump for PyPI: fetched only when it changed, verified before it is read.

Sits in the sources layer beside :mod:`.osv_import`, which reads the zip once it is on disk:
``advisor knowledge update`` (:mod:`advisor.knowledge.sources.osv_store`) calls :func:`fetch_dump`
with the :class:`DumpState` kept in the store by the last update (a conditional GET: ETag /
Last-Modified, 304 → nothing to do), then :func:`verify_dump`, so that a corrupt or truncated
download is refused before anything of it reaches the store. Network I/O goes through the
index client's :class:`~advisor.index.fetch.Fetcher` (passed in: retries, TLS trust store,
credentials), never through httpx here.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.errors import AdvisoryDumpInvalid, CacheError
from advisor.urls import redact_url

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from advisor.index.fetch import Fetcher

__all__ = [
    "DEFAULT_OSV_DUMP_URL",
    "DUMP_URL_ENV_VAR",
    "DumpFetch",
    "DumpState",
    "choose_dump_url",
    "dump_download_path",
    "fetch_dump",
    "verify_dump",
]

#: OSV's public per-ecosystem dump for PyPI (OSV's vulnerability storage bucket).
DEFAULT_OSV_DUMP_URL = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
#: the environment variable naming the dump's URL (between the option and the config file);
#: the composition root reads it and passes it to :func:`choose_dump_url`
DUMP_URL_ENV_VAR = "ADVISOR_OSV_DUMP_URL"

_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True, slots=True, kw_only=True)
class DumpState:
    """What is kept with the data about the dump it came from: the validators the server
    sent (for the next conditional GET) and the content's sha256 (a server without
    validators, or ``file://``, still gets "unchanged" when the bytes are the same)."""

    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {"etag": self.etag, "last-modified": self.last_modified, "sha256": self.sha256},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None) -> DumpState | None:
        """The state :meth:`to_json` wrote; ``None`` for nothing or unreadable bookkeeping
        (then the next update downloads the whole dump)."""
        try:
            data = json.loads(text) if text else None
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None

        def text_of(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        return cls(
            etag=text_of("etag"), last_modified=text_of("last-modified"), sha256=text_of("sha256")
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DumpFetch:
    """One fetch: ``changed`` is ``False`` when the dump is the one stored (304, or the same
    bytes), and then nothing is at ``dest``; ``state`` is what to keep once it is stored."""

    changed: bool
    state: DumpState
    size: int = 0


def fetch_dump(
    url: str,
    dest: Path,
    *,
    fetcher: Fetcher,
    previous: DumpState | None = None,
) -> DumpFetch:
    """Download the dump at ``url`` to ``dest`` unless it is the one ``previous`` describes.

    Sends ``previous``'s validators (a 304 means unchanged); a 200 whose bytes hash to
    ``previous.sha256`` is unchanged too (``dest`` is removed then); the download's progress
    goes to the fetcher's events. Raises
    :class:`~advisor.errors.IndexUnavailable` when the dump cannot be fetched (after the
    fetcher's retries). Cost: one conditional GET; the body streams to disk.
    """
    got = fetcher.download_if_changed(
        url,
        dest,
        etag=previous.etag if previous else None,
        last_modified=previous.last_modified if previous else None,
    )
    if not got.changed:  # a 304: validators were sent, so there was a previous state
        return DumpFetch(changed=False, state=previous or DumpState())
    state = DumpState(etag=got.etag, last_modified=got.last_modified, sha256=got.sha256)
    if previous is not None and previous.sha256 == got.sha256:
        dest.unlink(missing_ok=True)
        return DumpFetch(changed=False, state=state, size=got.size)
    return DumpFetch(changed=True, state=state, size=got.size)


def verify_dump(path: Path, *, url: str) -> int:
    """Check that ``path`` is a whole, readable zip holding OSV records (``.json``/``.yaml``
    members); returns how many. Every member is read and its CRC checked, so a truncated or
    corrupt download is refused here, before the store is touched. Raises
    :class:`~advisor.errors.AdvisoryDumpInvalid` naming ``url`` (without credentials).
    Cost: one decompression pass over the zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            records = sum(
                1 for m in archive.infolist() if not m.is_dir() and m.filename.endswith(_SUFFIXES)
            )
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise AdvisoryDumpInvalid(f"not a readable zip: {exc}", url=url) from exc
    if bad is not None:
        raise AdvisoryDumpInvalid(f"member {bad} is corrupt (CRC mismatch)", url=url)
    if not records:
        raise AdvisoryDumpInvalid("the zip holds no OSV records (.json or .yaml files)", url=url)
    return records


def choose_dump_url(
    url: str | None, *, from_env: str | None, configured: Callable[[], str | None]
) -> str:
    """The dump to fetch: ``url`` (the command line), else ``from_env`` (the environment
    variable), else ``configured()`` (the advisor configuration, read only when neither is
    given), else OSV's public PyPI dump; a blank value counts as none, and the chosen one is
    stripped."""
    for candidate in (url, from_env):
        if candidate and candidate.strip():
            return candidate.strip()
    return configured() or DEFAULT_OSV_DUMP_URL


def dump_download_path(folder: Path, url: str) -> Path:
    """Where the dump ``url`` is downloaded to in the cache ``folder`` (made when missing):
    one file per dump, named by the digest of the URL without its credentials. Raises
    :class:`~advisor.errors.CacheError` when the folder cannot be made."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(f"cannot create {folder}: {exc.strerror or exc}") from exc
    return folder / f"{hashlib.sha256(redact_url(url).encode()).hexdigest()[:16]}.zip"
