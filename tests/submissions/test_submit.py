import re
import zipfile
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery.models import Clip
from submissions.models import Submission
from tests.conftest import files_under

pytestmark = pytest.mark.django_db


def form_data(video, **overrides):
    data = {
        "video": video,
        "title": "Col de la Bonette",
        "description": "Montée tranquille",
        "themes": ["weekend", "design"],
        "credit_name": "Camille",
        "credit_country": "FR",
        "email": "camille@example.org",
        "consent": "on",
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def upload(path, name=None, content_type="video/mp4"):
    return SimpleUploadedFile(
        name or Path(path).name, Path(path).read_bytes(), content_type=content_type
    )


def post(client, data, lang="fr"):
    from django.conf import settings

    # The test client builds uploads in memory; the site's own handler streams to disk.
    assert settings.FILE_UPLOAD_HANDLERS == ["submissions.uploads.CappedUploadHandler"]
    return client.post(f"/{lang}/submit/", data)


def test_form_page_lists_the_fields_and_the_submission_address(client, settings):
    settings.SUBMISSION_ADDRESS = "clips@model3.example"
    html = client.get("/en/submit/").content.decode()
    for name in (
        "video",
        "title",
        "description",
        "themes",
        "credit_name",
        "credit_country",
        "email",
        "consent",
        "website",
    ):
        assert f'name="{name}"' in html, name
    assert "mailto:clips@model3.example" in html
    assert 'href="/en/terms/"' in html


def test_a_good_clip_becomes_a_submission_and_a_processing_clip(
    client, sample_video, media_storage, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form_data(upload(sample_video)), lang="en")
    assert response.status_code == 302 and response["Location"] == "/en/submit/thanks/"

    submission = Submission.objects.get()
    clip = submission.clips.get()
    assert clip.status == Clip.Status.PROCESSING and clip.source == "web"
    assert clip.title == "Col de la Bonette" and clip.language == "en"
    assert sorted(t.slug for t in clip.themes.all()) == ["design", "weekend"]
    assert submission.email == "camille@example.org"
    assert submission.has_current_consent() and submission.consented_at
    assert clip.original.name.startswith("originals/")
    assert (media_storage / "private" / clip.original.name).read_bytes() == Path(
        sample_video
    ).read_bytes()

    # Queued for the worker.
    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.get()
    assert task.task_path == "gallery.tasks.process_clip" and task.args_kwargs["args"] == [clip.pk]

    # The receipt carries the private status link.
    assert len(mail.outbox) == 1
    receipt = mail.outbox[0]
    assert receipt.to == ["camille@example.org"]
    link = re.search(r"http://\S+/en/my/(\S+)/", receipt.body)
    assert link and Submission.from_signed_token(link.group(1)) == submission

    thanks = client.get("/en/submit/thanks/")
    assert submission.get_status_url() in thanks.content.decode()


def make_truncated(sample_video, tmp_path):
    data = Path(sample_video).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 3])
    return path


def make_audio_only(tmp_path):
    from gallery.synth import synthesize

    return synthesize(tmp_path / "voice.m4a", seconds=2, video=False)


def make_long(tmp_path):
    from gallery.synth import synthesize

    return synthesize(tmp_path / "long.mp4", seconds=4, width=160, height=90)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda s, t: (
                (t / "notes.mp4").write_text("hello, this is not a video") and t / "notes.mp4"
            ),
            "This file is not a video we can read.",
        ),
        # The index of an MP4 comes last: a file without it was cut off where it was made.
        (lambda s, t: make_truncated(s, t), "The recording was cut off before the camera"),
        (lambda s, t: (t / "empty.mp4").write_bytes(b"") is not None and t / "empty.mp4", None),
        (lambda s, t: make_audio_only(t), "This file holds sound only, without any picture."),
        (lambda s, t: make_long(t), "This clip is too long"),
    ],
    ids=["text-renamed", "truncated", "empty", "audio-only", "too-long"],
)
def test_bad_files_are_refused_with_a_message_and_leave_nothing(
    client, settings, sample_video, tmp_path, media_storage, make, expected
):
    settings.MAX_CLIP_SECONDS = 3
    path = make(sample_video, tmp_path)
    before = files_under(media_storage)
    response = post(client, form_data(upload(path)), lang="en")
    assert response.status_code == 400
    errors = response.context["form"].errors["video"]
    if expected is None:  # Django's own message for an empty upload
        assert errors == ["The submitted file is empty."]
    else:
        assert any(expected in e for e in errors), errors
    assert Submission.objects.count() == 0 and Clip.objects.count() == 0
    assert files_under(media_storage) == before
    assert 'class="errorlist' in response.content.decode()


def test_zip_named_mp4_is_refused(client, tmp_path):
    path = tmp_path / "clip.mp4"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("movie.mp4", b"\0" * 100_000)
    response = post(client, form_data(upload(path)), lang="en")
    assert "This file is not a video we can read." in response.context["form"].errors["video"][0]
    assert Clip.objects.count() == 0


def test_over_the_size_cap_is_refused_before_it_is_read_whole(
    client, settings, sample_video, media_storage
):
    settings.MAX_UPLOAD_BYTES = 10_000
    before = files_under(media_storage)
    response = post(client, form_data(upload(sample_video)), lang="en")
    assert response.status_code == 413
    assert response.context["form"].errors["video"] == [
        "This file is too large: 9.8\xa0KB at most."
    ]
    assert Clip.objects.count() == 0 and files_under(media_storage) == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"themes": None}, "themes"),
        ({"consent": None}, "consent"),
        ({"email": "not-an-address"}, "email"),
        ({"title": ""}, "title"),
        ({"credit_country": "US"}, "credit_country"),
        ({"themes": ["nope"]}, "themes"),
    ],
)
def test_missing_or_bad_fields(client, sample_video, overrides, field):
    response = post(client, form_data(upload(sample_video), **overrides), lang="en")
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert Clip.objects.count() == 0


def test_honeypot_keeps_bots_out(client, sample_video, media_storage):
    before = files_under(media_storage)
    response = post(client, form_data(upload(sample_video), website="http://spam.example"))
    assert response.status_code == 400 and Clip.objects.count() == 0
    assert files_under(media_storage) == before


def test_errors_are_translated(client, tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("plain text")
    response = post(client, form_data(upload(path), consent=None), lang="fr")
    errors = response.context["form"].errors
    assert (
        errors["video"] == ["Ce fichier n’est pas une vidéo que nous savons lire."]
        or "vidéo" in errors["video"][0]
    )
    assert "conditions" in errors["consent"][0]
