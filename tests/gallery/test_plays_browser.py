import re
import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from gallery.models import PlayDay
from tests.factories import add_plays, make_clip

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLAY_FOR_SECONDS = """(v, seconds) => new Promise((resolve, reject) => {
    v.muted = true;
    v.addEventListener('error', () => reject(new Error('media error')));
    const check = () => v.currentTime >= seconds ? resolve(v.currentTime) : setTimeout(check, 50);
    v.play().then(check, reject);
})"""


def counted():
    return sum(PlayDay.objects.values_list("plays", flat=True))


def wait_for_count(expected, timeout=5):
    deadline = time.monotonic() + timeout
    while counted() != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return counted()


def test_five_seconds_of_playback_count_one_play_without_a_cookie(page, live_server, sample_video):
    clip = make_clip(title="Counted", video=sample_video)
    beacons = []
    page.on("request", lambda request: "/plays/" in request.url and beacons.append(request))
    page.goto(f"{live_server.url}{clip.get_absolute_url()}")
    video = page.locator("video")

    # Two seconds are not a play yet.
    video.evaluate(PLAY_FOR_SECONDS, 2)
    video.evaluate("v => v.pause()")
    time.sleep(0.5)
    assert counted() == 0 and beacons == []

    video.evaluate(PLAY_FOR_SECONDS, 5)
    assert wait_for_count(1) == 1
    assert len(beacons) == 1
    assert beacons[0].method == "POST"
    assert "cookie" not in beacons[0].all_headers()

    # A reload in the same minute plays again: no second play.
    page.reload()
    page.locator("video").evaluate(PLAY_FOR_SECONDS, 5)
    deadline = time.monotonic() + 5
    while len(beacons) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(beacons) == 2  # the page did report it...
    time.sleep(0.5)
    assert counted() == 1  # ...and it was not counted again
    assert page.context.cookies() == []


def test_seeking_through_the_video_is_not_a_play(page, live_server, sample_video):
    clip = make_clip(title="Skimmed", video=sample_video)
    page.goto(f"{live_server.url}{clip.get_absolute_url()}")
    page.locator("video").evaluate(
        """v => new Promise(resolve => {
            v.muted = true;
            v.play().then(() => {
                let jumps = 0;
                const jump = () => {
                    if (jumps++ >= 5) { v.pause(); resolve(); return; }
                    v.currentTime = Math.min(v.duration - 0.2, v.currentTime + 1.6);
                    setTimeout(jump, 250);
                };
                jump();
            });
        })"""
    )
    time.sleep(1)
    assert counted() == 0


def test_most_watched_order_with_the_script(page, live_server):
    today = timezone.localdate()
    loved = make_clip(title="Loved", themes=["design"])
    make_clip(title="Newer", themes=["design"])
    make_clip(title="Newest", themes=["weekend"])
    add_plays(loved, today, 12)
    page.goto(f"{live_server.url}/en/")
    titles = page.locator(".card__title")
    expect(titles).to_have_text(["Newest", "Newer", "Loved"])

    page.get_by_role("link", name="Most watched").click()
    expect(page).to_have_url(re.compile(r"/en/\?order=popular$"))
    expect(titles).to_have_text(["Loved", "Newest", "Newer"])
    expect(page.get_by_role("link", name="Most watched")).to_have_attribute("aria-current", "page")
    # Ticking a theme keeps the order.
    page.get_by_label(re.compile(r"\bDesign\b")).check()
    expect(page).to_have_url(re.compile(r"/en/\?theme=design&order=popular$"))
    expect(titles).to_have_text(["Loved", "Newer"])
    page.get_by_role("link", name="Newest").click()
    expect(page).to_have_url(re.compile(r"/en/\?theme=design$"))
    expect(titles).to_have_text(["Newer", "Loved"])
    page.go_back()
    expect(titles).to_have_text(["Loved", "Newer"])
    page.get_by_label(re.compile(r"\bDesign\b")).uncheck()
    expect(page).to_have_url(re.compile(r"/en/\?order=popular$"))


def test_a_clip_shorter_than_the_threshold_counts_once_watched_to_the_end(
    page, live_server, tmp_path
):
    from gallery.synth import synthesize

    short = synthesize(tmp_path / "short.mp4", seconds=2, width=320, height=180, seed=3)
    clip = make_clip(title="Short", video=short)
    page.goto(f"{live_server.url}{clip.get_absolute_url()}")
    page.locator("video").evaluate(
        """v => new Promise((resolve, reject) => {
            v.muted = true;
            v.addEventListener('ended', resolve);
            v.play().catch(reject);
        })"""
    )
    assert wait_for_count(1) == 1
