"""Every sender hears back, in their language; robots and loops never do."""

import re

import pytest
from django.core import mail

from gallery.models import Clip, IllegalTransition
from submissions.models import InboundEmail
from tests.factories import SENDER, clip_mail, mail_message, make_processed, said_in

pytestmark = pytest.mark.django_db


def links(message):
    return re.findall(r"https?://\S+", message.body)


def test_the_receipt_links_to_the_status_page_where_consent_unlocks_approval(
    deliver, tiny_video, client, settings
):
    settings.SITE_URL = "https://clips.example.org"
    inbound = deliver(
        clip_mail(
            tiny_video,
            message_id="<abc@example.org>",
            subject="Our weekend drive",
            body="Here is my clip from the weekend, thanks!",
        )
    )
    assert len(mail.outbox) == 1
    receipt = mail.outbox[0]
    assert receipt.to == ["camille@example.org"]
    assert receipt.subject == "We have received your clip"
    assert receipt.extra_headers["Auto-Submitted"] == "auto-replied"
    assert receipt.extra_headers["In-Reply-To"] == "<abc@example.org>"
    assert "<abc@example.org>" in receipt.extra_headers["References"]
    assert "- Our weekend drive" in receipt.body

    submission = inbound.submission
    status_url = f"https://clips.example.org{submission.get_status_url()}"
    assert status_url.startswith("https://clips.example.org/en/my/")
    # One private link, and what the owner does there: follow the clip (and withdraw it),
    # accept the terms, say the first name and country shown with it.
    assert links(receipt) == [status_url]
    there = receipt.body.split(status_url)[1]
    assert "- follow your clip, and withdraw it at any time\n" in there
    assert "- accept the licence terms" in there
    assert "- tell us which first name and country to show with your clip" in there

    page = client.get(status_url.removeprefix(settings.SITE_URL))
    html = page.content.decode()
    assert page.status_code == 200 and "Our weekend drive" in html and 'name="consent"' in html

    clip = submission.clips.get()
    make_processed(clip)
    with pytest.raises(IllegalTransition):
        clip.approve(by=None)
    client.post(status_url.removeprefix(settings.SITE_URL), {"action": "consent", "consent": "on"})
    clip = Clip.objects.get(pk=clip.pk)
    clip.approve(by=None)
    assert clip.status == Clip.Status.PUBLISHED


def test_a_message_without_a_usable_video_gets_help_and_the_web_form_link(deliver, settings):
    settings.SITE_URL = "https://clips.example.org"
    settings.MAX_CLIP_SECONDS = 300
    msg = mail_message(subject="My clip", body="Here is the link to my clip on the cloud.")
    msg.add_attachment(b"not a video at all", maintype="video", subtype="mp4", filename="clip.mp4")
    inbound = deliver(msg.as_bytes())
    assert inbound.status == InboundEmail.Status.IGNORED and inbound.reply == "no_video"
    (reply,) = mail.outbox
    assert reply.subject == "We could not find a video in your e-mail"
    assert "clip.mp4: This file is not a video we can read." in reply.body
    assert (
        "MP4, MOV" in reply.body
        and "at most 5 minutes long" in reply.body
        and "at most 2.0\xa0GB" in reply.body
    )
    assert "https://clips.example.org/en/submit/" in links(reply)
    assert reply.extra_headers["Auto-Submitted"] == "auto-replied"


@pytest.mark.parametrize(
    ("headers", "sender"),
    [
        ({"Auto-Submitted": "auto-generated"}, SENDER),
        ({"Auto-Submitted": "auto-replied"}, SENDER),
        ({"Precedence": "list"}, SENDER),
        ({"List-Id": "Owners <owners.example.org>"}, SENDER),
        ({"Return-Path": "<>"}, SENDER),
        ({}, "MAILER-DAEMON@mx.example.org"),
        ({}, "noreply@example.org"),
        ({}, "La vie en Model 3 <clips@example.org>"),  # our own address: no loop
    ],
)
def test_no_reply_to_automatic_mail_lists_robots_or_ourselves(deliver, tiny_video, headers, sender):
    inbound = deliver(clip_mail(tiny_video, headers=headers, sender=sender))
    assert mail.outbox == [] and inbound.reply == "" and inbound.replied_at is None


def test_replies_to_one_sender_are_capped_per_hour_counting_stored_records(deliver, settings):
    settings.MAIL_REPLIES_PER_HOUR = 3
    for number in range(5):
        deliver(mail_message(subject=f"Essai {number}").as_bytes())
    assert len(mail.outbox) == 3
    assert InboundEmail.objects.filter(reply="no_video").count() == 3
    deliver(mail_message(sender="someone.else@example.org").as_bytes())
    assert len(mail.outbox) == 4

    # An hour later the count starts again (read from the records, not from memory).
    from datetime import timedelta

    from django.utils import timezone

    InboundEmail.objects.update(replied_at=timezone.now() - timedelta(minutes=61))
    deliver(mail_message(subject="Encore").as_bytes())
    assert len(mail.outbox) == 5


@pytest.mark.parametrize(
    ("headers", "body", "language"),
    [
        ({"Content-Language": "de"}, "Voici ma vidéo", "de"),
        ({}, "Here is my clip from the weekend, thanks!", "en"),
        ({}, "Hier is mijn video van het weekend met de auto", "nl"),
        ({"Accept-Language": "it-IT, en;q=0.5"}, "", "it"),
        ({}, "", "fr"),
    ],
)
def test_replies_speak_the_senders_language(deliver, tiny_video, headers, body, language):
    inbound = deliver(clip_mail(tiny_video, subject="IMG_0042", body=body, headers=headers))
    assert inbound.submission.language == language
    # The record says when the message could not tell (then the reply is in French).
    assert inbound.language == (language if body or headers else "")
    reply = mail.outbox[0]
    assert reply.subject == said_in(language, "We have received your clip")
    assert reply.body.startswith(said_in(language, "Hello,") + "\n")
    assert f"/{language}/my/" in reply.body


def test_a_german_no_video_reply_points_to_the_german_form(deliver):
    deliver(
        mail_message(body="Hallo, hier ist mein Video vom Wochenende mit dem Wagen.").as_bytes()
    )
    reply = mail.outbox[0]
    assert reply.subject == said_in("de", "We could not find a video in your e-mail")
    assert reply.body.startswith(said_in("de", "Hello,") + "\n")
    assert "/de/submit/" in reply.body


def test_a_reply_that_cannot_be_sent_does_not_undo_the_import(
    deliver, tiny_video, mail_server_down
):
    inbound = deliver(clip_mail(tiny_video))
    assert inbound.status == InboundEmail.Status.PROCESSED and inbound.submission.clips.count() == 1
    assert "could not be sent" in inbound.reason
