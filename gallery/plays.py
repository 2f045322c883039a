"""Play counts that track no one.

A visitor's browser reports a play once the video has really played for a few seconds
(static/js/plays.js). The play adds one to the clip's count for the day and nothing else:
no address, no identifier, no cookie. Repeats from one address (reloads) and crawlers are
damped with a short-lived cache key, a keyed hash of the address and the clip that expires
after PLAY_REPEAT_SECONDS and never reaches the database.
"""

import re

from django.conf import settings
from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpResponse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gallery.filters import POPULAR, gallery_order
from gallery.models import Clip, PlayDay
from gallery.pages import gallery_query
from infra.clients import client_ip

# Crawlers and link previewers announce themselves; a headless browser driven by a person's
# script does not, and is counted like any browser.
BOT_AGENTS = re.compile(
    r"bot|crawl|spider|slurp|preview|scrape|monitor|checker|curl|wget|httpclient|"
    r"python|java/|go-http|okhttp|node-fetch|axios|libwww|facebookexternalhit|embedly",
    re.IGNORECASE,
)


def is_bot(user_agent):
    return not user_agent or bool(BOT_AGENTS.search(user_agent))


def _key(*parts):
    digest = salted_hmac("gallery.plays", "|".join(str(p) for p in parts), algorithm="sha256")
    return "play:" + digest.hexdigest()[:40]


def record_play(clip_id, *, address, user_agent, day=None):
    """Count one play of a published clip, unless it is a crawler's or a repeat; True if counted."""
    if is_bot(user_agent):
        return False
    cache = caches["default"]
    if not cache.add(_key(address, clip_id), 1, timeout=settings.PLAY_REPEAT_SECONDS):
        return False
    # One address playing many clips a minute is a script: count the first few only.
    minute = int(timezone.now().timestamp() // 60)
    burst = _key(address, "minute", minute)
    cache.add(burst, 0, timeout=120)
    try:
        if cache.incr(burst) > settings.PLAYS_PER_ADDRESS_PER_MINUTE:
            return False
    except ValueError:  # evicted between add and incr: count the play
        pass
    return count_play(clip_id, day or timezone.localdate())


def count_play(clip_id, day):
    """Add one to the clip's count for `day`: one UPDATE when the day has a row already."""
    rows = PlayDay.objects.filter(clip_id=clip_id, day=day)
    if rows.update(plays=F("plays") + 1):
        return True
    if not Clip.objects.published().filter(pk=clip_id).exists():
        return False
    try:
        with transaction.atomic():
            PlayDay.objects.create(clip_id=clip_id, day=day, plays=1)
    except IntegrityError:  # another play of the same clip created the row first
        rows.update(plays=F("plays") + 1)
    return True


@csrf_exempt  # counts for no one in particular: nothing a forged request could abuse
@require_POST
def play(request, pk):
    record_play(pk, address=client_ip(request), user_agent=request.headers.get("User-Agent", ""))
    # The same answer whether counted or not: it tells nothing about other visitors.
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    return response


def ranking_epoch():
    """Changes every PLAY_RANKING_REFRESH seconds: cached "most watched" pages last that long."""
    return int(timezone.now().timestamp() // settings.PLAY_RANKING_REFRESH)


def gallery_page_query(request):
    """The gallery's cache key query: the canonical query, and for "most watched" the
    ranking's epoch, since plays change the order without changing the catalogue."""
    query = gallery_query(request)
    if gallery_order(request.GET) != POPULAR:
        return query
    return f"{query}{'&' if query else '?'}order=popular#{ranking_epoch()}"
