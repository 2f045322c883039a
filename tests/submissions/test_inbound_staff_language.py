"""Notes written for staff on a received e-mail are in the site's staff language
(STAFF_LANGUAGE_CODE, by default LANGUAGE_CODE), whatever language the worker or the request
that processes the message runs in; the sender's reply stays in the sender's language."""

import pytest
from django.core import mail
from django.utils import translation

from config import settings as shipped
from submissions import parse
from tests.factories import mail_message, said_in

pytestmark = pytest.mark.django_db

GERMAN = "Hallo, hier ist mein Video vom Wochenende mit dem Wagen.\n"


@pytest.fixture
def site_default(settings):
    """The staff language as shipped (tests otherwise write their notes in English)."""
    assert shipped.STAFF_LANGUAGE_CODE == shipped.LANGUAGE_CODE == "fr"
    settings.STAFF_LANGUAGE_CODE = shipped.STAFF_LANGUAGE_CODE


def test_a_german_worker_writes_staff_notes_in_french_and_answers_in_german(deliver, site_default):
    msg = mail_message(subject="Unser Ausflug", body=GERMAN)
    msg.add_attachment(b"\x00" * 3000, maintype="video", subtype="mp4", filename="fahrt.mp4")
    with translation.override("de"):  # e.g. a webhook request from a German provider
        inbound = deliver(msg.as_bytes())
    assert inbound.language == "de"
    assert inbound.reason.splitlines() == [
        said_in("fr", "No usable video."),
        f"fahrt.mp4: {said_in('fr', 'This file is not a video we can read.')}",
    ]
    [reply] = mail.outbox
    assert reply.subject == said_in("de", "We could not find a video in your e-mail")
    assert f"fahrt.mp4: {said_in('de', 'This file is not a video we can read.')}" in reply.body


def test_the_why_of_no_reply_and_of_an_unreadable_message_are_in_the_staff_language(
    deliver, tiny_video, settings
):
    settings.STAFF_LANGUAGE_CODE = "nl"
    msg = mail_message(headers={"Auto-Submitted": "auto-generated"})
    msg.add_attachment(tiny_video, maintype="video", subtype="mp4", filename="balade.mp4")
    for n in range(parse.MAX_PARTS):  # an album beside the video: more parts than we read
        msg.add_attachment(b"\xff\xd8\xff", maintype="image", subtype="jpeg", filename=f"{n}.jpg")
    with translation.override("it"):
        inbound = deliver(msg.as_bytes())
    unreadable = said_in("nl", "This message has too many parts (%(count)s; at most %(max)s).")
    assert inbound.reason.startswith(unreadable.split("(")[0]), inbound.reason
    no_reply = said_in("nl", "No reply sent: %(why)s.", why="Auto-Submitted: auto-generated")
    assert no_reply in inbound.reason.splitlines()
    assert mail.outbox == []


def test_a_title_the_owner_did_not_give_is_in_the_owners_language(deliver, tiny_video):
    """The clip's title is public: when the message gives none (no subject, an attachment
    without a name), it is written in the owner's language, not the worker's or staff's."""
    from gallery.models import Clip

    msg = mail_message(subject="", body=GERMAN)
    msg.add_attachment(tiny_video, maintype="video", subtype="mp4")
    with translation.override("it"):
        inbound = deliver(msg.as_bytes())
    assert inbound.language == "de"
    [clip] = Clip.objects.filter(submission=inbound.submission)
    assert clip.title == said_in("de", "Clip sent by e-mail") != "Clip sent by e-mail"
