"""Providers' inbound webhooks (django-anymail) feed the same receive(), behind their checks."""

import base64
import hashlib
import hmac
import json
import time

import pytest

from submissions.models import InboundEmail
from submissions.parse import sha256
from tests.factories import clip_mail, queued

pytestmark = pytest.mark.django_db

SIGNING_KEY = "mailgun-signing-key"
SECRET = "hooks:s3cr3t-passphrase"


@pytest.fixture
def hooks_configured(settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY, "WEBHOOK_SECRET": SECRET}


def basic_auth(credentials=SECRET):
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def mailgun_form(raw, *, key=SIGNING_KEY):
    timestamp, token = str(int(time.time())), "a" * 50
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "body-mime": raw.decode("utf-8"), "timestamp": timestamp, "token": token,
        "signature": signature, "recipient": "clips@example.org", "sender": "camille@example.org",
    }  # fmt: skip


def test_mailgun_with_a_valid_signature_records_the_original_message(
    client, hooks_configured, tiny_video, django_capture_on_commit_callbacks
):
    raw = clip_mail(tiny_video)
    form = mailgun_form(raw)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/hooks/mailgun/inbound_mime/", form, headers=basic_auth())
    assert response.status_code == 200
    inbound = InboundEmail.objects.get()
    assert inbound.via == "mailgun" and inbound.sha256 == sha256(raw)
    assert inbound.sender == "camille@example.org"
    assert queued("process_inbound_email") == [[inbound.pk]]

    # The provider retries the same delivery: still one record.
    assert (
        client.post("/hooks/mailgun/inbound_mime/", form, headers=basic_auth()).status_code == 200
    )
    assert InboundEmail.objects.count() == 1


def test_mailgun_signature_alone_is_enough_without_a_shared_secret(client, settings, tiny_video):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY, "WEBHOOK_SECRET": ""}
    assert (
        client.post("/hooks/mailgun/inbound_mime/", mailgun_form(clip_mail(tiny_video))).status_code
        == 200
    )
    assert InboundEmail.objects.get().via == "mailgun"


def test_mailgun_with_a_wrong_signature_is_refused(client, hooks_configured, tiny_video):
    form = mailgun_form(clip_mail(tiny_video), key="someone-elses-key")
    assert (
        client.post("/hooks/mailgun/inbound_mime/", form, headers=basic_auth()).status_code == 400
    )
    form = mailgun_form(clip_mail(tiny_video))
    form["signature"] = "0" * 64
    assert (
        client.post("/hooks/mailgun/inbound_mime/", form, headers=basic_auth()).status_code == 400
    )
    assert InboundEmail.objects.count() == 0


def postmark_payload(raw):
    return json.dumps(
        {
            "MessageID": "0a1b2c3d-postmark",
            "Headers": [{"Name": "Return-Path", "Value": "<camille@example.org>"}],
            "OriginalRecipient": "clips@example.org",
            "RawEmail": raw.decode("utf-8"),
        }
    )


def post_json(client, url, payload, **headers):
    return client.post(url, payload, content_type="application/json", headers=headers)


def test_postmark_needs_its_basic_auth_before_anything_is_read(
    client, hooks_configured, tiny_video
):
    raw = clip_mail(tiny_video)
    url = "/hooks/postmark/inbound/"
    missing = post_json(client, url, postmark_payload(raw))
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Basic")
    assert (
        post_json(client, url, postmark_payload(raw), **basic_auth("hooks:guess")).status_code
        == 401
    )
    assert InboundEmail.objects.count() == 0

    assert post_json(client, url, postmark_payload(raw), **basic_auth()).status_code == 200
    inbound = InboundEmail.objects.get()
    assert inbound.via == "postmark" and inbound.sha256 == sha256(raw)


def test_messages_larger_than_a_form_may_be_still_come_in(
    client, hooks_configured, tiny_video, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000  # far below a clip: Django's limit for forms
    raw = clip_mail(tiny_video)
    assert len(postmark_payload(raw)) > 10_000
    url = "/hooks/postmark/inbound/"
    assert post_json(client, url, postmark_payload(raw), **basic_auth()).status_code == 200
    assert InboundEmail.objects.get().sha256 == sha256(raw)


def test_payloads_over_the_cap_are_refused(client, hooks_configured, tiny_video, monkeypatch):
    from submissions import hooks

    monkeypatch.setattr(hooks, "MAX_PAYLOAD_BYTES", 1000)
    payload = postmark_payload(clip_mail(tiny_video))
    assert post_json(client, "/hooks/postmark/inbound/", payload, **basic_auth()).status_code == 413
    assert InboundEmail.objects.count() == 0


def test_mailguns_parsed_route_streams_attachments_and_they_become_clips(
    client, settings, tiny_video, deliver, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from submissions.tasks import process_inbound_email

    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY, "WEBHOOK_SECRET": ""}
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    headers = [
        ["From", "Camille Martin <camille@example.org>"],
        ["To", "clips@example.org"],
        ["Subject", "Sortie du dimanche"],
        ["Message-Id", "<parsed@example.org>"],
    ]
    form = mailgun_form(b"") | {
        "message-headers": json.dumps(headers),
        "body-plain": "Voici ma vidéo.",
        "attachment-count": "1",
        "attachment-1": SimpleUploadedFile("dimanche.mp4", tiny_video, content_type="video/mp4"),
    }
    del form["body-mime"]
    assert client.post("/hooks/mailgun/inbound/", form).status_code == 200
    inbound = InboundEmail.objects.get()
    assert inbound.message_id == "<parsed@example.org>" and inbound.sender == "camille@example.org"
    with django_capture_on_commit_callbacks(execute=True):
        process_inbound_email.call(inbound.pk)
    inbound.refresh_from_db()
    clip = inbound.submission.clips.get()
    assert clip.title == "Sortie du dimanche" and clip.original.name.endswith(".mp4")


def ses_notification(raw):
    mail = {"source": "camille@example.org", "messageId": "ses-1", "timestamp": "2026-11-21T09:00Z"}
    ses_event = {
        "notificationType": "Received",
        "mail": mail,
        "receipt": {
            "recipients": ["clips@example.org"], "spamVerdict": {"status": "PASS"},
            "action": {"type": "SNS", "topicArn": "arn:aws:sns:eu:1:inbound", "encoding": "BASE64"},
        },
        "content": base64.b64encode(raw).decode(),
    }  # fmt: skip
    body = {
        "Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:eu-west-1:1:inbound",
        "Message": json.dumps(ses_event), "Timestamp": "2026-11-21T09:00:01.000Z",
    }  # fmt: skip
    headers = {"x-amz-sns-message-type": "Notification", "x-amz-sns-message-id": "sns-1"}
    return json.dumps(body), headers


def test_amazon_ses_through_sns_records_the_exact_bytes(client, hooks_configured, tiny_video):
    raw = clip_mail(tiny_video, body="Ceci a été envoyé par SES.\n")
    body, headers = ses_notification(raw)
    url = "/hooks/amazon_ses/inbound/"
    # SNS first calls without credentials and expects a challenge.
    assert client.post(url, body, content_type="text/plain", headers=headers).status_code == 401
    response = client.post(url, body, content_type="text/plain", headers=headers | basic_auth())
    assert response.status_code == 200
    inbound = InboundEmail.objects.get()
    assert inbound.via == "amazon_ses" and inbound.sha256 == sha256(raw)


def test_hooks_are_off_until_their_secrets_are_set(client, settings, tiny_video):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "", "WEBHOOK_SECRET": ""}
    raw = clip_mail(tiny_video)
    assert client.post("/hooks/mailgun/inbound_mime/", mailgun_form(raw, key="")).status_code == 404
    assert (
        client.post(
            "/hooks/postmark/inbound/", postmark_payload(raw), content_type="application/json"
        ).status_code
        == 404
    )
    body, headers = ses_notification(raw)
    assert (
        client.post(
            "/hooks/amazon_ses/inbound/", body, content_type="text/plain", headers=headers
        ).status_code
        == 404
    )
    assert InboundEmail.objects.count() == 0
