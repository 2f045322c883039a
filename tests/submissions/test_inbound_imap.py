"""The IMAP poller against a real dovecot server: nothing lost, nothing twice, nothing stops it."""

import subprocess
import sys
import textwrap

import pytest

from gallery.models import Clip
from submissions import mailbox
from submissions import receive as receiving
from submissions.models import InboundEmail
from tests.factories import (
    ROOT,
    apple_inline_mail,
    broken_boundary_mail,
    clip_mail,
    forwarded_mail,
    html_only_mail,
    ingest_once,
    mail_message,
    process_all,
    worker_env,
)

pytestmark = pytest.mark.django_db


def test_mailbox_urls_are_percent_decoded():
    config = mailbox.parse_mailbox_url(
        "imaps://clips%40example.org:p%40ss%2Fw%3Ard@mail.example.org/Clips%20in"
    )
    assert (config.secure, config.host, config.port) == (True, "mail.example.org", 993)
    assert (config.user, config.password, config.mailbox) == (
        "clips@example.org",
        "p@ss/w:rd",
        "Clips in",
    )
    assert mailbox.parse_mailbox_url("imap://u:p@localhost").port == 143
    assert "secret" not in repr(mailbox.parse_mailbox_url("imap://u:secret@localhost"))
    with pytest.raises(ValueError, match="scheme"):
        mailbox.parse_mailbox_url("pop3://u:p@localhost")


def test_messages_are_recorded_archived_and_never_read_twice(imap, tiny_video):
    imap.append(clip_mail(tiny_video), mail_message(subject="Sans vidéo").as_bytes())
    assert imap.count("Archive") is None  # created by the first pass

    output = ingest_once()
    assert "2 received, 0 already recorded, 2 archived" in output
    assert InboundEmail.objects.filter(via="imap").count() == 2
    assert imap.count("INBOX") == 0 and imap.count("Archive") == 2

    assert "0 received" in ingest_once()
    assert InboundEmail.objects.count() == 2
    process_all()
    assert Clip.objects.count() == 1
    assert set(InboundEmail.objects.values_list("status", flat=True)) == {"processed", "ignored"}


def test_a_failure_between_the_commit_and_the_move_duplicates_nothing(
    imap, tiny_video, monkeypatch
):
    imap.append(clip_mail(tiny_video))
    real_archive = mailbox.Mailbox.archive
    calls = []

    def archive_fails_once(self, uid):
        calls.append(uid)
        if len(calls) == 1:
            raise ConnectionResetError("the server went away right after our commit")
        return real_archive(self, uid)

    monkeypatch.setattr(mailbox.Mailbox, "archive", archive_fails_once)
    output = ingest_once()
    assert "1 received" in output and "connection lost" in output
    assert imap.count("INBOX") == 1 and InboundEmail.objects.count() == 1

    assert "0 received, 1 already recorded, 1 archived" in ingest_once()
    assert imap.count("INBOX") == 0 and imap.count("Archive") == 1
    process_all()
    assert InboundEmail.objects.count() == 1 and Clip.objects.count() == 1


def test_bad_messages_never_stop_the_poller(imap, tiny_video, monkeypatch):
    imap.append(
        b"\x00\xff\xfe this is not an e-mail \x00",
        broken_boundary_mail(tiny_video, boundary_matches=False),
        broken_boundary_mail(tiny_video),
        clip_mail(tiny_video, message_id=False, subject="Sans identifiant"),
        html_only_mail(subject="HTML seulement").as_bytes(),
        b"Subject: storage breaks on this one\r\n\r\nhello\r\n",
        apple_inline_mail(tiny_video),
        forwarded_mail(tiny_video),
    )
    real_receive = receiving.receive

    def receive(raw, *, via):
        if b"storage breaks" in raw:
            raise OSError("disk full")
        return real_receive(raw, via=via)

    monkeypatch.setattr(receiving, "receive", receive)
    output = ingest_once()
    assert "7 received, 0 already recorded, 7 archived, 1 left in the inbox" in output
    # The one that could not be recorded stays, to be read again.
    assert imap.count("INBOX") == 1 and imap.count("Archive") == 7

    process_all()
    outcomes = dict(InboundEmail.objects.exclude(subject="broken").values_list("subject", "status"))
    assert outcomes == {
        "": "ignored",
        "Sans identifiant": "processed",
        "HTML seulement": "ignored",
        "Accélération sur le circuit": "processed",
        "Fwd: Notre balade du week-end": "processed",
    }
    broken = InboundEmail.objects.filter(subject="broken").order_by("pk")
    assert [b.status for b in broken] == ["ignored", "processed"]
    assert "Damaged MIME structure" in broken[0].reason
    assert not InboundEmail.objects.filter(status=InboundEmail.Status.RECEIVED).exists()
    assert Clip.objects.count() == 4


def test_a_dropped_connection_ends_the_pass_and_the_next_one_reconnects(
    imap, tiny_video, monkeypatch
):
    imap.append(*(mail_message(subject=f"Message {n}").as_bytes() for n in range(3)))
    real_fetch = mailbox.Mailbox.fetch
    fetched = []

    def fetch_then_drop(self, uid):
        fetched.append(uid)
        if len(fetched) == 2:
            self.imap.shutdown()  # the network goes away mid-pass
        return real_fetch(self, uid)

    monkeypatch.setattr(mailbox.Mailbox, "fetch", fetch_then_drop)
    output = ingest_once()
    assert "1 received" in output and "pass ended early: connection lost" in output
    monkeypatch.undo()
    assert "2 received, 0 already recorded, 2 archived" in ingest_once()
    assert InboundEmail.objects.count() == 3 and imap.count("INBOX") == 0


def test_without_move_messages_are_copied_flagged_and_expunged(imap, monkeypatch):
    imap.append(mail_message(subject="Vieux serveur").as_bytes())
    monkeypatch.setattr(
        mailbox.Mailbox, "capabilities", property(lambda self: {"IMAP4REV1", "UIDPLUS"})
    )
    assert "1 archived" in ingest_once()
    assert imap.count("INBOX") == 0 and imap.count("Archive") == 1


def test_a_wrong_password_is_reported_not_raised(imap, settings):
    settings.MAILBOX_URL = imap.url.replace("s3cret", "wrong")
    assert "server refused" in ingest_once()


@pytest.mark.django_db(transaction=True)
def test_a_poller_killed_after_the_commit_leaves_one_record(imap, tiny_video, media_storage):
    imap.append(clip_mail(tiny_video))
    # A real process dies (no cleanup, no exception handling) right after its commit.
    script = textwrap.dedent("""
        import os, django
        django.setup()
        from submissions import mailbox
        mailbox.Mailbox.archive = lambda self, uid: os._exit(9)
        from django.core.management import call_command
        call_command("ingest_mail", "--imap", "--once")
    """)
    env = worker_env(media_storage, MAILBOX_URL=imap.url, DJANGO_SETTINGS_MODULE="config.settings")
    killed = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert killed.returncode == 9, killed.stderr.decode()
    assert InboundEmail.objects.count() == 1 and imap.count("INBOX") == 1

    assert "0 received, 1 already recorded, 1 archived" in ingest_once()
    process_all()
    assert InboundEmail.objects.count() == 1 and Clip.objects.count() == 1
