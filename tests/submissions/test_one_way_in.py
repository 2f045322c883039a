"""The one way in: every road (web form, direct upload, e-mail) records clips through
`Submission.objects.create_with_clips`, and nothing else in the app creates them."""

import ast
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from gallery.models import Clip
from infra.storage import private_storage
from submissions.models import ClipDraft, Submission
from tests.factories import clip_mail, files_under, form_data, post, queued, upload

pytestmark = pytest.mark.django_db

APP = Path(__file__).resolve().parents[2] / "submissions"


def stored(data=b"not probed here"):
    return private_storage().save("originals/test/clip.mp4", ContentFile(data))


def test_it_records_the_submission_its_clips_and_queues_their_processing(
    django_capture_on_commit_callbacks,
):
    originals = [stored(), stored()]
    with django_capture_on_commit_callbacks(execute=True):
        submission = Submission.objects.create_with_clips(
            email="ana@example.org",
            language="es",
            source=Submission.Source.EMAIL,
            clips=[
                ClipDraft(original=originals[0], title="Uno", themes=("weekend", "design")),
                ClipDraft(original=originals[1], title="Dos", credit_name="Ana"),
            ],
        )
    assert submission.email == "ana@example.org" and submission.language == "es"
    assert not submission.has_current_consent()
    clips = list(submission.clips.order_by("pk"))
    assert [(c.title, c.original.name, c.source, c.language) for c in clips] == [
        ("Uno", originals[0], Clip.Source.EMAIL, "es"),
        ("Dos", originals[1], Clip.Source.EMAIL, "es"),
    ]
    assert sorted(t.slug for t in clips[0].themes.all()) == ["design", "weekend"]
    assert clips[1].themes.count() == 0 and clips[1].credit_name == "Ana"
    assert all(c.status == Clip.Status.PROCESSING for c in clips)
    assert queued("process_clip") == [[clips[0].pk], [clips[1].pk]]


def test_consent_is_recorded_only_when_given():
    submission = Submission.objects.create_with_clips(
        email="ana@example.org",
        language="fr",
        source=Submission.Source.WEB,
        consent=True,
        clips=[ClipDraft(original=stored(), title="Oui")],
    )
    assert submission.has_current_consent()


def test_nothing_is_queued_before_the_records_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        Submission.objects.create_with_clips(
            email="ana@example.org",
            language="fr",
            source=Submission.Source.WEB,
            clips=[ClipDraft(original=stored(), title="Plus tard")],
        )
    assert queued("process_clip") == []
    for callback in callbacks:
        callback()
    assert queued("process_clip") == [[Clip.objects.get().pk]]


def test_a_failure_keeps_neither_rows_nor_originals(media_storage, monkeypatch):
    originals = [stored(), stored()]

    def broken(*args, **kwargs):
        raise RuntimeError("database said no")

    monkeypatch.setattr(Clip.objects, "create", broken)
    with pytest.raises(RuntimeError):
        Submission.objects.create_with_clips(
            email="ana@example.org",
            language="fr",
            source=Submission.Source.WEB,
            clips=[ClipDraft(original=name, title="Rien") for name in originals],
        )
    assert Submission.objects.count() == 0
    assert not set(originals) & set(files_under(media_storage / "private"))


def test_the_web_form_comes_in_through_it(
    client, entry_calls, sample_video, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, form_data(upload(sample_video)), lang="en").status_code == 302
    (call,) = entry_calls
    assert call["source"] == Submission.Source.WEB and call["consent"] is True
    assert call["email"] == "camille@example.org" and call["language"] == "en"
    (draft,) = call["clips"]
    assert draft.title == "Col de la Bonette" and set(draft.themes) == {"weekend", "design"}
    assert Clip.objects.get().original.name == draft.original


def test_an_email_comes_in_through_it(deliver, entry_calls, tiny_video):
    inbound = deliver(clip_mail(tiny_video))
    (call,) = entry_calls
    assert call["source"] == Submission.Source.EMAIL and call.get("consent", False) is False
    assert call["email"] == "camille@example.org" and call["language"] == "fr"
    (draft,) = call["clips"]
    assert draft.title == "Mon week-end en Model 3" and draft.themes == ("weekend",)
    assert inbound.submission.clips.get().original.name == draft.original


def creations(path):
    """Calls like X.objects.create(...) or X.objects.get_or_create(...) for X a Clip or Submission."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("create", "get_or_create", "bulk_create")
            and isinstance(node.func.value, ast.Attribute)
            and isinstance(node.func.value.value, ast.Name)
            and node.func.value.value.id in ("Clip", "Submission")
        ):
            found.append(f"{path.relative_to(APP.parent)}:{node.lineno}")
    return found


def test_nothing_else_in_the_app_creates_clips_or_submissions():
    places = [hit for path in sorted(APP.rglob("*.py")) for hit in creations(path)]
    assert places and all(place.startswith("submissions/models.py:") for place in places), places
