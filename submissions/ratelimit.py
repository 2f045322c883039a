"""Rate limits on what anyone can call from outside: the form, the status and consent pages.

Counted in the database, so every web node sees the same counts; keys are stored hashed.
Our own code because django-ratelimit counts in the cache, which is each process's memory by
default: counts in the database hold across web nodes without a shared cache server.
"""

import hashlib
import random
from datetime import timedelta

from django.conf import settings
from django.template.response import TemplateResponse
from django.utils import timezone

from submissions.models import Throttle


def _digest(value):
    return hashlib.blake2b(f"{settings.SECRET_KEY}|{value}".encode(), digest_size=16).hexdigest()


def limit(name):
    count, seconds = settings.RATE_LIMITS[name].split("/")
    return int(count), int(seconds)


def exceeded(name, value):
    """Whether `value` has used up the limit `name` (nothing is counted)."""
    if not value:
        return False
    count, seconds = limit(name)
    since = timezone.now() - timedelta(seconds=seconds)
    return Throttle.objects.filter(scope=name, key=_digest(value), at__gte=since).count() >= count


def record(name, value):
    """Count one event for `value` under the limit `name`."""
    if not value:
        return
    Throttle.objects.create(scope=name, key=_digest(value))
    if random.random() < 0.01:  # noqa: S311  # nosec B311 - housekeeping, not security
        Throttle.objects.filter(at__lt=timezone.now() - timedelta(days=2)).delete()


def allow(name, value):
    """Record one event for `value` under the limit `name`; False when over the limit."""
    if exceeded(name, value):
        return False
    record(name, value)
    return True


def too_many(request, name):
    """The translated 429 page, telling when to come back."""
    _count, seconds = limit(name)
    response = TemplateResponse(request, "429.html", {"minutes": max(1, seconds // 60)}, status=429)
    response["Retry-After"] = str(seconds)
    return response
