"""A message the parser cannot read is kept for staff, and its sender, when a person, is told
so in their language with the way to send the clip instead; robots, bounces and lists are not
answered (RFC 3834)."""

import pytest
from django.core import mail

from submissions import parse
from submissions.models import InboundEmail
from submissions.notifications import absolute
from submissions.receive import receive
from submissions.tasks import process_inbound_email
from tests.factories import clip_mail, mail_message, said_in

pytestmark = pytest.mark.django_db

GERMAN = "Hallo, hier ist mein Video vom Wochenende mit dem Wagen.\n"


def photo_album_mail(video, **kwargs):
    """More parts than any owner's clip needs: a whole album attached beside the video."""
    msg = mail_message(**kwargs)
    msg.add_attachment(video, maintype="video", subtype="mp4", filename="balade.mp4")
    for n in range(parse.MAX_PARTS):
        msg.add_attachment(b"\xff\xd8\xff", maintype="image", subtype="jpeg", filename=f"{n}.jpg")
    return msg.as_bytes()


def forwarded_too_deep_mail(video, **kwargs):
    """A forward of a forward of a forward..., deeper than the parser goes."""
    inner = clip_mail(video)
    for _ in range(1000):
        inner = b"Content-Type: message/rfc822\r\n\r\n" + inner
    head, _, _ = mail_message(body=None, **kwargs).as_bytes().partition(b"\n\n")
    return head.replace(b"\n", b"\r\n") + b"\r\n" + inner


BROKEN = {
    "too many parts": (photo_album_mail, "This message has too many parts (203; at most 200)."),
    "forwards too deep": (forwarded_too_deep_mail, "This message is nested too deeply to be read."),
}


def replies():
    return [m for m in mail.outbox if m.extra_headers.get("Auto-Submitted") == "auto-replied"]


@pytest.mark.parametrize("name", BROKEN)
def test_an_unreadable_message_is_kept_for_staff_and_its_sender_told_how_to_send_the_clip(
    deliver, tiny_video, media_storage, client, name
):
    make, note = BROKEN[name]
    raw = make(tiny_video, message_id="<broken@example.org>")
    inbound = deliver(raw)

    assert inbound.status == InboundEmail.Status.FAILED
    assert note in inbound.reason
    assert (media_storage / "private" / inbound.raw.name).read_bytes() == raw
    assert (inbound.sender, inbound.reply) == ("camille@example.org", "unreadable")

    # Nothing tells the sender's language: the site's (French).
    [reply] = replies()
    assert reply.to == ["camille@example.org"]
    assert reply.subject == said_in("fr", "We could not read your e-mail")
    assert reply.extra_headers["In-Reply-To"] == "<broken@example.org>"
    assert said_in("fr", "You can also send your clip with the form on our site:") in reply.body
    assert f"{absolute('/fr/submit/')}\n" in reply.body
    # The private link in the reply opens the form, bound to this sender's address.
    personal = inbound.get_personal_link(language="fr")
    assert absolute(personal) in reply.body
    assert client.get(personal).status_code == 200


def test_the_reply_speaks_the_language_the_headers_declare(deliver, tiny_video):
    raw = photo_album_mail(tiny_video, subject="Unser Ausflug", body=GERMAN)
    # As Outlook and Exchange write them, in the message's own headers.
    inbound = deliver(b"Accept-Language: de-DE, en-US\nContent-Language: de-DE\n" + raw)
    assert inbound.status == InboundEmail.Status.FAILED and inbound.language == "de"
    [reply] = replies()
    assert reply.subject == said_in("de", "We could not read your e-mail")
    assert said_in("de", "You can also send your clip with the form on our site:") in reply.body
    assert "/de/submit/" in reply.body


def test_the_reply_speaks_the_senders_earlier_language(deliver, tiny_video):
    first = mail_message(subject="Unser Ausflug", body=GERMAN)
    first.add_attachment(b"\x00" * 3000, maintype="video", subtype="mp4", filename="fahrt.mp4")
    assert deliver(first.as_bytes()).language == "de"
    mail.outbox.clear()

    inbound = deliver(photo_album_mail(tiny_video, subject="Fotos", body="\n"))
    assert inbound.status == InboundEmail.Status.FAILED and inbound.language == "de"
    [reply] = replies()
    assert reply.subject == said_in("de", "We could not read your e-mail")


ROBOTS = {
    "RFC 3834 Auto-Submitted": {"headers": {"Auto-Submitted": "auto-generated"}},
    "a bounce": {"sender": "MAILER-DAEMON@mx.example.org"},
    "no-reply sender": {"sender": "Shop <noreply@shop.example>"},
    "mailing list": {"headers": {"List-Id": "Owners <owners.lists.example.org>"}},
    "bulk": {"headers": {"Precedence": "bulk"}},
    "empty Return-Path": {"headers": {"Return-Path": "<>"}},
    "no sender": {"sender": ""},
    "an invalid sender": {"sender": "camille at example dot org"},
}


@pytest.mark.parametrize("name", ROBOTS)
def test_robots_lists_bounces_and_missing_senders_get_no_reply(deliver, tiny_video, name):
    raw = photo_album_mail(tiny_video, **ROBOTS[name])
    inbound = deliver(raw)
    assert inbound.status == InboundEmail.Status.FAILED
    assert "This message has too many parts" in inbound.reason
    assert "No reply sent:" in inbound.reason, inbound.reason  # staff see why
    assert inbound.reply == "" and replies() == []


def test_a_bounce_with_an_empty_envelope_sender_gets_no_reply(
    tiny_video, django_capture_on_commit_callbacks
):
    """A relay hands a bounce over with its envelope sender, empty (receive adds Return-Path)."""
    with django_capture_on_commit_callbacks(execute=True):
        inbound = receive(photo_album_mail(tiny_video), via="pipe", envelope_sender="")
    with django_capture_on_commit_callbacks(execute=True):
        process_inbound_email.call(inbound.pk)
    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.FAILED and "empty Return-Path" in inbound.reason
    assert replies() == []


def test_one_reply_however_often_the_message_is_refused(
    deliver, tiny_video, django_capture_on_commit_callbacks
):
    raw = photo_album_mail(tiny_video, message_id="<once@example.org>")
    first = deliver(raw)
    # The same message again by another route (a relay adds its Received line).
    again = deliver(b"Received: from relay.example.net by mx.example.org\r\n" + raw)
    assert again.pk != first.pk and again.status == InboundEmail.Status.FAILED
    assert "already answered" in again.reason
    # Staff send the first back to processing: refused again, not answered again.
    with django_capture_on_commit_callbacks(execute=True):
        assert first.reprocess()
    with django_capture_on_commit_callbacks(execute=True):
        process_inbound_email.call(first.pk)
    first.refresh_from_db()
    assert first.status == InboundEmail.Status.FAILED
    assert len(replies()) == 1


def test_a_message_refused_for_another_reason_than_its_content_gets_no_reply(deliver, tiny_video):
    """A failure of ours (the stored copy gone) is for staff to retry, not for the sender."""
    inbound = receive(clip_mail(tiny_video), via="file")
    InboundEmail.objects.filter(pk=inbound.pk).update(raw="")
    process_inbound_email.call(inbound.pk)
    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.FAILED and replies() == []


def german_album(video, *, alternative):
    """A German body part that declares its language (the message's own headers do not),
    before more attachments than we read: Python's email library, as mail merges and
    scripts use it, and Outlook's HTML beside the text (multipart/alternative)."""
    msg = mail_message(subject="Fotos", body=GERMAN, headers={"Content-Language": "de-DE"})
    if alternative:
        msg.add_alternative(f"<p>{GERMAN}</p>", subtype="html")
    msg.add_attachment(video, maintype="video", subtype="mp4", filename="fahrt.mp4")
    for n in range(parse.MAX_PARTS):
        msg.add_attachment(b"\xff\xd8\xff", maintype="image", subtype="jpeg", filename=f"{n}.jpg")
    raw = msg.as_bytes()
    head, _, body = raw.partition(b"\n\n")
    assert b"Content-Language" not in head and b"Content-Language: de-DE" in body
    return raw


@pytest.mark.parametrize("alternative", [False, True], ids=["text", "text and html"])
def test_the_reply_speaks_the_language_the_first_text_part_declares(
    deliver, tiny_video, alternative
):
    inbound = deliver(german_album(tiny_video, alternative=alternative))
    assert inbound.status == InboundEmail.Status.FAILED and inbound.language == "de"
    [reply] = replies()
    assert reply.subject == said_in("de", "We could not read your e-mail")


def test_a_body_that_declares_nothing_leaves_the_language_to_the_fallbacks(tiny_video):
    raw = german_album(tiny_video, alternative=False).replace(b"Content-Language: de-DE\n", b"")
    assert parse.headers_only(raw).language == ""
    raw = b"Accept-Language: it-IT\n" + raw
    assert parse.headers_only(raw).language == "it"
