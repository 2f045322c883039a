"""A video part whose Content-Type was cut off right after an RFC 2231 parameter's name
("name*", its value lost on the way): the standard library's parser raises on it, or drops
the filename. The cut parameter is dropped and the video kept, named by its
Content-Disposition, else by what the message says."""

import base64

import pytest
from django.core import mail

from gallery.models import Clip
from submissions import parse
from submissions.models import InboundEmail
from tests.factories import clip_mail

pytestmark = pytest.mark.django_db


def thunderbird_mail(video, *, content_type, disposition):
    """Thunderbird's shape: parameters folded onto their own lines, RFC 2231 names."""
    encoded = base64.encodebytes(video).decode()
    return (
        "From: Jürgen Weber <juergen@example.de>\r\n"
        "To: clips@example.org\r\n"
        "Subject: Fahrt ins Grüne\r\n"
        "Message-ID: <c2f1a7e4-5d1e-4b7a-9f0e-2d8c1b7a6e55@example.de>\r\n"
        "Date: Fri, 20 Nov 2026 10:30:00 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        "User-Agent: Mozilla Thunderbird\r\n"
        "Content-Language: de-DE\r\n"
        'Content-Type: multipart/mixed; boundary="------------7rM0Qm1fQxXb3wHcZx2dA4bP"\r\n'
        "\r\n"
        "This is a multi-part message in MIME format.\r\n"
        "--------------7rM0Qm1fQxXb3wHcZx2dA4bP\r\n"
        "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Hallo, hier ist mein Video von der Fahrt ins Grüne.\r\n"
        "\r\n"
        "--------------7rM0Qm1fQxXb3wHcZx2dA4bP\r\n"
        f"{content_type}\r\n"
        f"{disposition}"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{encoded}\r\n"
        "--------------7rM0Qm1fQxXb3wHcZx2dA4bP--\r\n"
    ).encode()


CUT = {
    "on one line, named by its disposition": (
        "Content-Type: video/mp4; name*",
        'Content-Disposition: attachment; filename="fahrt.mp4"\r\n',
        "fahrt.mp4",
    ),
    "folded, named by its RFC 2231 disposition": (
        "Content-Type: video/mp4;\r\n name*",
        "Content-Disposition: attachment;\r\n filename*=UTF-8''%C3%9Cber%20die%20Br%C3%BCcke.mp4\r\n",
        "Über die Brücke.mp4",
    ),
    "a continuation cut, named by its disposition": (
        "Content-Type: video/mp4;\r\n name*0*=UTF-8''fahrt;\r\n name*1*",
        'Content-Disposition: attachment; filename="fahrt.mp4"\r\n',
        "fahrt.mp4",
    ),
    "the disposition cut too, no name left": (
        "Content-Type: video/mp4; name*",
        "Content-Disposition: attachment; filename*\r\n",
        "",
    ),
}


@pytest.mark.parametrize("name", CUT)
def test_a_video_whose_parameter_was_cut_off_becomes_a_clip(deliver, tiny_video, name):
    content_type, disposition, filename = CUT[name]
    raw = thunderbird_mail(tiny_video, content_type=content_type, disposition=disposition)
    [piece] = parse.parse(raw).parts
    assert piece.name == filename and piece.content_type == "video/mp4"
    assert piece.data == tiny_video

    inbound = deliver(raw)
    assert inbound.status == InboundEmail.Status.PROCESSED, inbound.reason
    [clip] = Clip.objects.filter(submission=inbound.submission)
    # Its title: the subject, as for any message that gives one.
    assert clip.title == "Fahrt ins Grüne"
    assert inbound.reply == "receipt" and len(mail.outbox) == 1


def test_a_disposition_cut_after_its_filename_keeps_the_filename(tiny_video):
    # What Python's parser did with it: the filename before the cut parameter was lost.
    raw = clip_mail(tiny_video, filename="balade.mp4").replace(
        b'filename="balade.mp4"\n', b'filename="balade.mp4"; name*\n'
    )
    assert [piece.name for piece in parse.parse(raw).parts] == ["balade.mp4"]
