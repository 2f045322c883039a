"""Turn a clip's private original into its public renditions, poster and thumbnails."""

import logging
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import av
from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gallery import blurring, failures, fingerprint, geotags, media, mosaic, telemetry
from gallery import regions as region_sets
from gallery.deletion import delete_unused, prune_clip_folders
from gallery.models import LEFT_OUT, Clip, ClipAngle, OutputsNewer, Theme
from infra.storage import private_storage

log = logging.getLogger(__name__)

# Kept under this name for the forms and the probe that show them at once.
MEDIA_ERROR_MESSAGES = failures.MESSAGES


def media_error_params(code):
    """The limits a refusal names, as they were when it was made."""
    limits = {"too_long": settings.MAX_CLIP_SECONDS // 60, "too_large": settings.MAX_VIDEO_SIDE}
    return {"max": limits[code]} if code in limits else {}


def media_error_message(error):
    """A translated sentence for a MediaError, fit for the owner and for staff."""
    code = error.code if error.code in failures.MESSAGES else "not_video"
    return failures.describe(code, media_error_params(code))


def recovery_message(recovery):
    """A translated sentence saying how much of a cut-off recording was saved."""
    return _("%(seconds)s seconds of the cut-off recording were saved.") % {
        "seconds": f"{recovery.seconds:.1f}"
    }


def refuse(clip, error):
    """Mark the clip failed with the reason's code: put in words when shown, in the owner's
    language on their status page and in the admin's for staff."""
    code = error.code if error.code in failures.MESSAGES else "not_video"
    clip.mark_failed(code=code, params=media_error_params(code))


def render_failure(error):
    """Why a render failed, for staff (Clip.end_rendering's keywords): a media error's code,
    else the error itself (technical, as the worker's log has it)."""
    if isinstance(error, media.MediaError):
        code = error.code if error.code in failures.MESSAGES else "not_video"
        return {"failure_code": code, "failure_params": media_error_params(code)}
    return {"failure": f"{type(error).__name__}: {error}"}


class TakenOver(Exception):
    """The clip went to another worker while this one processed it: this one stops, and
    keeps nothing of its work."""


def probe_limits():
    return {"max_seconds": settings.MAX_CLIP_SECONDS, "max_side": settings.MAX_VIDEO_SIDE}


def process(clip):
    """Probe, poster, thumbnails and transcode; then to review, or failed with a reason.
    Nothing is done when another worker has the clip already (a second task for it)."""
    if not clip.claim_processing():
        log.info("clip %s is taken up already, or no longer waiting for processing", clip.pk)
        return
    angles = list(clip.angles.all())
    with tempfile.TemporaryDirectory(prefix="clip-") as tmp:
        work = Path(tmp)
        source = work / ("original" + Path(clip.original.name).suffix.lower()[:8])
        joined = {}  # camera -> its minutes joined (a dashcam event)
        try:
            # Geotags go first, before anything that may refuse the clip (whose original is
            # kept for a retry).
            if angles:  # a dashcam event: the leading readable camera's minutes, joined
                rewrite_angles(
                    angles, work, lambda name, local, _out: keep_geotag_free(name, local)
                )
                clip.refresh_from_db(fields=["original"])
                angles, joined = readable_angles(clip, angles, work)
                joined.pop(angles[0].camera).replace(source)
            else:
                fetch(clip.original.name, source)
                new = keep_geotag_free(clip.original.name, source)
                if new is not None:
                    move_original(clip.original.name, new)
                    clip.original.name = new
        except media.MediaError as error:
            refuse(clip, error)
            return
        # An exact copy of an earlier original is linked before any decoding.
        clip.original_sha256 = fingerprint.sha256_of(source)
        Clip.objects.filter(pk=clip.pk).update(original_sha256=clip.original_sha256)
        fingerprint.find_duplicate(clip)
        try:
            source = keep_drive_without_location(clip, source, work, angles)
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
            main = renditions[0]  # 720p, or the source's own size when it is smaller
            event = (
                make_event(clip, angles, main.path, work, joined=joined, leave_out_broken=True)
                if len(angles) > 1
                else None
            )
        except media.MediaError as error:
            log.info("clip %s refused: %s %s", clip.pk, error.code, error)
            refuse(clip, error)
            return
        if event:  # the card's pictures are the mosaic's: the lead's own are not kept
            poster = replace(poster, thumbnails=())
        stored = store_outputs(clip, poster, renditions, event.files if event else ())
        try:
            clip.fingerprint = fingerprint.frame_hashes(source)
            Clip.objects.filter(pk=clip.pk).update(fingerprint=clip.fingerprint)
            if clip.duplicate_of is None:
                fingerprint.find_duplicate(clip)
        except BaseException:
            discard(clip, stored)
            raise
    by_label = {r.label: r for r in renditions}
    try:
        # The angles' videos and the clip's change together, or not at all.
        with transaction.atomic():
            if clip.processing_taken_over():
                raise TakenOver(f"clip {clip.pk} went to another worker")
            for angle in angles:  # an angle left out on the way has no row any more
                path = event.videos.get(angle.camera, main.path) if event else main.path
                ClipAngle.objects.filter(pk=angle.pk).update(video=stored[path.name])
            clip.mark_processed(
                video=stored[main.path.name],
                video_hd=stored[by_label["1080p"].path.name] if "1080p" in by_label else "",
                poster=stored[poster.poster.path.name],
                # The gallery card shows every angle: its pictures are the mosaic's.
                thumbnails=thumbnail_index(
                    event.thumbnails if event else poster.thumbnails, stored
                ),
                duration=round(info.duration, 2),
                width=main.width,
                height=main.height,
                size=main.size,
                mosaic=stored[event.mosaic.name] if event else "",
                # For staff on the review screen: the cameras left out of the event, if any
                # (put in words in their language when shown).
                reason_code=LEFT_OUT if clip.left_out else "",
                reason_params={"left_out": clip.left_out} if clip.left_out else None,
            )
    except BaseException:
        # Withdrawn, deleted (or otherwise decided) while we worked, or the database failed:
        # nothing names the outputs, keep none of them.
        discard(clip, stored)
        raise


def readable_angles(clip, angles, work):
    """The event's angles whose minutes can be read and joined, and {camera: joined file}.

    The others are left out (leave_out), so that one broken camera does not cost the
    whole event; the first readable camera in the cars' order leads (the front, else the
    back, then the repeaters). Raises the first camera's MediaError when none is readable.
    """
    readable, joined, broken, first_error = [], {}, [], None
    for angle in angles:
        path = work / f"joined-{angle.camera}.mp4"
        try:
            fetch_joined(angle.originals, path, work)
            media.probe(path, **probe_limits())
        except (media.MediaError, OSError) as error:
            if not isinstance(error, media.MediaError):
                error = media.MediaError("corrupt", str(error))
            log.info("clip %s: %s camera unreadable: %s", clip.pk, angle.camera, error)
            first_error = first_error or error
            broken.append((angle, error.code))
            path.unlink(missing_ok=True)
            continue
        readable.append(angle)
        joined[angle.camera] = path
    if not readable:
        raise first_error
    if broken:
        lead = readable[0].originals[0]
        if clip.original.name != lead:
            Clip.objects.filter(pk=clip.pk).update(original=lead)
            clip.original.name = lead
        leave_out(clip, broken)
        for order, angle in enumerate(readable):
            if angle.order != order:
                ClipAngle.objects.filter(pk=angle.pk).update(order=order)
                angle.order = order
    return readable, joined


def leave_out(clip, broken):
    """Leave cameras out of a dashcam event: `broken` is [(ClipAngle, MediaError code)].

    Their rows go, and their private minutes too (unreadable, they could not be rewritten
    without the car's location); Clip.left_out tells staff and the owner which and why.
    """
    for angle, _code in broken:
        ClipAngle.objects.filter(pk=angle.pk).delete()
        for name in angle.originals:
            if name != clip.original.name:
                private_storage().delete(name)
    clip.left_out = [*clip.left_out, *([angle.camera, code] for angle, code in broken)]
    Clip.objects.filter(pk=clip.pk).update(left_out=clip.left_out)


def keep_drive_without_location(clip, source, work, angles=()):
    """Read the car's telemetry into `Clip.telemetry`, then replace the private original by a
    copy whose SEI holds no latitude, longitude or heading (gallery/telemetry.py).

    `source` is the local copy of the original, or for a dashcam event (`angles`, ClipAngle
    rows) the leading camera's minutes joined; then every minute of every angle is rewritten.
    Returns the file to process from then on. A file without the car's SEI (a phone, an
    older car) is left as it is, with no series.
    """
    series = telemetry.read_series(source)
    Clip.objects.filter(pk=clip.pk).update(telemetry=series)
    clip.telemetry = series
    # Pre-ticked for staff, who see why on the review screen and can untick them.
    hinted = [hint.slug for hint in telemetry.theme_hints(series)]
    if hinted:
        clip.themes.add(*Theme.objects.filter(slug__in=hinted))
    if angles:
        rewrite_angles(angles, work, store_without_location)
        clip.refresh_from_db(fields=["original"])
        return source
    old = clip.original.name
    stripped = work / "without-location.mp4"
    try:
        new = store_without_location(old, source, stripped)
    except media.MediaError:
        if series is not None:
            raise  # the car's SEI is there but could not be rewritten: keep nothing public
        return source  # not a video we can read: the probe says why
    if new is None:
        return source
    move_original(old, new)
    clip.original.name = new
    return stripped


def move_original(old, new):
    """Point every clip made of the private file `old` (clips of one upload share it) at its
    rewritten copy `new`, then delete `old` (unless S3 rewrote it in place: same name)."""
    Clip.objects.filter(original=old).update(original=new)
    if new != old:
        private_storage().delete(old)


def rewrite_angles(angles, work, rewrite):
    """Every minute of every angle of a dashcam event rewritten by `rewrite(name, local copy,
    out)` (`store_without_location`, or `keep_geotag_free`), which returns the new stored name
    or None; the rows (ClipAngle.originals, Clip.original) pointed at the new files, the old
    ones deleted.

    Raises MediaError("corrupt") when a minute cannot be read or rewritten: the event is
    then refused whole rather than kept with a location.
    """
    for angle in angles:
        names = []
        for index, old in enumerate(angle.originals):
            local = fetch(old, work / f"strip-{angle.camera}-{index}{Path(old).suffix.lower()[:8]}")
            try:
                new = rewrite(old, local, work / f"stripped-{angle.pk}-{index}.mp4")
            finally:
                local.unlink(missing_ok=True)
                (work / f"stripped-{angle.pk}-{index}.mp4").unlink(missing_ok=True)
            names.append(new or old)
            if new is not None:
                move_original(old, new)
        if names != angle.originals:
            ClipAngle.objects.filter(pk=angle.pk).update(originals=names)
            angle.originals = names


def store_without_location(name, source, out):
    """Write `out`, a copy of the private file `name` (already downloaded at `source`) whose
    SEI holds no location, and save it in private storage; returns its stored name, or None
    when there was no location to remove (nothing written, nothing saved).

    The caller points its rows at the new name, then deletes `name` if it differs (S3
    overwrites in place; the local storage picks a new name). A file that cannot be read or
    rewritten raises MediaError("corrupt").
    """
    try:
        summary = telemetry.strip_location(source, out)
    except (av.error.FFmpegError, OSError, ValueError) as error:
        raise media.MediaError("corrupt", f"telemetry not rewritten: {error}") from error
    if not summary.changed:
        return None
    with out.open("rb") as fh:
        stored = private_storage().save(name, File(fh))
    log.info("%s: location removed from %s telemetry messages", stored, summary.with_location)
    return stored


def keep_geotag_free(name, local):
    """Blank the container geotags (gallery/geotags.py) of `local`, the downloaded copy of the
    private file `name`, and store it again; returns its stored name, or None when it had
    none (nothing saved). Uploads are cleaned as they are received (submissions/receive.py);
    this catches the rest: objects sent straight to the bucket, files kept before."""
    removed = geotags.remove_geotags(local)
    if not removed:
        return None
    with Path(local).open("rb") as fh:
        stored = private_storage().save(name, File(fh))
    log.info("%s: geotags removed from the original (%s)", stored, ", ".join(removed))
    return stored


def find_regions(clip, source, info, on_progress=None, *, detect=True):
    """Detect (or, with detect=False, reuse) the clip's regions, carry staff boxes along the
    clip, and store them on the clip (unless staff changed them meanwhile: theirs stay);
    returns the region set."""
    stored = clip.regions if clip.regions.get("tracks") is not None else None
    if detect or stored is None:
        found = blurring.detect(source, rotation=info.rotation, on_progress=on_progress)
        region_set = region_sets.with_detected(stored, found) if stored else found
    else:
        region_set = stored
    region_set = blurring.carry_staff_boxes(region_set, source, rotation=info.rotation)
    clip.regions = region_set
    Clip.objects.filter(pk=clip.pk, regions_version=clip.regions_version).update(regions=region_set)
    return region_set


def render(clip, *, detect=False):
    """Make a processed clip's outputs again from its original(s) and its stored regions
    (after staff edited them or turned blurring off or on), and swap them in; for a dashcam
    event, every angle's video and the mosaic too."""
    # What staff asked for, read at once: a change they make while this works is kept for
    # the next render (the outputs stay outdated), never overwritten or marked done.
    clip.refresh_from_db(fields=["regions", "blurring", "regions_version", "renders_queued"])
    angles = list(clip.angles.all())
    with tempfile.TemporaryDirectory(prefix="clip-") as tmp:
        work = Path(tmp)
        source = work / ("original" + Path(clip.original.name).suffix.lower()[:8])
        if angles:
            fetch_joined(angles[0].originals, source, work)
        else:
            fetch(clip.original.name, source)
        info = media.probe(source, **probe_limits())
        heartbeat = Heartbeat(clip, rendering=True)
        region_set = find_regions(clip, source, info, heartbeat, detect=detect)
        poster, renditions = blurring.render_outputs(
            source,
            work,
            info=info,
            region_set=region_set if clip.blurring else None,
            on_progress=heartbeat,
        )
        main = renditions[0]  # 720p, or the source's own size when it is smaller
        event = (
            make_event(clip, angles, main.path, work, heartbeat=heartbeat)
            if len(angles) > 1
            else None
        )
        if event:  # the card's pictures are the mosaic's: the lead's own are not kept
            poster = replace(poster, thumbnails=())
        stored = store_outputs(clip, poster, renditions, event.files if event else ())
    by_label = {r.label: r for r in renditions}
    try:
        replaced = clip.replace_outputs(
            video=stored[main.path.name],
            video_hd=stored[by_label["1080p"].path.name] if "1080p" in by_label else "",
            poster=stored[poster.poster.path.name],
            thumbnails=thumbnail_index(event.thumbnails if event else poster.thumbnails, stored),
            mosaic=stored[event.mosaic.name] if event else None,
            angles={
                a.pk: stored[(event.videos.get(a.camera, main.path) if event else main.path).name]
                for a in angles
            }
            or None,
            regions_version=clip.regions_version,
            renders_queued=clip.renders_queued,
        )
    except OutputsNewer:
        # Another render, of regions staff changed after this one read them, ended first.
        log.info("clip %s: a later render's outputs are in place; this one's discarded", clip.pk)
        discard(clip, stored)
        clip.end_rendering(renders_queued=clip.renders_queued)
        return
    except BaseException:  # not swapped in (the clip was deleted meanwhile): they go
        discard(clip, stored)
        raise
    for name in replaced:
        private_storage().delete(name)
    prune_clip_folders(clip.pk, replaced)


def discard(clip, stored):
    """Outputs that were stored but not swapped in, deleted from both storages; when the
    clip was deleted meanwhile, whatever else its folder holds goes too (its own deletion
    may have swept the folder before these were stored)."""
    gone = not Clip.objects.filter(pk=clip.pk).exists()
    delete_unused(stored.values(), folders=[f"clips/{clip.pk}"] if gone else [])


class Heartbeat:
    """Tells the watchdog a long transcode (of a processing, or of a render) is still alive
    (at most once a minute); a processing whose clip went to another worker stops here."""

    def __init__(self, clip, every=60, *, rendering=False):
        self.clip, self.every, self.last = clip, every, time.monotonic()
        self.rendering = rendering

    def __call__(self, seconds_done):
        if time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            if self.rendering:
                Clip.objects.filter(pk=self.clip.pk, render_claimed_at__isnull=False).update(
                    render_claimed_at=timezone.now()
                )
                return
            beat = Clip.objects.filter(
                pk=self.clip.pk,
                status=Clip.Status.PROCESSING,
                processing_claimed_at=self.clip.processing_claimed_at,
            ).update(status_changed_at=timezone.now())
            if not beat and self.clip.processing_taken_over():
                raise TakenOver(f"clip {self.clip.pk} went to another worker")


def store_outputs(clip, poster, renditions, extra=()):
    """Save the outputs privately under a fresh folder; returns {file name: stored name}.

    They become public only when the clip is approved. All or nothing: when storage fails
    partway, what this call stored goes (the folder is its own: the outputs in use are
    elsewhere) and the error is raised for the caller to record.
    """
    hidden = private_storage()
    folder = f"clips/{clip.pk}/{secrets.token_urlsafe(9)}"
    stored = {}
    try:
        for path in [
            poster.poster.path,
            *(t.path for t in poster.thumbnails),
            *(r.path for r in renditions),
            *extra,
        ]:
            with path.open("rb") as fh:
                stored[path.name] = hidden.save(f"{folder}/{path.name}", File(fh))
    except BaseException:
        try:
            delete_unused(stored.values(), folders=[folder])
        except Exception:  # the storage is still failing: the error that stopped us counts
            log.exception("clip %s: outputs stored before the failure not deleted", clip.pk)
        raise
    return stored


def thumbnail_index(thumbnails, stored):
    by_width = {}
    for thumb in thumbnails:
        entry = by_width.setdefault(thumb.width, {"width": thumb.width, "height": thumb.height})
        entry[thumb.format] = stored[thumb.path.name]
    return [by_width[w] for w in sorted(by_width)]


def fetch(name, dst):
    """Copy a private original to a local file for decoding."""
    with private_storage().open(name, "rb") as src, Path(dst).open("wb") as out:
        shutil.copyfileobj(src, out, 1024 * 1024)
    return Path(dst)


def fetch_joined(names, dst, work):
    """A camera's minutes, fetched and joined in order into `dst`."""
    if len(names) == 1:
        return fetch(names[0], dst)
    parts = []
    for index, name in enumerate(names):
        parts.append(fetch(name, work / f"minute-{index}{Path(name).suffix.lower()[:8]}"))
    mosaic.join(parts, dst)
    for part in parts:
        part.unlink()
    return Path(dst)


@dataclass
class Event:
    """A dashcam event's outputs beside the clip's own: each other angle's rendition, the
    mosaic and the mosaic's thumbnails (what the gallery card shows)."""

    videos: dict  # camera -> rendition path
    mosaic: Path
    thumbnails: tuple

    @property
    def files(self):
        return [*self.videos.values(), self.mosaic, *(t.path for t in self.thumbnails)]


def angle_blurring(clip, source, info, on_progress=None):
    """The frame filter that blurs faces and plates found on another angle of an event (its
    regions are detected for this rendition, not stored), or None when blurring is off."""
    if not clip.blurring:
        return None
    found = blurring.detect(source, rotation=info.rotation, on_progress=on_progress)
    return blurring.Blurrer(found).frame if region_sets.active(found) else None


def make_event(
    clip, angles, lead_rendition, work, *, joined=None, leave_out_broken=False, heartbeat=None
):
    """Every other angle transcoded like the lead (720p at most), then the mosaic.

    `joined` holds each camera's minutes already joined, when they are. With
    `leave_out_broken` (a first processing), an angle that cannot be read is left out
    (leave_out) rather than failing the clip; with no other angle left there is no mosaic
    and None is returned.
    """
    heartbeat = heartbeat or Heartbeat(clip)
    joined = joined or {}
    videos = {}
    for angle in angles[1:]:
        folder = work / f"angle-{angle.camera}"
        folder.mkdir()
        try:
            if angle.camera in joined:
                source = joined[angle.camera].replace(folder / "source.mp4")
            else:
                source = fetch_joined(angle.originals, folder / "source.mp4", folder)
            info = media.probe(source, **probe_limits())
            rendition = media.transcode(
                source,
                folder,
                probe_result=info,
                heights=(720,),
                on_progress=heartbeat,
                frame_filter=angle_blurring(clip, source, info, heartbeat),
            )[0]
        except media.MediaError as error:
            if not leave_out_broken:
                raise
            leave_out(clip, [(angle, error.code)])
            shutil.rmtree(folder, ignore_errors=True)
            continue
        source.unlink()
        videos[angle.camera] = rendition.path.rename(work / f"angle-{angle.camera}.mp4")
    if not videos:
        return None
    tiles = [lead_rendition, *videos.values()]
    combined = mosaic.make_mosaic(tiles, work / "mosaic.mp4", on_progress=heartbeat)
    stills = media.make_poster(combined, work / "mosaic-stills")
    thumbnails = tuple(
        replace(thumb, path=thumb.path.rename(work / f"mosaic-{thumb.path.name}"))
        for thumb in stills.thumbnails
    )
    return Event(videos=videos, mosaic=combined, thumbnails=thumbnails)
