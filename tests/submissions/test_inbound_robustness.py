"""Messages in the shapes real mail has (and public bug reports of mail libraries show): each
is recorded and read, none makes intake ask for a retry, and only people get replies."""

import base64
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.core import mail

from gallery.models import Clip
from submissions.models import InboundEmail
from submissions.receive import receive
from submissions.tasks import process_inbound_email
from tests.factories import ROOT, clip_mail, mail_message, manage, said_in, worker_env

pytestmark = pytest.mark.django_db

DATE = b"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nTo: clips@example.org\r\n"


def with_video(head: bytes, video: bytes, *, boundary: bytes, quoted=False) -> bytes:
    """A message with a text part and a video, its boundary declared as `boundary`."""
    declared = b'"' + boundary + b'"' if quoted else boundary
    encoded = base64.encodebytes(video)
    return (
        head + DATE + b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=" + declared + b"\r\n\r\n"
        b"--" + boundary + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Here is my drive along the coast, with the whole family.\r\n"
        b"--" + boundary + b"\r\nContent-Type: video/mp4; name=coast.mp4\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"\r\n"
        b"--" + boundary + b"--\r\n"
    )  # fmt: skip


def text_mail(head: bytes, body: bytes = b"Hello, here is my message.\r\n") -> bytes:
    return head + DATE + b"\r\n" + body


# name -> (raw bytes, what must be read from it)
def corpus(video):
    return {
        # RFC 6532: a UTF-8 address, raw; it crashed intake (exit 75, a raw file without row).
        "raw UTF-8 sender": (
            text_mail(
                "From: Zoë Lefèvre <zoë@exämple.fr>\r\nSubject: Vidéo du col\r\n"
                "Message-ID: <utf8@exämple.fr>\r\n".encode()
            ),  # fmt: skip
            {
                "sender": "zoë@exämple.fr",
                "subject": "Vidéo du col",
                "message_id": "<utf8@exämple.fr>",
            },
        ),
        # JavaMail's boundary, unquoted: cut at its "=", the video was never seen.
        "unquoted boundary with =": (
            with_video(
                b"From: Ana <ana@example.es>\r\nSubject: Costa\r\nMessage-ID: <javamail@example.es>\r\n",
                video,
                boundary=b"----=_Part_1234_5678.1700000000000",
            ),
            {"sender": "ana@example.es", "clips": 1},
        ),
        # One line that is no header field ended the header block (sisimai/set-of-emails#21).
        "malformed header line": (
            text_mail(
                b"Received: from mx.example.org\r\nX-Provags-ID: V03:K0:ONKNgotCRNVI\r\n"
                b"bFCoPnjQHA37xZ8d8ZlzmXAvxolVwCdcq8oWM8nXToLie\r\n"
                b"From: Bram <bram@example.nl>\r\nSubject: Mijn rit\r\n"
                b"Message-ID: <malformed@example.nl>\r\n"
            ),
            {
                "sender": "bram@example.nl",
                "subject": "Mijn rit",
                "message_id": "<malformed@example.nl>",
            },
        ),
        # RFC 822's "From  :" (drego85/meioc#9 has "X-Confident-delivery : ...").
        "obsolete space before the colon": (
            text_mail(
                b"From  : Paul <paul@example.org>\r\nSubject : Balade\r\n"
                b"Message-ID : <obsolete@example.org>\r\nX-Confident-delivery : x@example.org\r\n"
            ),
            {
                "sender": "paul@example.org",
                "subject": "Balade",
                "message_id": "<obsolete@example.org>",
            },
        ),
        "address without angle brackets": (
            text_mail(b"From: Big Bug bb@bug.com\r\nSubject: hi\r\nMessage-ID: <bare@bug.com>\r\n"),
            {"sender": "bb@bug.com"},
        ),
        "raw Latin-1 subject and body": (
            text_mail(
                b"From: Rui <rui@example.pt>\r\nSubject: Forma\xe7\xe3o\r\n"
                b"Message-ID: <latin1@example.pt>\r\n",
                b"Voil\xe0 l'\xe9t\xe9 au col.\r\n",
            ),
            {"subject": "Formação"},
        ),
        # An mbox separator line first (MailCore/mailcore2#689).
        "mbox From_ line first": (
            text_mail(
                b"From bram@example.nl Fri Feb 14 08:55:52 2014\r\n"
                b"From: Bram <bram@example.nl>\r\nSubject: mbox\r\nMessage-ID: <mbox@example.nl>\r\n"
            ),
            {"sender": "bram@example.nl", "subject": "mbox"},
        ),
        # A Message-ID folded in its middle (dinhvh/libetpan#130).
        "Message-ID folded inside": (
            text_mail(
                b"From: Eve <eve@example.fr>\r\nSubject: pli\r\n"
                b"Message-ID: <NMID-105@communication.aca\r\n\tdomia.fr>\r\n"
            ),
            {"message_id": "<NMID-105@communication.acadomia.fr>"},
        ),
        # An encoded newline in a display name (GOVCERT-LU/eml_parser#76).
        "encoded newline in the display name": (
            text_mail(
                b"From: =?utf-8?q?=0A?= <badname@example.com>\r\nSubject: nl\r\n"
                b"Message-ID: <newline@example.com>\r\n"
            ),
            {"sender": "badname@example.com"},
        ),
        # No blank line between the headers and the first boundary (namecheap/fast_mail_parser#150).
        "no blank line before the body": (
            with_video(
                b"From: Ana <ana@example.es>\r\nSubject: sin linea\r\nMessage-ID: <nosep@example.es>\r\n",
                video,
                boundary=b"nosep",
                quoted=True,
            ).replace(b"\r\n\r\n--nosep", b"\r\n--nosep", 1),
            {"sender": "ana@example.es", "clips": 1},
        ),
        "NUL bytes and control characters in headers": (
            text_mail(
                b"From: Nul\x00 <nul@example.org>\r\nSubject: a\x00b\x07c\r\n"
                b"Message-ID: <nul@example.org>\r\n"
            ),
            {"sender": "nul@example.org", "subject": "abc"},
        ),
        "not an e-mail at all": (bytes(range(256)) * 4, {}),
    }


@pytest.mark.parametrize(
    "name",
    [
        "raw UTF-8 sender",
        "unquoted boundary with =",
        "malformed header line",
        "obsolete space before the colon",
        "address without angle brackets",
        "raw Latin-1 subject and body",
        "mbox From_ line first",
        "Message-ID folded inside",
        "encoded newline in the display name",
        "no blank line before the body",
        "NUL bytes and control characters in headers",
        "not an e-mail at all",
    ],
)
def test_each_message_is_recorded_and_read_whatever_its_bytes(
    deliver, tiny_video, media_storage, name
):
    raw, expected = corpus(tiny_video)[name]
    inbound = deliver(raw)
    assert inbound.status in (InboundEmail.Status.PROCESSED, InboundEmail.Status.IGNORED), (
        inbound.reason
    )
    assert "Error" not in inbound.reason
    assert (media_storage / "private" / inbound.raw.name).read_bytes() == raw
    for field in ("sender", "subject", "message_id"):
        if field in expected:
            assert getattr(inbound, field) == expected[field], field
    clips = Clip.objects.filter(submission__inbound_emails=inbound)
    assert clips.count() == expected.get("clips", 0)
    if "clips" in expected:
        assert clips.get().description.startswith("Here is my drive along the coast")


def test_the_latin1_body_becomes_readable_words(deliver, tiny_video):
    raw, _ = corpus(tiny_video)["raw Latin-1 subject and body"]
    deliver(raw)
    (reply,) = mail.outbox
    assert reply.to == ["rui@example.pt"]
    # Read as French from its (Latin-1) words.
    assert reply.subject == said_in("fr", "We could not find a video in your e-mail")


def test_the_same_boundary_quoted_or_not_gives_the_same_clip(deliver, tiny_video):
    head = b"From: Ana <ana@example.es>\r\nSubject: Costa\r\nMessage-ID: <%s@example.es>\r\n"
    for quoted in (False, True):
        inbound = deliver(
            with_video(
                head % str(quoted).encode(), tiny_video, boundary=b"----=_Part_1", quoted=quoted
            )
        )
        assert inbound.status == InboundEmail.Status.PROCESSED, inbound.reason
    assert Clip.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_no_message_makes_the_pipe_retry_or_leaves_a_raw_file_without_its_row(
    media_storage, tmp_path, tiny_video
):
    env = worker_env(media_storage)
    shapes = corpus(tiny_video)
    inbound_files = media_storage / "private" / "inbound"
    before = {p.name for p in inbound_files.rglob("*.eml")}
    files = []
    for index, (raw, _) in enumerate(shapes.values()):
        files.append(tmp_path / f"{index}.eml")
        files[-1].write_bytes(raw)
    run = subprocess.run(
        [sys.executable, "manage.py", "ingest_mail", *map(str, files)],
        cwd=ROOT, env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout.decode().count("recorded as inbound e-mail") == len(shapes)
    # The message that crashed intake, as a mail server's pipe hands it over.
    piped = manage("ingest_mail", "-", "--sender", "zoe@example.fr", env=env,
                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    out, err = piped.communicate(shapes["raw UTF-8 sender"][0], timeout=60)
    assert piped.returncode == 0, err.decode()
    assert InboundEmail.objects.count() == len(shapes) + 1  # with its envelope: another copy
    stored = {p.name for p in inbound_files.rglob("*.eml")}
    recorded = {n.rsplit("/", 1)[-1] for n in InboundEmail.objects.values_list("raw", flat=True)}
    # Every row has its raw file, and no new raw file is without its row.
    assert recorded <= stored and stored - before <= recorded


# --------------------------------------------------------------------------- who gets replies


ROBOTS = {
    "gmail-noreply": ({}, "Google <gmail-noreply@google.com>"),
    "noreply": ({}, "Shop <noreply@shop.example>"),
    "mailer-daemon": ({}, "MAILER-DAEMON@mx.example.org"),
    "postmaster": ({}, "postmaster@example.org"),
    "RFC 3834 Auto-Submitted": ({"Auto-Submitted": "auto-generated"}, None),
    "newsletter with a VERP bounce Return-Path": (
        {"Return-Path": "<bounces+camille=example.org@em.news.example>"},
        "News <news@news.example>",
    ),
    "List-Id": ({"List-Id": "Owners <owners.lists.example.org>"}, None),
    "List-Unsubscribe": ({"List-Unsubscribe": "<mailto:leave@news.example>"}, None),
    "Precedence: bulk": ({"Precedence": "bulk"}, None),
    "Precedence: list": ({"Precedence": "list"}, None),
    "Precedence: junk": ({"Precedence": "junk"}, None),
    "a list's Sender": ({"Sender": "owners-bounces@lists.example.org"}, None),
    "X-Spam-Status: Yes": ({"X-Spam-Status": "Yes, score=12.1 required=5.0"}, None),
    "X-Spam-Flag: YES": ({"X-Spam-Flag": "YES"}, None),
}


@pytest.mark.parametrize("name", ROBOTS)
def test_robots_bounces_lists_and_spam_get_no_reply_and_staff_see_why(deliver, tiny_video, name):
    headers, sender = ROBOTS[name]
    kwargs = {"sender": sender} if sender else {}
    inbound = deliver(clip_mail(tiny_video, headers=headers, **kwargs))
    assert mail.outbox == []
    assert inbound.reply == ""
    assert "No reply sent" in inbound.reason or "Automatic message" in inbound.reason, (
        inbound.reason
    )


def test_a_person_with_a_secretary_sender_and_a_clean_spam_check_is_answered(deliver, tiny_video):
    headers = {
        "Sender": "assistant@example.org",
        "X-Spam-Status": "No, score=-0.7 required=4.0",
        "X-Spam-Flag": "NO",
        "Return-Path": "<camille@example.org>",
    }
    deliver(clip_mail(tiny_video, headers=headers))
    assert [m.to for m in mail.outbox] == [["camille@example.org"]]


def test_the_envelope_sender_a_relay_gives_stops_replies_to_bounces(
    tiny_video, django_capture_on_commit_callbacks
):
    def deliver_from(raw, envelope_sender):
        with django_capture_on_commit_callbacks(execute=True):
            inbound = receive(raw, via="stdin", envelope_sender=envelope_sender)
        with django_capture_on_commit_callbacks(execute=True):
            process_inbound_email.call(inbound.pk)
        inbound.refresh_from_db()
        return inbound

    bounce = deliver_from(clip_mail(tiny_video, subject="Undelivered Mail"), "")
    robot = deliver_from(clip_mail(tiny_video, subject="Notice"), "bounce-7731@mta.example")
    person = deliver_from(clip_mail(tiny_video, subject="Col"), "camille@example.org")
    assert "No reply sent: empty Return-Path." in bounce.reason
    assert "No reply sent: Return-Path is a bounce address" in robot.reason
    assert [m.to for m in mail.outbox] == [["camille@example.org"]] and person.reply == "receipt"


def test_a_reused_message_id_with_new_content_is_examined_not_ignored(deliver, tiny_video):
    first = deliver(clip_mail(tiny_video, message_id="<fixed@phone.example>", subject="Un"))
    again = deliver(
        clip_mail(tiny_video, message_id="<fixed@phone.example>", subject="Un") + b"\r\n"
    )
    other_video = tiny_video + b"\x00"  # another file: the same clip with one more byte
    second = deliver(
        clip_mail(
            other_video, message_id="<fixed@phone.example>", subject="Deux", body="Autre clip"
        )
    )
    assert first.status == InboundEmail.Status.PROCESSED
    # The same message again (a relay added a byte): recognised.
    assert again.status == InboundEmail.Status.IGNORED and f"#{first.pk}" in again.reason
    # Another message under the same Message-ID: examined, and its clip kept.
    assert second.status == InboundEmail.Status.PROCESSED, second.reason
    assert second.submission.clips.get().title == "Deux"


# --------------------------------------------------------------------------- the owner's words


def test_an_english_message_without_a_language_header_is_answered_in_english(deliver, tiny_video):
    # Too few of the word list's words to tell: the detector reads it.
    inbound = deliver(
        clip_mail(tiny_video, subject="Sunset", body="Check out this drive along the coast!")
    )
    assert inbound.language == "en" and inbound.submission.language == "en"
    (reply,) = mail.outbox
    assert reply.subject == "We have received your clip"
    assert "/en/my/" in reply.body


def test_a_message_that_cannot_tell_is_answered_in_the_senders_earlier_language(
    deliver, tiny_video
):
    deliver(mail_message(subject="Hi", body="Check out this drive along the coast!").as_bytes())
    later = deliver(clip_mail(tiny_video, subject="IMG_0042", body=""))
    assert later.submission.language == "en"
    assert mail.outbox[-1].subject == "We have received your clip"
    # Someone new who says nothing: French.
    deliver(clip_mail(tiny_video, subject="IMG_0043", body="", sender="new@example.org"))
    assert mail.outbox[-1].subject == said_in("fr", "We have received your clip")


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ("Lucas, Italy", ""),
        ("Coastal road at sunset, top down.\n\nLucas, Italy", "Coastal road at sunset, top down."),
        ("Coastal road at sunset.\n\nBest regards,\nLucas Bianchi", "Coastal road at sunset."),
        ("Strada costiera al tramonto.\n\nCordiali saluti\nLucas", "Strada costiera al tramonto."),
    ],
)
def test_the_senders_signature_is_not_the_public_description(
    deliver, tiny_video, body, description
):
    inbound = deliver(
        clip_mail(tiny_video, sender="Lucas Bianchi <lucas@example.it>", subject="Coast", body=body)
    )
    clip = inbound.submission.clips.get()
    assert clip.description == description
    assert clip.credit_name == "Lucas"


def test_staff_see_the_body_as_sent_beside_the_public_description(client, deliver, tiny_video):
    inbound = deliver(
        clip_mail(
            tiny_video,
            sender="Lucas Bianchi <lucas@example.it>",
            body="Coastal road at sunset.\n\nLucas, Italy",
            headers={"Precedence": "bulk"},
        )
    )
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "x"))
    html = client.get(
        f"/admin/submissions/inboundemail/{inbound.pk}/change/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Body as sent" in html and "Public description" in html
    assert html.count("Lucas, Italy") == 1  # in the body as sent, not in the description
    assert html.count("Coastal road at sunset.") == 2
    assert "No reply sent: Precedence: bulk." in html
