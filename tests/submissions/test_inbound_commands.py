"""`manage.py ingest_mail FILE... | -` and `manage.py purge_inbound`."""

import io
import subprocess
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from submissions.models import InboundEmail
from tests.factories import apple_inline_mail, clip_mail, mail_message, manage, worker_env

pytestmark = pytest.mark.django_db


def test_eml_files_are_recorded_once_each(tmp_path, tiny_video):
    first, second = tmp_path / "a.eml", tmp_path / "b.eml"
    first.write_bytes(clip_mail(tiny_video))
    second.write_bytes(apple_inline_mail(tiny_video))
    out = io.StringIO()
    call_command("ingest_mail", str(first), str(second), str(first), stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split(": ")[1].rsplit(" as ", 1)[0] for line in lines] == [
        "recorded",
        "recorded",
        "already recorded",
    ]
    assert sorted(InboundEmail.objects.values_list("via", flat=True)) == ["file", "file"]


def test_a_missing_file_is_an_error_after_the_others_are_recorded(tmp_path, tiny_video):
    good = tmp_path / "good.eml"
    good.write_bytes(clip_mail(tiny_video))
    with pytest.raises(CommandError, match="1 file"):
        call_command(
            "ingest_mail",
            str(tmp_path / "missing.eml"),
            str(good),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert InboundEmail.objects.count() == 1


def test_imap_and_files_do_not_mix():
    with pytest.raises(CommandError):
        call_command("ingest_mail", "--imap", "x.eml")
    with pytest.raises(CommandError):
        call_command("ingest_mail")


@pytest.mark.django_db(transaction=True)
def test_a_mail_servers_pipe_hands_one_message_on_stdin(media_storage, tiny_video):
    raw = clip_mail(tiny_video)
    env = worker_env(media_storage)
    for expected in ("recorded as inbound e-mail", "already recorded as inbound e-mail"):
        piped = manage(
            "ingest_mail",
            "-",
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = piped.communicate(raw, timeout=60)
        assert piped.returncode == 0, err.decode()
        assert f"-: {expected}" in out.decode()
    inbound = InboundEmail.objects.get()
    assert inbound.via == "stdin" and inbound.size == len(raw)
    assert (media_storage / "private" / inbound.raw.name).read_bytes() == raw


def test_when_it_cannot_record_the_pipe_is_told_to_retry_later(media_storage, tmp_path, tiny_video):
    env = worker_env(media_storage) | {"DATABASE_URL": f"sqlite:///{tmp_path}/missing/db.sqlite3"}
    piped = manage(
        "ingest_mail",
        "-",
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, err = piped.communicate(clip_mail(tiny_video), timeout=60)
    assert piped.returncode == 75, err.decode()  # EX_TEMPFAIL: the mail server keeps the message
    assert "not recorded" in err.decode()


def test_purge_deletes_old_raw_messages_and_keeps_the_rows(
    deliver, tiny_video, media_storage, settings, django_capture_on_commit_callbacks
):
    settings.INBOUND_RETENTION_DAYS = 30
    old = deliver(clip_mail(tiny_video))
    recent = deliver(mail_message(subject="Récent").as_bytes())
    from submissions.receive import receive

    waiting = receive(mail_message(subject="Pas encore traité").as_bytes(), via="file")
    InboundEmail.objects.filter(pk__in=[old.pk, waiting.pk]).update(
        processed_at=timezone.now() - timedelta(days=31),
        received_at=timezone.now() - timedelta(days=31),
    )
    old_file = media_storage / "private" / old.raw.name

    out = io.StringIO()
    call_command("purge_inbound", "--dry-run", stdout=out)
    assert (
        f"inbound e-mail {old.pk} (processed): would delete" in out.getvalue() and old_file.exists()
    )

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_inbound", stdout=out)
    assert f"inbound e-mail {old.pk} (processed): deleted {old.raw.name}" in out.getvalue()
    assert "1 raw messages purged" in out.getvalue()
    assert not old_file.exists()
    old.refresh_from_db()
    assert (
        old.raw.name == ""
        and old.status == InboundEmail.Status.PROCESSED
        and old.submission is not None
    )
    # Still waiting for processing: kept whatever its age. Recent: kept.
    assert (
        InboundEmail.objects.get(pk=waiting.pk).raw and InboundEmail.objects.get(pk=recent.pk).raw
    )

    out = io.StringIO()
    call_command("purge_inbound", stdout=out)
    assert out.getvalue().strip() == "0 raw messages purged (processed more than 30 days ago)"
