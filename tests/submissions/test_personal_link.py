"""When the clip is not attached (a link to a sharing service, a part stripped on the way, no
attachment), the reply names what we saw and carries a personal link: it opens the web form
filled from the e-mail, for that sender only, once, for 7 days."""

import re
import time
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.test import Client

from gallery.models import Clip
from submissions import links
from submissions.models import InboundEmail, Submission
from tests.factories import (
    gmail_drive_mail,
    link_mail,
    mail_drop_mail,
    mail_message,
    said_in,
    upload,
    wetransfer_mail,
)

pytestmark = pytest.mark.django_db

USED = (
    "This personal link has already been used: your clip was sent with it. Your receipt holds the "
    "link to follow it."
)


def personal_link(reply):
    match = re.search(r"https://clips\.example\.org(/\w\w/submit/[^/\s]+/)", reply.body)
    assert match, reply.body
    return match.group(1)


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://clips.example.org"


def field_value(html, name):
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None


def test_a_drive_link_is_named_and_the_personal_link_prefills_the_form_once(
    client, deliver, site, sample_video
):
    inbound = deliver(gmail_drive_mail())
    assert inbound.status == InboundEmail.Status.IGNORED
    (reply,) = mail.outbox
    assert reply.to == ["camille@example.org"]
    # In the message's language: French.
    assert "Votre message renvoie à votre clip sur Google Drive." in reply.body, reply.body
    assert said_in("fr", "What we found inside your attachments:") not in reply.body
    path = personal_link(reply)
    assert path.startswith("/fr/submit/")

    page = client.get(path)
    html = page.content.decode()
    assert page.status_code == 200
    assert field_value(html, "title") == "Balade du week-end"
    assert "Voici la vidéo de notre balade du week-end." in html
    assert re.search(r'<input[^>]*value="weekend"[^>]*checked', html)
    assert field_value(html, "credit_name") == "Camille"
    assert 'name="email"' not in html and "camille@example.org" in html

    form = {
        "title": "Balade du week-end",
        "description": "Voici la vidéo de notre balade du week-end.",
        "themes": ["weekend"],
        "credit_name": "Camille",
        "credit_country": "FR",
        "consent": "on",
        "video": upload(sample_video, "IMG_2291.MOV", "video/quicktime"),
    }
    response = client.post(path, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    submission = Submission.objects.get()
    # The round trip verified the address: the clip counts as coming from it.
    assert submission.email == "camille@example.org"
    assert submission.source == Submission.Source.EMAIL and submission.language == "fr"
    assert submission.has_current_consent()
    clip = submission.clips.get()
    assert clip.title == "Balade du week-end" and clip.status == Clip.Status.PROCESSING
    inbound.refresh_from_db()
    assert inbound.submission == submission  # staff see the e-mail and the clip together

    used = client.get(path)
    assert used.status_code == 410
    assert said_in("fr", USED) in used.content.decode()
    form["video"] = upload(sample_video, "IMG_2291.MOV", "video/quicktime")
    assert client.post(path, form).status_code == 410
    assert Clip.objects.count() == 1


def test_an_altered_link_is_refused(client, deliver, site):
    deliver(gmail_drive_mail())
    path = personal_link(mail.outbox[0])
    token = path.split("/")[3]
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = client.get(path.replace(token, altered))
    assert response.status_code == 404
    assert said_in("fr", "This link is not valid: it may have been cut or changed on its way.") in (
        response.content.decode()
    )

    # Signed for another message's sender: still refused.
    other = InboundEmail.objects.get()
    forged = signing.dumps({"m": other.pk, "to": "mallory@example.net"}, salt="other")
    assert client.get(f"/fr/submit/{forged}/").status_code == 404
    # The address is not written in the link.
    assert "camille" not in path and "Y2FtaWxsZ" not in path


def test_an_expired_link_is_refused(client, deliver, site, monkeypatch):
    inbound = deliver(gmail_drive_mail())
    now = time.time()
    eight_days_ago = now - timedelta(days=8).total_seconds()
    six_days_ago = now - timedelta(days=6).total_seconds()
    # Links signed in the past (the signature holds its own time): backdated, not slept on.
    monkeypatch.setattr(signing.time, "time", lambda: eight_days_ago)
    old = inbound.get_personal_link()
    monkeypatch.setattr(signing.time, "time", lambda: six_days_ago)
    recent = inbound.get_personal_link()
    monkeypatch.undo()

    response = client.get(old)
    assert response.status_code == 410
    assert said_in("fr", "This personal link has expired.") in response.content.decode()
    assert client.get(recent).status_code == 200


@pytest.mark.parametrize(
    ("raw", "service"),
    [
        (mail_drop_mail, "iCloud Mail Drop"),
        (wetransfer_mail, "WeTransfer"),
    ],
)
def test_the_reply_names_the_sharing_service_seen_and_fetches_nothing(deliver, site, raw, service):
    inbound = deliver(raw())
    assert inbound.status == InboundEmail.Status.IGNORED
    assert inbound.draft["shared_via"] == [service]
    (reply,) = mail.outbox
    assert service in reply.body
    assert personal_link(reply)


def test_a_message_without_any_attachment_gets_a_personal_link(client, deliver, site):
    deliver(mail_message(subject="My trip", body="Hello, I would like to send my road trip.")
            .as_bytes())  # fmt: skip
    (reply,) = mail.outbox
    path = personal_link(reply)
    assert path.startswith("/en/submit/")
    html = client.get(path).content.decode()
    assert field_value(html, "title") == "My trip"


def test_a_message_we_must_not_answer_gets_no_link(deliver, site):
    deliver(gmail_drive_mail(headers={"Auto-Submitted": "auto-generated"}))
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://drive.google.com/file/d/abc/view", ("Google Drive",)),
        ("https://www.icloud.com/iclouddrive/0abc#IMG_1", ("iCloud",)),
        ("https://www.icloud.com/attachment/?u=x&f=IMG.MOV", ("iCloud Mail Drop",)),
        ("see https://1drv.ms/v/s!AbC and https://contoso-my.sharepoint.com/:v:/p/x", ("OneDrive",)),
        ("https://we.tl/t-abc https://wetransfer.com/downloads/abc", ("WeTransfer",)),
        ("https://www.swisstransfer.com/d/1234", ("SwissTransfer",)),
        ("https://fromsmash.com/AbCdEf", ("Smash",)),
        ("https://www.dropbox.com/scl/fi/x/clip.mov?dl=0", ("Dropbox",)),
        ('<a href="https://drive.google.com/x">x</a> https://dropbox.com/s/y', ("Google Drive", "Dropbox")),
        ("https://drive.google.com.evil.example/x https://notdropbox.com/x", ()),
        ("our site https://example.org/clips and no link", ()),
    ],
)  # fmt: skip
def test_sharing_services_are_recognised_by_their_hosts(text, expected):
    assert links.sharing_services(text) == expected


def test_a_link_only_in_the_html_part_is_seen(deliver, site):
    inbound = deliver(
        link_mail(
            "Voici ma vidéo.",
            '<p>Voici ma <a href="https://1drv.ms/v/s!AkZ">vidéo</a>.</p>',
            subject="Vidéo",
        )
    )
    assert inbound.draft["shared_via"] == ["OneDrive"]


def test_what_the_message_said_goes_with_its_raw_copy(deliver, site):
    inbound = deliver(gmail_drive_mail())
    assert inbound.draft["title"] == "Balade du week-end"
    inbound.delete_raw()
    inbound.refresh_from_db()
    assert inbound.draft == {}


def test_a_clip_sent_again_through_a_second_link_links_to_its_page(deliver, site, sample_video):
    """The link came to the owner's address, so the page of the clip that address sent is
    theirs to see: sent again from another browser, the form links to it."""
    deliver(gmail_drive_mail())
    deliver(gmail_drive_mail())  # a second message (its own Message-ID): a second link
    first, second = (personal_link(reply) for reply in mail.outbox)
    assert first != second
    form = {
        "title": "Balade du week-end",
        "themes": ["weekend"],
        "credit_name": "Camille",
        "credit_country": "FR",
        "consent": "on",
    }
    sent = Client().post(first, form | {"video": upload(sample_video, "IMG_2291.MOV")})
    assert sent.status_code == 302
    status_url = Submission.objects.get().get_status_url()
    again = Client().post(second, form | {"video": upload(sample_video, "IMG_2291.MOV")})
    assert again.status_code == 400
    assert f'href="{status_url}"' in again.content.decode()
    assert Submission.objects.count() == 1
