"""Faces and plates are blurred in every published output; staff stay in charge of it.

A composed clip (real face photographs, rendered plates, known places: gallery.synth_bystanders)
goes through the real processing; its renditions, poster and thumbnails are read back with
the OCR and compared with the original's frames.
"""

import hashlib

import av
import cv2
import numpy as np
import pytest
from django.utils.html import escape
from PIL import Image

from gallery import processing, tasks
from gallery import synth_bystanders as sb
from gallery.anonymise import read_text
from gallery.models import Clip
from tests.factories import files_under, make_clip

SEED = 4
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory):
    """(path, truths, scene) of a 3 s 640x360 clip with faces and plated cars moving."""
    scene = sb.compose(seed=SEED, seconds=3.0, faces=2, plates=2, plate_widths=(150, 200))
    path = tmp_path_factory.mktemp("bystanders") / "street.mp4"
    return path, sb.write(scene, path), scene


def _frames(path):
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def _stored(media_storage, name):
    return media_storage / "private" / name


def _readable(text, lines):
    """Whether any OCR line gives back four characters in a row of the plate."""
    wanted = "".join(c for c in text if c.isalnum())
    for line in lines:
        got = "".join(c for c in line.upper() if c.isalnum())
        if any(wanted[i : i + 4] in got for i in range(len(wanted) - 3)):
            return True
    return False


def _detail(rgb, box):
    """High-frequency energy in the middle of a box (a face's eyes, nose and mouth; the
    blur is an ellipse, so a box's corners keep the background): pixelated, almost none."""
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * 0.2, (y2 - y1) * 0.2
    x1, y1, x2, y2 = int(x1 + mx), int(y1 + my), int(x2 - mx), int(y2 - my)
    gray = cv2.cvtColor(np.ascontiguousarray(rgb[y1:y2, x1:x2]), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def _difference(a, b, box):
    x1, y1, x2, y2 = (int(v) for v in box)
    return float(np.abs(a[y1:y2, x1:x2].astype(int) - b[y1:y2, x1:x2].astype(int)).mean())


def _processed(scene_file):
    path, truths, _ = scene_file
    clip = make_clip(status=Clip.Status.REVIEW, video=path)
    return clip, truths


def _face_frames(truths, minimum=40):
    return [
        (index, truth)
        for index, frame_truths in enumerate(truths)
        for truth in frame_truths
        if truth.kind == "face" and truth.height >= minimum
    ]


def test_published_outputs_have_plates_unreadable_and_faces_pixelated(media_storage, scene_file):
    path, truths, scene = scene_file
    clip, _ = _processed(scene_file)
    # The regions are stored on the clip, as tracks of timed boxes.
    kinds = {track["kind"] for track in clip.regions["tracks"]}
    assert kinds == {"face", "plate"}
    assert all(len(track["keys"]) >= 2 for track in clip.regions["tracks"])
    assert clip.blurring and not clip.outputs_outdated

    original = _frames(path)
    rendition = _frames(_stored(media_storage, clip.video.name))
    assert len(rendition) == len(original)
    read_before = 0
    for index in range(0, len(original), 3):
        plates = [t for t in truths[index] if t.kind == "plate"]
        if not plates:
            continue
        before = [text for text, _, _ in read_text(original[index])]
        after = [text for text, _, _ in read_text(rendition[index])]
        for plate in plates:
            if _readable(plate.text, before):
                read_before += 1
                assert not _readable(plate.text, after), (index, plate.text, after)
    assert read_before >= 3  # the OCR is a fair judge: it reads these plates on the original

    faces = _face_frames(truths)
    assert len(faces) >= 20
    pixelated = sum(
        _detail(rendition[index], face.box) < 0.3 * _detail(original[index], face.box)
        for index, face in faces
    )
    assert pixelated >= 0.95 * len(faces)

    # Poster and every thumbnail: no plate of the clip can be read in them, and a plate
    # is readable in the original's frame they were made from.
    texts = {t.text for frame_truths in truths for t in frame_truths if t.kind == "plate"}
    poster = Image.open(_stored(media_storage, clip.poster.name)).convert("RGB")
    source_frame = Image.fromarray(original[round(0.1 * len(original))]).resize(poster.size)
    assert any(
        _readable(text, [r[0] for r in read_text(np.asarray(source_frame))]) for text in texts
    )
    pictures = [poster] + [
        Image.open(_stored(media_storage, thumb[fmt])).convert("RGB")
        for thumb in clip.thumbnails
        for fmt in ("webp", "jpeg")
    ]
    for picture in pictures:
        lines = [r[0] for r in read_text(np.asarray(picture))]
        assert not any(_readable(text, lines) for text in texts), lines

    # The original is kept as it came, privately.
    stored_original = _stored(media_storage, clip.original.name).read_bytes()
    assert hashlib.sha256(stored_original).digest() == hashlib.sha256(path.read_bytes()).digest()


def test_a_region_staff_remove_is_no_longer_blurred_after_rendering_again(
    media_storage, scene_file
):
    path, truths, _ = scene_file
    clip, _ = _processed(scene_file)
    original = _frames(path)
    face_tracks = [t for t in clip.regions["tracks"] if t["kind"] == "face"]
    removed = max(face_tracks, key=lambda t: len(t["keys"]))
    clip.remove_region(removed["id"])
    assert Clip.objects.get(pk=clip.pk).outputs_outdated
    kept = [t for t in clip.regions["tracks"] if t["id"] != removed["id"]]

    old_video = clip.video.name
    processing.render(Clip.objects.get(pk=clip.pk))
    clip.refresh_from_db()
    assert clip.video.name != old_video and not clip.outputs_outdated
    assert not _stored(media_storage, old_video).exists()
    # Not detected again: the removal holds.
    assert [t["removed"] for t in clip.regions["tracks"] if t["id"] == removed["id"]] == [True]
    rendition = _frames(_stored(media_storage, clip.video.name))
    checked = 0
    for t, *box in removed["keys"]:
        index = round(t * 10)
        others = [k for track in kept for k in track["keys"] if abs(k[0] - t) < 0.15]
        if any(_overlaps(box, k[1:]) for k in others):
            continue  # another region covers part of it
        assert _difference(rendition[index], original[index], box) < 8, index
        checked += 1
    assert checked >= 3


def _overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_a_box_staff_draw_is_blurred_along_the_clip_after_rendering_again(
    media_storage, scene_file
):
    path, truths, _ = scene_file
    clip, _ = _processed(scene_file)
    for track in clip.regions["tracks"]:
        clip.remove_region(track["id"])
    original = _frames(path)
    faces = _face_frames(truths, minimum=60)
    index, face = faces[0]
    clip.add_region(index / 10, face.box)
    processing.render(Clip.objects.get(pk=clip.pk))
    clip.refresh_from_db()
    (staff,) = [t for t in clip.regions["tracks"] if t["source"] == "staff"]
    assert staff["kind"] == "manual" and staff["keys"][-1][0] > index / 10 + 0.5

    rendition = _frames(_stored(media_storage, clip.video.name))
    later = [(i, t) for i, t in faces if i > index + 3 and _same_face(t, face)]
    assert len(later) >= 5
    for i, truth in later:
        assert _detail(rendition[i], truth.box) < 0.5 * _detail(original[i], truth.box), i


def _same_face(truth, first):
    # The composed faces keep their size: the one drawn on is the one of the same height.
    return abs(truth.height - first.height) <= 2


def test_blurring_turned_off_with_a_reason_leaves_the_outputs_clear(
    media_storage, scene_file, django_user_model
):
    path, truths, _ = scene_file
    clip, _ = _processed(scene_file)
    staff = django_user_model.objects.create_user("moderator", is_staff=True)
    with pytest.raises(ValueError):
        clip.set_blurring(False, by=staff, reason="  ")
    clip.set_blurring(False, by=staff, reason="The people filmed signed a release.")
    clip.queue_rendering()
    assert Clip.objects.get(pk=clip.pk).rendering_queued
    # What the worker runs for the queued task.
    tasks.render_clip.call(clip.pk)
    clip.refresh_from_db()
    assert clip.blurring is False and not clip.rendering_queued and not clip.outputs_outdated
    assert clip.blurring_changed_by == staff
    assert clip.blurring_reason == "The people filmed signed a release."
    assert clip.blurring_changed_at is not None
    original = _frames(path)
    rendition = _frames(_stored(media_storage, clip.video.name))
    for index, face in _face_frames(truths)[::5]:
        assert _difference(rendition[index], original[index], face.box) < 8, index


def test_only_moderators_change_the_blurring_and_never_without_a_reason(
    client, admin_client, django_user_model
):
    clip = make_clip(status=Clip.Status.REVIEW)
    url = f"/admin/gallery/clip/{clip.pk}/regions/"
    viewer = django_user_model.objects.create_user(
        "viewer", password="x-long-pass-1", is_staff=True
    )
    client.force_login(viewer)
    assert client.post(url, {"action": "blur_off", "reason": "agreed"}).status_code == 403

    page = admin_client.post(url, {"action": "blur_off", "reason": " "}, follow=True)
    # The admin speaks the site's default language, French.
    assert "Indiquez pourquoi les visages et les plaques peuvent être montrés." in (
        page.content.decode()
    )
    assert Clip.objects.get(pk=clip.pk).blurring is True
    admin_client.post(url, {"action": "add", "time": "1.5", "x1": "10", "y1": "10", "x2": "5"})
    assert Clip.objects.get(pk=clip.pk).regions == {}  # a box needs its four sides


@pytest.fixture(scope="module")
def short_clip_file(tmp_path_factory):
    from gallery.synth import synthesize

    return synthesize(
        tmp_path_factory.mktemp("short") / "short.mp4", seconds=2, width=320, height=180
    )


STAFF_CHANGES = {
    "a box drawn": lambda clip: clip.add_region(1.0, (20, 20, 80, 80)),
    "blurring turned off": lambda clip: clip.set_blurring(False, by=None, reason="They agreed."),
}


@pytest.mark.parametrize("moment", ["before the regions are read", "while the outputs are made"])
@pytest.mark.parametrize("change", STAFF_CHANGES)
def test_a_change_staff_make_while_a_render_runs_keeps_the_outputs_outdated(
    media_storage, short_clip_file, monkeypatch, change, moment
):
    clip = make_clip(status=Clip.Status.REVIEW, video=short_clip_file)
    clip.remove_region(clip.add_region(0.5, (100, 50, 160, 110))["id"])
    assert Clip.objects.get(pk=clip.pk).outputs_outdated
    # The staff's second change lands at a known moment of the render.
    module, name = (
        (processing.media, "probe")
        if moment == "before the regions are read"
        else (processing.blurring, "render_outputs")
    )
    real = getattr(module, name)

    def staff_change_then(*args, **kwargs):
        STAFF_CHANGES[change](Clip.objects.get(pk=clip.pk))
        monkeypatch.setattr(module, name, real)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, staff_change_then)
    old_video = clip.video.name
    processing.render(Clip.objects.get(pk=clip.pk))
    clip.refresh_from_db()
    assert clip.video.name != old_video  # the render did finish and swap its outputs in
    assert clip.outputs_outdated  # but they lack the staff's last change
    if change == "a box drawn":  # kept, not overwritten by what the render read
        assert [t["source"] for t in clip.regions["tracks"]].count("staff") == 2
    else:
        assert clip.blurring is False

    # The next render makes them from the current regions: up to date.
    processing.render(Clip.objects.get(pk=clip.pk))
    clip.refresh_from_db()
    assert not clip.outputs_outdated


def test_a_render_staff_queue_while_one_runs_stays_announced_until_it_ran(
    media_storage, short_clip_file, monkeypatch
):
    clip = make_clip(status=Clip.Status.REVIEW, video=short_clip_file)
    clip.queue_rendering()
    real = processing.blurring.render_outputs

    def staff_queue_again_then(*args, **kwargs):
        # Staff press "make again" once more (e.g. to detect again) while this one works.
        Clip.objects.get(pk=clip.pk).queue_rendering(detect=True)
        monkeypatch.setattr(processing.blurring, "render_outputs", real)
        return real(*args, **kwargs)

    monkeypatch.setattr(processing.blurring, "render_outputs", staff_queue_again_then)
    processing.render(Clip.objects.get(pk=clip.pk))
    # The regions page still says the outputs are being made again: the second one is due.
    assert Clip.objects.get(pk=clip.pk).rendering_queued

    processing.render(Clip.objects.get(pk=clip.pk))
    assert not Clip.objects.get(pk=clip.pk).rendering_queued


def test_of_two_renders_at_once_the_one_of_older_regions_never_replaces_the_newer(
    media_storage, short_clip_file, monkeypatch
):
    def all_files():
        return {
            (side, n) for side in ("private", "public") for n in files_under(media_storage / side)
        }

    before = all_files()
    clip = make_clip(status=Clip.Status.PUBLISHED, video=short_clip_file)
    clip.queue_rendering()
    real = processing.blurring.render_outputs
    newer = {}

    def staff_draw_a_box_and_a_second_worker_renders_it(*args, **kwargs):
        # While the first worker transcodes, staff draw a box and queue a render, which a
        # second worker takes up and ends first.
        monkeypatch.setattr(processing.blurring, "render_outputs", real)
        staff = Clip.objects.get(pk=clip.pk)
        staff.add_region(1.0, (20, 20, 80, 80))
        staff.queue_rendering()
        processing.render(Clip.objects.get(pk=clip.pk))
        newer.update(Clip.objects.filter(pk=clip.pk).values("video", "poster").get())
        return real(*args, **kwargs)

    monkeypatch.setattr(
        processing.blurring, "render_outputs", staff_draw_a_box_and_a_second_worker_renders_it
    )
    processing.render(Clip.objects.get(pk=clip.pk))  # the first one, without the box, ends last

    clip.refresh_from_db()
    assert (clip.video.name, clip.poster.name) == (newer["video"], newer["poster"])
    assert not clip.outputs_outdated and not clip.rendering_queued
    assert clip.render_claimed_at is None
    # Of the first render's files none is kept, privately or publicly.
    named = set(clip.media_names)
    made = {name for side, name in all_files() - before if name.startswith("clips/")}
    assert made <= named, made - named
    assert clip.video.name in files_under(media_storage / "public")


def test_a_render_staff_queue_as_one_finds_no_outputs_stays_announced(media_storage, monkeypatch):
    clip = make_clip(status=Clip.Status.PROCESSING)  # no outputs to make again yet
    clip.queue_rendering()
    first_finds_none = tasks.log.info

    def staff_queue_again_then(*args):
        # Staff ask again just as the first render finds nothing to do.
        Clip.objects.get(pk=clip.pk).queue_rendering()
        monkeypatch.setattr(tasks.log, "info", first_finds_none)
        first_finds_none(*args)

    monkeypatch.setattr(tasks.log, "info", staff_queue_again_then)
    tasks.render_clip.call(clip.pk)
    # The second one is still to run: the review screen keeps saying so.
    assert Clip.objects.get(pk=clip.pk).rendering_queued


def test_a_failed_render_is_shown_to_staff_who_can_make_the_outputs_again(
    media_storage, short_clip_file, admin_client
):
    clip = make_clip(status=Clip.Status.REVIEW, video=short_clip_file)
    original = _stored(media_storage, clip.original.name)
    good = original.read_bytes()
    original.write_bytes(b"not a video any more")  # damaged in storage
    old_video = clip.video.name
    clip.queue_rendering()
    with pytest.raises(processing.media.MediaError) as failed:
        tasks.render_clip.call(clip.pk)

    clip.refresh_from_db()
    assert not clip.rendering_queued  # no longer announced as being made
    assert clip.status == Clip.Status.REVIEW and clip.video.name == old_video  # outputs kept
    assert clip.render_failure == processing.media_error_message(failed.value)
    page = admin_client.get(f"/admin/gallery/clip/{clip.pk}/change/").content.decode()
    assert "data-render-failure" in page and escape(clip.render_failure) in page

    original.write_bytes(good)
    clip.queue_rendering()
    tasks.render_clip.call(clip.pk)
    clip.refresh_from_db()
    assert clip.video.name != old_video and not clip.rendering_queued
    assert clip.render_failure == ""
    page = admin_client.get(f"/admin/gallery/clip/{clip.pk}/change/").content.decode()
    assert "data-render-failure" not in page
