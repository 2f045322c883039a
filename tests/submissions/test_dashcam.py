"""Dashcam events in, as one clip: the web form (several files, a zip) and e-mail
(attachments, a zip) group a camera set's minutes the same way; event.json's place is
never kept."""

import pytest

from gallery.models import Clip
from submissions import dashcam
from submissions.models import InboundEmail
from tests.factories import (
    EVENT_CITY,
    EVENT_LAT,
    EVENT_LON,
    dashcam_event,
    dashcam_mail,
    files_under,
    form_data,
    post,
    zip_bytes,
    zip_mail,
)

pytestmark = pytest.mark.django_db

FOUR = ("front", "back", "left_repeater", "right_repeater")
SIX = (*FOUR, "left_pillar", "right_pillar")


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    return dashcam_event(tmp_path_factory.mktemp("four"), FOUR)


@pytest.fixture(scope="module")
def six_sentry(tmp_path_factory):
    return dashcam_event(
        tmp_path_factory.mktemp("six"), SIX, reason="sentry_aware_object_detection"
    )


@pytest.fixture(scope="module")
def two_minutes(tmp_path_factory):
    return dashcam_event(
        tmp_path_factory.mktemp("two"),
        ("front", "back"),
        starts=("2026-06-01_10-42-12", "2026-06-01_10-43-12"),
    )


def uploads(files):
    from django.core.files.uploadedfile import SimpleUploadedFile

    types = {".mp4": "video/mp4", ".json": "application/json", ".png": "image/png"}
    return [
        SimpleUploadedFile(name, data, content_type=types[name[name.rfind(".") :]])
        for name, data in files.items()
    ]


def assert_one_event_clip(clip, cameras, media_storage, *, minutes=1):
    assert [a.camera for a in clip.angles.all()] == list(cameras)
    for angle in clip.angles.all():
        assert len(angle.originals) == minutes
        for name in angle.originals:
            assert (media_storage / "private" / name).is_file()
    assert clip.original.name == clip.angles.get(camera="front").originals[0]


def assert_no_place_kept(media_storage, *rows):
    """The event's city and coordinates are in no stored file and no database row."""
    from django.db import connection

    needles = [EVENT_CITY.encode(), EVENT_LAT.encode(), EVENT_LON.encode()]
    for name in files_under(media_storage):
        data = (media_storage / name).read_bytes()
        assert not any(n in data for n in needles), name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608  # nosec B608 - our tables
            for row in cursor.fetchall():
                text = repr(row)
                assert not any(n.decode() in text for n in needles), (table, row)
    for row in rows:
        assert not any(n.decode() in repr(row.__dict__) for n in needles)


# --- names and groups (no Django) ---


def test_names_and_groups():
    names = [
        "2026-06-01_10-43-12-back.mp4",
        "2026-06-01_10-42-12-front.mp4",
        "holiday.mp4",
        "2026-06-01_10-42-12-back.mp4",
        "2026-06-01_10-43-12-front.mp4",
        "2026-06-01_12-00-00-front.mp4",  # a later, separate event of one camera
    ]
    groups = dashcam.group(names)
    assert len(groups) == 3
    event = next(g for g in groups if g.angles)
    assert event.angles == (("front", (1, 4)), ("back", (3, 0)))
    assert event.lead == 1
    lone = [g for g in groups if not g.angles]
    assert sorted(g.lead for g in lone) == [2, 5]
    assert dashcam.parse_name("2026-06-01_10-42-12-left_pillar.MP4")[1] == "left_pillar"
    assert dashcam.parse_name("2026-06-01_10-42-12-roof.mp4") is None


def test_a_different_camera_set_starts_another_event():
    names = [
        "2026-06-01_10-42-12-front.mp4",
        "2026-06-01_10-42-12-back.mp4",
        "2026-06-01_10-43-12-front.mp4",
    ]
    groups = dashcam.group(names)
    assert len(groups) == 2


def test_event_json_is_read_for_its_reason_only():
    assert dashcam.event_reason(b'{"reason": "sentry_aware_object_detection"}').startswith("sentry")
    assert dashcam.event_reason(b"not json") == ""
    assert dashcam.event_reason(b"[1, 2]") == ""


# --- the web form ---


def test_several_files_on_the_web_make_one_clip_with_every_angle(
    client, four, media_storage, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form_data(uploads(four)), lang="en")
    assert response.status_code == 302, response.content.decode()[:2000]
    clip = Clip.objects.get()
    assert_one_event_clip(clip, FOUR, media_storage)
    assert not clip.sentry
    assert_no_place_kept(media_storage, clip)


def test_a_zip_of_a_sentry_event_on_the_web_is_one_flagged_clip(
    client, six_sentry, media_storage, django_capture_on_commit_callbacks
):
    archive = zip_bytes(
        {f"TeslaCam/SavedClips/2026-06-01_10-43-00/{n}": d for n, d in six_sentry.items()}
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    zipped = SimpleUploadedFile("event.zip", archive, content_type="application/zip")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form_data(zipped), lang="en")
    assert response.status_code == 302, response.content.decode()[:2000]
    clip = Clip.objects.get()
    assert_one_event_clip(clip, SIX, media_storage)
    assert clip.sentry  # event.json's reason
    assert_no_place_kept(media_storage, clip)


def test_files_under_sentryclips_in_a_zip_are_flagged_without_event_json(
    client, four, media_storage, django_capture_on_commit_callbacks
):
    videos = {n: d for n, d in four.items() if n.endswith(".mp4")}
    archive = zip_bytes(
        {f"TeslaCam/SentryClips/2026-06-01_10-43-00/{n}": d for n, d in videos.items()}
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=True):
        post(client, form_data(SimpleUploadedFile("e.zip", archive)), lang="en")
    clip = Clip.objects.get()
    assert clip.sentry and clip.angles.count() == 4


def test_a_lone_camera_file_is_an_ordinary_clip(client, four, django_capture_on_commit_callbacks):
    name = "2026-06-01_10-42-12-front.mp4"
    with django_capture_on_commit_callbacks(execute=True):
        post(client, form_data(uploads({name: four[name]})), lang="en")
    clip = Clip.objects.get()
    assert clip.angles.count() == 0 and not clip.sentry


# --- e-mail ---


def test_attachments_by_e_mail_make_one_clip_and_no_complaint_about_event_files(
    deliver, four, media_storage
):
    inbound = deliver(dashcam_mail(four, subject="Klaxon au feu rouge"))
    assert inbound.status == InboundEmail.Status.PROCESSED, inbound.reason
    clip = inbound.submission.clips.get()
    assert clip.title == "Klaxon au feu rouge"  # one clip: no "(1/4)"
    assert_one_event_clip(clip, FOUR, media_storage)
    assert "thumb.png" not in inbound.reason and "event.json" not in inbound.reason
    assert inbound.reason.splitlines()[0].startswith("1 ")  # "1 clip imported", not 4
    assert_no_place_kept(media_storage, clip)


def test_a_zip_by_e_mail_with_two_minutes_joins_them_in_order(deliver, two_minutes, media_storage):
    archive = zip_bytes({f"SavedClips/ev/{n}": d for n, d in two_minutes.items()})
    inbound = deliver(zip_mail(archive, filename="event.zip"))
    assert inbound.status == InboundEmail.Status.PROCESSED, inbound.reason
    clip = inbound.submission.clips.get()
    assert_one_event_clip(clip, ("front", "back"), media_storage, minutes=2)
    front = clip.angles.get(camera="front")
    first, second = ((media_storage / "private" / name).read_bytes() for name in front.originals)
    assert first == two_minutes["2026-06-01_10-42-12-front.mp4"]
    assert second == two_minutes["2026-06-01_10-43-12-front.mp4"]
    assert "event.json" not in inbound.reason
    assert_no_place_kept(media_storage, clip)


def test_a_sentry_event_by_e_mail_is_flagged(deliver, six_sentry):
    inbound = deliver(dashcam_mail(six_sentry))
    clip = inbound.submission.clips.get()
    assert clip.sentry and clip.angles.count() == 6


def test_six_cameras_over_two_minutes_by_e_mail_are_one_clip(deliver, tmp_path, media_storage):
    files = dashcam_event(
        tmp_path, SIX, starts=("2026-06-01_10-42-12", "2026-06-01_10-43-12"), seconds=1
    )
    inbound = deliver(dashcam_mail(files))  # twelve videos: more than the clips allowed
    assert inbound.status == InboundEmail.Status.PROCESSED, inbound.reason
    clip = inbound.submission.clips.get()
    assert_one_event_clip(clip, SIX, media_storage, minutes=2)


def test_an_event_folder_without_its_videos_is_refused_on_the_web(client, four):
    kept = {n: d for n, d in four.items() if not n.endswith(".mp4")}
    response = post(client, form_data(uploads(kept)), lang="en")
    assert response.status_code == 400  # the form again, with the reason
    assert "This file is not a video we can read." in response.content.decode()
    assert Clip.objects.count() == 0


def test_an_event_folder_without_its_videos_by_e_mail_is_no_video_and_not_kept(deliver, four):
    kept = {n: d for n, d in four.items() if not n.endswith(".mp4")}
    inbound = deliver(dashcam_mail(kept))
    assert inbound.status == InboundEmail.Status.IGNORED and inbound.submission is None
    assert "thumb.png" not in inbound.reason and "event.json" not in inbound.reason
    assert not inbound.raw  # it held the car's position
