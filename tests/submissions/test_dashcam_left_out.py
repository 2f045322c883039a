"""One broken camera does not cost a dashcam event: the other cameras make the clip (the
next camera leads when the front one is broken), staff and the owner are told which camera
was left out and why."""

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery.models import Clip
from gallery.processing import process
from infra.storage import private_storage
from submissions.models import ClipDraft, InboundEmail, Submission
from tests.factories import dashcam_event, dashcam_mail, form_data, post, zip_bytes, zip_mail

pytestmark = pytest.mark.django_db

FOUR = ("front", "back", "left_repeater", "right_repeater")
START = "2026-06-01_10-42-12"


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    return dashcam_event(tmp_path_factory.mktemp("four"), FOUR, seconds=1)


def cut(data):
    """The first bytes of a recording only: the camera stopped before writing its index."""
    return data[:200]


def uploads(files):
    return [
        SimpleUploadedFile(name, data, content_type="application/octet-stream")
        for name, data in files.items()
    ]


def test_a_broken_side_camera_on_the_web_leaves_it_out_and_says_so(
    client, four, media_storage, django_capture_on_commit_callbacks
):
    files = dict(four)
    files[f"{START}-left_repeater.mp4"] = cut(files[f"{START}-left_repeater.mp4"])
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form_data(uploads(files)), lang="en")
    assert response.status_code == 302, response.content.decode()[:2000]
    clip = Clip.objects.get()
    assert [a.camera for a in clip.angles.all()] == ["front", "back", "right_repeater"]
    assert clip.left_out == [["left_repeater", "cut_off"]]
    # The owner's receipt names the camera left out.
    receipt = mail.outbox[-1].body
    assert "“Left side, facing back” camera was left out" in receipt
    process(clip)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW, clip.failure_reason
    assert clip.mosaic
    # Staff read it beside the clip on the review screen.
    assert "“Left side, facing back” camera was left out" in clip.decision_reason
    status = client.get(clip.submission.get_status_url(language="en")).content.decode()
    assert "camera was left out: its recording was cut off" in status


def test_a_broken_front_camera_by_e_mail_lets_the_rear_camera_lead(deliver, four, media_storage):
    files = dict(four)
    files[f"{START}-front.mp4"] = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40
    archive = zip_bytes({f"TeslaCam/SavedClips/ev/{n}": d for n, d in files.items()})
    inbound = deliver(zip_mail(archive, filename="event.zip", subject="Dépassement"))
    assert inbound.status == InboundEmail.Status.PROCESSED, inbound.reason
    clip = inbound.submission.clips.get()
    assert [a.camera for a in clip.angles.all()] == ["back", "left_repeater", "right_repeater"]
    assert clip.original.name == clip.angles.get(camera="back").originals[0]
    assert [camera for camera, _why in clip.left_out] == ["front"]
    reply = mail.outbox[-1]
    assert "Dépassement" in reply.body
    assert "La caméra «\u00a0Avant\u00a0» a été écartée" in reply.body  # in the sender's French


def test_an_event_of_broken_cameras_only_is_still_refused(deliver, four):
    files = {n: cut(d) if n.endswith(".mp4") else d for n, d in four.items()}
    inbound = deliver(dashcam_mail(files))
    assert inbound.status == InboundEmail.Status.IGNORED and inbound.submission is None


def store(name, data):
    return private_storage().save(f"originals/{name}", ContentFile(data))


def event_draft(files, cameras):
    angles = tuple((camera, (store(f"{START}-{camera}.mp4", files[camera]),)) for camera in cameras)
    return ClipDraft(original=angles[0][1][0], title="Event", angles=angles)


def test_a_front_camera_unreadable_in_processing_hands_the_lead_to_the_rear_camera(
    four, media_storage
):
    files = {camera: four[f"{START}-{camera}.mp4"] for camera in FOUR}
    files["front"] = files["front"][:600] + b"\x00" * 4000  # damaged after it arrived
    submission = Submission.objects.create_with_clips(
        email="owner@example.org",
        language="de",
        source=Submission.Source.WEB,
        clips=[event_draft(files, FOUR)],
    )
    clip = submission.clips.get()
    front = clip.angles.get(camera="front").originals[0]
    process(clip)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW, clip.failure_reason
    angles = list(clip.angles.all())
    assert [a.camera for a in angles] == ["back", "left_repeater", "right_repeater"]
    assert [a.order for a in angles] == [0, 1, 2]
    assert angles[0].video.name == clip.video.name
    assert all(a.video for a in angles) and clip.mosaic
    assert clip.original.name == angles[0].originals[0]
    assert not (media_storage / "private" / front).exists()  # unreadable: not kept
    assert [camera for camera, _why in clip.left_out] == ["front"]
    assert "“Front” camera was left out" in clip.decision_reason


def test_no_readable_camera_fails_the_clip_with_the_reason(four, media_storage):
    files = {camera: b"\x00" * 2000 for camera in ("front", "back")}
    submission = Submission.objects.create_with_clips(
        email="owner@example.org",
        language="en",
        source=Submission.Source.WEB,
        clips=[event_draft(files, ("front", "back"))],
    )
    clip = submission.clips.get()
    process(clip)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.FAILED and clip.failure_text
