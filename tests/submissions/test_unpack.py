"""The unpacking step: what arrived becomes the files to probe, each named, with a reason when
it is skipped; a new kind of wrapping is one more unpacker."""

import email
from email import policy
from pathlib import Path

import pytest

from submissions import parse, unpack
from submissions.models import InboundEmail
from tests.factories import clip_mail, forwarded_mail, mail_message

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(64)


def forwarded(depth, video=VIDEO):
    """A forward of a forward... `depth` messages deep, the video in the innermost one."""
    inner = mail_message(subject="innermost")
    inner.add_attachment(video, maintype="video", subtype="mp4", filename="deep.mp4")
    for level in range(depth - 1):
        outer = mail_message(subject=f"Fwd {level}")
        outer.add_attachment(inner)
        inner = outer
    top = mail_message(subject="Fwd: top")
    top.add_attachment(inner)
    return top.as_bytes()


def test_an_uploaded_file_is_itself_the_file_to_probe(tmp_path):
    path = tmp_path / "IMG_0420.MOV"
    path.write_bytes(VIDEO)
    received = unpack.Piece(name="IMG_0420.MOV", content_type="video/quicktime", path=path)
    assert list(unpack.unpack([received])) == [received]


def test_plain_attachments_keep_their_names_and_the_body_text_is_not_a_file():
    parts = unpack.email_parts(email.message_from_bytes(clip_mail(VIDEO), policy=policy.default))
    assert [(p.name, p.content_type, p.data, p.skipped) for p in parts] == [
        ("balade.mp4", "video/mp4", VIDEO, "")
    ]


def test_a_forwarded_message_gives_its_attachments_not_its_text():
    parts = parse.parse(forwarded_mail(VIDEO)).parts
    assert [p.content_type for p in parts] == ["message/rfc822"]
    files = list(unpack.unpack(parts))
    assert [(f.name, f.data, f.skipped) for f in files] == [("samedi.mp4", VIDEO, "")]


def test_forwards_nested_too_deep_are_skipped_with_the_reason():
    allowed = list(unpack.unpack(parse.parse(forwarded(unpack.MAX_DEPTH)).parts))
    assert [(f.name, f.skipped) for f in allowed] == [("deep.mp4", "")]
    too_deep = list(unpack.unpack(parse.parse(forwarded(unpack.MAX_DEPTH + 1)).parts))
    assert [(f.label, f.skipped) for f in too_deep] == [("message/rfc822", unpack.TOO_DEEP)]


@pytest.mark.django_db
def test_the_skip_reason_reaches_the_record(deliver):
    inbound = deliver(forwarded(unpack.MAX_DEPTH + 1))
    assert inbound.status == InboundEmail.Status.IGNORED
    assert "message/rfc822: This message is nested too deeply to be read." in inbound.reason


def test_a_new_kind_of_wrapping_is_one_more_unpacker(monkeypatch, tmp_path):
    """E.g. a folder of camera files: its videos come out, its other files skipped, named."""

    def folder(piece):
        if piece.path is None or not piece.path.is_dir():
            return None
        return [
            unpack.Piece(name=p.name, path=p, skipped="" if p.suffix == ".mp4" else "not_video")
            for p in sorted(piece.path.iterdir())
        ]

    monkeypatch.setattr(unpack, "UNPACKERS", [*unpack.UNPACKERS, folder])
    event = tmp_path / "2026-11-20_10-30-00"
    event.mkdir()
    for name in ("front.mp4", "back.mp4", "event.json"):
        (event / name).write_bytes(b"x")
    files = list(unpack.unpack([unpack.Piece(name=event.name, path=Path(event))]))
    assert [(f.name, f.skipped) for f in files] == [
        ("back.mp4", ""),
        ("event.json", "not_video"),
        ("front.mp4", ""),
    ]
