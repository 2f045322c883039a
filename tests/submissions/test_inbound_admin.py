"""Staff see every e-mail that came in, what became of it, and the sender checks."""

import importlib
import os

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User

from submissions.models import InboundEmail
from tests.factories import clip_mail, mail_message, manage, queued

pytestmark = pytest.mark.django_db

CHECKS = {"Authentication-Results": "mx.example.org; spf=pass; dkim=pass; dmarc=fail"}


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "x"))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def moderators():
    """The group as the migrations make it (transactional tests may have emptied the tables)."""
    gallery_migration = importlib.import_module("gallery.migrations.0005_moderators_group")
    group, _ = Group.objects.get_or_create(name="Moderators")
    for app_label, model, codenames in gallery_migration.MODERATOR_PERMISSIONS:
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label=app_label, content_type__model=model, codename__in=codenames
            )
        )
    importlib.import_module("submissions.migrations.0004_moderators_see_inbound_email").grant(
        apps, None
    )
    return group


@pytest.fixture
def moderator_client(client, moderators):
    user = User.objects.create_user("mod", "mod@example.org", "x", is_staff=True)
    user.groups.add(moderators)
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_the_list_shows_status_sender_subject_clips_and_checks(admin_client, deliver, tiny_video):
    deliver(clip_mail(tiny_video, subject="Col de Vence", headers=CHECKS))
    deliver(mail_message(subject="Rien", sender="paul@example.net").as_bytes())
    html = admin_client.get("/admin/submissions/inboundemail/").content.decode()
    for text in (
        "Col de Vence",
        "camille@example.org",
        "paul@example.net",
        "Processed",
        "Ignored",
        "pass",
        "fail",
    ):
        assert text in html, text
    found = admin_client.get("/admin/submissions/inboundemail/", {"q": "paul@"}).content.decode()
    assert "Rien" in found and "Col de Vence" not in found
    filtered = admin_client.get(
        "/admin/submissions/inboundemail/", {"status__exact": "processed"}
    ).content.decode()
    assert "Col de Vence" in filtered and "Rien" not in filtered


def test_the_record_links_to_its_clips_and_the_raw_message(admin_client, deliver, tiny_video):
    inbound = deliver(clip_mail(tiny_video, headers=CHECKS))
    clip = inbound.submission.clips.get()
    html = admin_client.get(
        f"/admin/submissions/inboundemail/{inbound.pk}/change/"
    ).content.decode()
    assert f"/admin/gallery/clip/{clip.pk}/change/" in html
    assert f"/admin/submissions/inboundemail/{inbound.pk}/raw/" in html

    response = admin_client.get(f"/admin/submissions/inboundemail/{inbound.pk}/raw/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="inbound-{inbound.pk}.eml"'
    assert response["Content-Type"] == "message/rfc822"
    assert b"".join(response.streaming_content) == inbound.raw.open("rb").read()


def test_the_raw_message_needs_the_change_permission(client, moderator_client, deliver, tiny_video):
    inbound = deliver(clip_mail(tiny_video))
    # Moderators read the records...
    assert (
        moderator_client.get(f"/admin/submissions/inboundemail/{inbound.pk}/change/").status_code
        == 200
    )
    # ...but not the raw message, which holds the sender's whole e-mail.
    assert (
        moderator_client.get(f"/admin/submissions/inboundemail/{inbound.pk}/raw/").status_code
        == 403
    )
    client.logout()
    anonymous = client.get(f"/admin/submissions/inboundemail/{inbound.pk}/raw/")
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]


def test_reprocess_sends_failed_messages_back_and_leaves_others(
    admin_client, deliver, tiny_video, monkeypatch, django_capture_on_commit_callbacks
):
    from submissions import probe

    done = deliver(mail_message(subject="Déjà traité").as_bytes())
    monkeypatch.setattr(probe, "examine", lambda *a: 1 / 0)
    failed = deliver(clip_mail(tiny_video))
    monkeypatch.undo()
    assert failed.status == InboundEmail.Status.FAILED and "ZeroDivisionError" in failed.reason

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/submissions/inboundemail/",
            {"action": "reprocess", "_selected_action": [done.pk, failed.pk]},
            follow=True,
        )
    html = response.content.decode()
    assert "1 message sent back to processing." in html and "only failed messages" in html
    failed.refresh_from_db()
    assert failed.status == InboundEmail.Status.RECEIVED and failed.reason == ""
    assert queued("process_inbound_email").count([failed.pk]) == 2  # received, then again
    assert InboundEmail.objects.get(pk=done.pk).status == InboundEmail.Status.IGNORED


def test_moderators_cannot_reprocess(moderator_client, deliver):
    inbound = deliver(mail_message().as_bytes())
    html = moderator_client.get("/admin/submissions/inboundemail/").content.decode()
    assert 'value="reprocess"' not in html
    assert inbound.subject in html


def test_submissions_show_their_clips_and_sender_checks(admin_client, deliver, tiny_video):
    inbound = deliver(clip_mail(tiny_video, subject="Vue du lac", headers=CHECKS))
    submission = inbound.submission
    listing = admin_client.get("/admin/submissions/submission/").content.decode()
    assert "camille@example.org" in listing
    html = admin_client.get(
        f"/admin/submissions/submission/{submission.pk}/change/"
    ).content.decode()
    assert "Vue du lac" in html and "SPF pass, DKIM pass, DMARC fail" in html
    assert admin_client.get("/admin/submissions/submission/add/").status_code == 403


def test_the_clip_queue_shows_the_sender_checks_of_e_mailed_clips(
    admin_client, deliver, tiny_video
):
    inbound = deliver(clip_mail(tiny_video, headers=CHECKS))
    html = admin_client.get("/admin/gallery/clip/", {"status": "all"}).content.decode()
    assert "SPF pass, DKIM pass, DMARC fail" in html
    clip = inbound.submission.clips.get()
    assert (
        "SPF pass, DKIM pass, DMARC fail"
        in admin_client.get(f"/admin/gallery/clip/{clip.pk}/change/").content.decode()
    )


def test_the_migrations_let_moderators_view_inbound_emails(tmp_path):
    """A database migrated from zero, read as it is (no fixture grants anything here)."""
    import sqlite3
    import subprocess

    database = tmp_path / "fresh.sqlite3"
    migrate = manage(
        "migrate", "--noinput", env=os.environ | {"DATABASE_URL": f"sqlite:///{database}"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    out, _ = migrate.communicate(timeout=300)
    assert migrate.returncode == 0, out
    with sqlite3.connect(database) as db:
        codenames = {
            row[0]
            for row in db.execute(
                "SELECT p.codename FROM auth_permission p"
                " JOIN auth_group_permissions gp ON gp.permission_id = p.id"
                " JOIN auth_group g ON g.id = gp.group_id WHERE g.name = 'Moderators'"
            )
        }
        exists = db.execute(
            "SELECT 1 FROM auth_permission WHERE codename = 'change_inboundemail'"
        ).fetchone()
    assert "view_inboundemail" in codenames and "change_inboundemail" not in codenames
    assert exists


def test_a_message_stuck_waiting_can_be_queued_again(
    admin_client, tiny_video, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from submissions.receive import receive

    fresh = receive(mail_message(subject="Just in").as_bytes(), via="file")
    stuck = receive(clip_mail(tiny_video), via="file")  # its task was lost with its worker
    InboundEmail.objects.filter(pk=stuck.pk).update(
        received_at=timezone.now() - timedelta(minutes=11)
    )
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/submissions/inboundemail/",
            {"action": "reprocess", "_selected_action": [fresh.pk, stuck.pk]},
        )
    assert queued("process_inbound_email") == [[stuck.pk]]


def replies_listed(client, inbound, language="en"):
    """The replies the message's page lists as sent: [(kind, text)]."""
    import re

    from django.utils.html import strip_tags

    html = client.get(
        f"/admin/submissions/inboundemail/{inbound.pk}/change/",
        headers={"Accept-Language": language},
    ).content.decode()
    return [
        (kind, strip_tags(text))
        for kind, text in re.findall(r'<li data-reply="([^"]+)">(.*?)</li>', html, re.S)
    ]


def sent_at(kind, language="en"):
    """When the `kind` reply went, as the admin shows a time in `language`."""
    from django.utils import formats, timezone, translation

    from submissions.models import SentReply

    with translation.override(language):
        return formats.localize(timezone.template_localtime(SentReply.objects.get(kind=kind).at))


def test_staff_see_which_replies_a_message_was_sent_and_when(
    admin_client, moderator_client, deliver, tiny_video, settings
):
    from tests.factories import said_in

    # The sender's server dropped the connection once: a cut copy, then the whole message.
    raw = clip_mail(tiny_video, filename="drive-home.mp4", message_id="<twice@example.org>")
    cut = deliver(raw[: len(raw) // 2])
    whole = deliver(raw)
    assert (cut.reply, whole.reply) == ("incomplete", "receipt")

    for client in (admin_client, moderator_client):
        assert replies_listed(client, cut) == [
            ("incomplete", f"message arrived cut off · {sent_at('incomplete')}")
        ]
    # The whole copy's page shows its receipt, and the reply its cut copy was sent.
    assert replies_listed(moderator_client, whole) == [
        ("incomplete", f"message arrived cut off · {sent_at('incomplete')} "
         "(to another copy of this message)"),
        ("receipt", f"receipt · {sent_at('receipt')}"),
    ]  # fmt: skip
    html = moderator_client.get(f"/admin/submissions/inboundemail/{whole.pk}/change/")
    assert f'href="/admin/submissions/inboundemail/{cut.pk}/change/"' in html.content.decode()
    # In the staff member's language.
    assert replies_listed(admin_client, whole, "de") == [
        ("incomplete", f"{said_in('de', 'message arrived cut off')} · "
         f"{sent_at('incomplete', 'de')} ({said_in('de', 'to another copy of this message')})"),
        ("receipt", f"{said_in('de', 'receipt')} · {sent_at('receipt', 'de')}"),
    ]  # fmt: skip
    # Read only: nothing to add, change or delete them with.
    assert admin_client.get("/admin/submissions/sentreply/").status_code == 404

    ours = mail_message(subject="Rien", sender=settings.SUBMISSION_ADDRESS).as_bytes()
    unanswered = deliver(ours)
    assert unanswered.reply == "" and replies_listed(admin_client, unanswered) == []
