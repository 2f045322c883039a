"""What a German sender is told is in German, though the worker runs in English: the reply
with the reason for each file, and a clip's failure shown on their status page."""

import pytest
from django.core import mail
from django.utils import translation

from gallery.models import Clip
from gallery.processing import process
from submissions.models import InboundEmail
from tests.factories import emailed_by_a_german_owner, mail_message, said_in

pytestmark = pytest.mark.django_db

GERMAN = "Hallo, hier ist mein Video vom Wochenende mit dem Wagen.\n"


def test_a_german_sender_is_refused_in_german_by_an_english_worker(deliver):
    assert translation.get_language() == "en"  # the worker's own language
    msg = mail_message(subject="Unser Ausflug", body=GERMAN)
    msg.add_attachment(b"\x00" * 3000, maintype="video", subtype="mp4", filename="fahrt.mp4")
    inbound = deliver(msg.as_bytes())
    assert inbound.status == InboundEmail.Status.IGNORED and inbound.language == "de"
    german_reason = said_in("de", "This file is not a video we can read.")
    reply = mail.outbox[0]
    assert reply.subject == said_in("de", "We could not find a video in your e-mail")
    assert f"- fahrt.mp4: {german_reason}" in reply.body
    assert "This file is not a video" not in reply.body


def test_a_clip_that_fails_is_explained_in_its_owners_language(client):
    clip = emailed_by_a_german_owner("broken.mp4", "Kaputt")
    process(clip)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.FAILED
    page = client.get(clip.submission.get_status_url(language="de")).content.decode()
    assert said_in("de", "This file is not a video we can read.") in page
