"""Private stays private: every way a visitor might guess or replay a private file's URL."""

import re
import time
import urllib.error
import urllib.request
from urllib.parse import quote, unquote

import pytest

from gallery.models import Clip
from tests.factories import make_clip

pytestmark = pytest.mark.django_db


def fetch(url, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def clip_in_each_private_state(video):
    """{state: (clip, every file name it had)} for each state a visitor must not see into."""
    clips = {
        state: make_clip(status=Clip.Status.REVIEW, video=video)
        for state in ("review", "rejected", "withdrawn", "unpublished")
    }
    names = {state: [clip.original.name, *clip.media_names] for state, clip in clips.items()}
    clips["rejected"].reject(by=None, reason="no")
    clips["unpublished"].approve(by=None)
    clips["unpublished"].unpublish(by=None, reason="owner asked")
    clips["withdrawn"].withdraw()
    processing = make_clip(status=Clip.Status.PROCESSING, video=video)
    clips["processing"], names["processing"] = processing, [processing.original.name]
    return {state: (clip, names[state]) for state, clip in clips.items()}


def guesses(clip, names):
    """URLs a visitor could try for a clip's files."""
    for name in names:
        yield f"/media/{name}"
        yield f"/media/clips/{clip.pk}/{name.split('/', 2)[-1]}"
        yield f"/media/clips/{clip.pk}/../../{name}"
        yield f"/media/clips/{clip.pk}/%2e%2e/%2e%2e/{name}"
        yield f"/media/private/{name}"
        yield f"/media/public/{name}"


def test_local_storage_gives_visitors_nothing_private(
    client, sample_video, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        clips = clip_in_each_private_state(sample_video)
    for state, (clip, names) in clips.items():
        clip.refresh_from_db()
        for url in guesses(clip, names):
            assert client.get(url).status_code == 404, (state, url)
        # A signed link for one file opens neither another file nor another clip's.
        if clip.video:
            signed = clip.review_video_url
            assert client.get(signed).status_code == 200, state
            assert client.get(re.sub(r"\d+p\.mp4", "poster.jpg", signed)).status_code == 404
            assert client.get(signed.split("?")[0]).status_code == 404
    # Signed links expire: one issued a minute inside the lifetime opens, one issued just
    # past it does not.
    live = clips["review"][0]
    settings.PRIVATE_MEDIA_URL_SECONDS = 3600
    assert client.get(link_issued_ago(live.review_video_url, 3540)).status_code == 200
    assert client.get(link_issued_ago(live.review_video_url, 3660)).status_code == 404


def link_issued_ago(link, seconds):
    """The same local signed link, as it would have been signed `seconds` ago."""
    from django.core import signing

    from infra.storage import SIGNATURE_SALT

    class Backdated(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - seconds)

    path, query = link.split("?")
    name = unquote(path.removeprefix("/media/"))
    _, timestamp, signature = Backdated(salt=SIGNATURE_SALT).sign(name).rsplit(":", 2)
    assert f"exp={timestamp}" not in query  # really another link
    return f"{path}?exp={timestamp}&sig={quote(signature)}"


def gone(server, bucket, name):
    """Whether the object is really absent, asked with the site's own credentials (an
    anonymous GET answers 403 whether or not it exists)."""
    from botocore.exceptions import ClientError

    try:
        server.client().head_object(Bucket=bucket, Key=name)
    except ClientError as error:
        return error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound")
    return False


def test_object_storage_gives_visitors_nothing_private(
    client, s3_media, sample_video, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        clips = clip_in_each_private_state(sample_video)
    endpoint = s3_media.endpoint
    for state, (clip, names) in clips.items():
        for name in names:
            for bucket in (s3_media.private_bucket, s3_media.public_bucket):
                assert fetch(f"{endpoint}/{bucket}/{name}") in (403, 404), (state, bucket, name)
        for url in guesses(clip, names):
            assert client.get(url).status_code == 404, (state, url)
    # A withdrawn clip's files are deleted, not merely hidden.
    clip, names = clips["withdrawn"]
    for bucket in (s3_media.private_bucket, s3_media.public_bucket):
        for name in names:
            assert gone(s3_media, bucket, name), (bucket, name)
    assert not gone(s3_media, s3_media.private_bucket, clips["review"][1][0])
    assert fetch(f"{endpoint}/{s3_media.private_bucket}?list-type=2") == 403
    assert fetch(f"{endpoint}/{s3_media.public_bucket}?list-type=2") == 403

    # A presigned link works until it expires (an hour), for that one object only.
    review = Clip.objects.get(pk=clips["review"][0].pk)
    link = review.review_video_url
    assert fetch(link, {"Range": "bytes=0-9"}) == 206
    assert fetch(re.sub(r"\d+p\.mp4", "poster.jpg", link)) == 403
    assert fetch(presigned_ago(monkeypatch, review, 3540), {"Range": "bytes=0-9"}) == 206
    assert fetch(presigned_ago(monkeypatch, review, 3660), {"Range": "bytes=0-9"}) == 403


def presigned_ago(monkeypatch, clip, seconds):
    """The clip's review link as the site would have signed it `seconds` ago."""
    import datetime

    from botocore import auth

    then = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    then -= datetime.timedelta(seconds=seconds)
    with monkeypatch.context() as patch:
        patch.setattr(auth, "get_current_datetime", lambda: then)
        return clip.review_video_url
