"""Geotags in MP4/MOV/3GP containers: where a phone or camera writes the place it recorded.

The shapes phones write, as MediaInfo, FFmpeg and Apache Tika read them:
- Android (MediaMuxer.setLocation), older iPhones, FFmpeg in MOV mode: a `©xyz` box in
  `moov/udta` holding an ISO 6709 string ("+48.8584+002.2945/").
- iPhones (AVFoundation): `moov/meta` with an `mdta` handler, a `keys` table and an `ilst`
  whose items are numbered by key: `com.apple.quicktime.location.ISO6709`, with
  `...location.accuracy.horizontal`, `...location.name`, `...location.date` and the like.
  FFmpeg with `movflags use_metadata_tags` writes a `location` key the same way.
- 3GPP (and FFmpeg): a `loci` box in `udta` (place name, longitude, latitude, altitude).
- iTunes-style `ilst` items named `©xyz`; XMP packets (`XMP_` in `udta`, or the XMP `uuid`
  box) holding GPS coordinates.

`remove_geotags` blanks them in place: each such box becomes a `free` box of the same size
(zero-filled), and a keys/ilst pair is rebuilt without its location keys and padded with a
`free` box. Nothing moves, so sample offsets (`stco`/`co64`), every stream (audio, timed
metadata), the rotation matrix, creation time and colour tags stay exactly as they were: a
faithful original, no remux. Pure functions on files; nothing from Django.

Written here because no maintained library fits: mutagen edits iTunes-style `ilst` items
only (not `mdta` keys, `©xyz` in `udta` or `loci`), and exiftool (a Perl program) writes a new
file, where intake blanks the boxes in the stream of bytes as it stores them.
"""

import contextlib
import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path

# Boxes whose children may hold a geotag.
CONTAINERS = {b"moov", b"trak", b"udta", b"meta", b"ilst"}
# Top-level boxes worth reading (the rest, mdat above all, are skipped by their size).
TOP_LEVEL = CONTAINERS | {b"uuid"}
DROPPED_BOXES = {b"\xa9xyz", b"loci"}
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
XMP_LOCATION = re.compile(rb"GPS(?:Latitude|Longitude|Coordinates|Position)|LocationCreated")
# mdta key names that say where: Apple's family, FFmpeg's `location` (and `location-eng`).
LOCATION_KEY = re.compile(r"^(?:com\.apple\.quicktime\.location\.|location(?:$|-)|\xa9xyz$)", re.I)
# A top-level box larger than this is no phone's moov: skipped (it would be held in memory).
MAX_MOOV = 512 * 1024 * 1024


@dataclass(frozen=True)
class Patch:
    """Bytes to write at `offset` (same length as what they replace); `removed` says what."""

    offset: int
    data: bytes
    removed: tuple[str, ...]


def free_box(size: int) -> bytes:
    """A `free` box filling exactly `size` bytes (at least 8)."""
    if size < 8:
        raise ValueError("a box takes at least 8 bytes")
    if size > 0xFFFFFFFF:
        return struct.pack(">I4sQ", 1, b"free", size) + bytes(size - 16)
    return struct.pack(">I4s", size, b"free") + bytes(size - 8)


def _boxes(data: bytes, start: int = 0, end: int | None = None):
    """(type, box start, payload start, box end) of each box in data[start:end]."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            if offset + 16 > end:
                return
            size, header = struct.unpack_from(">Q", data, offset + 8)[0], 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return  # damaged: leave the rest as it is
        yield kind, offset, offset + header, offset + size
        offset += size


def _name(kind: bytes) -> str:
    return kind.decode("latin-1")


def _patches_in(data: bytes, start: int, end: int, base: int, parent: bytes):
    """Patches for the boxes inside data[start:end] (file offset of data[0] is `base`)."""
    for kind, box, payload, box_end in _boxes(data, start, end):
        if kind in DROPPED_BOXES and parent in (b"udta", b"ilst"):
            yield Patch(base + box, free_box(box_end - box), (_name(kind),))
        elif kind == b"XMP_" and XMP_LOCATION.search(data, payload, box_end):
            yield Patch(base + box, free_box(box_end - box), ("XMP",))
        elif kind == b"uuid" and data[payload : payload + 16] == XMP_UUID:
            if XMP_LOCATION.search(data, payload + 16, box_end):
                yield Patch(base + box, free_box(box_end - box), ("XMP",))
        elif kind == b"meta":
            yield from _meta_patches(data, box, payload, box_end, base)
        elif kind in CONTAINERS:
            yield from _patches_in(data, payload, box_end, base, kind)


def _meta_patches(data, box, payload, box_end, base):
    # QuickTime's meta has no version/flags (its first child follows the header); ISO's has.
    children = payload if data[payload + 4 : payload + 8] == b"hdlr" else payload + 4
    found = {kind: (b, p, e) for kind, b, p, e in _boxes(data, children, box_end)}
    if b"keys" not in found or b"ilst" not in found:
        yield from _patches_in(data, children, box_end, base, b"meta")
        return
    rebuilt = _without_location_keys(data, found[b"keys"], found[b"ilst"])
    if rebuilt is None:
        yield from _patches_in(data, children, box_end, base, b"meta")
        return
    keys, ilst, removed = rebuilt
    head = data[box:children]
    body = bytearray()
    for kind, b, _p, e in _boxes(data, children, box_end):
        body += {b"keys": keys, b"ilst": ilst}.get(kind, data[b:e])
    size = box_end - box
    gap = size - len(head) - len(body)
    if gap < 8:  # a table laid out as no writer does (two `keys`): the whole meta goes
        yield Patch(base + box, free_box(size), removed)
        return
    yield Patch(base + box, head + bytes(body) + free_box(gap), removed)


def _without_location_keys(data, keys_box, ilst_box):
    """(keys, ilst, removed names) rebuilt without the location keys and their items;
    None when there are none (or the table does not parse)."""
    _b, payload, end = keys_box
    if payload + 8 > end:
        return None
    prefix, count = data[payload : payload + 4], struct.unpack_from(">I", data, payload + 4)[0]
    entries, offset = [], payload + 8
    for _ in range(count):
        if offset + 8 > end:
            return None
        size = struct.unpack_from(">I", data, offset)[0]
        if size < 8 or offset + size > end:
            return None
        entries.append(data[offset : offset + size])
        offset += size
    names = [entry[8:].decode("utf-8", "replace") for entry in entries]
    dropped = {index + 1 for index, name in enumerate(names) if LOCATION_KEY.match(name)}
    if not dropped:
        return None
    renumber, kept = {}, []
    for index, entry in enumerate(entries, start=1):
        if index not in dropped:
            kept.append(entry)
            renumber[index] = len(kept)
    keys_body = prefix + struct.pack(">I", len(kept)) + b"".join(kept)
    keys = struct.pack(">I4s", 8 + len(keys_body), b"keys") + keys_body
    items = bytearray()
    _b, ilst_payload, ilst_end = ilst_box
    for kind, b, _p, e in _boxes(data, ilst_payload, ilst_end):
        index = struct.unpack(">I", kind)[0]
        if index in dropped:
            continue
        if index in renumber:
            items += data[b : b + 4] + struct.pack(">I", renumber[index]) + data[b + 8 : e]
        else:
            items += data[b:e]
    ilst = struct.pack(">I4s", 8 + len(items), b"ilst") + bytes(items)
    removed = tuple(names[index - 1] for index in sorted(dropped))
    return keys, ilst, removed


def find_geotags(fh) -> list[Patch]:
    """The patches that would blank every geotag of the seekable binary file `fh` (an
    MP4/MOV/3GP; anything else has none). Reads only the metadata boxes, not the media."""
    fh.seek(0, 2)
    size = fh.tell()
    offset, patches = 0, []
    while offset + 8 <= size:
        fh.seek(offset)
        header = fh.read(16)
        if len(header) < 8:
            break
        box_size, kind = struct.unpack_from(">I4s", header)
        if box_size == 1 and len(header) == 16:
            box_size = struct.unpack_from(">Q", header, 8)[0]
        elif box_size == 0:
            box_size = size - offset
        if box_size < 8 or not re.fullmatch(rb"[\x20-\x7e\xa9]{4}", kind):
            break  # not an ISO/QuickTime box structure (a WebM, an AVI, garbage)
        if kind in TOP_LEVEL and box_size <= MAX_MOOV:
            fh.seek(offset)
            data = fh.read(box_size)
            patches += _patches_in(data, 0, len(data), offset, b"")
        offset += box_size
    return patches


def apply(patches, fh) -> None:
    """Write `patches` into the binary file `fh` opened for update."""
    for patch in patches:
        fh.seek(patch.offset)
        fh.write(patch.data)


def remove_geotags(path) -> tuple[str, ...]:
    """Blank every geotag of the file at `path`, in place; what was removed (empty: none,
    the file is untouched)."""
    with Path(path).open("r+b") as fh:
        patches = find_geotags(fh)
        apply(patches, fh)
    return tuple(name for patch in patches for name in patch.removed)


def without_geotags(data: bytes) -> bytes:
    """The bytes of an MP4/MOV with every geotag blanked (the same bytes when none)."""
    buffer = io.BytesIO(data)
    patches = find_geotags(buffer)
    if not patches:
        return data
    apply(patches, buffer)
    return buffer.getvalue()


def carries_geotags(path) -> bool:
    """Whether the file at `path` holds a container geotag. False for anything unreadable."""
    try:
        with Path(path).open("rb") as fh:
            return bool(find_geotags(fh))
    except OSError:
        return False


class Blanked(io.RawIOBase):
    """A seekable binary file read with patches laid over it: the cleaned file, without
    writing a copy. `size` is there for Django's File."""

    def __init__(self, fh, patches):
        super().__init__()
        self.fh, self.patches = fh, list(patches)
        self.size = fh.seek(0, io.SEEK_END)
        fh.seek(0)

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.fh.tell()

    def seek(self, offset, whence=io.SEEK_SET):
        return self.fh.seek(offset, whence)

    def readinto(self, buffer):
        start = self.fh.tell()
        count = self.fh.readinto(buffer)
        if not count:
            return count
        view = memoryview(buffer)
        for patch in self.patches:
            first, last = (
                max(start, patch.offset),
                min(start + count, patch.offset + len(patch.data)),
            )
            if first < last:
                view[first - start : last - start] = patch.data[
                    first - patch.offset : last - patch.offset
                ]
        return count


@contextlib.contextmanager
def opened_without_geotags(path):
    """The file at `path` opened for reading with its geotags blanked, and what was removed
    (empty: none, the file itself). `path` is never changed (it may be another name of an
    upload, a hard link): the blanks are laid over what is read."""
    with Path(path).open("rb") as fh:
        patches = find_geotags(fh)
        fh.seek(0)
        if not patches:
            yield fh, ()
            return
        yield Blanked(fh, patches), tuple(name for patch in patches for name in patch.removed)
