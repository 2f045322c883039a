"""Object storage mode against a real S3 server: privacy, publication, direct uploads."""

import html
import os
import re
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import urllib3
from django.core.files.storage import storages
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from gallery import processing
from gallery.models import Clip
from submissions import direct, kept
from submissions.models import Submission
from tests.factories import form_data, post, upload

pytestmark = pytest.mark.django_db


def anonymous_get(url, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, b"", error.headers


def keys(server, bucket):
    return sorted(
        o["Key"] for o in server.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    )


def test_clip_is_private_until_published_and_public_copies_go_on_unpublish(
    client, s3_media, sample_video, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, form_data(upload(sample_video)), lang="en").status_code == 302
    clip = Clip.objects.get()
    assert keys(s3_media, s3_media.private_bucket) == [clip.original.name]
    processing.process(clip)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW, clip.failure_reason

    public_url = clip.video.url
    assert public_url.startswith(f"{s3_media.endpoint}/{s3_media.public_bucket}/clips/{clip.pk}/")
    assert anonymous_get(public_url)[0] in (403, 404)  # nothing public before approval
    assert keys(s3_media, s3_media.public_bucket) == []  # asked with the site's credentials
    assert (
        anonymous_get(f"{s3_media.endpoint}/{s3_media.private_bucket}/{clip.video.name}")[0] == 403
    )
    assert (
        anonymous_get(f"{s3_media.endpoint}/{s3_media.private_bucket}/{clip.original.name}")[0]
        == 403
    )

    review = clip.review_video_url
    assert "X-Amz-Signature=" in review and "X-Amz-Expires=3600" in review
    status, body, headers = anonymous_get(review, {"Range": "bytes=0-99"})
    assert status == 206 and len(body) == 100

    with django_capture_on_commit_callbacks(execute=True):
        clip.approve(by=None)
    status, body, headers = anonymous_get(public_url, {"Range": "bytes=100-199"})
    assert status == 206 and len(body) == 100
    assert headers["Content-Type"] == "video/mp4"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert anonymous_get(clip.poster.url)[0] == 200
    page = client.get(clip.get_absolute_url()).content.decode()
    assert f'src="{public_url}"' in page
    assert (
        client.get(clip.get_absolute_url())["Content-Security-Policy"].count(s3_media.endpoint) >= 2
    )

    with django_capture_on_commit_callbacks(execute=True):
        clip.unpublish(by=None, reason="Owner asked")
    assert anonymous_get(public_url)[0] in (403, 404)
    assert keys(s3_media, s3_media.public_bucket) == []


@pytest.fixture
def small_parts(monkeypatch):
    # The smallest part S3 (and SeaweedFS) takes, but for the last one.
    monkeypatch.setattr(direct, "part_size", lambda: 5 * 1024 * 1024)


@pytest.fixture(scope="module")
def eleven_mib():
    return os.urandom(11 * 1024 * 1024)


def csrf(client):
    client.get("/en/submit/")
    return client.cookies["csrftoken"].value


def start(client, *, size, content_type="video/mp4", name="clip.mp4"):
    return client.post(
        "/en/submit/direct/",
        {"size": size, "type": content_type, "name": name, "csrfmiddlewaretoken": csrf(client)},
    )


def ask(client, what, session, **fields):
    fields = {"session": session, "csrfmiddlewaretoken": csrf(client)} | fields
    return client.post(f"/en/submit/direct/{what}", fields)


def send_parts(client, answer, data, numbers=None):
    """PUT the parts `numbers` (all by default) to their presigned URLs: their statuses."""
    numbers = numbers or list(range(1, answer["parts"] + 1))
    urls = ask(client, "parts/", answer["session"], part=numbers).json()["urls"]
    size = answer["partSize"]
    statuses = []
    for number in numbers:
        body = data[(number - 1) * size : number * size]
        statuses.append(urllib3.request("PUT", urls[str(number)], body=body).status)
    return statuses


def direct_upload(client, data, **kwargs):
    """Upload `data` to the bucket as the page's script does; the form's token."""
    answer = start(client, size=len(data), **kwargs).json()
    assert set(send_parts(client, answer, data)) == {200}
    done = ask(client, "complete/", answer["session"])
    assert done.status_code == 200, done.content
    return done.json()["token"]


def test_direct_upload_goes_to_the_bucket_and_the_form_names_it(
    s3_media, sample_video, django_capture_on_commit_callbacks, small_parts
):
    browser = Client(enforce_csrf_checks=True)
    data = sample_video.read_bytes()
    response = start(browser, size=len(data))
    assert response.status_code == 200
    answer = response.json()
    assert answer["parts"] == 1
    urls = ask(browser, "parts/", answer["session"], part=[1, 2]).json()["urls"]
    assert urls.keys() == {"1"} and urls["1"].startswith(s3_media.endpoint)
    token = direct_upload(browser, data)

    # The CSRF token is the form's first field: it is checked before the rest is read.
    fields = {"csrfmiddlewaretoken": csrf(browser)} | form_data(None) | {"upload_ticket": token}
    action = re.search(r'action="([^"]+)"', browser.get("/en/submit/").content.decode())[1]
    assert "csrfmiddlewaretoken" not in action
    with django_capture_on_commit_callbacks(execute=True):
        done = browser.post(html.unescape(action), fields)
    assert done.status_code == 302, done.context["form"].errors if done.context else done
    clip = Clip.objects.get()
    assert clip.original.name.startswith("uploads/") and clip.status == Clip.Status.PROCESSING
    with storages["private"].open(clip.original.name) as fh:
        assert fh.read() == data
    assert keys(s3_media, s3_media.private_bucket) == [clip.original.name]


def test_a_direct_upload_resumes_from_the_parts_the_bucket_holds(
    client, s3_media, eleven_mib, small_parts
):
    data = eleven_mib
    answer = start(client, size=len(data)).json()
    assert answer["parts"] == 3
    assert send_parts(client, answer, data, [1, 3]) == [200, 200]
    # After a reload the page asks which parts arrived, and sends only the others.
    state = ask(client, "parts/", answer["session"], part=[2]).json()
    assert state["done"] == [1, 3]
    assert ask(client, "complete/", answer["session"]).status_code == 409  # not all there
    rest = [n for n in range(1, answer["parts"] + 1) if n not in (1, 3)]
    assert set(send_parts(client, answer, data, rest)) == {200}
    token = ask(client, "complete/", answer["session"]).json()["token"]
    assert kept.read(token).size == len(data)
    # Asked again (its answer was lost): the same object, named again.
    again = ask(client, "complete/", answer["session"]).json()["token"]
    assert kept.read(again).ref == kept.read(token).ref


def test_a_cancelled_direct_upload_leaves_nothing(client, s3_media, eleven_mib, small_parts):
    answer = start(client, size=len(eleven_mib)).json()
    send_parts(client, answer, eleven_mib, [1])
    assert ask(client, "abort/", answer["session"]).status_code == 200
    bucket = s3_media.private_bucket
    uploads = s3_media.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert direct.read_session(answer["session"]).upload_id not in [u["UploadId"] for u in uploads]
    assert keys(s3_media, bucket) == []
    assert ask(client, "parts/", answer["session"], part=[1]).status_code == 404


def test_a_direct_upload_comes_in_through_the_one_entry_point(
    client, s3_media, sample_video, entry_calls, django_capture_on_commit_callbacks
):
    token = direct_upload(client, sample_video.read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/en/submit/", form_data(None) | {"upload_ticket": token})
    assert response.status_code == 302
    (call,) = entry_calls
    assert call["source"] == Submission.Source.WEB and call["consent"] is True
    (draft,) = call["clips"]
    # The object the browser sent is the original: nothing is copied.
    assert draft.original.startswith("uploads/")
    assert Clip.objects.get().original.name == draft.original


def test_the_size_cap_holds_in_the_bucket(client, s3_media, settings, sample_video, small_parts):
    settings.MAX_UPLOAD_BYTES = 100_000
    data = sample_video.read_bytes()
    assert len(data) > 100_000
    refused = start(client, size=len(data))
    assert refused.status_code == 400  # the site says no at once, naming the file and the cap
    assert refused.json()["error"] == "clip.mp4 is too large: at most 97.7\xa0KB."
    answer = start(client, size=1000).json()  # a client that lies about the size
    assert answer["parts"] == 1
    # Only the parts of the size it declared are signed.
    assert ask(client, "parts/", answer["session"], part=[1, 2, 3]).json()["urls"].keys() == {"1"}
    status = send_parts(client, answer, data[:70_000], [1])[0]
    if status == 200:  # the bucket took more than the signed length: the site refuses it
        assert ask(client, "complete/", answer["session"]).status_code in (400, 409)
    assert keys(s3_media, s3_media.private_bucket) == []


def test_a_bad_direct_upload_is_refused_and_deleted(client, s3_media):
    token = direct_upload(client, b"this is not a video!")
    response = client.post("/en/submit/", form_data(None) | {"upload_ticket": token})
    assert response.status_code == 400
    assert response.context["form"].errors["video"] == ["This file is not a video we can read."]
    assert (
        keys(s3_media, s3_media.private_bucket) == []
        and Clip.objects.count() == 0
        and Submission.objects.count() == 0
    )


def test_an_upload_token_makes_one_clip_only(
    client, s3_media, sample_video, django_capture_on_commit_callbacks
):
    """A token used twice would give two clips sharing one original, and withdrawing one
    would delete the other's: the second use is refused and the first clip keeps its file."""
    data = sample_video.read_bytes()
    fields = form_data(None) | {"upload_ticket": direct_upload(client, data, name="ferry.mp4")}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/en/submit/", fields).status_code == 302
    again = Client(REMOTE_ADDR="198.51.100.40").post("/en/submit/", fields)
    assert again.status_code == 400
    assert again.context["form"].errors["video"] == [
        "ferry.mp4 was already sent: its clip is with our team. "
        "The receipt e-mail sent to the address it came from has the link to its page."
    ]
    clip = Clip.objects.get()
    assert Submission.objects.count() == 1
    with storages["private"].open(clip.original.name) as fh:
        assert fh.read() == data


def test_a_forged_token_is_refused(client, s3_media):
    response = client.post(
        "/en/submit/", form_data(None) | {"upload_ticket": "uploads/someone-elses.mp4"}
    )
    assert response.context["form"].errors["video"] == [
        "Your file did not arrive. Please send it again."
    ]


def test_probe_reads_only_parts_of_a_large_object(s3_media, tmp_path):
    from gallery import media
    from gallery.synth import synthesize
    from infra.s3 import RangeFile

    path = synthesize(tmp_path / "long.mp4", seconds=40, width=640, height=360)
    client = s3_media.client()
    client.upload_file(str(path), s3_media.private_bucket, "probe/long.mp4")
    remote = RangeFile(client, s3_media.private_bucket, "probe/long.mp4", block=64 * 1024)
    info = media.probe(remote)
    assert info.duration == pytest.approx(40, abs=0.2)
    assert remote.fetched < path.stat().st_size / 2
    assert re.match(r"h264", info.video_codec)


def test_withdrawal_deletes_every_file_of_a_published_clip_from_both_buckets(
    client, s3_media, sample_video, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, form_data(upload(sample_video)), lang="en").status_code == 302
    clip = Clip.objects.get()
    processing.process(clip)
    clip.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        clip.approve(by=None)
    private, public = (
        keys(s3_media, s3_media.private_bucket),
        keys(s3_media, s3_media.public_bucket),
    )
    # Listed with the site's own credentials: an anonymous GET would answer 403 either way.
    assert clip.original.name in private and clip.video.name in private
    assert clip.video.name in public and clip.poster.name in public

    with django_capture_on_commit_callbacks(execute=True):
        clip.withdraw()

    assert keys(s3_media, s3_media.private_bucket) == []
    assert keys(s3_media, s3_media.public_bucket) == []


def test_clean_uploads_removes_unsent_direct_uploads_but_not_originals(
    client, s3_media, sample_video, django_capture_on_commit_callbacks
):
    sent = direct_upload(client, sample_video.read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/en/submit/", form_data(None) | {"upload_ticket": sent}).status_code
    original = Clip.objects.get().original.name
    direct_upload(client, b"never sent with a form")
    assert len(keys(s3_media, s3_media.private_bucket)) == 2
    call_command("clean_uploads")  # both are fresh
    assert len(keys(s3_media, s3_media.private_bucket)) == 2
    assert direct.clean_unsent(now=timezone.now() + timedelta(days=3)) == 1  # what it runs
    assert keys(s3_media, s3_media.private_bucket) == [original]


def test_without_javascript_a_form_sent_back_keeps_its_file_in_the_bucket(
    client, s3_media, sample_video, django_capture_on_commit_callbacks
):
    response = post(client, form_data(upload(sample_video), credit_name=""), lang="en")
    [kept_upload] = response.context["form"].kept_uploads
    assert kept_upload.ref.startswith("uploads/")
    with django_capture_on_commit_callbacks(execute=True):
        done = post(client, form_data(None, upload_ticket=kept_upload.token), lang="en")
    assert done.status_code == 302
    assert Clip.objects.get().original.name == kept_upload.ref
    assert keys(s3_media, s3_media.private_bucket) == [kept_upload.ref]


def test_aborting_after_the_form_was_sent_keeps_the_clips_original(
    client, s3_media, sample_video, django_capture_on_commit_callbacks
):
    data = sample_video.read_bytes()
    answer = start(client, size=len(data)).json()
    send_parts(client, answer, data)
    token = ask(client, "complete/", answer["session"]).json()["token"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/en/submit/", form_data(None) | {"upload_ticket": token})
    ask(client, "abort/", answer["session"])
    clip = Clip.objects.get()
    with storages["private"].open(clip.original.name) as fh:
        assert fh.read() == data
