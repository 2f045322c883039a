"""From the real mailbox (dovecot) through the real worker to the owner's reply (a real SMTP
server) and back through the personal link: an Outlook TNEF clip and a Drive link."""

import re

import pytest

from gallery.models import Clip
from submissions.models import InboundEmail, Submission
from tests.factories import (
    gmail_drive_mail,
    ingest_once,
    manage,
    outlook_tnef_mail,
    upload,
    worker_env,
)

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker(media_storage, smtp_inbox):
    env = worker_env(media_storage, SMTP_URL=smtp_inbox.url, SITE_URL="https://clips.example.org")
    worker = manage("db_worker", "--batch", "--no-startup-delay", "--no-reload", env=env)
    assert worker.wait(timeout=300) == 0


def test_a_tnef_clip_and_a_drive_link_from_the_mailbox_end_in_review(
    imap, smtp_inbox, media_storage, tiny_video, client, tmp_path
):
    imap.append(
        outlook_tnef_mail({"Spiaggia.mov": tiny_video}, subject="La spiaggia"),
        gmail_drive_mail(),
    )
    assert "2 received" in ingest_once()
    run_worker(media_storage, smtp_inbox)

    tnef = InboundEmail.objects.get(subject="La spiaggia")
    assert tnef.status == InboundEmail.Status.PROCESSED, tnef.reason
    clip = tnef.submission.clips.get()
    assert clip.status == Clip.Status.REVIEW, clip.failure_reason
    assert clip.title == "La spiaggia"

    replies = {reply["To"]: reply for reply in smtp_inbox.wait_for(2)}
    receipt = replies["lucas@example.it"].get_body(("plain",)).get_content()
    assert "winmail.dat\u00a0: Spiaggia.mov" in receipt  # in French: a no-break space first

    drive = InboundEmail.objects.get(subject="Balade du week-end")
    assert drive.status == InboundEmail.Status.IGNORED and drive.draft["shared_via"] == [
        "Google Drive"
    ]
    answer = replies["camille@example.org"].get_body(("plain",)).get_content()
    assert "Google Drive" in answer
    path = re.search(r"https://clips\.example\.org(/fr/submit/[^/\s]+/)", answer).group(1)

    html = client.get(path).content.decode()
    assert 'value="Balade du week-end"' in html
    video = tmp_path / "IMG_2291.MOV"
    video.write_bytes(tiny_video)
    response = client.post(
        path,
        {
            "title": "Balade du week-end",
            "description": "Voici la vidéo.",
            "themes": ["weekend"],
            "credit_name": "Camille",
            "credit_country": "FR",
            "consent": "on",
            "video": upload(video, "IMG_2291.MOV", "video/quicktime"),
        },
    )
    assert response.status_code == 302
    run_worker(media_storage, smtp_inbox)
    submission = Submission.objects.get(email="camille@example.org")
    drive.refresh_from_db()
    assert drive.submission == submission
    assert submission.clips.get().status == Clip.Status.REVIEW
    assert client.get(path).status_code == 410
