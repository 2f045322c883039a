"""A file-sharing service's own notice ("Camille sent you files", from its no-reply address)
is the owner's doing: the owner in Reply-To hears back, with why the link is not enough and
the personal link to finish; a notice with no person behind it still gets no reply."""

import re

import pytest
from django.core import mail

from submissions.models import InboundEmail
from tests.factories import mail_message

pytestmark = pytest.mark.django_db

DOWNLOAD = "https://wetransfer.com/downloads/4f1c2b7e9d0a/8c6e1f"


def wetransfer_notice(*, reply_to="Camille Martin <camille@example.org>", subject=None):
    """WeTransfer's e-mail to the recipient of a transfer, as its bulk mailer sends it."""
    headers = {
        "Auto-Submitted": "auto-generated",
        "List-Unsubscribe": "<https://wetransfer.com/unsubscribe/abc>",
        "Return-Path": "<bounces+4242-camille=example.org@em.wetransfer.com>",
        "X-Auto-Response-Suppress": "All",
    }
    if reply_to:
        headers["Reply-To"] = reply_to
    return mail_message(
        sender="WeTransfer <noreply@wetransfer.com>",
        subject=subject or "camille@example.org sent you files via WeTransfer",
        body=(
            "camille@example.org\nsent you some files\n\n"
            "Voici la vidéo du col de la Bonette, bonne journée !\n\n"
            f"Download your files\n{DOWNLOAD}\n\n1 item\ncol-bonette.mp4\n812 MB\n"
            "Expires on 7 December 2026\n"
        ),
        headers=headers,
    ).as_bytes()


def test_the_owner_behind_a_wetransfer_notice_is_told_how_to_finish(deliver):
    inbound = deliver(wetransfer_notice())
    assert inbound.sender == "camille@example.org"
    assert inbound.status == InboundEmail.Status.IGNORED and inbound.reply == "no_video"
    [reply] = mail.outbox
    assert reply.to == ["camille@example.org"]
    assert "WeTransfer" in reply.body  # why the transfer is not enough
    assert re.search(r"/submit/[^/\s]+/", reply.body)  # the personal link, to finish
    assert "Voici la vidéo du col" in inbound.draft["description"]
    assert inbound.draft["title"] == ""  # the service's subject is not the owner's title


def test_without_reply_to_the_address_the_notice_names_is_the_owner(deliver):
    inbound = deliver(wetransfer_notice(reply_to=None))
    assert inbound.sender == "camille@example.org"
    assert [m.to for m in mail.outbox] == [["camille@example.org"]]


def test_a_notice_with_no_person_behind_it_gets_no_reply(deliver):
    inbound = deliver(
        wetransfer_notice(reply_to="noreply@wetransfer.com", subject="Your transfer expires")
    )
    assert inbound.sender == "noreply@wetransfer.com"
    assert mail.outbox == [] and "No reply sent" in inbound.reason


def test_a_no_reply_sender_elsewhere_still_gets_no_reply(deliver):
    raw = mail_message(
        sender="Shop <noreply@shop.example>", headers={"Reply-To": "camille@example.org"}
    ).as_bytes()
    inbound = deliver(raw)
    assert inbound.sender == "noreply@shop.example" and mail.outbox == []
