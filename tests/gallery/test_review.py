"""The moderation queue in the admin: permissions, decisions, notices, races, retention."""

import re
from datetime import timedelta
from html import unescape
from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import ngettext_lazy

from gallery.decisions import DECISIONS, Decision, Then
from gallery.models import Camera, Clip, ClipAngle, ClipTransition, RejectionReason
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


def test_another_reason_without_a_message_keeps_the_choice_and_says_so_beside_it(mod_client):
    clip = make_clip(status=Clip.Status.REVIEW)
    response = decide(mod_client, clip, "reject", reason_code=RejectionReason.OTHER, reason=" ")
    assert response["Location"].endswith("#decision-reason")
    html = mod_client.get(response["Location"]).content.decode()
    form = re.search(r'<form [^>]*id="decision-reason".*?</form>', html, re.S).group(0)
    assert re.search(r'<option value="other" selected>', form)
    beside_message = re.search(r"Message to the owner:</label>(.*?)<textarea([^>]*)>", form, re.S)
    # The reason was chosen: what is missing is its message.
    assert "“Another reason” needs a message: write it here." in beside_message.group(1)
    assert "Choose a reason or write one." not in form
    assert 'aria-invalid="true"' in beside_message.group(2)
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.REVIEW
    again = mod_client.get(change_url(clip)).content.decode()  # shown once, then a fresh form
    assert "needs a message" not in again
    assert '<option value="" selected>' in again


def test_only_a_clip_in_review_is_waiting(mod_client):
    waiting = mod_client.get(change_url(make_clip(status=Clip.Status.REVIEW))).content.decode()
    assert "Waiting since" in waiting
    for status in (Clip.Status.REJECTED, Clip.Status.PUBLISHED, Clip.Status.FAILED):
        html = mod_client.get(change_url(make_clip(status=status))).content.decode()
        assert "Waiting since" not in html and "In this state since" in html


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


def buttons(client, clip):
    """The decisions offered on the clip's page: {value: label}."""
    html = client.get(change_url(clip)).content.decode()
    found = re.findall(
        r'<button class="button[^"]*" name="decision" value="(\w+)"[^>]*>([^<]+)<', html
    )
    return {value: label.strip() for value, label in found}


def actions(client):
    html = client.get("/admin/gallery/clip/").content.decode()
    menu = re.search(r'<select name="action"[^>]*>(.*?)</select>', html, re.S).group(1)
    return dict(re.findall(r'<option value="(\w+)">([^<]+)</option>', menu))


def clip_ready_for(decision):
    """A clip whose page offers `decision`."""
    status = sorted(decision.offered_from)[0]
    return make_clip(status=status, featured=bool(decision.featured))


def state(clip):
    return Clip.objects.values_list("status", "featured").get(pk=clip.pk)


REASON = {"reason_code": RejectionReason.QUALITY}


@pytest.mark.parametrize("decision", DECISIONS, ids=lambda d: d.name)
def test_each_decision_of_the_table_is_an_action_a_button_and_a_view_step(mod_client, decision):
    with translation.override("en"):
        label, button = str(decision.label), str(decision.button_label)
        done, done_bulk = str(decision.done), decision.done_message(1)
    assert actions(mod_client)[decision.name] == label

    clip = clip_ready_for(decision)
    offered = buttons(mod_client, clip)
    assert offered[decision.name] == button
    # The page offers what the table offers for this state, nothing else.
    assert set(offered) == {d.name for d in DECISIONS if d.offered_for(clip)}
    before = state(clip)
    page = mod_client.post(
        f"/admin/gallery/clip/{clip.pk}/decide/",
        {"decision": decision.name, **(REASON if decision.needs_reason else {})},
        follow=True,
    )
    assert f"{clip}: {done}" in page.content.decode()
    assert state(clip) != before
    if decision.then is Then.NEXT_IN_QUEUE:
        assert page.redirect_chain[-1][0] == "/admin/gallery/clip/"  # nothing else waits

    other = clip_ready_for(decision)
    chosen = {"action": decision.name, "_selected_action": [other.pk]}
    listing = "/admin/gallery/clip/?status=all"
    if decision.needs_reason:
        asked = mod_client.post(listing, chosen)
        assert asked.status_code == 200 and str(decision.reason_title) in asked.content.decode()
        assert state(other) == before
        chosen |= {"apply": "1", **REASON}
    listed = mod_client.post(listing, chosen, follow=True)
    assert done_bulk in listed.content.decode()
    assert state(other) == state(clip)


def test_a_new_decision_is_one_entry_in_the_table(mod_client, moderator, monkeypatch):
    duplicate = Decision(
        name="duplicate",
        method="reject",
        arguments={"reason_code": RejectionReason.DUPLICATE},
        label="Reject as a duplicate",
        done="Rejected as a duplicate.",
        done_many=ngettext_lazy("%d duplicate rejected.", "%d duplicates rejected."),
        offered_from=frozenset({Clip.Status.REVIEW}),
        then=Then.NEXT_IN_QUEUE,
    )
    monkeypatch.setattr(admin.site.get_model_admin(Clip), "decisions", (*DECISIONS, duplicate))
    assert actions(mod_client)["duplicate"] == "Reject as a duplicate"
    first, second, third = (make_clip(status=Clip.Status.REVIEW) for _ in range(3))
    assert buttons(mod_client, first)["duplicate"] == "Reject as a duplicate"
    assert "duplicate" not in buttons(mod_client, make_clip())  # not once published

    response = decide(mod_client, first, "duplicate")
    assert response["Location"] == change_url(second)  # the next in the queue
    record = ClipTransition.objects.filter(clip=first).last()
    assert (record.to_status, record.reason_code, record.by) == (
        "rejected",
        "duplicate",
        moderator,
    )
    listed = mod_client.post(
        "/admin/gallery/clip/",
        {"action": "duplicate", "_selected_action": [second.pk, third.pk]},
        follow=True,
    )
    assert "2 duplicates rejected." in listed.content.decode()
    assert {state(second), state(third)} == {("rejected", False)}
    monkeypatch.undo()
    assert "duplicate" not in actions(mod_client)
    assert decide(mod_client, make_clip(status=Clip.Status.REVIEW), "duplicate").status_code == 302
    assert Clip.objects.filter(status=Clip.Status.REVIEW).count() == 1


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
    settings.AXES_FAILURE_LIMIT = 3
    client = Client(headers={"Accept-Language": "en"})
    answers = [
        client.post("/admin/login/", {"username": "mona", "password": "wrong"}).status_code
        for _ in range(3)
    ]
    assert answers == [200, 200, 429]  # the third failure locks: the site's 429 page
    locked = client.post("/admin/login/", {"username": "mona", "password": "secret-pass-123"})
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # django-axes needs the request an authentication comes with; the lock is on the
    # account from that address (the test client's).
    same_address = HttpRequest()
    same_address.META["REMOTE_ADDR"] = "127.0.0.1"
    assert (
        Client().login(request=same_address, username="mona", password="secret-pass-123") is False
    )


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


def event_in_review(cameras):
    """A dashcam event waiting for review: its angles (the first leads) and a mosaic."""
    clip = make_clip(status=Clip.Status.REVIEW, title="Honk at the lights")
    for order, camera in enumerate(cameras):
        video = clip.video.name if order == 0 else f"clips/{clip.pk}/x/angle-{camera}.mp4"
        ClipAngle.objects.create(clip=clip, camera=camera, order=order, video=video)
    Clip.objects.filter(pk=clip.pk).update(mosaic=f"clips/{clip.pk}/x/mosaic.mp4")
    return clip


@pytest.mark.parametrize(
    ("cameras", "layout"),
    [
        (
            ["front", "back", "left_repeater", "right_repeater"],
            "Front large on the left; on its right, from top to bottom: "
            "Rear · Left side, facing back · Right side, facing back",
        ),
        (
            ["back", "front"],
            "Rear large on the left; on its right, from top to bottom: Front",
        ),
        (
            ["front", "back", "left_repeater", "right_repeater", "left_pillar", "right_pillar"],
            "Front large at the top left; on its right, from top to bottom: "
            "Rear · Left side, facing back · Right side, facing back; "
            "below it, from left to right: Left pillar · Right pillar",
        ),
    ],
)
def test_an_event_says_which_camera_each_player_shows(mod_client, cameras, layout):
    clip = event_in_review(cameras)
    page = mod_client.get(change_url(clip)).content.decode()
    lead = Camera(cameras[0]).label
    # The first player says which camera it shows; the mosaic says where each camera is.
    label = re.search(r'<p class="review-camera" id="review-lead-camera"[^>]*>([^<]*)</p>', page)
    assert label and label[1] == f"Camera shown: {lead}"
    first_video = page.index("data-review-video")
    assert page.index('id="review-lead-camera"') < first_video
    assert 'aria-describedby="review-lead-camera"' in page[page.rindex("<video", 0, first_video) :]
    mosaic = re.search(r'id="review-mosaic-layout">(.*?)</p>', page)
    assert mosaic and mosaic[1] == f"<strong>Every camera</strong>: {layout}"
    assert "side by side" not in page
    assert "together in the “Every camera” player, under the first one" in page


def test_the_camera_texts_are_in_the_moderators_language(moderator):
    clip = event_in_review(["front", "back", "left_repeater"])
    client = Client(headers={"Accept-Language": "fr"})
    client.force_login(moderator)
    page = unescape(client.get(change_url(clip)).content.decode())
    with translation.override("fr"):
        front, back, left = (str(Camera(c).label) for c in ("front", "back", "left_repeater"))
    assert said_in("fr", "Camera shown: %(camera)s", camera=front) in page
    layout = "%(lead)s large on the left; on its right, from top to bottom: %(others)s"
    assert said_in("fr", layout, lead=front, others=f"{back} · {left}") in page
    # French typography: a no-break space before the colon, never a line break there.
    assert (
        "<strong>Toutes les caméras</strong>\u00a0: "
        + said_in("fr", layout, lead=front, others=f"{back} · {left}")
        in page
    )


def test_the_review_page_keeps_every_change_of_the_blurring(mod_client):
    clip = make_clip(status=Clip.Status.REVIEW)
    regions = f"/admin/gallery/clip/{clip.pk}/regions/"
    for data in (
        {"action": "blur_off", "reason": "The couple filmed agreed by e-mail."},
        {"action": "blur_on"},
        {"action": "blur_off", "reason": "Only the owner's own car and face."},
    ):
        assert mod_client.post(regions, data).status_code == 302
    page = unescape(mod_client.get(change_url(clip)).content.decode())
    history = re.search(r"<details [^>]*data-blurring-history>(.*?)</details>", page, re.S)
    assert history and "Blurring changed 3 times" in history[1]
    said = [re.sub(r"\s+", " ", item).strip() for item in re.findall(r"<li>(.*?)</li>", history[1])]
    assert [line.split(" by ")[0] for line in said] == ["Turned off", "Turned on", "Turned off"]
    assert all(" by mona on " in line for line in said)
    assert said[0].endswith("“The couple filmed agreed by e-mail.”")
    assert said[2].endswith("“Only the owner's own car and face.”")
    # The clip still says the last change first.
    clip.refresh_from_db()
    assert clip.blurring is False and clip.blurring_reason == "Only the owner's own car and face."
