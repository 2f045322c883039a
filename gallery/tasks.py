import logging
from datetime import timedelta
from itertools import chain

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.dispatch import receiver
from django.tasks import TaskResultStatus, task
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

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
    except processing.TakenOver:
        log.info("clip %s went to another worker while this one processed it", clip_id)


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
    clip.claim_render()
    try:
        processing.render(clip, detect=detect)
    except Clip.DoesNotExist:
        log.info("clip %s was deleted while it was rendered", clip_id)
    except Exception as error:
        # Staff see why on the review screen and can make the outputs again; the task's
        # result keeps the traceback.
        clip.end_rendering(renders_queued=clip.renders_queued, **processing.render_failure(error))
        raise


@receiver(rendering_requested, dispatch_uid="tasks-rendering-requested")
def queue_rendering(sender, clip, detect=False, **kwargs):
    transaction.on_commit(lambda: render_clip.enqueue(clip.pk, detect), robust=True)


@task
def requeue_stale_clips():
    """Requeue clips whose processing or render stopped (worker killed); fail them (or tell
    staff the render failed) after the last attempt."""
    return requeue_stale() | {"renders": requeue_stale_renders()}


def requeue_stale(*, now=None):
    """Queue again the processing that stopped: taken up by a worker that died without
    ending it (claimed, no sign of life since), or queued and never taken up (its task was
    lost). A clip whose task is still in the queue, waiting its turn, is left alone. Each
    counts as an attempt; after the last the clip fails, and the owner and staff read why."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.PROCESSING_STALE_SECONDS)
    stale = Clip.objects.filter(status=Clip.Status.PROCESSING, status_changed_at__lt=cutoff)
    requeued, failed = [], []
    for clip in stale:
        if still_queued(process_clip, clip.pk):
            continue
        if clip.processing_claimed_at is None:  # lost: this queue is an attempt too
            attempts, code = clip.processing_attempts + 1, "lost"
            fields = {"processing_attempts": F("processing_attempts") + 1}
        else:  # stopped: counted when the worker took it up
            attempts, code = clip.processing_attempts, "stopped"
            fields = {"processing_claimed_at": None}
        # Touched first, so that a second watchdog pass does not queue it twice; and left
        # alone if a worker took it up (or gave a sign of life) meanwhile.
        if not Clip.objects.filter(
            pk=clip.pk,
            status=Clip.Status.PROCESSING,
            status_changed_at=clip.status_changed_at,
            processing_claimed_at=clip.processing_claimed_at,
        ).update(status_changed_at=timezone.now(), **fields):
            continue
        if attempts >= settings.PROCESSING_MAX_ATTEMPTS:
            try:
                clip.mark_failed(code=code, params={"attempts": attempts})
                failed.append(clip.pk)
            except IllegalTransition:
                pass
            continue
        process_clip.enqueue(clip.pk)
        requeued.append(clip.pk)
    return {"requeued": requeued, "failed": failed}


def still_queued(task, clip_id):
    """Whether a `task` for that clip waits in the queue, not yet taken up by a worker (the
    queue is busy): read from the task queue's own rows. Not lost, so not queued again."""
    if not isinstance(task.get_backend(), DatabaseBackend):
        return False  # a queue whose rows cannot be read here: the wait alone tells
    return DBTaskResult.objects.filter(
        task_path=task.module_path,
        status=TaskResultStatus.READY,
        args_kwargs__args__0=clip_id,
    ).exists()


def requeue_stale_renders(*, now=None):
    """Queue again the renders that stopped: claimed by a worker that died without ending
    them (killed, out of memory, its node lost), or queued and never taken up (the task
    was lost). After the last attempt staff are told instead (a render that kills its
    worker would otherwise do so forever)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.RENDER_STALE_SECONDS)
    requeued, failed = [], []
    # Lazily, one after the other: the stopped renders queued again here are young again
    # when the lost ones are looked for.
    for clip, attempts, code in chain(_stopped_renders(cutoff), _lost_renders(cutoff)):
        if attempts >= settings.PROCESSING_MAX_ATTEMPTS:
            clip.end_rendering(
                renders_queued=clip.renders_queued,
                failure_code=code,
                failure_params={"attempts": attempts},
            )
            failed.append(clip.pk)
        else:
            clip.queue_rendering(detect=clip.render_detect)  # as it was asked
            requeued.append(clip.pk)
    return {"requeued": requeued, "failed": failed}


def _stopped_renders(cutoff):
    """(clip, attempts, failure code) of each render claimed longer ago than cutoff, with no
    sign of life since."""
    for clip in Clip.objects.filter(rendering_queued=True, render_claimed_at__lt=cutoff):
        # Unclaimed first, so that a second watchdog pass does not queue it twice.
        if Clip.objects.filter(pk=clip.pk, render_claimed_at=clip.render_claimed_at).update(
            render_claimed_at=None
        ):
            yield clip, clip.render_attempts, "render_stopped"


def _lost_renders(cutoff):
    """(clip, attempts, failure code) of each render queued longer ago than cutoff and never
    taken up: its task was lost (one still in the queue's rows merely waits its turn in a
    busy queue). Each such queue counts as an attempt, so that a render whose task keeps
    being lost is given up."""
    lost = Clip.objects.filter(
        rendering_queued=True, render_claimed_at__isnull=True, render_queued_at__lt=cutoff
    )
    for clip in lost:
        if still_queued(render_clip, clip.pk):
            continue
        # Touched first, so that a second watchdog pass does not queue it twice; and left
        # alone if a worker took it up meanwhile.
        if Clip.objects.filter(
            pk=clip.pk, render_claimed_at__isnull=True, render_queued_at=clip.render_queued_at
        ).update(render_queued_at=timezone.now(), render_attempts=F("render_attempts") + 1):
            yield clip, clip.render_attempts + 1, "render_lost"  # this lost queue among them
