"""Unpack what arrived into the files to probe: standard library only, no Django.

Something arrives (a web upload, an object sent straight to the bucket, an e-mail's parts)
and becomes `Piece`s. `unpack` opens every piece that holds others, with the first of
`UNPACKERS` that knows it, until only files are left; each keeps its own name, and one
that cannot be opened carries the reason (`skipped`, a code the probe step words for
people). An unpacker is a function `(piece) -> pieces | None`: None when the piece is not
its kind. A new kind of wrapping (Outlook TNEF, zip archives, dashcam event folders) is one
more such function in the list; nothing else changes.
"""

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from email.message import Message
from pathlib import Path, PurePosixPath
from typing import IO

# Forwarded messages inside forwarded messages: deeper than this is not an owner's mail.
MAX_DEPTH = 5
# Skip reasons (`Piece.skipped`).
TOO_DEEP = "too_deep"


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

    @property
    def label(self):
        """How to name it to people: its file name, else its type."""
        return self.name or self.content_type

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


UNPACKERS = [forwarded_message]
