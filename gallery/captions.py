"""WebVTT captions that staff attach to a clip: checked on upload, stored beside the clip's
other media (privately, copied to public storage while the clip is published)."""

import re
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from gallery.deletion import prune_clip_folders
from infra.storage import private_storage, publish_files, unpublish_files

MAX_CAPTION_BYTES = 512 * 1024
# "00:01.000" or "01:02:03.456" (hours may have more than two digits).
TIMESTAMP = re.compile(r"^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})$")
TIMING = re.compile(r"^(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t].*)?$")
HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float


def caption_path(caption, filename):
    # A new name for every upload: public media are cached as immutable.
    return f"clips/{caption.clip_id}/captions/{caption.language}-{secrets.token_urlsafe(6)}.vtt"


def parse_webvtt(data):
    """The cues of a WebVTT file (bytes); ValidationError with a message for staff otherwise."""
    if len(data) > MAX_CAPTION_BYTES:
        raise ValidationError(
            _("This caption file is too large: %(max)s at most."),
            code="too_large",
            params={"max": filesizeformat(MAX_CAPTION_BYTES)},
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(_("A caption file must be UTF-8 text."), code="encoding") from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not HEADER.match(lines[0]):
        raise ValidationError(
            _("This is not a WebVTT file: its first line must be “WEBVTT”."), code="header"
        )
    cues = []
    for number, line in enumerate(lines[1:], start=2):
        if "-->" not in line:
            continue
        match = TIMING.match(line.strip())
        start = _seconds(match.group(1)) if match else None
        end = _seconds(match.group(2)) if match else None
        if start is None or end is None:
            raise ValidationError(
                _("Line %(line)s: “%(text)s” is not a cue timing like “00:01.000 --> 00:04.000”."),
                code="timing",
                params={"line": number, "text": line.strip()[:80]},
            )
        if end <= start:
            raise ValidationError(
                _("Line %(line)s: the cue ends before it starts."),
                code="order",
                params={"line": number},
            )
        cues.append(Cue(start, end))
    if not cues:
        raise ValidationError(_("This WebVTT file holds no cue."), code="empty")
    return cues


def _seconds(stamp):
    match = TIMESTAMP.match(stamp)
    if not match:
        return None
    hours, minutes, seconds, millis = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def validate_webvtt(upload):
    """Field validator: reads the uploaded file (at most one byte past the cap)."""
    upload.seek(0)
    data = upload.read(MAX_CAPTION_BYTES + 1)
    upload.seek(0)
    parse_webvtt(data)


def sync_caption_files(clip, before):
    """After staff changed a clip's captions: publish new files of a published clip, and delete
    the files of replaced or removed captions. `before` holds the caption file names before."""
    after = {name for name in clip.captions.values_list("file", flat=True) if name}
    added = sorted(after - before)
    removed = sorted(before - after)
    if added and clip.status == clip.Status.PUBLISHED:
        publish_files(added)

    def remove():
        unpublish_files(removed)
        for name in removed:
            private_storage().delete(name)
        prune_clip_folders(clip.pk, removed)

    if removed:
        transaction.on_commit(remove)
