"""Unpack what arrived into the files to probe: standard library only, no Django.

Something arrives (a web upload, an object sent straight to the bucket, an e-mail's parts)
and becomes `Piece`s. `unpack` opens every piece that holds others, with the first of
`UNPACKERS` that knows it, until only files are left; each keeps its own name, and one
that cannot be opened carries the reason (`skipped`, a code the probe step words for
people). An unpacker is a function `(piece) -> pieces | None`: None when the piece is not
its kind. Outlook's TNEF (winmail.dat) and zip archives are two such functions; a new kind
of wrapping (dashcam event folders) is one more in the list; nothing else changes.

An archive is opened only within bounds (members, total size, compression ratio, nesting,
member names): over one, the whole archive is skipped with the bound it broke.
"""

import contextlib
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from email.message import Message
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO

import tnefparse

from submissions import dashcam

# Forwarded messages inside forwarded messages: deeper than this is not an owner's mail.
MAX_DEPTH = 5
# Skip reasons (`Piece.skipped`).
TOO_DEEP = "too_deep"
TNEF_UNREADABLE = "tnef_unreadable"
TNEF_TOO_COMPLEX = "tnef_too_complex"  # with count, max
ARCHIVE_UNREADABLE = "archive_unreadable"
ARCHIVE_ENCRYPTED = "archive_encrypted"
ARCHIVE_TOO_MANY_MEMBERS = "archive_too_many_members"  # with count, max
ARCHIVE_TOO_LARGE = "archive_too_large"  # with size, max (bytes, uncompressed)
ARCHIVE_RATIO = "archive_ratio"  # with name, ratio, max
ARCHIVE_TOO_DEEP = "archive_too_deep"  # with max
ARCHIVE_BAD_NAME = "archive_bad_name"  # with name

# Bounds on one archive. Videos barely compress (a ratio near 1); text a few times.
# Files, where the files of one dashcam event count as one (dashcam.units): a full
# ten-minute event of six cameras is 62 files.
MAX_ARCHIVE_MEMBERS = 50
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024  # all members, uncompressed, held in memory
MAX_COMPRESSION_RATIO = 100
RATIO_CHECKED_FROM = 1024 * 1024  # smaller members may compress well: they cost nothing
MAX_ARCHIVE_NESTING = 2  # a zip inside a zip, not deeper
# tnefparse copies the rest of the stream at each attribute: its time grows with attributes
# times size (1,000 tiny attributes before a 20 MB file took 24 s). Outlook writes a few
# dozen, and about eight per attached file.
MAX_TNEF_ATTRIBUTES = 600
MAX_TNEF_COPIED_BYTES = 1024**3


@dataclass(frozen=True)
class Piece:
    """One file as it arrived, or as it came out of another one."""

    name: str  # its own file name as the sender gave it; "" if it had none
    content_type: str = ""  # as declared by the sender: a hint, never trusted
    # Where its bytes are: in memory (e-mail parts), on disk (a web upload), or a file
    # object read by ranges (an object sent straight to the bucket).
    data: bytes = field(default=b"", repr=False)
    path: Path | None = None
    file: IO[bytes] | None = field(default=None, repr=False)
    # Its name in private storage when it is already there (a direct upload).
    stored: str = ""
    # An e-mail attached to an e-mail (message/rfc822), as the parser read it.
    message: Message | None = field(default=None, repr=False, compare=False)
    skipped: str = ""  # why it is not probed; "" when it is
    # Figures for the reason (e.g. {"count": 120, "max": 50}), kept with it.
    details: dict = field(default_factory=dict, compare=False)
    # The archives (zip, TNEF) it came out of, outermost first, by their labels.
    inside: tuple[str, ...] = ()
    # The folder it sat in inside its archive ("TeslaCam/SentryClips/<event>"): dashcam.py
    # groups an event's files by it.
    folder: str = ""

    @property
    def label(self):
        """How to name it to people: its file name, else its type."""
        return self.name or self.content_type

    @property
    def where(self):
        """Its label, after those of the archives it came out of: "clips.zip › balade.mp4"."""
        return " › ".join([*self.inside, self.label])

    @property
    def archive_depth(self):
        return len(self.inside)

    def head(self, size=8) -> bytes:
        """Its first bytes, wherever they are."""
        if self.path is not None:
            try:
                with self.path.open("rb") as fh:
                    return fh.read(size)
            except OSError:  # a folder, a file gone: not an archive
                return b""
        if self.file is not None:
            with contextlib.suppress(Exception):
                self.file.seek(0)
                head = self.file.read(size)
                self.file.seek(0)
                return head
            return b""
        return self.data[:size]

    def suffix(self):
        return PurePosixPath(self.name.replace("\\", "/")).suffix.lower() if self.name else ""

    @property
    def stem(self):
        return PurePosixPath(self.name.replace("\\", "/")).stem if self.name else ""

    @property
    def size(self):
        if self.path is not None:
            return self.path.stat().st_size
        if self.file is not None:
            return getattr(self.file, "size", 0)
        return len(self.data)


def unpack(pieces: Iterable[Piece], *, depth=0) -> Iterator[Piece]:
    """The files inside `pieces`, in order: each either to probe or skipped with a reason."""
    for piece in pieces:
        if piece.skipped:  # already refused (e.g. an archive over a bound): a file as is
            yield piece
            continue
        for unpacker in UNPACKERS:
            inner = unpacker(piece)
            if inner is None:
                continue
            if depth >= MAX_DEPTH:
                yield replace(piece, skipped=TOO_DEEP)
            else:
                yield from unpack(inner, depth=depth + 1)
            break
        else:
            yield piece


# --------------------------------------------------------------------------- e-mail


def is_body_text(part: Message) -> bool:
    """The text a person wrote in the message itself (not a text file attached to it)."""
    return (
        part.get_content_maintype() == "text"
        and part.get_content_subtype() in ("plain", "html")
        and part.get_content_disposition() != "attachment"
        and not part.get_filename()
    )


def email_parts(message: Message) -> list[Piece]:
    """Every part of a message except its body text; attached messages stay whole."""
    pieces = []
    _walk(message, pieces)
    return pieces


def _walk(part: Message, pieces):
    if part.get_content_maintype() == "message" and part.is_multipart():
        pieces.append(
            Piece(name=_filename(part), content_type=part.get_content_type(), message=part)
        )
        return
    if part.is_multipart():
        for inner in part.iter_parts():
            _walk(inner, pieces)
        return
    if is_body_text(part):
        return
    try:
        data = part.get_payload(decode=True)
    except Exception:  # an undecodable part is simply no video
        data = None
    if data:  # an empty part is no file
        pieces.append(Piece(name=_filename(part), content_type=part.get_content_type(), data=data))


def label_of(part: Message) -> str:
    """The label (Piece.label) the piece of this e-mail part gets."""
    return Piece(name=_filename(part), content_type=part.get_content_type()).label


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        return ""
    # Raw 8-bit bytes in a header (UTF-8, as RFC 6532 allows) come back escaped.
    with contextlib.suppress(UnicodeError):
        name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(name.split())


# --------------------------------------------------------------------------- unpackers


def forwarded_message(piece: Piece) -> list[Piece] | None:
    """A forwarded e-mail (message/rfc822): its attachments, not its text."""
    if piece.message is None:
        return None
    return [
        inner_piece
        for inner in piece.message.get_payload() or []
        if isinstance(inner, Message)
        for inner_piece in email_parts(inner)
    ]


def skipped(piece: Piece, code: str, **details) -> list[Piece]:
    """The piece itself, skipped with a reason: an archive we refuse to open."""
    return [replace(piece, skipped=code, details=details)]


TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"


def tnef(piece: Piece) -> list[Piece] | None:
    """Outlook's rich-text wrapping (winmail.dat, application/ms-tnef): the files inside."""
    declared = piece.content_type in ("application/ms-tnef", "application/vnd.ms-tnef")
    if not (declared or piece.name.lower() == "winmail.dat" or piece.head(4) == TNEF_SIGNATURE):
        return None
    data = piece.data
    if not data and piece.path is not None and piece.size <= MAX_ARCHIVE_BYTES:
        data = piece.path.read_bytes()
    if data[:4] != TNEF_SIGNATURE:
        return skipped(piece, TNEF_UNREADABLE)
    count, copied = _tnef_cost(data)
    if count > MAX_TNEF_ATTRIBUTES or copied > MAX_TNEF_COPIED_BYTES:
        return skipped(piece, TNEF_TOO_COMPLEX, count=count, max=MAX_TNEF_ATTRIBUTES)
    if piece.archive_depth >= MAX_ARCHIVE_NESTING:
        return skipped(piece, ARCHIVE_TOO_DEEP, max=MAX_ARCHIVE_NESTING)
    try:
        parsed = tnefparse.TNEF(data, do_checksum=False)
        attachments = [(a.long_filename() or a.name, a.data) for a in parsed.attachments]
    except Exception:  # the library raises whatever its reads hit on damaged bytes
        return skipped(piece, TNEF_UNREADABLE)
    if len(attachments) > MAX_ARCHIVE_MEMBERS:
        return skipped(
            piece, ARCHIVE_TOO_MANY_MEMBERS, count=len(attachments), max=MAX_ARCHIVE_MEMBERS
        )
    inside = (*piece.inside, piece.label)
    return [
        Piece(name=_member_name(name), data=data, inside=inside)
        for name, data in attachments
        if data
    ]


def _tnef_cost(data: bytes) -> tuple[int, int]:
    """(attributes, bytes the library would copy) from the attribute headers alone.

    Each attribute (MS-OXTNEF 2.1.3.1): level (1 byte), id and type (2 + 2), length (4),
    the data, a checksum (2).
    """
    offset, count, copied = 6, 0, 0
    while offset + 12 < len(data):
        count += 1
        copied += len(data) - offset
        if count > MAX_TNEF_ATTRIBUTES or copied > MAX_TNEF_COPIED_BYTES:
            break
        length = int.from_bytes(data[offset + 5 : offset + 9], "little")
        offset += 11 + length
    return count, copied


ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/x-zip")


def zip_archive(piece: Piece) -> list[Piece] | None:
    """A zip archive: its files, within the bounds; else the archive skipped with the bound."""
    declared = piece.content_type in ZIP_TYPES or piece.suffix() == ".zip"
    # Office documents and e-books are zips too: an unnamed, untyped one is taken as a zip.
    unnamed = not piece.suffix() and piece.content_type in ("", "application/octet-stream")
    if not declared and not (unnamed and piece.head(4) == b"PK\x03\x04"):
        return None
    if piece.archive_depth >= MAX_ARCHIVE_NESTING:
        return skipped(piece, ARCHIVE_TOO_DEEP, max=MAX_ARCHIVE_NESTING)
    source = piece.path or piece.file
    if source is None:
        source = io.BytesIO(piece.data)
    try:
        with zipfile.ZipFile(source) as archive:
            return _members(piece, archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return skipped(piece, ARCHIVE_UNREADABLE)
    except RuntimeError:  # zipfile's word for a password-protected member
        return skipped(piece, ARCHIVE_ENCRYPTED)
    except NotImplementedError:  # a compression method we cannot read
        return skipped(piece, ARCHIVE_UNREADABLE)


def _members(piece, archive):
    infos = [info for info in archive.infolist() if not info.is_dir()]
    if len(infos) > MAX_ARCHIVE_MEMBERS * dashcam.MAX_EVENT_FILES:
        return skipped(piece, ARCHIVE_TOO_MANY_MEMBERS, count=len(infos), max=MAX_ARCHIVE_MEMBERS)
    count = sum(
        dashcam.units(
            [_member_name(info.filename) for info in infos],
            [_member_folder(info.filename) for info in infos],
        )
    )
    if count > MAX_ARCHIVE_MEMBERS:
        return skipped(piece, ARCHIVE_TOO_MANY_MEMBERS, count=count, max=MAX_ARCHIVE_MEMBERS)
    for info in infos:
        if not _safe_member_name(info.filename):
            return skipped(piece, ARCHIVE_BAD_NAME, name=info.filename[:200])
        if info.flag_bits & 0x1:
            return skipped(piece, ARCHIVE_ENCRYPTED)
    declared = sum(info.file_size for info in infos)
    if declared > MAX_ARCHIVE_BYTES:
        return skipped(piece, ARCHIVE_TOO_LARGE, size=declared, max=MAX_ARCHIVE_BYTES)
    for info in infos:
        if _ratio_too_high(info.file_size, info.compress_size):
            return skipped(
                piece,
                ARCHIVE_RATIO,
                name=_member_name(info.filename),
                ratio=info.file_size // max(info.compress_size, 1),
                max=MAX_COMPRESSION_RATIO,
            )
    inside = (*piece.inside, piece.label)
    members, total = [], 0
    for info in infos:
        # The sizes in the directory are the sender's word: read no more than they said.
        with archive.open(info) as fh:
            data = fh.read(info.file_size + 1)
        total += len(data)
        if len(data) > info.file_size or total > MAX_ARCHIVE_BYTES:
            return skipped(piece, ARCHIVE_TOO_LARGE, size=total, max=MAX_ARCHIVE_BYTES)
        if data:
            members.append(
                Piece(
                    name=_member_name(info.filename),
                    data=data,
                    inside=inside,
                    folder=_member_folder(info.filename),
                )
            )
    return members


def _ratio_too_high(size, compressed):
    return size >= RATIO_CHECKED_FROM and size > MAX_COMPRESSION_RATIO * max(compressed, 1)


def _safe_member_name(name: str) -> bool:
    """No absolute path, drive or `..`: a name that could point outside any folder is refused."""
    if not name or "\x00" in name:
        return False
    for flavour in (PurePosixPath(name), PureWindowsPath(name)):
        if flavour.is_absolute() or flavour.drive or flavour.root or ".." in flavour.parts:
            return False
    return True


def _member_folder(name: str) -> str:
    parent = PurePosixPath(" ".join(str(name).split()).replace("\\", "/")).parent
    return "" if str(parent) == "." else str(parent)[:300]


def _member_name(name: str) -> str:
    """A file's own name, without the folders it sat in inside its archive."""
    name = " ".join(str(name).split())
    return PurePosixPath(name.replace("\\", "/")).name[:200]


UNPACKERS = [forwarded_message, tnef, zip_archive]


def found_inside(pieces: Iterable[Piece]) -> dict[str, list[str]]:
    """What each archive held, by the archive's label (the reply names it)."""
    found = {}
    for piece in pieces:
        if piece.inside:
            found.setdefault(" › ".join(piece.inside), []).append(piece.label)
    return found
