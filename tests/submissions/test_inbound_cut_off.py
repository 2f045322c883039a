"""A message cut off on its way (a .eml that ends halfway through its video) is told apart
from a bad video: staff read that it arrived incomplete, and the sender that the mail was
cut on the way and how to finish, in their language; not that their file is no video."""

import re

import pytest
from django.core import mail

from submissions import parse
from submissions.models import InboundEmail
from tests.factories import broken_boundary_mail, clip_mail, mail_message, said_in

pytestmark = pytest.mark.django_db

BODIES = {
    "fr": ("Retour du col", "Bonjour,\nVoici la vidéo de notre retour par le col, de nuit.\n"),
    "en": ("Drive home", "Hi,\nHere is my clip of the drive home over the moors.\n"),
    "de": ("Heimfahrt", "Hallo,\nhier ist mein Video von der Heimfahrt mit dem Wagen.\n"),
    "nl": ("Rit naar huis", "Hallo,\nHierbij mijn filmpje van de rit naar huis met de auto.\n"),
    "it": ("Ritorno", "Ciao,\necco il video del nostro ritorno a casa con la macchina.\n"),
    "es": ("Vuelta a casa", "Hola,\naquí está el vídeo de nuestra vuelta a casa con el coche.\n"),
}
NOT_A_VIDEO = "This file is not a video we can read."


def links(message):
    return re.findall(r"https?://\S+", message.body)


def cut(raw, fraction):
    """The first `fraction` of a message's bytes: what a relay that dropped it leaves."""
    return raw[: int(len(raw) * fraction)]


@pytest.mark.parametrize("fraction", [0.5, 0.73, 0.97])
def test_a_clip_mail_cut_short_is_recorded_and_answered_as_incomplete(
    deliver, tiny_video, settings, client, fraction
):
    settings.SITE_URL = "https://clips.example.org"
    subject, body = BODIES["en"]
    raw = clip_mail(tiny_video, filename="drive-home.mp4", subject=subject, body=body)
    inbound = deliver(cut(raw, fraction))

    # For staff: the first line says what happened, and which file it cut.
    assert inbound.status == InboundEmail.Status.IGNORED and inbound.submission is None
    first = inbound.reason.splitlines()[0]
    assert first.startswith("Arrived incomplete: the message was cut off on its way")
    assert "drive-home.mp4" in first
    assert "No usable video." in inbound.reason
    assert inbound.reply == "incomplete"

    # For the sender: cut on the way, not a bad video; and how to finish.
    (reply,) = mail.outbox
    assert reply.subject == "Your video arrived incomplete"
    assert "it was cut off on its way to us" in reply.body and "- drive-home.mp4\n" in reply.body
    assert NOT_A_VIDEO not in reply.body and "cut off before the camera" not in reply.body
    personal, submit = links(reply)
    assert submit == "https://clips.example.org/en/submit/"
    page = client.get(personal.removeprefix(settings.SITE_URL))
    assert page.status_code == 200 and "Drive home" in page.content.decode()


@pytest.mark.parametrize("language", sorted(BODIES))
def test_the_sender_is_told_in_their_language(deliver, tiny_video, language):
    subject, body = BODIES[language]
    raw = clip_mail(
        tiny_video,
        filename="clip.mp4",
        subject=subject,
        body=body,
        headers={"Content-Language": language},
    )
    inbound = deliver(cut(raw, 0.5))
    assert inbound.language == language and inbound.reply == "incomplete"
    (reply,) = mail.outbox
    assert reply.subject == said_in(language, "Your video arrived incomplete")
    assert said_in(language, "You can also send your clip with the form on our site:") in (
        reply.body
    )
    assert said_in(language, NOT_A_VIDEO) not in reply.body


def test_a_whole_video_and_a_cut_one_make_one_clip_and_the_receipt_says_which_was_cut(
    deliver, tiny_video
):
    msg = mail_message(subject="Two angles", body="Front and back of the same drive.\n")
    msg.add_attachment(tiny_video, maintype="video", subtype="mp4", filename="front.mp4")
    msg.add_attachment(tiny_video, maintype="video", subtype="mp4", filename="back.mp4")
    raw = msg.as_bytes()
    # Cut inside the second video's base64.
    inbound = deliver(raw[: raw.index(b'filename="back.mp4"') + 8000])

    assert inbound.status == InboundEmail.Status.PROCESSED
    assert inbound.submission.clips.count() == 1
    assert "Arrived incomplete" in inbound.reason and "back.mp4" in inbound.reason
    (receipt,) = mail.outbox
    assert "- back.mp4: It arrived incomplete: it was cut off on its way to us." in receipt.body
    assert "send the cut-off file again" in receipt.body
    assert NOT_A_VIDEO not in receipt.body


def test_a_bad_video_in_a_whole_message_is_still_a_bad_video(deliver):
    msg = mail_message()
    msg.add_attachment(b"\x00" * 3000, maintype="video", subtype="mp4", filename="clip.mp4")
    inbound = deliver(msg.as_bytes())
    assert inbound.reply == "no_video" and "Arrived incomplete" not in inbound.reason
    (reply,) = mail.outbox
    assert "- clip.mp4" in reply.body and said_in("fr", NOT_A_VIDEO) in reply.body


def test_a_whole_video_after_a_forgotten_closing_boundary_is_no_cut(deliver, tiny_video):
    # Some clients never write the last boundary: the video is whole and becomes a clip.
    inbound = deliver(broken_boundary_mail(tiny_video))
    assert inbound.status == InboundEmail.Status.PROCESSED
    assert "Arrived incomplete" not in inbound.reason
    assert "cut-off" not in mail.outbox[0].body


def test_the_parser_names_the_attachment_a_cut_message_ends_in(tiny_video):
    raw = clip_mail(tiny_video, filename="drive-home.mp4")
    assert parse.parse(raw).cut_off == ()
    for end in range(len(raw) // 2, len(raw) // 2 + 4):  # every offset within a base64 group
        assert parse.parse(raw[:end]).cut_off == ("drive-home.mp4",)
    # Cut after the video, in nothing but the closing line: the video is whole.
    assert parse.parse(raw[: raw.rindex(b"\n--") + 3]).cut_off == ("drive-home.mp4",)


@pytest.mark.parametrize("fraction", [0.5, 0.73, 0.97])
def test_staff_read_one_sentence_for_the_cut_file_and_the_detail_goes_to_the_log(
    deliver, tiny_video, caplog, fraction
):
    raw = clip_mail(tiny_video, filename="drive-home.mp4", subject="Drive home")
    with caplog.at_level("INFO", logger="submissions.process"):
        inbound = deliver(cut(raw, fraction))
    assert inbound.reason.splitlines() == [
        "Arrived incomplete: the message was cut off on its way (its end is missing); "
        "cut-off attachment: drive-home.mp4.",
        "No usable video.",
    ]
    # What the video check and the MIME parser found in the cut end: in the log.
    logged = [r.getMessage() for r in caplog.records if r.name == "submissions.process"]
    assert any("cut-off attachment drive-home.mp4:" in line for line in logged), logged
    assert any("Defect" in line for line in logged), logged


def test_a_file_not_cut_keeps_its_own_line_beside_a_cut_one(deliver, tiny_video):
    msg = mail_message(subject="Two angles", body="Front and back of the same drive.\n")
    msg.add_attachment(b"\x00" * 3000, maintype="video", subtype="mp4", filename="front.mp4")
    msg.add_attachment(tiny_video, maintype="video", subtype="mp4", filename="back.mp4")
    raw = msg.as_bytes()
    inbound = deliver(raw[: raw.index(b'filename="back.mp4"') + 8000])
    lines = inbound.reason.splitlines()
    assert lines[0].startswith("Arrived incomplete") and "back.mp4" in lines[0]
    assert "front.mp4: This file is not a video we can read." in lines
    assert not any(line.startswith("back.mp4:") for line in lines)
