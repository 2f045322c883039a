"""Each automatic reply reaches a message's sender once, however often the message is
processed: sent back to processing, retried after a crash, delivered again by the sender's
server, or run by two workers at once."""

import pytest
from django.core import mail

from submissions.models import InboundEmail, SentReply
from submissions.receive import receive
from submissions.tasks import process_inbound_email
from tests.factories import clip_mail, mail_message

pytestmark = pytest.mark.django_db


def replies():
    return [m for m in mail.outbox if m.extra_headers.get("Auto-Submitted") == "auto-replied"]


def process_again(inbound, django_capture_on_commit_callbacks):
    """What a retry finds: the message waiting for processing, as if never processed."""
    InboundEmail.objects.filter(pk=inbound.pk).update(
        status=InboundEmail.Status.RECEIVED, reason="", processed_at=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        process_inbound_email.call(inbound.pk)
    inbound.refresh_from_db()
    return inbound


def cut_clip_mail(video, **kwargs):
    raw = clip_mail(video, filename="drive-home.mp4", subject="Drive home", **kwargs)
    return raw[: len(raw) // 2]


def test_a_cut_message_processed_again_is_not_told_again(
    deliver, tiny_video, django_capture_on_commit_callbacks
):
    inbound = deliver(cut_clip_mail(tiny_video))
    assert inbound.reply == "incomplete" and len(replies()) == 1
    for _ in range(2):
        inbound = process_again(inbound, django_capture_on_commit_callbacks)
        assert inbound.status == InboundEmail.Status.IGNORED
        assert "No reply sent: this message was already answered." in inbound.reason
    assert len(replies()) == 1


def test_a_message_without_a_video_processed_again_is_not_told_again(
    deliver, django_capture_on_commit_callbacks
):
    msg = mail_message()
    msg.add_attachment(b"\x00" * 3000, maintype="video", subtype="mp4", filename="clip.mp4")
    inbound = deliver(msg.as_bytes())
    assert inbound.reply == "no_video" and len(replies()) == 1
    process_again(inbound, django_capture_on_commit_callbacks)
    assert len(replies()) == 1


def test_the_senders_server_delivering_a_cut_message_again_gets_one_incomplete_reply(
    deliver, tiny_video
):
    # Its connection dropped twice: two copies of one message, each cut at another place.
    raw = clip_mail(tiny_video, filename="drive-home.mp4", message_id="<retry@example.org>")
    first = deliver(raw[: len(raw) // 2])
    second = deliver(raw[: 3 * len(raw) // 4])
    assert first.pk != second.pk
    assert (first.reply, second.reply) == ("incomplete", "")
    assert "already answered" in second.reason
    # The whole message at last: its receipt goes.
    whole = deliver(raw)
    assert whole.status == InboundEmail.Status.PROCESSED and whole.reply == "receipt"
    assert [m.subject for m in replies()] == [
        "Votre vidéo est arrivée incomplète",
        "Nous avons bien reçu votre clip",
    ]


def test_two_workers_processing_copies_at_once_claim_one_reply(tiny_video):
    raw = cut_clip_mail(tiny_video, message_id="<twice@example.org>")
    first = receive(raw, via="imap")
    second = receive(b"Received: from relay.example.net by mx.example.org\r\n" + raw, via="file")
    assert first.pk != second.pk
    # Each worker holds its own copy's row lock: the claim is what they share.
    assert SentReply.claim(first, "incomplete")
    assert not SentReply.claim(second, "incomplete")
    # A receipt answers what one copy held: each copy has its own.
    assert SentReply.claim(first, "receipt") and SentReply.claim(second, "receipt")


def test_a_reply_that_could_not_be_sent_is_not_recorded_as_sent(
    deliver, tiny_video, mail_server_down
):
    inbound = deliver(cut_clip_mail(tiny_video))
    assert "The incomplete reply could not be sent." in inbound.reason
    assert not SentReply.objects.filter(inbound=inbound).exists()
