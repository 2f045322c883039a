"""The real task worker (django-tasks-db's db_worker) as separate processes."""

import os
import signal
import subprocess
import time

import pytest

from gallery.models import Clip
from tests.factories import make_clip, manage, wait_for, worker_env

pytestmark = pytest.mark.django_db(transaction=True)


def enqueue(clip):
    from gallery.tasks import process_clip

    process_clip.enqueue(clip.pk)


def test_worker_processes_a_queued_clip(media_storage, sample_video):
    clip = make_clip(status=Clip.Status.PROCESSING, video=sample_video)
    enqueue(clip)
    env = worker_env(media_storage)
    worker = manage("db_worker", "--batch", "--no-startup-delay", "--no-reload", env=env)
    assert worker.wait(timeout=120) == 0
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW
    assert (media_storage / "private" / clip.video.name).stat().st_size > 10_000


def test_worker_killed_mid_transcode_then_watchdog_and_restart_end_in_review(
    media_storage, tmp_path
):
    from gallery.synth import synthesize

    long_clip = synthesize(tmp_path / "long.mp4", seconds=20, width=1280, height=720, title="Long")
    clip = make_clip(status=Clip.Status.PROCESSING, video=long_clip)
    enqueue(clip)
    env = worker_env(media_storage, PROCESSING_STALE_SECONDS="2")

    worker = manage(
        "db_worker", "--no-startup-delay", "--no-reload", env=env, start_new_session=True
    )
    try:
        assert wait_for(lambda: Clip.objects.get(pk=clip.pk).processing_attempts == 1, 60)
        time.sleep(1.0)  # well into the transcode
        assert Clip.objects.get(pk=clip.pk).status == Clip.Status.PROCESSING
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.PROCESSING

    time.sleep(2.5)  # the clip is now stale
    watchdog = manage("watchdog", "--once", env=env, stdout=subprocess.PIPE, text=True)
    out, _ = watchdog.communicate(timeout=60)
    assert f"requeued [{clip.pk}]" in out

    restarted = manage("db_worker", "--batch", "--no-startup-delay", "--no-reload", env=env)
    assert restarted.wait(timeout=180) == 0
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW
    assert clip.processing_attempts == 2


def test_watchdog_gives_up_after_three_attempts(settings):
    from gallery.tasks import requeue_stale

    settings.PROCESSING_STALE_SECONDS = 0
    clip = make_clip(status=Clip.Status.PROCESSING)
    Clip.objects.filter(pk=clip.pk).update(processing_attempts=3)
    result = requeue_stale()
    clip.refresh_from_db()
    assert result["failed"] == [clip.pk]
    assert clip.status == Clip.Status.FAILED and "3 times" in clip.failure_reason


def test_a_long_transcode_keeps_telling_the_watchdog_it_is_alive(tmp_path, settings):
    from gallery import processing
    from gallery.synth import synthesize
    from gallery.tasks import requeue_stale

    clip = make_clip(
        status=Clip.Status.PROCESSING,
        video=synthesize(tmp_path / "c.mp4", seconds=8, width=320, height=180),
    )
    beats = []
    original = processing.Heartbeat.__call__

    def beat(self, seconds_done):
        beats.append(seconds_done)
        self.every = 0  # every report touches the row in this test
        original(self, seconds_done)
        # While the work lives, the watchdog leaves the clip alone even with a tiny threshold.
        settings.PROCESSING_STALE_SECONDS = 1
        assert requeue_stale() == {"requeued": [], "failed": []}

    processing.Heartbeat.__call__ = beat
    try:
        processing.process(clip)
    finally:
        processing.Heartbeat.__call__ = original
    assert len(beats) >= 3 and beats == sorted(beats)
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.REVIEW
