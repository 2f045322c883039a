import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.tasks import task
from django.utils import timezone

from gallery import processing
from gallery.models import Clip, IllegalTransition
from gallery.signals import processing_requested, rendering_requested

log = logging.getLogger(__name__)


@task
def process_clip(clip_id):
    clip = Clip.objects.filter(pk=clip_id, status=Clip.Status.PROCESSING).first()
    if clip is None:
        log.info("clip %s is no longer waiting for processing", clip_id)
        return
    try:
        processing.process(clip)
    except IllegalTransition as refused:
        log.info("clip %s changed while processing: %s", clip_id, refused)


@receiver(processing_requested, dispatch_uid="tasks-processing-requested")
def queue_processing(sender, clip, **kwargs):
    # Robust: the clip exists once this commits; the watchdog requeues a task that was lost.
    transaction.on_commit(lambda: process_clip.enqueue(clip.pk), robust=True)


@task
def render_clip(clip_id, detect=False):
    """Make a clip's outputs again from its original and stored regions (staff asked)."""
    clip = Clip.objects.filter(pk=clip_id).first()
    if clip is None:
        log.info("clip %s was deleted before its render", clip_id)
        return
    # The count of renders queued, read before anything else: a render staff queue from
    # here on is still announced when this one ends (Clip.end_rendering).
    if not clip.video or clip.status in (Clip.Status.PROCESSING, Clip.Status.WITHDRAWN):
        log.info("clip %s has no outputs to make again", clip_id)
        clip.end_rendering(renders_queued=clip.renders_queued)
        return
    try:
        processing.render(clip, detect=detect)
    except Clip.DoesNotExist:
        log.info("clip %s was deleted while it was rendered", clip_id)
    except Exception as error:
        # Staff see why on the review screen and can make the outputs again; the task's
        # result keeps the traceback.
        clip.end_rendering(
            renders_queued=clip.renders_queued, failure=processing.render_failure_message(error)
        )
        raise


@receiver(rendering_requested, dispatch_uid="tasks-rendering-requested")
def queue_rendering(sender, clip, detect=False, **kwargs):
    transaction.on_commit(lambda: render_clip.enqueue(clip.pk, detect), robust=True)


@task
def requeue_stale_clips():
    """Requeue clips whose processing stopped (worker killed); fail them after the last attempt."""
    return requeue_stale()


def requeue_stale(*, now=None):
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.PROCESSING_STALE_SECONDS)
    stale = Clip.objects.filter(status=Clip.Status.PROCESSING, status_changed_at__lt=cutoff)
    requeued, failed = [], []
    for clip in stale:
        if clip.processing_attempts >= settings.PROCESSING_MAX_ATTEMPTS:
            try:
                clip.mark_failed(
                    f"Processing stopped {clip.processing_attempts} times without finishing."
                )
                failed.append(clip.pk)
            except IllegalTransition:
                pass
            continue
        # Touch it first so that a second watchdog pass does not queue it twice.
        if Clip.objects.filter(pk=clip.pk, status_changed_at=clip.status_changed_at).update(
            status_changed_at=timezone.now()
        ):
            process_clip.enqueue(clip.pk)
            requeued.append(clip.pk)
    return {"requeued": requeued, "failed": failed}
