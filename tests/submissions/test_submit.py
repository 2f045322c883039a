import html
import os
import re
import zipfile
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client

from gallery.models import Clip
from gallery.synth import synthesize
from submissions.models import Submission
from tests.factories import files_under, form_data, heic_photo, post, upload

pytestmark = pytest.mark.django_db


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
        # An iPhone photo (or a Live Photo's still) picked instead of the video.
        (lambda s, t: heic_photo(t / "IMG_0001.HEIC"), "This is a single picture, not a video."),
    ],
    ids=["text-renamed", "truncated", "empty", "audio-only", "too-long", "heic-photo"],
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


def test_over_the_size_cap_is_refused_at_its_first_chunk_and_nothing_is_kept(
    client, settings, tmp_path, media_storage, monkeypatch
):
    from submissions.uploads import CappedUploadHandler

    taken = []  # the bytes the upload handler was given, chunk by chunk
    receive = CappedUploadHandler.receive_data_chunk

    def counting(self, raw_data, start):
        taken.append(len(raw_data))
        return receive(self, raw_data, start)

    monkeypatch.setattr(CappedUploadHandler, "receive_data_chunk", counting)
    settings.MAX_UPLOAD_BYTES = 2 * 1024 * 1024
    big = tmp_path / "big.mp4"
    big.write_bytes(os.urandom(6 * 1024 * 1024))
    before = files_under(media_storage)
    response = post(client, form_data(upload(big)), lang="en")
    assert response.status_code == 413
    assert response.context["form"].errors["video"] == [
        "This file is too large: 2.0\xa0MB at most."
    ]
    # Declared larger than the cap: refused at the first chunk, not after 2 MB of 6.
    assert len(taken) == 1 and taken[0] <= CappedUploadHandler.chunk_size, taken
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
    assert errors["video"] == ["Ce fichier n’est pas une vidéo que nous savons lire."]
    assert errors["consent"] == [
        "Veuillez accepter les conditions de licence pour envoyer votre clip."
    ]


def test_without_javascript_the_form_posts_its_csrf_token_as_its_first_field(
    sample_video, tmp_path
):
    """The site checks the upload's CSRF token before reading its body: the plain form
    sends it as its first field, the script in the X-CSRFToken header. It is never in an
    address (access logs, history, a shared link); a token later in the body, which is not
    read for it, is refused."""
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/en/submit/").content.decode()
    action = html.unescape(re.search(r'<form class="form" method="post" action="([^"]+)"', page)[1])
    assert action == "/en/submit/"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    # The token is the form's first field, so a browser sends it first.
    form = page[page.index('<form class="form"') :]
    assert re.search(r"<(input|select|textarea)\b[^>]*>", form)[0].count("csrfmiddlewaretoken")

    last = browser.post(action, form_data(upload(sample_video)) | {"csrfmiddlewaretoken": token})
    assert last.status_code == 403 and Submission.objects.count() == 0
    in_address = browser.post(
        f"{action}?csrfmiddlewaretoken={token}", form_data(upload(sample_video))
    )
    assert in_address.status_code == 403 and Submission.objects.count() == 0
    sent = browser.post(action, {"csrfmiddlewaretoken": token} | form_data(upload(sample_video)))
    assert sent.status_code == 302 and Submission.objects.count() == 1
    assert "csrfmiddlewaretoken" not in sent["Location"] and token not in sent["Location"]
    # The script's way: the same token in the X-CSRFToken header (another clip: the same
    # one again would be a resend).
    other = synthesize(tmp_path / "other.mp4", seconds=1, width=320, height=180, seed=2)
    script = browser.post("/en/submit/", form_data(upload(other)), headers={"X-CSRFToken": token})
    assert script.status_code == 302 and Submission.objects.count() == 2


def test_no_address_a_submit_page_gives_carries_the_csrf_token(client, tmp_path):
    """Nor after a refused post: the page then shown keeps its own address."""
    fake = tmp_path / "notes.mp4"
    fake.write_text("plain text")
    for response in (
        client.get("/fr/submit/"),
        client.get("/en/submit/"),
        client.post("/en/submit/", form_data(upload(fake))),
    ):
        page = response.content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        addresses = re.findall(r'(?:href|src|action|formaction|data-[a-z-]+)="([^"]*)"', page)
        assert addresses and not [a for a in addresses if token in a or "csrfmiddleware" in a]
        assert token not in response.get("Location", "")
