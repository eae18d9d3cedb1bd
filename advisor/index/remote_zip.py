"""METADATA out of a remote wheel by HTTP range reads: index → **metadata** → resolution.

Sits under :mod:`advisor.index.metadata`: after a suffix range request for the last
:data:`TAIL` bytes of a wheel, :class:`RemoteFile` serves further byte ranges (from the spans
already fetched when it can, else with one more range request), and the functions here find
the zip's central directory (zip64 aware), list its members and read one member, checked
against its CRC. Whatever the wheel's size, that is one to three requests of about 70 KiB.

:class:`RangeFailed` (and ``struct.error``/``zlib.error`` on a malformed zip) means "this
server or zip layout does not allow it": the caller then downloads the whole wheel. All
network access goes through :class:`~advisor.index.fetch.Fetcher`.
"""

from __future__ import annotations

import dataclasses
import re
import struct
import zipfile
import zlib
from typing import TYPE_CHECKING

from advisor.errors import MetadataUnavailable

if TYPE_CHECKING:
    from collections.abc import Iterable

    from advisor.index.fetch import Fetcher, Response
    from advisor.models import DistFile

__all__ = [
    "MAX_METADATA",
    "TAIL",
    "RangeFailed",
    "RemoteFile",
    "ZipMember",
    "iter_members",
    "locate_tail",
    "read_central_directory",
    "read_member",
]

# The first range read: the end-of-central-directory record with the longest zip comment
# (64 KiB), the zip64 locator and record; it usually holds the central directory and, as
# wheels put .dist-info last, METADATA itself.
TAIL = 68 * 1024
MAX_METADATA = 16 * 1024 * 1024  # a larger METADATA is garbage (or a zip bomb)

_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")


class RangeFailed(Exception):
    """A range read cannot go on (odd server or zip layout): download the whole wheel."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ZipMember:
    """One central directory entry: where a member's local header starts, how it is stored."""

    name: bytes
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    offset: int


class RemoteFile:
    """Byte ranges of one remote file, served from spans already fetched when possible.

    Not thread-safe: one instance lives inside one range read.
    """

    def __init__(self, fetcher: Fetcher, url: str, *, size: int, start: int, data: bytes) -> None:
        self._fetcher, self._url, self.size = fetcher, url, size
        self._spans: list[tuple[int, bytes]] = [(start, data)]

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` (``end`` clipped to the size); one request when not held."""
        end = min(end, self.size)
        if not 0 <= start <= end:
            raise RangeFailed(f"bad range {start}-{end}")
        for base, data in self._spans:
            if base <= start and end <= base + len(data):
                return data[start - base : end - base]
        for base, data in self._spans:  # the end is held already: fetch the missing head
            if start < base < end <= base + len(data):
                return self.read(start, base) + data[: end - base]
        resp = self._fetcher.get(self._url, headers={"Range": f"bytes={start}-{end - 1}"})
        if resp.status == 200 and len(resp.content) == self.size:
            self._spans.append((0, resp.content))
            return resp.content[start:end]
        match = _CONTENT_RANGE.match(resp.headers.get("content-range", ""))
        if resp.status != 206 or match is None or int(match[1]) != start:
            raise RangeFailed(f"HTTP {resp.status} to a range request")
        if len(resp.content) != end - start:
            raise RangeFailed("short range response")
        self._spans.append((start, resp.content))
        return resp.content


def _find_eocd(tail: bytes) -> int:
    """Offset in ``tail`` of the last end-of-central-directory record, or -1."""
    pos = len(tail) - _EOCD.size
    while pos >= 0:
        pos = tail.rfind(b"PK\x05\x06", 0, pos + 4)
        if pos < 0:
            break
        (comment,) = struct.unpack_from("<H", tail, pos + 20)
        if pos + _EOCD.size + comment <= len(tail):
            return pos
        pos -= 1
    return -1


def read_central_directory(remote: RemoteFile) -> bytes:
    """The zip's central directory, fetching the part the tail does not hold (zip64 aware)."""
    tail_start = max(0, remote.size - TAIL)
    tail = remote.read(tail_start, remote.size)
    pos = _find_eocd(tail)
    if pos < 0:
        raise RangeFailed("no end-of-central-directory record")
    _, _, _, _, _, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, pos)
    end = tail_start + pos
    if end >= _ZIP64_LOCATOR.size:
        locator = remote.read(end - _ZIP64_LOCATOR.size, end)
        sig, _, record_at, _ = _ZIP64_LOCATOR.unpack(locator)
        if sig == b"PK\x06\x07":
            record = remote.read(record_at, record_at + _ZIP64_EOCD.size)
            if len(record) != _ZIP64_EOCD.size or record[:4] != b"PK\x06\x06":
                raise RangeFailed("bad zip64 end-of-central-directory record")
            cd_size, cd_offset = _ZIP64_EOCD.unpack(record)[-2:]
            end = record_at
    if cd_offset + cd_size > end:
        raise RangeFailed("the central directory overlaps its end record")
    return remote.read(cd_offset, cd_offset + cd_size)


def _zip64_sizes(extra: bytes, size: int, csize: int, offset: int) -> tuple[int, int, int]:
    """Replace the 32-bit placeholders of a central entry from its zip64 extra field."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        pos += 4 + length
        if tag != 1:
            continue
        values = list(struct.unpack_from(f"<{len(body) // 8}Q", body))
        if size == 0xFFFFFFFF and values:
            size = values.pop(0)
        if csize == 0xFFFFFFFF and values:
            csize = values.pop(0)
        if offset == 0xFFFFFFFF and values:
            offset = values.pop(0)
    return size, csize, offset


def iter_members(central: bytes) -> Iterable[ZipMember]:
    """The entries of a central directory, in order (raises :class:`RangeFailed` when bad)."""
    pos = 0
    while pos + _CENTRAL.size <= len(central):
        fields = _CENTRAL.unpack_from(central, pos)
        if fields[0] != b"PK\x01\x02":
            raise RangeFailed("bad central directory entry")
        flags, method, crc, csize, size = fields[3], fields[4], fields[7], fields[8], fields[9]
        name_len, extra_len, comment_len, offset = fields[10], fields[11], fields[12], fields[16]
        start = pos + _CENTRAL.size
        name = central[start : start + name_len]
        extra = central[start + name_len : start + name_len + extra_len]
        pos = start + name_len + extra_len + comment_len
        size, csize, offset = _zip64_sizes(extra, size, csize, offset)
        yield ZipMember(
            name=name,
            flags=flags,
            method=method,
            crc=crc,
            compressed_size=csize,
            size=size,
            offset=offset,
        )


def read_member(remote: RemoteFile, member: ZipMember, *, filename: str) -> bytes:
    """The bytes of ``member``, inflated and CRC-checked (one request, two with a long local
    extra field). Raises :class:`~advisor.errors.MetadataUnavailable` naming ``filename``
    when it is larger than :data:`MAX_METADATA`, :class:`RangeFailed` when unreadable."""
    if member.flags & 1 or member.method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise RangeFailed("encrypted, or a compression this reader does not do")
    if member.size > MAX_METADATA:
        raise MetadataUnavailable(f"METADATA is too large ({member.size} bytes)", filename=filename)
    # One request for the local header and the data, with room for a local extra field.
    guess = _LOCAL.size + len(member.name) + 1024 + member.compressed_size
    head = remote.read(member.offset, member.offset + guess)
    if len(head) < _LOCAL.size:
        raise RangeFailed("truncated local header")
    local = _LOCAL.unpack_from(head)
    if local[0] != b"PK\x03\x04":
        raise RangeFailed("bad local header")
    start = member.offset + _LOCAL.size + local[9] + local[10]
    raw = remote.read(start, start + member.compressed_size)
    if member.method == zipfile.ZIP_STORED:
        data = raw
    else:  # bounded: a lying size in the central directory cannot inflate without end
        data = zlib.decompressobj(-15).decompress(raw, member.size + 1)
    if len(data) != member.size or zlib.crc32(data) != member.crc:
        raise RangeFailed("METADATA fails its CRC check")
    return data


def locate_tail(resp: Response, dist: DistFile) -> tuple[int, int] | None:
    """``(start, size)`` of a 206 answer to a suffix range request, when knowable."""
    match = _CONTENT_RANGE.match(resp.headers.get("content-range", ""))
    if match is not None and match[3] != "*":
        return int(match[1]), int(match[3])
    if len(resp.content) < TAIL:  # shorter than asked for: the whole file
        return 0, len(resp.content)
    if dist.size is not None and dist.size >= len(resp.content):
        return dist.size - len(resp.content), dist.size
    return None
