"""Making a clip's outputs (first processing, or a render staff asked for) when things go
wrong under it: the storage failing partway, the worker killed."""

import os
import signal
import subprocess
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils import timezone
from django.utils.html import escape

from gallery import processing, tasks
from gallery.models import Clip
from gallery.synth import synthesize
from tests.factories import (
    emailed_by_a_german_owner,
    files_under,
    make_clip,
    manage,
    said_in,
    wait_for,
    worker_env,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def short_video(tmp_path_factory):
    return synthesize(
        tmp_path_factory.mktemp("renders") / "short.mp4", seconds=2, width=320, height=180
    )


def clip_files(media_storage, clip):
    """Every file under the clip's folder, in both storages."""
    return {
        f"{side}/{name}"
        for side in ("private", "public")
        for name in files_under(media_storage / side / "clips" / str(clip.pk))
    }


@pytest.fixture
def storage_full_after(monkeypatch):
    """The disk fills up once `n` more outputs are stored (every later save fails)."""

    def fill_after(n):
        real_save = FileSystemStorage._save
        left = [n]

        def save(self, name, content):
            if name.startswith("clips/") and left[0] <= 0:
                raise OSError(28, "No space left on device")
            left[0] -= 1
            return real_save(self, name, content)

        monkeypatch.setattr(FileSystemStorage, "_save", save)

    return fill_after


def test_a_render_the_storage_fails_partway_leaves_only_the_outputs_in_use(
    media_storage, short_video, storage_full_after, admin_client
):
    clip = make_clip(status=Clip.Status.PUBLISHED, video=short_video)
    before = clip_files(media_storage, clip)
    in_use = clip.media_names
    assert before and in_use
    clip.queue_rendering()
    storage_full_after(3)  # the poster and two thumbnails, then the disk is full
    with pytest.raises(OSError):
        tasks.render_clip.call(clip.pk)

    clip.refresh_from_db()
    assert clip_files(media_storage, clip) == before  # nothing of the failed attempt
    assert clip.media_names == in_use and not clip.rendering_queued
    for name in in_use:  # the outputs in use are all there still
        assert (media_storage / "private" / name).exists()
        assert (media_storage / "public" / name).exists()
    # Staff are told, as before.
    assert "No space left on device" in clip.render_failure
    page = admin_client.get(f"/admin/gallery/clip/{clip.pk}/change/").content.decode()
    assert "data-render-failure" in page


def test_a_first_processing_the_storage_fails_partway_stores_nothing(
    media_storage, short_video, storage_full_after
):
    clip = make_clip(status=Clip.Status.PROCESSING, video=short_video)
    before = clip_files(media_storage, clip)  # (another test's clip may have had this pk)
    storage_full_after(2)
    with pytest.raises(OSError):
        processing.process(Clip.objects.get(pk=clip.pk))
    clip.refresh_from_db()
    # Still processing: the watchdog tries again later (and fails it after the last attempt).
    assert clip.status == Clip.Status.PROCESSING and not clip.video
    assert clip_files(media_storage, clip) == before


def stored_original(media_storage, clip):
    return media_storage / "private" / clip.original.name


@pytest.mark.django_db(transaction=True)
def test_a_render_whose_worker_is_killed_is_made_by_the_next_watchdog_pass(
    media_storage, short_video
):
    clip = make_clip(status=Clip.Status.REVIEW, video=short_video)
    old_video = clip.video.name
    # The original, as the storage serves it, stalls the worker once it has taken the render
    # up (a pipe nobody writes to): it is killed there, mid-render, as by the OOM killer.
    original = stored_original(media_storage, clip)
    good = original.read_bytes()
    original.unlink()
    os.mkfifo(original)
    clip.queue_rendering()  # queued at once: this test commits
    env = worker_env(media_storage)
    worker = manage(
        "db_worker", "--no-startup-delay", "--no-reload", env=env, start_new_session=True
    )
    try:
        claimed = lambda: Clip.objects.get(pk=clip.pk).render_claimed_at is not None  # noqa: E731
        assert wait_for(claimed, 120), "the worker never took the render up"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    original.unlink()
    original.write_bytes(good)
    clip.refresh_from_db()
    assert clip.rendering_queued and clip.video.name == old_video  # announced, never made

    # A pass soon after leaves it alone (a render may take long); an hour later it does not.
    assert "renders requeued []" in watchdog(env)
    Clip.objects.filter(pk=clip.pk).update(
        render_claimed_at=timezone.now() - timedelta(seconds=settings.RENDER_STALE_SECONDS + 1)
    )
    assert f"renders requeued [{clip.pk}]" in watchdog(env)
    assert "renders requeued []" in watchdog(env)  # once

    restarted = manage("db_worker", "--batch", "--no-startup-delay", "--no-reload", env=env)
    assert restarted.wait(timeout=180) == 0
    clip.refresh_from_db()
    assert not clip.rendering_queued and clip.video.name != old_video
    assert clip.render_claimed_at is None and clip.render_failure == ""


def watchdog(env):
    run = manage("watchdog", "--once", env=env, stdout=subprocess.PIPE, text=True)
    out, _ = run.communicate(timeout=60)
    return out


def test_a_render_that_keeps_killing_its_worker_is_given_up_and_staff_told(settings, admin_client):
    clip = make_clip(status=Clip.Status.REVIEW)
    clip.queue_rendering()
    long_ago = timezone.now() - timedelta(seconds=settings.RENDER_STALE_SECONDS + 1)
    for attempt in range(settings.PROCESSING_MAX_ATTEMPTS):
        Clip.objects.get(pk=clip.pk).claim_render()  # a worker takes it up, and is killed
        Clip.objects.filter(pk=clip.pk).update(render_claimed_at=long_ago)
        result = tasks.requeue_stale_renders()
        if attempt < settings.PROCESSING_MAX_ATTEMPTS - 1:
            assert result == {"requeued": [clip.pk], "failed": []}
    assert result == {"requeued": [], "failed": [clip.pk]}
    clip.refresh_from_db()
    assert not clip.rendering_queued and clip.render_claimed_at is None
    page = admin_client.get(
        f"/admin/gallery/clip/{clip.pk}/change/", headers={"Accept-Language": "en"}
    ).content.decode()
    assert "data-render-failure" in page and "stopped 3 times" in page


def later():
    """A watchdog pass's time, once a render queued now is overdue."""
    return timezone.now() + timedelta(seconds=settings.RENDER_STALE_SECONDS + 1)


def render_tasks(clip):
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path=tasks.render_clip.module_path,
        args_kwargs__args__0=clip.pk,
    )


@pytest.mark.django_db(transaction=True)
def test_a_render_whose_task_was_lost_is_made_by_the_next_watchdog_pass(media_storage, short_video):
    clip = make_clip(status=Clip.Status.REVIEW, video=short_video)
    old_video = clip.video.name
    clip.queue_rendering()  # queued at once: this test commits
    assert render_tasks(clip).count() == 1
    render_tasks(clip).delete()  # the task row is lost before any worker takes it up
    clip.refresh_from_db()
    assert clip.rendering_queued and clip.render_claimed_at is None

    # A pass soon after leaves it alone (it may be waiting its turn); an hour later it does not.
    env = worker_env(media_storage)
    assert "renders requeued []" in watchdog(env)
    assert tasks.requeue_stale_renders(now=later()) == {"requeued": [clip.pk], "failed": []}
    assert "renders requeued []" in watchdog(env)  # once
    assert render_tasks(clip).count() == 1

    worker = manage("db_worker", "--batch", "--no-startup-delay", "--no-reload", env=env)
    assert worker.wait(timeout=180) == 0
    clip.refresh_from_db()
    assert not clip.rendering_queued and clip.video.name != old_video
    assert clip.render_claimed_at is None and clip.render_attempts == 0
    assert clip.render_failure == ""


def test_a_render_waiting_its_turn_in_a_busy_queue_is_not_queued_twice(settings):
    clip = make_clip(status=Clip.Status.REVIEW)
    clip.queue_rendering()
    almost = timezone.now() + timedelta(seconds=settings.RENDER_STALE_SECONDS - 60)
    assert tasks.requeue_stale_renders(now=almost) == {"requeued": [], "failed": []}
    assert Clip.objects.get(pk=clip.pk).renders_queued == clip.renders_queued
    # Taken up by a worker just before the pass: its claim is what the watchdog watches now.
    Clip.objects.get(pk=clip.pk).claim_render()
    Clip.objects.filter(pk=clip.pk).update(render_claimed_at=almost)
    assert tasks.requeue_stale_renders(now=later()) == {"requeued": [], "failed": []}


def test_a_render_whose_task_keeps_being_lost_is_given_up_and_staff_told(settings, admin_client):
    clip = make_clip(status=Clip.Status.REVIEW)
    clip.queue_rendering()  # this test never commits: the task is never queued, as if lost
    for attempt in range(settings.PROCESSING_MAX_ATTEMPTS):
        result = tasks.requeue_stale_renders(now=later())
        if attempt < settings.PROCESSING_MAX_ATTEMPTS - 1:
            assert result == {"requeued": [clip.pk], "failed": []}
    assert result == {"requeued": [], "failed": [clip.pk]}
    clip.refresh_from_db()
    assert not clip.rendering_queued and clip.render_attempts == 0
    assert tasks.requeue_stale_renders(now=later()) == {"requeued": [], "failed": []}
    page = admin_client.get(
        f"/admin/gallery/clip/{clip.pk}/change/", headers={"Accept-Language": "en"}
    ).content.decode()
    assert "data-render-failure" in page
    assert "tried 3 times" in page and "no worker took it up" in page


def test_a_first_processing_whose_task_was_lost_is_queued_again_by_the_watchdog(settings):
    from django_tasks_db.models import DBTaskResult

    # Sent: it waits for processing from now, but this test never commits, so its task is
    # never queued, as if lost.
    clip = make_clip(status=Clip.Status.PROCESSING)
    stale = timedelta(seconds=settings.PROCESSING_STALE_SECONDS)
    soon = timezone.now() + stale - timedelta(seconds=60)
    assert tasks.requeue_stale(now=soon) == {"requeued": [], "failed": []}
    assert tasks.requeue_stale(now=timezone.now() + stale + timedelta(seconds=1)) == {
        "requeued": [clip.pk],
        "failed": [],
    }
    queued = DBTaskResult.objects.filter(task_path=tasks.process_clip.module_path)
    assert [task.args_kwargs["args"] for task in queued] == [[clip.pk]]


def test_a_failure_is_told_in_the_readers_language_not_the_workers(
    media_storage, admin_client, client
):
    from django.utils import translation

    clip = emailed_by_a_german_owner("broken.mp4", "Kaputt")
    with translation.override("it"):  # the worker's language: read by nobody
        processing.process(clip)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.FAILED

    said = "This file is not a video we can read."
    owner_page = client.get(clip.submission.get_status_url(language="de")).content.decode()
    assert said_in("de", said) in owner_page
    for language in ("en", "nl"):
        staff_page = admin_client.get(
            f"/admin/gallery/clip/{clip.pk}/change/", headers={"Accept-Language": language}
        ).content.decode()
        assert escape(said_in(language, said)) in staff_page, language
        assert escape(said_in("it", said)) not in staff_page


def test_cameras_left_out_are_told_to_staff_in_their_language_not_the_workers(
    tmp_path, media_storage, admin_client
):
    from django.core.files.base import ContentFile
    from django.utils import translation

    from infra.storage import private_storage
    from submissions.models import ClipDraft, Submission
    from tests.factories import dashcam_event

    start = "2026-06-01_10-42-12"
    files = dashcam_event(tmp_path / "event", ("front", "back"), seconds=1)
    files[f"{start}-back.mp4"] = b"\x00" * 3000  # damaged after it arrived
    angles = tuple(
        (camera, (private_storage().save(name, ContentFile(files[name])),))
        for camera, name in (("front", f"{start}-front.mp4"), ("back", f"{start}-back.mp4"))
    )
    submission = Submission.objects.create_with_clips(
        email="owner@example.org",
        language="de",
        source=Submission.Source.WEB,
        clips=[ClipDraft(original=angles[0][1][0], title="Event", angles=angles)],
    )
    clip = submission.clips.get()
    with translation.override("it"):  # the worker's language: read by nobody
        processing.process(clip)
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW and clip.left_out == [["back", "not_video"]]
    for language in ("en", "nl"):
        page = admin_client.get(
            f"/admin/gallery/clip/{clip.pk}/change/", headers={"Accept-Language": language}
        ).content.decode()
        said = said_in(
            language,
            "The “%(camera)s” camera was left out: its file is damaged or cannot be read. The "
            "clip is made of the other cameras.",
            camera=said_in(language, "Rear"),
        )
        assert escape(said) in page, language


def overdue():
    """A watchdog pass's time, once a processing queued now is overdue."""
    return timezone.now() + timedelta(seconds=settings.PROCESSING_STALE_SECONDS + 1)


def processing_tasks(clip, **filters):
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path=tasks.process_clip.module_path, args_kwargs__args__0=clip.pk, **filters
    )


@pytest.mark.django_db(transaction=True)
def test_a_processing_whose_task_keeps_being_lost_is_given_up_and_the_owner_told(
    media_storage, client, admin_client
):
    clip = emailed_by_a_german_owner("sent.mp4", "Verloren")  # queued at once: this test commits
    assert processing_tasks(clip).count() == 1
    env = worker_env(media_storage)
    assert "requeued [], failed []" in watchdog(env)  # soon after: it may be waiting its turn

    for attempt in range(settings.PROCESSING_MAX_ATTEMPTS):
        processing_tasks(clip).delete()  # the task row is lost before any worker takes it up
        result = tasks.requeue_stale(now=overdue())
        if attempt < settings.PROCESSING_MAX_ATTEMPTS - 1:
            assert result == {"requeued": [clip.pk], "failed": []}
            assert processing_tasks(clip).count() == 1
    assert result == {"requeued": [], "failed": [clip.pk]}
    assert tasks.requeue_stale(now=overdue()) == {"requeued": [], "failed": []}
    assert not processing_tasks(clip).exists()
    worker = manage("db_worker", "--batch", "--no-startup-delay", "--no-reload", env=env)
    assert worker.wait(timeout=180) == 0
    clip.refresh_from_db()
    assert clip.status == Clip.Status.FAILED and not clip.video

    said = (
        "Processing was tried %(attempts)s times without finishing (the last time, no worker "
        "took it up: its task was lost)."
    )
    owner_page = client.get(clip.submission.get_status_url(language="de")).content.decode()
    assert escape(said_in("de", said, attempts=3)) in owner_page
    staff_page = admin_client.get(
        f"/admin/gallery/clip/{clip.pk}/change/", headers={"Accept-Language": "en"}
    ).content.decode()
    assert "tried 3 times" in staff_page and "no worker took it up" in staff_page


@pytest.mark.django_db(transaction=True)
def test_a_processing_waiting_its_turn_in_a_busy_queue_is_not_queued_twice(
    media_storage, short_video
):
    clip = make_clip(status=Clip.Status.PROCESSING, video=short_video)
    clip.queue_processing()  # queued at once: this test commits
    assert processing_tasks(clip).count() == 1
    # No worker took it up for longer than PROCESSING_STALE_SECONDS: the queue is busy, and
    # its task is still there, waiting its turn.
    long_ago = timezone.now() - timedelta(seconds=settings.PROCESSING_STALE_SECONDS + 1)
    Clip.objects.filter(pk=clip.pk).update(status_changed_at=long_ago)
    env = worker_env(media_storage)
    assert "requeued [], failed []" in watchdog(env)
    assert tasks.requeue_stale(now=overdue()) == {"requeued": [], "failed": []}
    assert processing_tasks(clip).count() == 1

    worker = manage("db_worker", "--batch", "--no-startup-delay", "--no-reload", env=env)
    assert worker.wait(timeout=180) == 0
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW and clip.processing_attempts == 1


def open_for_writing(fifo):
    """The write end of `fifo`, once a reader has it open; else None."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # no reader yet (ENXIO)
        return None
    os.set_blocking(fd, True)
    return fd


@pytest.mark.django_db(transaction=True)
def test_a_second_task_for_a_clip_being_processed_does_nothing(media_storage, short_video):
    clip = make_clip(status=Clip.Status.PROCESSING, video=short_video)
    before = clip_files(media_storage, clip)
    # The original, as the storage serves it, stalls the first worker once it has taken the
    # clip up (a pipe nobody writes to yet): it is still at it when the second task runs.
    original = stored_original(media_storage, clip)
    good = original.read_bytes()
    original.unlink()
    os.mkfifo(original)
    clip.queue_processing()  # queued at once: this test commits
    env = worker_env(media_storage)
    run = ("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    first = manage(*run, env=env, start_new_session=True)
    second = None
    try:
        taken = lambda: Clip.objects.get(pk=clip.pk).processing_attempts == 1  # noqa: E731
        assert wait_for(taken, 120), "the first worker never took the clip up"
        tasks.process_clip.enqueue(clip.pk)  # queued twice (a watchdog that thought it lost)
        second = manage(*run, env=env, start_new_session=True)
        assert second.wait(timeout=60) == 0, "the second task did not leave the clip alone"
        clip.refresh_from_db()
        assert clip.status == Clip.Status.PROCESSING and clip.processing_attempts == 1
        assert clip_files(media_storage, clip) == before  # nothing made by the second

        ends = []
        assert wait_for(lambda: ends.append(open_for_writing(original)) or ends[-1], 60)
        with os.fdopen(ends[-1], "wb") as pipe:  # the first worker reads the original at last
            pipe.write(good)
        assert first.wait(timeout=180) == 0
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW and clip.processing_attempts == 1
    assert processing_tasks(clip, status="SUCCESSFUL").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_lost_render_asked_to_detect_faces_and_plates_is_queued_again_detecting(
    media_storage, tmp_path
):
    from gallery import regions as region_sets
    from gallery import synth_bystanders as sb

    scene = sb.compose(seed=4, seconds=2.0, faces=1, plates=1, plate_widths=(150, 200))
    path = tmp_path / "street.mp4"
    sb.write(scene, path)
    clip = make_clip(status=Clip.Status.REVIEW, video=path)
    assert clip.regions["tracks"], "processing found nobody to blur"
    # As if the first detection had missed them all: staff ask for them to be found again.
    Clip.objects.filter(pk=clip.pk).update(
        regions=region_sets.empty(clip.regions["width"], clip.regions["height"])
    )
    Clip.objects.get(pk=clip.pk).queue_rendering(detect=True)  # queued at once: committed
    assert [t.args_kwargs["args"] for t in render_tasks(clip)] == [[clip.pk, True]]
    render_tasks(clip).delete()  # the task row is lost before any worker takes it up

    assert tasks.requeue_stale_renders(now=later()) == {"requeued": [clip.pk], "failed": []}
    assert [t.args_kwargs["args"] for t in render_tasks(clip)] == [[clip.pk, True]]
    worker = manage(
        "db_worker", "--batch", "--no-startup-delay", "--no-reload", env=worker_env(media_storage)
    )
    assert worker.wait(timeout=300) == 0
    clip.refresh_from_db()
    assert not clip.rendering_queued and clip.render_failure == ""
    assert clip.regions["tracks"], "the render queued again did not look for faces and plates"


def test_a_processing_whose_clip_went_to_another_worker_keeps_nothing(
    media_storage, short_video, monkeypatch
):
    clip = make_clip(status=Clip.Status.PROCESSING, video=short_video)
    before = clip_files(media_storage, clip)
    real = processing.blurring.render_outputs

    def taken_over_then(*args, **kwargs):
        # This worker was silent too long: the watchdog queued the clip again, and another
        # worker took it up.
        Clip.objects.filter(pk=clip.pk).update(processing_claimed_at=None)
        assert Clip.objects.get(pk=clip.pk).claim_processing()
        return real(*args, **kwargs)

    monkeypatch.setattr(processing.blurring, "render_outputs", taken_over_then)
    tasks.process_clip.call(clip.pk)  # ends quietly
    clip.refresh_from_db()
    assert clip.status == Clip.Status.PROCESSING and not clip.video  # the other one's to make
    assert clip_files(media_storage, clip) == before
