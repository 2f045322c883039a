"""Every public page of the site with realistic content, for the page-wide checks (axe, vnu)."""

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.base import ContentFile

from gallery.captions import sync_caption_files
from gallery.models import Caption, Clip
from submissions.models import Submission
from submissions.views import THANKS_SESSION_KEY
from tests.factories import make_clip

VTT = "WEBVTT\n\n00:00.000 --> 00:02.000\nBonjour !\n\n00:02.000 --> 00:05.000\nÀ bientôt.\n"


@dataclass
class Site:
    clip: Clip
    submission: Submission
    session_key: str
    pages: dict = field(default_factory=dict)


def make_site(*, video=None):
    """Three published clips (the first with `video` really processed, and captions), an owner
    with clips in several states, and the session of someone who has just sent a clip.
    `pages` maps a name to a path."""
    clip = make_clip(
        title="Lever de soleil sur le col",
        description="Un matin calme.\nAvant le travail.",
        themes=["weekend", "design"],
        language="fr",
        video=video,
    )
    # The others need no real video: nobody plays them here.
    make_clip(
        title="Autobahn, sans bruit", themes=["performance"], language="de", featured=True
    ).set_featured(True)
    make_clip(title="Frunk picnic", themes=["weekend"], language="en")
    for language in ("fr", "en", "de"):
        caption = Caption(clip=clip, language=language)
        caption.file.save("captions.vtt", ContentFile(VTT.encode()), save=True)
    sync_caption_files(clip, before=set())

    submission = Submission.objects.create(email="owner@example.org", language="nl")
    for status in (Clip.Status.REVIEW, Clip.Status.REJECTED):
        owned = make_clip(status=status, title=f"Mijn clip ({status})", language="nl")
        Clip.objects.filter(pk=owned.pk).update(submission=submission)

    session = SessionStore()
    session[THANKS_SESSION_KEY] = submission.signed_token
    session.create()

    site = Site(clip=clip, submission=submission, session_key=session.session_key)
    site.pages = {
        "gallery": "/fr/",
        "filtered gallery": "/en/?theme=weekend&theme=performance",
        "clip": f"/de{clip.get_absolute_url()[3:]}",
        "submit": "/fr/submit/",
        "thanks": "/es/submit/thanks/",
        "status": submission.get_status_url(language="nl"),
        "terms": "/it/terms/",
        "embed": f"/embed/{clip.pk}/",
    }
    return site


def session_cookie(site, url):
    return {"name": settings.SESSION_COOKIE_NAME, "value": site.session_key, "url": url}
