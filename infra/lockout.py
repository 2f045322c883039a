"""Staff log-in lock-out: django-axes counts the failures (settings: AXES_*); this is the
page a locked-out client sees instead of the log-in form."""

import math

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import ngettext


def locked_out(request, original_response=None, credentials=None):
    """The site's branded 429 page, saying when to come back."""
    seconds = settings.AXES_COOLOFF_TIME.total_seconds()
    minutes = math.ceil(seconds / 60)
    message = ngettext(
        "Too many failed attempts. Please try again in %(minutes)d minute.",
        "Too many failed attempts. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    # The page says the log-in is locked, so its status may too: a wrong password and the
    # lock are told apart by the text anyway, and a 429 is what clients and monitors expect.
    # Rendered now: axes answers from its middleware, where no one renders a TemplateResponse.
    response = render(request, "429.html", {"minutes": minutes, "message": message}, status=429)
    response["Retry-After"] = str(math.ceil(seconds))
    return response
