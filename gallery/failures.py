"""Why a clip could not be made (or made again): a stable code and its parameters are what
is stored (Clip.failure_code, ClipTransition.reason_code), put in words only when shown, in
the reader's language: staff read it in their admin's, the owner in theirs."""

from django.utils.translation import gettext_lazy as _

# The MediaError codes (gallery/media.py), then the worker's own.
MESSAGES = {
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
    "stopped": _("Processing stopped %(attempts)s times without finishing."),
    "lost": _(
        "Processing was tried %(attempts)s times without finishing (the last time, no worker "
        "took it up: its task was lost)."
    ),
    "render_stopped": _(
        "Making the outputs again stopped %(attempts)s times without finishing (the worker "
        "was stopped)."
    ),
    "render_lost": _(
        "Making the outputs again was tried %(attempts)s times without finishing (the last "
        "time, no worker took it up: its task was lost)."
    ),
}


def describe(code, params=None):
    """The sentence for `code` in the active language (an unknown one: not a video)."""
    message = str(MESSAGES.get(code, MESSAGES["not_video"]))
    try:
        return message % (params or {})
    except (KeyError, TypeError, ValueError):  # a row older than its parameters
        return message.replace("%(", "(").replace(")s", ")")
