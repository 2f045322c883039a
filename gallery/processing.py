"""Turn a clip's private original into its public renditions, poster and thumbnails."""

import logging
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gallery import blurring, fingerprint, media
from gallery import regions as region_sets
from gallery.models import Clip, IllegalTransition
from infra.storage import private_storage

log = logging.getLogger(__name__)

MEDIA_ERROR_MESSAGES = {
    "empty": _("The file is empty."),
    "not_video": _("This file is not a video we can read."),
    "audio_only": _("This file holds sound only, without any picture."),
    "still_image": _("This is a single picture, not a video."),
    "animated_image": _("This is an animated image (such as a GIF), not a video."),
    "corrupt": _("This video is damaged or incomplete (was the upload cut short?)."),
    "cut_off": _(
        "The recording was cut off before the camera finished writing it. Send it again "
        "together with another clip from the same camera, and we will save what we can."
    ),
    "too_long": _("This clip is too long: %(max)s minutes at most."),
    "too_large": _("This video is too large: at most %(max)s pixels on a side."),
}


def media_error_message(error):
    """A translated sentence for a MediaError, fit for the owner and for staff."""
    message = MEDIA_ERROR_MESSAGES.get(error.code, MEDIA_ERROR_MESSAGES["not_video"])
    limits = {"too_long": settings.MAX_CLIP_SECONDS // 60, "too_large": settings.MAX_VIDEO_SIDE}
    return str(message) % {"max": limits.get(error.code, "")}


def recovery_message(recovery):
    """A translated sentence saying how much of a cut-off recording was saved."""
    return _("%(seconds)s seconds of the cut-off recording were saved.") % {
        "seconds": f"{recovery.seconds:.1f}"
    }


def probe_limits():
    return {"max_seconds": settings.MAX_CLIP_SECONDS, "max_side": settings.MAX_VIDEO_SIDE}


def process(clip):
    """Probe, poster, thumbnails and transcode; then to review, or failed with a reason."""
    Clip.objects.filter(pk=clip.pk).update(
        processing_attempts=F("processing_attempts") + 1, status_changed_at=timezone.now()
    )
    with tempfile.TemporaryDirectory(prefix="clip-") as tmp:
        work = Path(tmp)
        source = work / ("original" + Path(clip.original.name).suffix.lower()[:8])
        with clip.original.open("rb") as src, source.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        # An exact copy of an earlier original is linked before any decoding.
        clip.original_sha256 = fingerprint.sha256_of(source)
        Clip.objects.filter(pk=clip.pk).update(original_sha256=clip.original_sha256)
        fingerprint.find_duplicate(clip)
        try:
            info = media.probe(source, **probe_limits())
            heartbeat = Heartbeat(clip)
            # Faces and plates are tracked on the source; every output has them blurred.
            region_set = find_regions(clip, source, info, heartbeat)
            poster, renditions = blurring.render_outputs(
                source,
                work,
                info=info,
                region_set=region_set if clip.blurring else None,
                on_progress=heartbeat,
            )
        except media.MediaError as error:
            log.info("clip %s refused: %s %s", clip.pk, error.code, error)
            clip.mark_failed(media_error_message(error))
            return
        stored = store_outputs(clip, poster, renditions)
        clip.fingerprint = fingerprint.frame_hashes(source)
        Clip.objects.filter(pk=clip.pk).update(fingerprint=clip.fingerprint)
        if clip.duplicate_of is None:
            fingerprint.find_duplicate(clip)
    by_label = {r.label: r for r in renditions}
    main = by_label["720p"]
    try:
        clip.mark_processed(
            video=stored[main.path.name],
            video_hd=stored[by_label["1080p"].path.name] if "1080p" in by_label else "",
            poster=stored[poster.poster.path.name],
            thumbnails=thumbnail_index(poster.thumbnails, stored),
            duration=round(info.duration, 2),
            width=main.width,
            height=main.height,
            size=main.size,
        )
    except IllegalTransition:
        # Withdrawn (or otherwise decided) while we worked: keep nothing.
        for name in stored.values():
            private_storage().delete(name)
        raise


def find_regions(clip, source, info, on_progress=None, *, detect=True):
    """Detect (or, with detect=False, reuse) the clip's regions, carry staff boxes along the
    clip, and store them on the clip; returns the region set."""
    stored = clip.regions if clip.regions.get("tracks") is not None else None
    if detect or stored is None:
        found = blurring.detect(source, rotation=info.rotation, on_progress=on_progress)
        region_set = region_sets.with_detected(stored, found) if stored else found
    else:
        region_set = stored
    region_set = blurring.carry_staff_boxes(region_set, source, rotation=info.rotation)
    clip.regions = region_set
    Clip.objects.filter(pk=clip.pk).update(regions=region_set)
    return region_set


def render(clip, *, detect=False):
    """Make a processed clip's outputs again from its original and its stored regions (after
    staff edited them or turned blurring off or on), and swap them in."""
    with tempfile.TemporaryDirectory(prefix="clip-") as tmp:
        work = Path(tmp)
        source = work / ("original" + Path(clip.original.name).suffix.lower()[:8])
        with clip.original.open("rb") as src, source.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        info = media.probe(source, **probe_limits())
        region_set = find_regions(clip, source, info, detect=detect)
        poster, renditions = blurring.render_outputs(
            source, work, info=info, region_set=region_set if clip.blurring else None
        )
        stored = store_outputs(clip, poster, renditions)
    by_label = {r.label: r for r in renditions}
    replaced = clip.replace_outputs(
        video=stored[by_label["720p"].path.name],
        video_hd=stored[by_label["1080p"].path.name] if "1080p" in by_label else "",
        poster=stored[poster.poster.path.name],
        thumbnails=thumbnail_index(poster.thumbnails, stored),
    )
    for name in replaced:
        private_storage().delete(name)


class Heartbeat:
    """Tells the watchdog a long transcode is still alive (at most once a minute)."""

    def __init__(self, clip, every=60):
        self.clip, self.every, self.last = clip, every, time.monotonic()

    def __call__(self, seconds_done):
        if time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            Clip.objects.filter(pk=self.clip.pk, status=Clip.Status.PROCESSING).update(
                status_changed_at=timezone.now()
            )


def store_outputs(clip, poster, renditions):
    """Save the outputs privately under a fresh folder; returns {file name: stored name}.

    They become public only when the clip is approved.
    """
    hidden = private_storage()
    folder = f"clips/{clip.pk}/{secrets.token_urlsafe(9)}"
    stored = {}
    for path in [
        poster.poster.path,
        *(t.path for t in poster.thumbnails),
        *(r.path for r in renditions),
    ]:
        with path.open("rb") as fh:
            stored[path.name] = hidden.save(f"{folder}/{path.name}", File(fh))
    return stored


def thumbnail_index(thumbnails, stored):
    by_width = {}
    for thumb in thumbnails:
        entry = by_width.setdefault(thumb.width, {"width": thumb.width, "height": thumb.height})
        entry[thumb.format] = stored[thumb.path.name]
    return [by_width[w] for w in sorted(by_width)]
