import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gallery.models import Clip, PlayDay
from tests.factories import add_plays, make_clip

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/140.0 Safari/537.36"


def play(client, clip, *, address="203.0.113.7", agent=BROWSER):
    return client.post(f"/plays/{clip.pk}", REMOTE_ADDR=address, HTTP_USER_AGENT=agent)


def plays_of(clip):
    return sum(PlayDay.objects.filter(clip=clip).values_list("plays", flat=True))


def test_a_play_is_counted_once_per_address_and_kept_as_a_daily_total(client):
    clip = make_clip()
    response = play(client, clip)
    assert response.status_code == 204
    assert not response.cookies
    assert response["Cache-Control"] == "no-store"
    assert plays_of(clip) == 1
    assert play(client, clip).status_code == 204  # a reload: same answer, not counted
    assert plays_of(clip) == 1
    play(client, clip, address="198.51.100.20")
    play(client, clip, address="2001:db8::1")
    # One row for the day, with the count: no address, no time of day, no identifier.
    row = PlayDay.objects.get(clip=clip)
    assert (row.day, row.plays) == (timezone.localdate(), 3)
    assert {f.name for f in PlayDay._meta.fields} == {"id", "clip", "day", "plays"}


def test_crawlers_and_unpublished_clips_are_not_counted(client):
    clip = make_clip()
    for agent in ("Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.5.0", ""):
        play(client, clip, agent=agent)
    assert plays_of(clip) == 0
    waiting = make_clip(status=Clip.Status.REVIEW)
    play(client, waiting)
    assert plays_of(waiting) == 0
    assert play(client, Clip(pk=999_999)).status_code == 204


def test_one_address_playing_everything_is_damped(client, settings):
    settings.PLAYS_PER_ADDRESS_PER_MINUTE = 3
    clips = [make_clip() for _n in range(5)]
    for clip in clips:
        play(client, clip)
    assert sum(plays_of(clip) for clip in clips) == 3


def test_only_post_counts():
    clip = make_clip()
    client = Client(enforce_csrf_checks=True)
    assert client.get(f"/plays/{clip.pk}").status_code == 405
    assert play(client, clip).status_code == 204  # no CSRF token, no cookie needed
    assert plays_of(clip) == 1


def test_the_repeat_window_ends(client, settings):
    settings.PLAY_REPEAT_SECONDS = 1
    clip = make_clip()
    play(client, clip)
    time.sleep(1.1)
    play(client, clip)
    assert plays_of(clip) == 2


def titles(response):
    """The clip titles of a gallery page, in order (cached pages have no context)."""
    return re.findall(r'<span class="card__title"[^>]*>([^<]+)</span>', response.content.decode())


def test_most_watched_order_follows_the_counts(client):
    today = timezone.localdate()
    quiet = make_clip(title="Quiet")
    loved = make_clip(title="Loved")
    liked = make_clip(title="Liked")
    newest = make_clip(title="Newest, never played")
    add_plays(loved, today, 9)
    add_plays(liked, today - timedelta(days=2), 4)
    add_plays(liked, today, 1)
    add_plays(quiet, today, 1)
    # Plays older than the ranking window do not count.
    add_plays(quiet, today - timedelta(days=45), 100)

    response = client.get("/en/", {"order": "popular"})
    assert titles(response) == ["Loved", "Liked", "Quiet", "Newest, never played"]
    html = response.content.decode()
    assert '<a href="/en/?order=popular" aria-current="page">Most watched</a>' in html
    assert '<link rel="canonical" href="http://testserver/en/?order=popular">' in html

    assert titles(client.get("/en/"))[0] == newest.title
    # Anything else is the default order, and the same cached page.
    assert titles(client.get("/en/", {"order": "loudest"}))[0] == newest.title


def test_most_watched_keeps_the_themes_and_pages(client, settings):
    settings.GALLERY_PAGE_SIZE = 1
    today = timezone.localdate()
    first = make_clip(title="First", themes=["design"])
    second = make_clip(title="Second", themes=["design"])
    make_clip(title="Other theme", themes=["weekend"])
    add_plays(first, today, 5)
    add_plays(second, today, 2)
    response = client.get("/en/", {"order": "popular", "theme": "design"})
    assert titles(response) == ["First"]
    assert 'href="/en/?theme=design&amp;order=popular&amp;page=2"' in response.content.decode()
    assert titles(client.get("/en/?theme=design&order=popular&page=2")) == ["Second"]


def test_most_watched_pages_are_cached_until_the_ranking_is_read_again(client, settings):
    today = timezone.localdate()
    one, two = make_clip(title="One"), make_clip(title="Two")
    add_plays(one, today, 3)
    first = client.get("/en/", {"order": "popular"})
    assert titles(first) == ["One", "Two"]
    PlayDay.objects.filter(clip=one).update(plays=0)
    add_plays(two, today, 5)
    cached = client.get("/en/", {"order": "popular"})
    assert titles(cached) == ["One", "Two"]
    assert (
        client.get("/en/", {"order": "popular"}, HTTP_IF_NONE_MATCH=first["ETag"]).status_code
        == 304
    )
    settings.PLAY_REPEAT_SECONDS = 60
    settings.PLAY_RANKING_REFRESH = 1
    time.sleep(1.1)
    assert titles(client.get("/en/", {"order": "popular"})) == ["Two", "One"]
