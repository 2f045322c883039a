"""The real task worker (django-tasks-db's db_worker) as separate processes."""

import os
import signal
import subprocess
import time
from datetime import timedelta

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
    from django.utils import timezone

    from gallery.synth import synthesize

    long_clip = synthesize(tmp_path / "long.mp4", seconds=20, width=640, height=360, title="Long")
    clip = make_clip(status=Clip.Status.PROCESSING, video=long_clip)
    enqueue(clip)
    scratch = tmp_path / "scratch"  # the worker's temporary folder, watched below
    scratch.mkdir()
    env = worker_env(media_storage, PROCESSING_STALE_SECONDS="300", TMPDIR=str(scratch))

    def transcoding():
        outputs = [p for p in scratch.glob("clip-*/*.mp4") if p.name != "original.mp4"]
        return any(p.stat().st_size > 0 for p in outputs if p.exists())

    worker = manage(
        "db_worker", "--no-startup-delay", "--no-reload", env=env, start_new_session=True
    )
    try:
        # Probe and face/plate detection come first: on a busy machine, minutes.
        assert wait_for(transcoding, 240), "the transcode never started"
        assert Clip.objects.get(pk=clip.pk).status == Clip.Status.PROCESSING
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.PROCESSING

    # Ten minutes pass without a heartbeat: the clip is stale.
    Clip.objects.filter(pk=clip.pk).update(status_changed_at=timezone.now() - timedelta(minutes=10))
    watchdog = manage("watchdog", "--once", env=env, stdout=subprocess.PIPE, text=True)
    out, _ = watchdog.communicate(timeout=60)
    assert f"requeued [{clip.pk}]" in out

    restarted = manage("db_worker", "--batch", "--no-startup-delay", "--no-reload", env=env)
    assert restarted.wait(timeout=180) == 0
    clip.refresh_from_db()
    assert clip.status == Clip.Status.REVIEW
    assert clip.processing_attempts == 2


def test_watchdog_gives_up_after_three_attempts(settings):
    from django.utils import timezone

    from gallery.tasks import requeue_stale

    settings.PROCESSING_STALE_SECONDS = 0
    clip = make_clip(status=Clip.Status.PROCESSING)
    # Taken up a third time by a worker that was killed, as the two before.
    Clip.objects.filter(pk=clip.pk).update(
        processing_attempts=3, processing_claimed_at=timezone.now()
    )
    result = requeue_stale()
    clip.refresh_from_db()
    assert result["failed"] == [clip.pk]
    assert clip.status == Clip.Status.FAILED and "3 times" in clip.failure_text


def test_a_long_transcode_tells_the_watchdog_it_is_alive_once_a_minute(
    tmp_path, settings, monkeypatch
):
    from types import SimpleNamespace

    from django.utils import timezone

    from gallery import processing
    from gallery.synth import synthesize
    from gallery.tasks import requeue_stale

    clip = make_clip(
        status=Clip.Status.PROCESSING,
        video=synthesize(tmp_path / "c.mp4", seconds=8, width=320, height=180),
    )
    # The transcode's clock runs 31 s per progress report (one per 2 s of video), so the real
    # once-a-minute heartbeat beats at every second report.
    clock = SimpleNamespace(now=time.monotonic())
    monkeypatch.setattr(processing, "time", SimpleNamespace(monotonic=lambda: clock.now))
    settings.PROCESSING_STALE_SECONDS = 300
    long_ago = timezone.now() - timedelta(minutes=10)
    touched = []
    original = processing.Heartbeat.__call__

    def report(self, seconds_done):
        clock.now += 31
        Clip.objects.filter(pk=clip.pk).update(status_changed_at=long_ago)
        original(self, seconds_done)
        touched.append(Clip.objects.get(pk=clip.pk).status_changed_at > long_ago)
        if touched[-1]:  # a clip whose heart beats is left alone by the watchdog
            assert requeue_stale() == {"requeued": [], "failed": []}

    monkeypatch.setattr(processing.Heartbeat, "__call__", report)
    processing.process(clip)
    assert len(touched) >= 3
    assert touched == [n % 2 == 1 for n in range(len(touched))], touched
    assert Clip.objects.get(pk=clip.pk).status == Clip.Status.REVIEW
