"""Small factories for tests: real rows through the real transitions."""

import itertools

from django.core.files import File

from gallery.models import Clip, Theme

_titles = itertools.count(1)


def theme(slug):
    return Theme.objects.get(slug=slug)


def make_clip(
    *,
    status=Clip.Status.PUBLISHED,
    themes=(),
    title=None,
    featured=False,
    video=None,
    credit_name="Camille",
    credit_country="FR",
    description="",
    language="fr",
):
    """A clip in `status`. With `video` (a file path) it is really processed, else it gets
    placeholder media names."""
    clip = Clip.objects.create(
        title=title or f"Clip {next(_titles)}",
        description=description,
        credit_name=credit_name,
        credit_country=credit_country,
        featured=featured,
        language=language,
    )
    if themes:
        clip.themes.set(Theme.objects.filter(slug__in=themes))
    if video is not None:
        with open(video, "rb") as fh:
            clip.original.save("upload.mp4", File(fh))
    if status == Clip.Status.PROCESSING:
        return clip
    if status == Clip.Status.FAILED:
        clip.mark_failed("test failure")
        return clip
    if video is not None:
        from gallery import processing

        processing.process(clip)
        clip.refresh_from_db()
        assert clip.status == Clip.Status.REVIEW, clip.failure_reason
    else:
        folder = f"clips/{clip.pk}/t"
        placeholder_media(folder)
        clip.mark_processed(
            video=f"{folder}/720p.mp4",
            poster=f"{folder}/poster.jpg",
            duration=12.0,
            width=1280,
            height=720,
            size=len(b"placeholder 720p.mp4"),
            thumbnails=[
                {
                    "width": w,
                    "height": w * 9 // 16,
                    "webp": f"{folder}/thumb-{w}.webp",
                    "jpeg": f"{folder}/thumb-{w}.jpg",
                }
                for w in (320, 640)
            ],
        )
    if status == Clip.Status.REVIEW:
        return clip
    if status in (Clip.Status.PUBLISHED, Clip.Status.REJECTED):
        clip.approve(by=None) if status == Clip.Status.PUBLISHED else clip.reject(
            by=None, reason="test"
        )
    elif status == Clip.Status.WITHDRAWN:
        clip.withdraw()
    return clip


def placeholder_media(folder):
    """Tiny stand-ins for processed files, for tests that never play them."""
    from django.core.files.base import ContentFile

    from gallery.storage import private_storage

    for name in (
        "720p.mp4",
        "poster.jpg",
        "thumb-320.webp",
        "thumb-320.jpg",
        "thumb-640.webp",
        "thumb-640.jpg",
    ):
        private_storage().save(f"{folder}/{name}", ContentFile(b"placeholder " + name.encode()))


def make_history(*, arrived, decided=None, status=Clip.Status.REVIEW, reason_code="", **kwargs):
    """A clip that arrived at `arrived` and, for a decided status, was decided at `decided`
    (aware datetimes): its row and its recorded transitions moved back in time."""
    from gallery.models import ClipTransition

    source = kwargs.pop("source", Clip.Source.WEB)
    clip = make_clip(status=Clip.Status.REVIEW, **kwargs)
    if status == Clip.Status.PUBLISHED:
        clip.approve(by=None)
    elif status == Clip.Status.REJECTED:
        clip.reject(by=None, reason_code=reason_code, reason="" if reason_code else "test")
    elif status == Clip.Status.WITHDRAWN:
        clip.withdraw()
    Clip.objects.filter(pk=clip.pk).update(source=source, created_at=arrived)
    ClipTransition.objects.filter(clip=clip, to_status=Clip.Status.REVIEW).update(at=arrived)
    if decided is not None:
        ClipTransition.objects.filter(clip=clip).exclude(to_status=Clip.Status.REVIEW).update(
            at=decided
        )
        if status == Clip.Status.PUBLISHED:
            Clip.objects.filter(pk=clip.pk).update(published_at=decided)
    clip.refresh_from_db()
    return clip


def add_plays(clip, day, plays):
    """`plays` counted plays of `clip` on `day` (a date)."""
    from gallery.models import PlayDay

    return PlayDay.objects.create(clip=clip, day=day, plays=plays)
