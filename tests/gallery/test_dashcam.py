"""A dashcam event processed: every angle's rendition, the mosaic the card and the embed
show, the poster from the front camera, minutes joined in order; every angle on the clip
page (links without JavaScript); withdrawal deletes every angle's files; staff see Sentry."""

import html
import re

import av
import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gallery import mosaic
from gallery.models import Clip
from gallery.processing import process, render
from tests.factories import (
    CAMERA_COLOURS,
    EVENT_CITY,
    EVENT_LAT,
    EVENT_LON,
    dashcam_event,
    files_under,
    form_data,
    post,
    said_in,
)

pytestmark = pytest.mark.django_db

FOUR = ("front", "back", "left_repeater", "right_repeater")
SIX = (*FOUR, "left_pillar", "right_pillar")


def sent(client, files, capture):
    uploads = [
        SimpleUploadedFile(name, data, content_type="application/octet-stream")
        for name, data in files.items()
    ]
    with capture(execute=False):
        response = post(client, form_data(uploads), lang="en")
    assert response.status_code == 302
    clip = Clip.objects.latest("pk")
    process(clip)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW, clip.failure_reason
    return clip


def frame_at(path, seconds):
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time >= seconds:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame at {seconds}s in {path}")


def duration_of(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return float(stream.duration * stream.time_base)


def close(pixel, colour, tolerance=30):
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(pixel, colour, strict=True))


def private(media_storage, name):
    return media_storage / "private" / name


def assert_mosaic_layout(path, cameras):
    picture = frame_at(path, 0.5)
    assert picture.shape[:2] == (mosaic.MOSAIC_HEIGHT, mosaic.MOSAIC_WIDTH)
    for camera, tile in zip(cameras, mosaic.layout(len(cameras)), strict=True):
        # A quarter in from the tile's corner: clear of the moving bar at the bottom.
        pixel = picture[tile.y + tile.height // 4, tile.x + tile.width // 4]
        assert close(pixel, CAMERA_COLOURS[camera]), (camera, tile, pixel)


@pytest.fixture(scope="module")
def six(tmp_path_factory):
    return dashcam_event(
        tmp_path_factory.mktemp("six"), SIX, reason="sentry_aware_object_detection"
    )


def test_six_cameras_give_every_angle_the_mosaic_and_a_front_poster(
    client, six, media_storage, django_capture_on_commit_callbacks
):
    clip = sent(client, six, django_capture_on_commit_callbacks)
    angles = list(clip.angles.all())
    assert [a.camera for a in angles] == list(SIX)
    assert angles[0].video.name == clip.video.name  # the front is the clip's own video
    for angle in angles:
        path = private(media_storage, angle.video.name)
        picture = frame_at(path, 0.5)
        assert close(
            picture[picture.shape[0] // 4, picture.shape[1] // 4], CAMERA_COLOURS[angle.camera]
        )
    assert_mosaic_layout(private(media_storage, clip.mosaic.name), SIX)
    poster = np.asarray(Image.open(private(media_storage, clip.poster.name)).convert("RGB"))
    assert close(poster[poster.shape[0] // 4, poster.shape[1] // 4], CAMERA_COLOURS["front"])
    # The card's thumbnails are the mosaic's: 16:9, every camera in it.
    thumb = np.asarray(
        Image.open(private(media_storage, clip.thumbnails[-1]["jpeg"])).convert("RGB")
    )
    assert thumb.shape[1] * 9 == thumb.shape[0] * 16
    for name in clip.media_names:
        assert private(media_storage, name).is_file(), name
    assert clip.sentry


def test_four_cameras_at_the_cars_size(
    client, tmp_path, media_storage, django_capture_on_commit_callbacks
):
    files = dashcam_event(tmp_path, FOUR, seconds=3, size=(1280, 960))
    clip = sent(client, files, django_capture_on_commit_callbacks)
    assert (clip.width, clip.height) == (960, 720) and not clip.video_hd
    assert clip.duration == pytest.approx(3, abs=0.1)
    for angle in clip.angles.all():
        with av.open(str(private(media_storage, angle.video.name))) as container:
            stream = container.streams.video[0]
            assert (stream.width, stream.height) == (960, 720)
            assert float(stream.average_rate) == pytest.approx(36, abs=0.5)
    assert_mosaic_layout(private(media_storage, clip.mosaic.name), FOUR)
    assert duration_of(private(media_storage, clip.mosaic.name)) == pytest.approx(3, abs=0.1)


def test_two_minutes_are_joined_in_order(
    client, tmp_path, media_storage, django_capture_on_commit_callbacks
):
    files = dashcam_event(
        tmp_path, ("front", "back"), starts=("2026-06-01_10-42-12", "2026-06-01_10-43-12")
    )
    clip = sent(client, files, django_capture_on_commit_callbacks)
    assert clip.duration == pytest.approx(4, abs=0.15)  # 2 s + 2 s
    for angle in clip.angles.all():
        path = private(media_storage, angle.video.name)
        assert duration_of(path) == pytest.approx(4, abs=0.15)
        full, dim = (
            CAMERA_COLOURS[angle.camera],
            [round(c * 0.6) for c in CAMERA_COLOURS[angle.camera]],
        )
        first, last = frame_at(path, 0.5), frame_at(path, 3.5)
        assert close(first[60, 80], full) and close(last[60, 80], dim), angle.camera


@pytest.fixture
def published_event(client, six, django_capture_on_commit_callbacks):
    clip = sent(client, six, django_capture_on_commit_callbacks)
    staff = User.objects.create_superuser("staff", "staff@example.org", "pw")
    with django_capture_on_commit_callbacks(execute=True):
        clip.approve(by=staff)
    return clip


def test_every_angle_is_a_link_on_the_clip_page(client, published_event, media_storage):
    clip = published_event
    page = client.get(clip.get_absolute_url()).content.decode()
    for angle in clip.angles.all():
        assert f'href="?angle={angle.camera}"' in page
        assert angle.video.url in page
    assert "Rear" in page and "Left pillar" in page
    front = clip.angles.get(camera="front")
    back = clip.angles.get(camera="back")
    assert f'<source src="{front.video.url}"' in page

    # Without JavaScript the link opens the page on that angle; each is its own cached page.
    on_back = client.get(clip.get_absolute_url() + "?angle=back").content.decode()
    assert f'<source src="{back.video.url}"' in on_back
    assert f'<source src="{front.video.url}"' not in on_back
    for again in ("", "?angle=roof", "?angle=front"):
        text = client.get(clip.get_absolute_url() + again).content.decode()
        assert f'<source src="{front.video.url}"' in text, again

    # The files are served to visitors once published.
    response = client.get(back.video.url)
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"

    # In French the angle names are French.
    french = client.get(clip.get_absolute_url().replace("/en/", "/fr/")).content.decode()
    assert "Arrière" in french

    # The embed plays the mosaic.
    embed = client.get(f"/embed/{clip.pk}/").content.decode()
    assert clip.mosaic.url in embed

    gallery = client.get("/en/").content.decode()
    assert clip.title in gallery
    feed = client.get("/en/feed/").content.decode()
    for text in (page, on_back, french, embed, gallery, feed):
        assert EVENT_CITY not in text and EVENT_LAT not in text and EVENT_LON not in text


def test_withdrawal_deletes_every_angle_and_original(
    published_event, media_storage, django_capture_on_commit_callbacks
):
    clip = published_event
    names = [*clip.media_names, *clip.originals]
    assert len(clip.originals) == 6
    assert any(n.endswith("mosaic.mp4") for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        clip.withdraw()
    remaining = files_under(media_storage)
    for name in names:
        assert not any(r.endswith(name) for r in remaining), name
    assert not any(a.video or a.originals for a in clip.angles.all())


def test_staff_see_the_sentry_flag_and_can_filter_by_it(client, published_event, sample_video):
    from tests.factories import make_clip

    ordinary = make_clip(title="Plain drive", video=sample_video)
    client.force_login(User.objects.get(username="staff"))
    listing = client.get("/admin/gallery/clip/?status=all").content.decode()
    assert "sentry-pill" in listing
    flagged = client.get("/admin/gallery/clip/?status=all&sentry__exact=1").content.decode()
    assert published_event.title in flagged and ordinary.title not in flagged
    page = client.get(f"/admin/gallery/clip/{published_event.pk}/change/").content.decode()
    warning = said_in(
        "fr",
        "recorded by the parked car’s Sentry Mode, likely to show bystanders. Check every angle.",
    )
    assert "data-sentry" in page and html.escape(warning) in page
    assert (
        "data-sentry"
        not in client.get(f"/admin/gallery/clip/{ordinary.pk}/change/").content.decode()
    )


def test_on_s3_every_angle_is_published_and_withdrawal_empties_both_buckets(
    client, s3_media, tmp_path, django_capture_on_commit_callbacks
):
    def keys(bucket):
        listed = s3_media.client().list_objects_v2(Bucket=bucket).get("Contents", [])
        return sorted(o["Key"] for o in listed)

    clip = sent(client, dashcam_event(tmp_path, FOUR), django_capture_on_commit_callbacks)
    assert len(clip.originals) == 4
    assert set(clip.originals) <= set(keys(s3_media.private_bucket))
    staff = User.objects.create_superuser("staff", "staff@example.org", "pw")
    with django_capture_on_commit_callbacks(execute=True):
        clip.approve(by=staff)
    public = keys(s3_media.public_bucket)
    assert {a.video.name for a in clip.angles.all()} | {clip.mosaic.name} <= set(public)
    with django_capture_on_commit_callbacks(execute=True):
        clip.withdraw()
    assert keys(s3_media.public_bucket) == []
    assert keys(s3_media.private_bucket) == []


def test_staff_preview_links_every_angle_to_its_private_copy(
    client, tmp_path, django_capture_on_commit_callbacks
):
    from gallery.preview import preview_url

    clip = sent(
        client, dashcam_event(tmp_path, ("front", "back")), django_capture_on_commit_callbacks
    )
    client.force_login(User.objects.create_superuser("staff", "staff@example.org", "pw"))
    page = client.get(preview_url(clip, "en")).content.decode()
    back = clip.angles.get(camera="back")
    links = [html.unescape(m) for m in re.findall(r'data-src="([^"]+)"', page)]
    assert len(links) == 2 and all("sig=" in link for link in links)
    assert any(back.video.name.split("/")[-1] in link for link in links)
    response = client.get(next(link for link in links if "angle-back" in link))
    assert response.status_code in (200, 206)


def test_minutes_encoded_differently_are_joined_by_decoding(tmp_path):
    from tests.factories import dashcam_minute

    first = dashcam_minute(tmp_path, "front", start="2026-06-01_10-42-12", seconds=1)
    second = dashcam_minute(
        tmp_path, "front", start="2026-06-01_10-43-12", seconds=1, size=(160, 120), shade=0.6
    )
    joined = mosaic.join([first, second], tmp_path / "joined.mp4")
    with av.open(str(joined)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (320, 240)
    assert duration_of(joined) == pytest.approx(2, abs=0.1)
    assert close(frame_at(joined, 0.2)[60, 80], CAMERA_COLOURS["front"])
    assert close(frame_at(joined, 1.7)[60, 80], [round(c * 0.6) for c in CAMERA_COLOURS["front"]])


def test_the_gallery_and_the_intake_know_the_same_cameras():
    from gallery.models import Camera
    from submissions.dashcam import CAMERAS

    assert tuple(Camera.values) == CAMERAS


@pytest.mark.django_db
def test_making_an_events_outputs_again_renews_every_angle_and_the_mosaic(
    client, published_event, media_storage
):
    """Staff turning blurring off or editing regions remakes a published event whole."""
    clip = published_event
    before = {a.camera: a.video.name for a in clip.angles.all()}
    old_names = set(clip.media_names)
    render(clip)
    clip.refresh_from_db()
    after = {a.camera: a.video.name for a in clip.angles.all()}
    assert set(after) == set(before) and all(after[c] != before[c] for c in after)
    assert after["front"] == clip.video.name
    assert clip.mosaic.name not in old_names
    # Every name the clip points at is there; the replaced files are gone.
    for name in clip.media_names:
        assert private(media_storage, name).is_file(), name
    for name in old_names - set(clip.media_names):
        assert not private(media_storage, name).exists(), name
    # The public copies follow: the clip page's angles play the new files.
    page = client.get(clip.get_absolute_url()).content.decode()
    for camera, name in after.items():
        assert name.rsplit("/", 1)[-1] in page, camera
