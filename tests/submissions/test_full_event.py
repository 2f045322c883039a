"""A full saved event (ten one-minute files from each of six cameras, event.json and
thumb.png: 62 files) passes in one zip, one e-mail or one web upload; the bounds on files per
archive and per message still hold for everything else."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery.models import Clip
from submissions import dashcam, probe, unpack
from submissions.models import InboundEmail
from tests.factories import (
    dashcam_event,
    dashcam_mail,
    dashcam_minute,
    form_data,
    post,
    zip_bytes,
    zip_mail,
)

pytestmark = pytest.mark.django_db

SIX = ("front", "back", "left_repeater", "right_repeater", "left_pillar", "right_pillar")
STARTS = tuple(f"2026-06-01_10-{minute:02}-12" for minute in range(30, 40))


@pytest.fixture(scope="module")
def full_event(tmp_path_factory):
    folder = tmp_path_factory.mktemp("full")
    # Tiny minutes: the bounds count files, not seconds.
    files = {
        path.name: path.read_bytes()
        for start in STARTS
        for camera in SIX
        for path in [dashcam_minute(folder, camera, start=start, seconds=0.2, size=(64, 48))]
    }
    event = dashcam_event(folder / "first", SIX[:1], starts=STARTS[:1], seconds=0.2)
    return files | {"event.json": event["event.json"], "thumb.png": event["thumb.png"]}


def assert_whole_event(clip):
    angles = list(clip.angles.all())
    assert [a.camera for a in angles] == list(SIX)
    assert all(len(a.originals) == len(STARTS) for a in angles)


def test_a_full_event_is_62_files(full_event):
    assert len(full_event) == 62 > unpack.MAX_ARCHIVE_MEMBERS > probe.MAX_PARTS_PROBED


def test_a_full_event_zipped_by_e_mail_is_one_clip_with_every_minute(deliver, full_event):
    archive = zip_bytes(
        {f"TeslaCam/SavedClips/2026-06-01_10-40-12/{n}": d for n, d in full_event.items()}
    )
    inbound = deliver(zip_mail(archive, filename="TeslaCam.zip"))
    assert inbound.status == InboundEmail.Status.PROCESSED, inbound.reason
    assert_whole_event(inbound.submission.clips.get())
    assert "too many" not in inbound.reason and "Not videos" not in inbound.reason


def test_a_full_event_attached_file_by_file_is_one_clip(deliver, full_event):
    inbound = deliver(dashcam_mail(full_event))
    assert inbound.status == InboundEmail.Status.PROCESSED, inbound.reason
    assert_whole_event(inbound.submission.clips.get())


def test_a_full_event_as_62_files_on_the_web_is_one_clip(
    client, full_event, django_capture_on_commit_callbacks
):
    uploads = [
        SimpleUploadedFile(name, data, content_type="application/octet-stream")
        for name, data in full_event.items()
    ]
    with django_capture_on_commit_callbacks(execute=False):
        response = post(client, form_data(uploads), lang="en")
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert_whole_event(Clip.objects.get())


def test_an_archive_of_many_small_events_is_still_refused_unopened(deliver, full_event):
    # One dashcam file in each of 51 folders: 51 events, each counted as one file.
    name, data = next(iter(full_event.items()))
    archive = zip_bytes({f"SavedClips/{n:03}/{name}": data for n in range(51)})
    inbound = deliver(zip_mail(archive, filename="many.zip"))
    assert inbound.status == InboundEmail.Status.IGNORED and inbound.submission is None
    assert "too many files (51; at most 50)" in inbound.reason


def test_ordinary_files_are_counted_one_by_one():
    names = [f"frame-{n}.jpg" for n in range(3)] + [f"{s}-front.mp4" for s in STARTS]
    assert sum(dashcam.units(names)) == 3 + 1
    # Past one full event's worth of files in one folder, the next ones count again.
    many = [f"2026-06-01_10-{m:02}-12-{c}.mp4" for m in range(20) for c in SIX]
    assert sum(dashcam.units(many)) == 2
