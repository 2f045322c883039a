"""The unpacking step: what arrived becomes the files to probe, each named, with a reason when
it is skipped; a new kind of wrapping is one more unpacker."""

import email
import struct
from email import policy
from pathlib import Path

import pytest

from gallery.models import Clip
from submissions import parse, unpack
from submissions.models import InboundEmail
from tests.factories import (
    clip_mail,
    form_data,
    forwarded_mail,
    mail_message,
    outlook_tnef_mail,
    post,
    tnef_bytes,
    upload,
    zip_bytes,
)

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


def test_outlooks_winmail_dat_gives_its_files_with_their_long_names():
    parts = parse.parse(
        outlook_tnef_mail({"Vacances à la mer.mov": VIDEO, "Itinéraire.txt": b"Nice"})
    ).parts
    assert [p.name for p in parts] == ["winmail.dat"]
    files = list(unpack.unpack(parts))
    assert [(f.name, f.data, f.inside, f.skipped) for f in files] == [
        ("Vacances à la mer.mov", VIDEO, ("winmail.dat",), ""),
        ("Itinéraire.txt", b"Nice", ("winmail.dat",), ""),
    ]
    assert files[0].where == "winmail.dat › Vacances à la mer.mov"


def test_a_winmail_dat_is_known_by_its_signature_whatever_its_declared_type():
    piece = unpack.Piece(name="", content_type="application/octet-stream",
                         data=tnef_bytes({"clip.mov": VIDEO}))  # fmt: skip
    assert [(f.name, f.data) for f in unpack.unpack([piece])] == [("clip.mov", VIDEO)]


def test_zip_members_come_out_with_their_own_names_not_their_folders():
    archive = zip_bytes({"Vacances/2026/clip.mp4": VIDEO, "Vacances/": b"", "lisez-moi.txt": b"x"})
    files = list(unpack.unpack([unpack.Piece(name="vacances.zip", data=archive)]))
    assert [(f.name, f.inside) for f in files] == [
        ("clip.mp4", ("vacances.zip",)),
        ("lisez-moi.txt", ("vacances.zip",)),
    ]
    assert unpack.found_inside(files) == {"vacances.zip": ["clip.mp4", "lisez-moi.txt"]}


def test_a_zip_whose_sizes_lie_is_not_read_past_what_it_declared():
    """The directory says 10 bytes; the compressed data holds 5 MB of them."""
    archive = bytearray(zip_bytes({"clip.mp4": bytes(5 * 1024 * 1024)}))
    # Patch the uncompressed size in the local header and the central directory.
    for offset in (22, archive.rindex(b"PK\x01\x02") + 24):
        archive[offset : offset + 4] = (10).to_bytes(4, "little")
    (refused,) = unpack.unpack([unpack.Piece(name="liar.zip", data=bytes(archive))])
    assert refused.skipped in (unpack.ARCHIVE_TOO_LARGE, unpack.ARCHIVE_UNREADABLE)
    assert refused.data == bytes(archive)  # the archive itself, refused, not a member


def test_an_encrypted_zip_is_refused_with_its_reason():
    archive = bytearray(zip_bytes({"clip.mp4": VIDEO}))
    for offset in (6, archive.rindex(b"PK\x01\x02") + 8):  # the "encrypted" flag bit
        archive[offset] |= 0x01
    (refused,) = unpack.unpack([unpack.Piece(name="secret.zip", data=bytes(archive))])
    assert refused.skipped == unpack.ARCHIVE_ENCRYPTED


@pytest.mark.django_db
def test_the_web_form_takes_a_zip_too(client, tiny_video, tmp_path):
    path = tmp_path / "clips.zip"
    path.write_bytes(zip_bytes({"notes.txt": b"x"}, compression=0))
    response = post(client, form_data(upload(path, content_type="application/zip")))
    # A zip without a video: the form says so, and keeps nothing.
    assert response.status_code == 400
    assert Clip.objects.count() == 0
    # As in an e-mail, a note beside the video is set aside and the video makes the clip.
    path.write_bytes(zip_bytes({"balade.mp4": tiny_video, "notes.txt": b"x"}))
    response = post(client, form_data(upload(path, content_type="application/zip")))
    assert response.status_code == 302
    clip = Clip.objects.get()
    assert clip.original.name.endswith(".mp4") and clip.original.size == len(tiny_video)


def test_office_documents_are_zips_we_leave_closed():
    document = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    docx = unpack.Piece(
        name="itinéraire.docx",
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        data=document,
    )
    assert list(unpack.unpack([docx])) == [docx]
    unnamed = unpack.Piece(name="", content_type="application/octet-stream", data=document)
    assert [f.name for f in unpack.unpack([unnamed])] == ["[Content_Types].xml", "document.xml"]


def test_a_winmail_dat_built_to_cost_too_much_is_refused_before_the_library_reads_it():
    """tnefparse's time grows with attributes times size: count them first."""
    honest = tnef_bytes({f"clip-{n}.mov": VIDEO for n in range(40)})
    assert {f.skipped for f in unpack.unpack([unpack.Piece(name="winmail.dat", data=honest)])} == {
        ""
    }
    filler = b"".join(
        struct.pack("<BHHI", 1, 0x0009, 0x0008, 2) + b"\x00\x00" + b"\x00\x00"
        for _ in range(unpack.MAX_TNEF_ATTRIBUTES)
    )
    hostile = honest[:6] + filler + honest[6:]
    (refused,) = unpack.unpack([unpack.Piece(name="winmail.dat", data=hostile)])
    assert refused.skipped == unpack.TNEF_TOO_COMPLEX
    assert refused.details["max"] == unpack.MAX_TNEF_ATTRIBUTES
