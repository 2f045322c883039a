"""Staff log-in lock-out: django-axes counts the failures (settings: AXES_*); this is the
page a locked-out client sees instead of the log-in form."""

import math

from django.conf import settings
from django.contrib import admin
from django.shortcuts import render
from django.utils.translation import ngettext


def locked_out(request, original_response=None, credentials=None):
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    message = ngettext(
        "Too many failed attempts. Please try again in %(minutes)d minute.",
        "Too many failed attempts. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    # Answered like any refused log-in form (200), so that the count of failures and the
    # page a guesser sees do not tell the lock apart from a wrong password by status alone.
    return render(
        request,
        "infra/locked_out.html",
        admin.site.each_context(request) | {"message": message},
    )
