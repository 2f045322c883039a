"""What real mail clients and gateways send: Outlook's TNEF, zip archives (and archives built
to hurt), a provider that lost a part on the way, an MMS gateway. Each message ends as a clip
in review, or as a refusal whose reply names the cause."""

import hashlib
import hmac
import json
import re
import time
import zipfile

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import translation

from gallery import processing
from gallery.models import Clip, Theme
from submissions import unpack
from submissions.models import InboundEmail
from tests.factories import (
    clip_mail,
    mail_message,
    make_processed,
    mms_mail,
    outlook_tnef_mail,
    said_in,
    zip_bytes,
    zip_mail,
)

pytestmark = pytest.mark.django_db

# The reply follows the message's language.
IN_ENGLISH = "Here is my clip from the weekend, thanks!"


def staff_client():
    """Staff who may moderate (not through the migrations' group: other tests may flush it)."""
    staff = User.objects.create_superuser("sam", "sam@example.org", "secret-pass-123")
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(staff)
    return client


def in_review(inbound):
    """The message's clips, really processed: each must reach review."""
    clips = list(inbound.submission.clips.order_by("pk"))
    for clip in clips:
        processing.process(clip)
        clip.refresh_from_db()
        assert clip.status == Clip.Status.REVIEW, clip.failure_reason
    return clips


def test_outlook_rich_text_mail_gives_the_mov_wrapped_in_winmail_dat(deliver, tiny_video):
    raw = outlook_tnef_mail(
        {"Vacances à la mer.mov": tiny_video, "image001.png": b"\x89PNG\r\n\x1a\n" + bytes(40)},
        subject="Vacances à la mer",
        body="Ciao, ecco il video delle vacanze.\n",
    )
    inbound = deliver(raw)
    assert inbound.status == InboundEmail.Status.PROCESSED, inbound.reason
    (clip,) = in_review(inbound)
    assert clip.title == "Vacances à la mer"
    assert clip.original.name.endswith(".mov")
    assert "Found in winmail.dat: Vacances à la mer.mov, image001.png" in inbound.reason
    (receipt,) = mail.outbox
    assert "- winmail.dat: Vacances à la mer.mov, image001.png" in receipt.body


def test_a_zip_gives_its_video_and_names_the_file_it_ignored(deliver, tiny_video):
    archive = zip_bytes(
        {"Roadtrip/balade.mp4": tiny_video, "Roadtrip/notes.txt": b"Col de la Bonette, 2802 m"}
    )
    inbound = deliver(zip_mail(archive, filename="roadtrip.zip"))
    (clip,) = in_review(inbound)
    assert clip.original.name.endswith(".mp4")
    assert "Not videos, ignored: roadtrip.zip › notes.txt" in inbound.reason
    (receipt,) = mail.outbox
    # A French receipt: a no-break space before the colon.
    assert "- roadtrip.zip\u00a0: balade.mp4, notes.txt" in receipt.body


def test_a_zip_bomb_is_refused_naming_the_compression_bound(deliver, tiny_video):
    bomb = zip_bytes({"clip.mp4": tiny_video, "padding.bin": bytes(60 * 1024 * 1024)})
    assert len(bomb) < 200_000
    inbound = deliver(zip_mail(bomb, filename="bomb.zip", body=IN_ENGLISH))
    assert inbound.status == InboundEmail.Status.IGNORED and inbound.submission is None
    (reply,) = mail.outbox
    assert re.search(
        r"- bomb\.zip: A file in this archive \(padding\.bin\) is compressed \d+ to 1, more than "
        r"the 100 to 1 we accept: it was not opened\.",
        reply.body,
    ), reply.body


def test_archives_over_the_member_and_size_bounds_are_refused_naming_them(
    deliver, monkeypatch, tiny_video
):
    many = zip_bytes({f"frame-{n:03}.jpg": b"x" for n in range(unpack.MAX_ARCHIVE_MEMBERS + 1)})
    inbound = deliver(zip_mail(many, filename="frames.zip", subject="Frames"))
    assert "frames.zip: This archive holds too many files (51; at most 50)" in inbound.reason

    monkeypatch.setattr(unpack, "MAX_ARCHIVE_BYTES", len(tiny_video) - 1)
    big = zip_bytes({"clip.mp4": tiny_video}, compression=zipfile.ZIP_STORED)
    inbound = deliver(zip_mail(big, filename="big.zip", subject="Big"))
    assert "big.zip: This archive is too large once unpacked" in inbound.reason
    assert inbound.submission is None


def test_a_zip_inside_a_zip_is_opened_one_level_and_no_deeper(deliver, tiny_video):
    inner = zip_bytes({"samedi.mp4": tiny_video})
    inbound = deliver(zip_mail(zip_bytes({"inner.zip": inner}), filename="outer.zip"))
    (clip,) = in_review(inbound)
    assert "Found in outer.zip › inner.zip: samedi.mp4" in inbound.reason

    deeper = zip_bytes({"middle.zip": zip_bytes({"inner.zip": inner})})
    inbound = deliver(zip_mail(deeper, filename="deep.zip", subject="Deep"))
    assert inbound.submission is None
    assert (
        "deep.zip › middle.zip › inner.zip: Archives inside archives are opened 2 levels deep "
        "at most: this one was not opened." in inbound.reason
    )


@pytest.mark.parametrize("name", ["../../clips/evil.mp4", "/etc/evil.mp4", "..\\evil.mp4"])
def test_a_zip_with_names_pointing_outside_is_refused_whole(deliver, tiny_video, name):
    archive = zip_bytes({"good.mp4": tiny_video, name: tiny_video})
    inbound = deliver(zip_mail(archive, filename="escape.zip", body=IN_ENGLISH))
    assert inbound.status == InboundEmail.Status.IGNORED and inbound.submission is None
    (reply,) = mail.outbox
    assert (
        f"- escape.zip: This archive holds a file whose name points outside its folder ({name})"
        in reply.body
    )


def test_a_damaged_archive_and_a_damaged_winmail_dat_are_named_not_fatal(deliver):
    msg = mail_message(subject="Broken")
    msg.add_attachment(b"PK\x03\x04 not really", maintype="application", subtype="zip",
                       filename="clip.zip")  # fmt: skip
    msg.add_attachment(b"\x78\x9f\x3e\x22\x00", maintype="application", subtype="ms-tnef",
                       filename="winmail.dat")  # fmt: skip
    inbound = deliver(msg.as_bytes())
    assert inbound.status == InboundEmail.Status.IGNORED
    assert "clip.zip: This archive could not be opened." in inbound.reason
    assert "winmail.dat: This Outlook attachment (winmail.dat) could not be opened." in (
        inbound.reason
    )


# --------------------------------------------------------------------------- provider counts


MAILGUN_KEY = "mailgun-signing-key"


def mailgun_multipart(fields, files):
    """A Mailgun parsed-route POST as the provider sends it, empty file names included."""
    timestamp, token = str(int(time.time())), "b" * 50
    fields = fields | {
        "timestamp": timestamp,
        "token": token,
        "signature": hmac.new(
            MAILGUN_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
        ).hexdigest(),
    }
    boundary = "----MailgunBoundary7MA4YWxkTrZu0gW"
    body = b""
    for name, value in fields.items():
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    for name, (filename, content_type, data) in files.items():
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_an_attachment_lost_on_the_way_shows_in_the_record_and_the_staff_list(
    client, settings, tiny_video, django_capture_on_commit_callbacks
):
    from submissions.tasks import process_inbound_email

    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY, "WEBHOOK_SECRET": ""}
    headers = [
        ["From", "Camille Martin <camille@example.org>"],
        ["To", "clips@example.org"],
        ["Subject", "Deux vidéos du dimanche"],
        ["Message-Id", "<two-parts@example.org>"],
    ]
    body, content_type = mailgun_multipart(
        {
            "message-headers": json.dumps(headers),
            "body-plain": "Voici mes deux vidéos.",
            "attachment-count": "2",
        },
        {
            "attachment-1": ("dimanche.mp4", "video/mp4", tiny_video),
            # A phone sent this one without a name: Django drops it before anymail sees it.
            "attachment-2": ("", "video/quicktime", tiny_video),
        },
    )
    response = client.generic("POST", "/hooks/mailgun/inbound/", body, content_type=content_type)
    assert response.status_code == 200
    inbound = InboundEmail.objects.get()
    assert inbound.attachments_announced == 2
    # Staff notes are written in the worker's language; English here.
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        process_inbound_email.call(inbound.pk)
    inbound.refresh_from_db()
    assert inbound.status == InboundEmail.Status.PROCESSED
    assert inbound.attachments_arrived == 1 and inbound.attachments_missing == 1
    assert (
        "Attachments missing: the provider announced 2; 1 arrived (dimanche.mp4)." in inbound.reason
    )

    admin = staff_client()
    html = admin.get("/admin/submissions/inboundemail/").content.decode()
    assert re.search(r'class="errornote inbound-missing">1 of 2 · 1 missing<', html), html
    detail = admin.get(f"/admin/submissions/inboundemail/{inbound.pk}/change/").content.decode()
    assert "1 arrived (dimanche.mp4)" in detail


def test_a_complete_delivery_shows_no_missing_part(deliver, tiny_video):
    inbound = deliver(clip_mail(tiny_video))
    assert inbound.attachments_announced is None and inbound.attachments_missing == 0
    assert "missing" not in inbound.reason


# --------------------------------------------------------------------------- MMS gateways


def test_an_mms_gets_its_title_from_its_text_and_asks_for_the_credit(
    client, deliver, tiny_video, settings
):
    settings.SITE_URL = "https://clips.example.org"
    inbound = deliver(mms_mail(tiny_video, text="Sortie de garage au soleil"))
    (clip,) = in_review(inbound)
    assert clip.title == "Sortie de garage au soleil"
    assert clip.credit_name == "" and clip.credit_country == ""
    (receipt,) = mail.outbox
    assert said_in("fr", "tell us which first name and country to show with your clip") in (
        receipt.body
    )

    status_url = inbound.submission.get_status_url()
    page = client.get(status_url).content.decode()
    assert 'name="credit_name"' in page and 'name="credit_country"' in page
    response = client.post(
        status_url, {"action": "credit", "credit_name": "Inès", "credit_country": "FR"}
    )
    assert response.status_code == 302
    clip.refresh_from_db()
    assert (clip.credit_name, clip.credit_country) == ("Inès", "FR")
    assert 'name="credit_name"' not in client.get(status_url).content.decode()
    assert client.post(status_url, {"action": "credit", "credit_name": ""}).status_code == 400


def test_an_mms_without_text_is_titled_from_its_file_name(deliver, tiny_video):
    inbound = deliver(mms_mail(tiny_video, sender="+4915112345678@mms.example.de", text=""))
    (clip,) = in_review(inbound)
    assert clip.title == "VID_0001"


# --------------------------------------------------------------------------- themes


def test_an_emailed_clip_without_a_theme_cannot_be_approved_and_the_decision_says_why(
    deliver, tiny_video
):
    inbound = deliver(clip_mail(tiny_video, subject="Le col", body="Voici le col."))
    clip = inbound.submission.clips.get()
    assert not clip.themes.exists()
    inbound.submission.give_consent()
    make_processed(clip)
    admin = staff_client()
    response = admin.post(f"/admin/gallery/clip/{clip.pk}/decide/", {"decision": "approve"})
    page = admin.get(response["Location"]).content.decode()
    assert "Choose at least one theme for this clip before publishing it." in page
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.REVIEW

    clip.themes.add(Theme.objects.get(slug="weekend"))
    admin.post(f"/admin/gallery/clip/{clip.pk}/decide/", {"decision": "approve"})
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.PUBLISHED


def test_an_emailed_clip_gets_the_themes_its_words_suggest(deliver, tiny_video):
    inbound = deliver(clip_mail(tiny_video, subject="Road trip en Autopilot"))
    clip = inbound.submission.clips.get()
    assert set(clip.themes.values_list("slug", flat=True)) == {"autopilot", "weekend"}


def test_the_credit_cannot_change_once_the_clip_is_decided(client, deliver, tiny_video):
    inbound = deliver(mms_mail(tiny_video, text="Sortie au col"))
    (clip,) = in_review(inbound)
    clip.reject(by=None, reason="Trop sombre")
    status_url = inbound.submission.get_status_url()
    assert 'name="credit_name"' not in client.get(status_url).content.decode()
    client.post(status_url, {"action": "credit", "credit_name": "Inès", "credit_country": "FR"})
    clip.refresh_from_db()
    assert clip.credit_name == ""
