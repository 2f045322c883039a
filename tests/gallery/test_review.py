"""The moderation queue in the admin: permissions, decisions, notices, races, retention."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from gallery.models import Clip, ClipTransition, RejectionReason
from submissions.models import Submission
from tests.factories import make_clip, owned_clip, said_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator():
    user = User.objects.create_user("mona", password="secret-pass-123", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def mod_client(moderator):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(moderator)
    return client


def change_url(clip):
    return f"/admin/gallery/clip/{clip.pk}/change/"


def decide(client, clip, decision, **extra):
    return client.post(f"/admin/gallery/clip/{clip.pk}/decide/", {"decision": decision, **extra})


def test_moderators_group_has_exactly_the_review_permissions():
    codes = set(Group.objects.get(name="Moderators").permissions.values_list("codename", flat=True))
    assert {"view_clip", "change_clip", "moderate_clip"} <= codes
    assert not any(
        code.endswith(("_user", "_group", "_permission", "_theme")) and not code.startswith("view_")
        for code in codes
    )
    assert not codes & {"delete_clip", "add_clip", "delete_submission", "change_submission"}


def test_moderator_reviews_but_cannot_manage_users(mod_client):
    assert mod_client.get("/admin/gallery/clip/").status_code == 200
    assert mod_client.get("/admin/auth/user/").status_code == 403
    assert mod_client.get("/admin/auth/user/add/").status_code == 403
    assert mod_client.get("/admin/auth/group/").status_code == 403


def test_visitors_see_nothing_of_the_admin(client):
    clip = make_clip(status=Clip.Status.REVIEW)
    for url in ("/admin/", "/admin/gallery/clip/", change_url(clip)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert decide(client, clip, "approve").status_code == 302
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.REVIEW


def test_queue_opens_on_review_oldest_first_with_waits(mod_client):
    newer = make_clip(status=Clip.Status.REVIEW, title="Newer")
    older = make_clip(status=Clip.Status.REVIEW, title="Older")
    Clip.objects.filter(pk=older.pk).update(status_changed_at=timezone.now() - timedelta(days=2))
    make_clip(status=Clip.Status.PUBLISHED, title="Already out")

    response = mod_client.get("/admin/gallery/clip/")
    html = response.content.decode()
    assert [c.title for c in response.context["cl"].result_list] == ["Older", "Newer"]
    assert "Already out" not in html
    assert "2\xa0days" in html
    everything = mod_client.get("/admin/gallery/clip/", {"status": "all"})
    assert {c.title for c in everything.context["cl"].result_list} == {
        "Older",
        "Newer",
        "Already out",
    }
    index = mod_client.get("/admin/").content.decode()
    assert "2 clips wait for review." in index and "The oldest has waited 2\xa0days" in index
    assert newer.pk


def test_clip_page_plays_the_private_rendition_for_staff_only(mod_client, client, sample_video):
    clip = make_clip(status=Clip.Status.REVIEW, video=sample_video)
    html = mod_client.get(change_url(clip)).content.decode()
    src = re.search(r'<video [^>]*src="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert src.startswith(f"/media/clips/{clip.pk}/") and "sig=" in src
    ranged = mod_client.get(src, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged["Cache-Control"] == "private, no-store"
    assert client.get(clip.video.url).status_code == 404  # the unsigned, public address
    assert "Approve and publish" in html
    assert "Processing → Waiting for review" in html  # the history


def test_approve_records_and_tells_the_owner_in_their_language(
    mod_client, moderator, django_capture_on_commit_callbacks
):
    _, clip = owned_clip(language="de")
    with django_capture_on_commit_callbacks(execute=True):
        response = decide(mod_client, clip, "approve")
    assert response.status_code == 302
    clip.refresh_from_db()
    assert clip.status == Clip.Status.PUBLISHED
    last = clip.transitions.last()
    assert (last.from_status, last.to_status, last.by) == ("review", "published", moderator)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["owner@example.org"]
    assert mail.outbox[0].subject == said_in(
        "de", "Your clip “%(title)s” is online", title=clip.title
    )
    assert f"/de/clips/{clip.pk}-" in mail.outbox[0].body


def test_approve_refused_without_consent(mod_client):
    _, clip = owned_clip(consent=False)
    response = decide(mod_client, clip, "approve")
    page = mod_client.get(response["Location"]).content.decode()
    assert "The owner has not accepted the current licence terms yet." in page
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.REVIEW


def test_reject_with_a_listed_reason_tells_the_owner_in_their_language(
    mod_client, django_capture_on_commit_callbacks
):
    _, clip = owned_clip(language="fr")
    with django_capture_on_commit_callbacks(execute=True):
        decide(
            mod_client, clip, "reject", reason_code=RejectionReason.QUALITY, reason="Trop sombre."
        )
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REJECTED
    record = clip.transitions.last()
    assert record.reason_code == "quality" and record.reason == "Trop sombre."
    body = mail.outbox[0].body
    assert "Trop sombre." in body
    assert "The picture or the sound" not in body  # the listed reason is in French


def test_reject_needs_a_reason(mod_client):
    clip = make_clip(status=Clip.Status.REVIEW)
    response = decide(mod_client, clip, "reject", reason_code="", reason="  ")
    assert "Choose a reason or write one." in mod_client.get(response["Location"]).content.decode()
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.REVIEW


def test_feature_unfeature_unpublish_and_retry(mod_client, django_capture_on_commit_callbacks):
    clip = make_clip()
    decide(mod_client, clip, "feature")
    assert Clip.objects.get(pk=clip.pk).featured
    decide(mod_client, clip, "unfeature")
    assert not Clip.objects.get(pk=clip.pk).featured
    decide(mod_client, clip, "unpublish", reason_code="", reason="")
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.PUBLISHED  # a reason is required
    decide(mod_client, clip, "unpublish", reason_code=RejectionReason.PEOPLE)
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.REJECTED
    failed = make_clip(status=Clip.Status.FAILED)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        decide(mod_client, failed, "retry")
    assert Clip.objects.get(pk=failed.pk).status == Clip.Status.PROCESSING and len(queued) == 1


def test_bulk_actions(mod_client, django_capture_on_commit_callbacks):
    clips = [make_clip(status=Clip.Status.REVIEW) for _ in range(3)]
    ids = [str(c.pk) for c in clips]
    mod_client.post("/admin/gallery/clip/", {"action": "approve", "_selected_action": ids[:2]})
    assert Clip.objects.filter(status=Clip.Status.PUBLISHED).count() == 2
    ask = mod_client.post("/admin/gallery/clip/", {"action": "reject", "_selected_action": ids[2:]})
    assert ask.status_code == 200 and "Reason" in ask.content.decode()
    mod_client.post(
        "/admin/gallery/clip/",
        {
            "action": "reject",
            "_selected_action": ids[2:],
            "apply": "1",
            "reason_code": RejectionReason.DUPLICATE,
        },
    )
    assert Clip.objects.get(pk=ids[2]).status == Clip.Status.REJECTED


def test_two_moderators_deciding_the_same_clip(moderator):
    other = User.objects.create_user("otto", is_staff=True)
    other.groups.add(Group.objects.get(name="Moderators"))
    first, second = (
        Client(headers={"Accept-Language": "en"}),
        Client(headers={"Accept-Language": "en"}),
    )
    first.force_login(moderator)
    second.force_login(other)
    clip = make_clip(status=Clip.Status.REVIEW)
    assert "Approve and publish" in first.get(change_url(clip)).content.decode()
    assert "Approve and publish" in second.get(change_url(clip)).content.decode()

    decide(first, clip, "approve")
    refused = decide(second, clip, "reject", reason_code=RejectionReason.QUALITY)
    page = second.get(refused["Location"]).content.decode()
    assert re.search(r"This clip is already “Published” \(by mona, ", page)
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.PUBLISHED
    assert ClipTransition.objects.filter(clip=clip, to_status="rejected").count() == 0


def test_login_locks_after_repeated_failures(moderator, settings):
    settings.LOGIN_MAX_FAILURES = 3
    client = Client(headers={"Accept-Language": "en"})
    for _ in range(3):
        response = client.post("/admin/login/", {"username": "mona", "password": "wrong"})
        assert response.status_code == 200
    locked = client.post("/admin/login/", {"username": "mona", "password": "secret-pass-123"})
    assert "Too many failed attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert Client().login(username="mona", password="secret-pass-123") is False


def test_purge_media_deletes_old_rejected_and_withdrawn_files_once(
    sample_video, media_storage, django_capture_on_commit_callbacks
):
    old = make_clip(status=Clip.Status.REVIEW, video=sample_video)
    old.reject(by=None, reason_code=RejectionReason.QUALITY)
    recent = make_clip(status=Clip.Status.REVIEW, video=sample_video)
    recent.reject(by=None, reason="Too dark")
    # A clip withdrawn long ago whose files are still there (as a withdrawal whose deletion
    # never ran leaves it): the purge is what catches it.
    withdrawn = make_clip(status=Clip.Status.REVIEW, video=sample_video)
    Clip.objects.filter(pk=withdrawn.pk).update(status=Clip.Status.WITHDRAWN)
    long_ago = timezone.now() - timedelta(days=31)
    Clip.objects.filter(pk__in=[old.pk, withdrawn.pk]).update(status_changed_at=long_ago)
    old_files = [
        media_storage / "private" / n
        for clip in (old, withdrawn)
        for n in [*clip.media_names, clip.original.name]
    ]
    assert all(p.exists() for p in old_files)

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_media", stdout=out)
    assert f"clip {old.pk} (rejected): deleted" in out.getvalue()
    assert f"clip {withdrawn.pk} (withdrawn): deleted" in out.getvalue()
    assert "2 clips purged" in out.getvalue()
    assert not any(p.exists() for p in old_files)
    recent.refresh_from_db()
    assert (media_storage / "private" / recent.video.name).exists()
    old.refresh_from_db()
    assert old.transitions.count() == 2 and old.video.name == ""

    again = StringIO()
    call_command("purge_media", stdout=again)
    assert "0 clips purged" in again.getvalue()
    assert Submission.objects.count() == 0


def test_approve_refused_when_the_owner_consented_to_older_terms(
    mod_client, settings, django_capture_on_commit_callbacks
):
    submission, clip = owned_clip()
    # Consent given to the terms as they were before the current version.
    Submission.objects.filter(pk=submission.pk).update(consent_version="2020-01-01")
    assert settings.TERMS_VERSION != "2020-01-01"
    response = decide(mod_client, clip, "approve")
    page = mod_client.get(response["Location"]).content.decode()
    assert "The owner has not accepted the current licence terms yet." in page
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.REVIEW

    # Once the owner accepts the current terms, the same decision goes through.
    Submission.objects.get(pk=submission.pk).give_consent()
    with django_capture_on_commit_callbacks(execute=True):
        decide(mod_client, clip, "approve")
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.PUBLISHED


def test_bulk_approve_publishes_each_consented_clip_and_names_the_refused_one(
    mod_client, django_capture_on_commit_callbacks
):
    _, first = owned_clip(language="fr")
    _, second = owned_clip(language="de")
    _, unconsented = owned_clip(consent=False)
    untouched = make_clip(status=Clip.Status.REVIEW)  # not selected
    with django_capture_on_commit_callbacks(execute=True):
        response = mod_client.post(
            "/admin/gallery/clip/",
            {"action": "approve", "_selected_action": [first.pk, second.pk, unconsented.pk]},
            follow=True,
        )
    page = response.content.decode()
    assert "2 clips published." in page
    assert f"{unconsented}: The owner has not accepted the current licence terms yet." in page
    status = dict(Clip.objects.values_list("pk", "status"))
    assert status == {
        first.pk: Clip.Status.PUBLISHED,
        second.pk: Clip.Status.PUBLISHED,
        unconsented.pk: Clip.Status.REVIEW,
        untouched.pk: Clip.Status.REVIEW,
    }
    # Each published owner hears of it, in their language.
    assert sorted(m.subject for m in mail.outbox) == sorted(
        [
            said_in("de", "Your clip “%(title)s” is online", title=second.title),
            said_in("fr", "Your clip “%(title)s” is online", title=first.title),
        ]
    )
