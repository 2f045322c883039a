"""Signed, expiring links to a clip's public page as visitors will see it, before it is published.

Staff open them from the admin ("View on site"); the link names the clip and the language,
and is refused without its signature, after PREVIEW_SECONDS, or to anyone who is not staff.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import translation

from infra.storage import private_storage

SALT = "gallery.preview"


def preview_url(clip, language=None):
    """The preview page of `clip` in `language` (the active one by default)."""
    token = signing.TimestampSigner(salt=SALT).sign(str(clip.pk))
    with translation.override(language or translation.get_language()):
        return reverse("gallery:preview", kwargs={"token": token})


def clip_pk_from(token):
    """The clip named by a valid, unexpired token; None otherwise."""
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=settings.PREVIEW_SECONDS)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    return int(value) if value.isdigit() else None


def with_private_media(clip):
    """Have the clip's files link to their private, signed copies (it has no public ones yet)."""
    hidden = private_storage()
    for field in (clip.video, clip.video_hd, clip.poster, clip.mosaic):
        field.storage = hidden
    clip._url = hidden.url
    return clip
