import threading

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction

from gallery.models import Clip, IllegalTransition
from tests.factories import make_clip

pytestmark = pytest.mark.django_db


def test_the_five_themes_exist_in_order():
    from gallery.models import Theme

    assert list(Theme.objects.values_list("slug", flat=True)) == [
        "performance",
        "autopilot",
        "technology",
        "weekend",
        "design",
    ]


def test_happy_path_is_recorded_with_who_when_from_to():
    staff = User.objects.create_user("mod", is_staff=True)
    clip = make_clip(status=Clip.Status.REVIEW)
    clip.approve(by=staff)

    clip.refresh_from_db()
    assert clip.status == Clip.Status.PUBLISHED
    assert clip.published_at is not None
    steps = [(t.from_status, t.to_status, t.by) for t in clip.transitions.all()]
    assert steps == [("processing", "review", None), ("review", "published", staff)]
    assert all(t.at for t in clip.transitions.all())


@pytest.mark.parametrize(
    ("status", "method", "kwargs"),
    [
        (Clip.Status.PROCESSING, "approve", {"by": None}),
        (Clip.Status.PUBLISHED, "approve", {"by": None}),
        (Clip.Status.REJECTED, "approve", {"by": None}),
        (Clip.Status.REVIEW, "retry", {}),
        (Clip.Status.PUBLISHED, "mark_failed", {"reason": "x"}),
        (Clip.Status.WITHDRAWN, "withdraw", {}),
        (Clip.Status.WITHDRAWN, "approve", {"by": None}),
    ],
)
def test_illegal_transition_fails_and_leaves_the_row_as_it_was(status, method, kwargs):
    clip = make_clip(status=status)
    before = Clip.objects.values().get(pk=clip.pk)
    recorded = clip.transitions.count()

    with pytest.raises(IllegalTransition):
        getattr(clip, method)(**kwargs)

    assert Clip.objects.values().get(pk=clip.pk) == before
    assert clip.transitions.count() == recorded


def test_stale_instance_cannot_override_a_decision_made_elsewhere():
    clip = make_clip(status=Clip.Status.REVIEW)
    other_copy = Clip.objects.get(pk=clip.pk)
    clip.reject(by=None, reason="blurry")

    with pytest.raises(IllegalTransition, match="already"):
        other_copy.approve(by=None)
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.REJECTED


def test_reject_needs_a_reason_and_records_it():
    clip = make_clip(status=Clip.Status.REVIEW)
    with pytest.raises(ValueError):
        clip.reject(by=None, reason="  ")
    clip.reject(by=None, reason="Not a Model 3")
    assert clip.transitions.last().reason == "Not a Model 3"


def test_failed_clip_can_be_retried_and_is_requeued(django_capture_on_commit_callbacks):
    clip = make_clip(status=Clip.Status.FAILED)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        clip.retry(by=None)
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.PROCESSING
    assert len(callbacks) == 1


def test_withdraw_from_any_state():
    for status in (
        Clip.Status.PROCESSING,
        Clip.Status.REVIEW,
        Clip.Status.PUBLISHED,
        Clip.Status.REJECTED,
    ):
        clip = make_clip(status=status)
        clip.withdraw()
        clip.refresh_from_db()
        assert clip.status == Clip.Status.WITHDRAWN
        assert clip.video.name == "" and clip.thumbnails == []


def test_database_refuses_an_unknown_status():
    clip = make_clip(status=Clip.Status.REVIEW)
    with pytest.raises(IntegrityError), transaction.atomic():
        Clip.objects.filter(pk=clip.pk).update(status="lost")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_decisions_only_one_applies():
    clip = make_clip(status=Clip.Status.REVIEW)
    outcomes = []
    barrier = threading.Barrier(2)

    def decide(action):
        copy = Clip.objects.get(pk=clip.pk)
        barrier.wait()
        try:
            if action == "approve":
                copy.approve(by=None)
            else:
                copy.reject(by=None, reason="dup")
            outcomes.append(action)
        except IllegalTransition:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(a,)) for a in ("approve", "reject")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes).count("refused") == 1
    assert Clip.objects.get(pk=clip.pk).transitions.count() == 2
