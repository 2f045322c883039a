"""A phone's geotag never reaches the stored original, whichever way the video came in."""

import base64
import html
import io
import logging
import re
import shutil
from pathlib import Path

import av
import pytest
import urllib3
from django.contrib.auth.models import User
from django.core.files import File
from django.core.management import call_command
from django.test import Client

from gallery import processing
from gallery.models import Clip
from infra.storage import private_storage
from submissions import tus
from submissions.models import ClipDraft, InboundEmail, Submission
from tests.factories import (
    clip_mail,
    dashcam_minute,
    form_data,
    geotag_left,
    iphone_video,
    post,
    upload,
    with_udta,
    xyz_box,
)

pytestmark = pytest.mark.django_db

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(autouse=True)
def no_partial_uploads():
    shutil.rmtree(tus.root(), ignore_errors=True)
    yield
    shutil.rmtree(tus.root(), ignore_errors=True)


@pytest.fixture(scope="module")
def iphone(tmp_path_factory):
    return iphone_video(tmp_path_factory.mktemp("iphone") / "IMG_0001.MOV", seconds=2)


@pytest.fixture(scope="module")
def android(tmp_path_factory):
    from gallery.synth import synthesize

    path = synthesize(
        tmp_path_factory.mktemp("android") / "VID_20261120_103000.mp4",
        seconds=2,
        width=160,
        height=96,
    )
    return with_udta(path, xyz_box())


def playback(data):
    """What a player needs of a file's bytes: streams, decoded frames, duration, rotation."""
    with av.open(io.BytesIO(data)) as container:
        streams = [(s.type, s.codec_context.name) for s in container.streams]
        duration = container.duration
        frames = list(container.decode(video=0))
    return streams, len(frames), duration, frames[0].rotation


def assert_faithful_without_location(stored, source, where):
    sent = Path(source).read_bytes()
    assert geotag_left(sent), "the test video carries no geotag"
    assert geotag_left(stored) == [], where
    assert len(stored) == len(sent), where  # blanked in place: nothing else moved
    assert playback(stored) == playback(sent), where


def staff_client():
    staff = User.objects.create_superuser("sam", "sam@example.org", "secret-pass-123")
    staff_client = Client(headers={"Accept-Language": "en"})
    staff_client.force_login(staff)
    return staff_client


def test_web_form_keeps_the_original_and_every_output_without_the_place(
    client, media_storage, iphone, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        sent = post(client, form_data(upload(iphone, content_type="video/quicktime")), lang="en")
    assert sent.status_code == 302
    clip = Clip.objects.get()
    processing.process(clip)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW, clip.failure_reason
    original = (media_storage / "private" / clip.original.name).read_bytes()
    assert_faithful_without_location(original, iphone, "the stored original")
    assert playback(original)[3] in (90, -90, 270)  # still shown upright
    for name in clip.media_names:  # renditions, poster, thumbnails
        assert geotag_left((media_storage / "private" / name).read_bytes()) == [], name

    # Neither the owner's page, nor the review screen, nor the database holds it.
    assert geotag_left(client.get(clip.submission.get_status_url(language="en")).content) == []
    assert geotag_left(staff_client().get(f"/admin/gallery/clip/{clip.pk}/change/").content) == []
    dump = io.StringIO()
    call_command("dumpdata", "gallery", "submissions", stdout=dump)
    assert geotag_left(dump.getvalue().encode()) == []
    assert "com.apple.quicktime.location.ISO6709" in caplog.text  # what went, not where
    assert geotag_left(caplog.text.encode()) == []


def tus_send(client, path):
    data = Path(path).read_bytes()
    name = base64.b64encode(Path(path).name.encode()).decode()
    created = client.post(
        "/en/submit/tus/",
        headers=TUS | {"Upload-Length": str(len(data)), "Upload-Metadata": f"filename {name}"},
    )
    done = client.generic(
        "PATCH",
        created["Location"],
        data,
        content_type="application/offset+octet-stream",
        headers=TUS | {"Upload-Offset": "0"},
    )
    assert done.status_code == 204
    return done["Upload-Token"]


def test_an_upload_waiting_for_its_form_holds_no_place(
    client, media_storage, iphone, android, django_capture_on_commit_callbacks
):
    # A resumable upload, finished: what waits for the form is already without it.
    token = tus_send(client, iphone)
    (waiting,) = tus.root().glob("*.part")
    assert_faithful_without_location(waiting.read_bytes(), iphone, "the finished upload")
    # A plain upload whose form came back for another field is kept the same way.
    refused = post(client, form_data(upload(android), credit_name=""), lang="en")
    assert refused.status_code == 400
    kept = [p for p in tus.root().glob("*.part") if p != waiting]
    assert len(kept) == 1
    assert_faithful_without_location(kept[0].read_bytes(), android, "the kept upload")

    with django_capture_on_commit_callbacks(execute=True):
        sent = post(client, form_data(None, upload_ticket=token), lang="en")
    assert sent.status_code == 302
    clip = Clip.objects.get()
    original = (media_storage / "private" / clip.original.name).read_bytes()
    assert_faithful_without_location(original, iphone, "the original")


def test_an_emailed_video_keeps_no_place_and_its_message_is_not_kept(
    deliver, media_storage, iphone, android, settings
):
    inbound = deliver(clip_mail(iphone.read_bytes(), filename="IMG_0001.MOV", subtype="quicktime"))
    clip = inbound.submission.clips.get()
    original = (media_storage / "private" / clip.original.name).read_bytes()
    assert_faithful_without_location(original, iphone, "the e-mailed original")
    assert not inbound.raw  # the message held the place in its attachment

    # Refused (too long), the video made no clip; the message that holds it is not kept.
    settings.MAX_CLIP_SECONDS = 1
    refused = deliver(clip_mail(android.read_bytes(), filename="VID.mp4", subject="Trop long"))
    assert refused.status == InboundEmail.Status.IGNORED
    assert not refused.raw


def test_a_clip_refused_in_processing_keeps_its_original_without_the_place(
    media_storage, android, settings
):
    # An original stored as it came (before this rule, or by another road), then refused.
    clip = Clip.objects.create(title="Trop long", credit_name="Camille")
    with android.open("rb") as fh:
        clip.original.save("upload.mp4", fh)
    settings.MAX_CLIP_SECONDS = 1
    processing.process(clip)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.FAILED
    original = (media_storage / "private" / clip.original.name).read_bytes()
    assert_faithful_without_location(original, android, "the original kept for a retry")
    stored = [p for p in (media_storage / "private").rglob("*") if p.is_file()]
    assert [p.name for p in stored if geotag_left(p.read_bytes())] == []


def bucket_object(server, key):
    return server.client().get_object(Bucket=server.private_bucket, Key=key)["Body"].read()


def direct_upload(client, data, name):
    """Send `data` straight to the bucket as the page's script does; the form's token."""
    client.get("/en/submit/")
    csrf = client.cookies["csrftoken"].value
    answer = client.post(
        "/en/submit/direct/",
        {"size": len(data), "type": "video/quicktime", "name": name, "csrfmiddlewaretoken": csrf},
    ).json()
    urls = client.post(
        "/en/submit/direct/parts/",
        {"session": answer["session"], "part": [1], "csrfmiddlewaretoken": csrf},
    ).json()["urls"]
    assert urllib3.request("PUT", urls["1"], body=data).status == 200
    done = client.post(
        "/en/submit/direct/complete/", {"session": answer["session"], "csrfmiddlewaretoken": csrf}
    )
    assert done.status_code == 200, done.content
    return done.json()["token"]


def test_object_storage_keeps_no_place_either(
    client, s3_media, iphone, android, settings, django_capture_on_commit_callbacks
):
    # A plain form upload, kept in the bucket.
    with django_capture_on_commit_callbacks(execute=True):
        sent = post(client, form_data(upload(android), title="Android"), lang="en")
    assert sent.status_code == 302
    plain = Clip.objects.get(title="Android")
    processing.process(plain)
    plain.refresh_from_db()
    assert plain.status == Clip.Status.REVIEW, plain.failure_reason
    data = bucket_object(s3_media, plain.original.name)
    assert_faithful_without_location(data, android, "the form's original in S3")
    for name in plain.media_names:
        assert geotag_left(bucket_object(s3_media, name)) == [], name

    # A video sent straight to the bucket arrives with its place; processing blanks it in
    # the same object, before anything that could refuse the clip.
    browser = Client(enforce_csrf_checks=True)
    token = direct_upload(browser, iphone.read_bytes(), "IMG_0001.MOV")
    action = re.search(r'action="([^"]+)"', browser.get("/en/submit/").content.decode())[1]
    with django_capture_on_commit_callbacks(execute=True):
        # The CSRF token first, as the page's form sends it.
        first = {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value}
        sent = browser.post(html.unescape(action), first | form_data(None, upload_ticket=token))
    assert sent.status_code == 302
    direct = Clip.objects.exclude(pk=plain.pk).get()
    assert geotag_left(bucket_object(s3_media, direct.original.name))  # as it was sent
    settings.MAX_CLIP_SECONDS = 1  # refused in processing: the original stays for a retry
    processing.process(direct)
    direct.refresh_from_db()
    assert direct.status == Clip.Status.FAILED
    assert direct.original.name.startswith("uploads/")
    data = bucket_object(s3_media, direct.original.name)
    assert_faithful_without_location(data, iphone, "the direct upload in S3")
    listed = s3_media.client().list_objects_v2(Bucket=s3_media.private_bucket)["Contents"]
    for entry in listed:
        assert geotag_left(bucket_object(s3_media, entry["Key"])) == [], entry["Key"]


def test_every_minute_of_every_angle_is_blanked_before_the_event_is_joined(media_storage, tmp_path):
    """A dashcam event whose files were stored as they came (a camera that adds `©xyz`)."""
    storage = private_storage()
    angles = []
    for camera in ("front", "back"):
        minutes = []
        for start in ("2026-06-01_10-42-12", "2026-06-01_10-43-12"):
            path = with_udta(dashcam_minute(tmp_path, camera, start=start), xyz_box())
            with path.open("rb") as fh:
                minutes.append(storage.save(f"originals/test/{path.name}", File(fh)))
        angles.append((camera, tuple(minutes)))
    submission = Submission.objects.create_with_clips(
        email="camille@example.org",
        language="en",
        source=Submission.Source.WEB,
        clips=[ClipDraft(original=angles[0][1][0], title="Event", angles=tuple(angles))],
    )
    clip = submission.clips.get()
    processing.process(clip)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW, clip.failure_reason
    names = [name for angle in clip.angles.all() for name in angle.originals]
    assert len(names) == 4 and clip.original.name == names[0]
    for name in names:
        assert geotag_left(storage.open(name).read()) == [], name
    stored = [p for p in (media_storage / "private").rglob("*") if p.is_file()]
    assert [p.name for p in stored if geotag_left(p.read_bytes())] == []
