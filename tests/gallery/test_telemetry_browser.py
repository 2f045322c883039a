"""The telemetry strip follows playback in Chromium."""

import bisect

import pytest
from playwright.sync_api import expect
from pytest_playwright_axe import Axe

from gallery.models import Clip
from gallery.synth_telemetry import synthesize_dashcam
from tests.factories import make_clip, said_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def drive_clip(tmp_path):
    written = synthesize_dashcam(tmp_path / "front.mp4", seconds=6)
    clip = make_clip(title="Autosteer", video=written.path)
    Clip.objects.filter(pk=clip.pk).update(telemetry_public=True)
    clip.refresh_from_db()
    return clip


def seek(page, seconds):
    return page.locator("video").evaluate(
        """(v, target) => new Promise(resolve => {
            v.pause();
            v.addEventListener('seeked', () => setTimeout(() => resolve(v.currentTime), 50), {once: true});
            v.currentTime = target;
        })""",
        seconds,
    )


def sample_at(series, seconds):
    return bisect.bisect_right(series["t"], seconds) - 1


def test_strip_shows_the_speed_and_autopilot_of_the_moment(page, live_server, drive_clip):
    series = drive_clip.telemetry
    page.goto(f"{live_server.url}/fr/clips/{drive_clip.pk}/")
    strip = page.locator("[data-drive]")
    expect(strip.locator("[data-drive-live]")).to_be_visible()
    expect(strip.locator("[data-drive-live]")).to_have_attribute("aria-live", "off")
    page.locator("[data-player-start]").click()

    engaged, off = said_in("fr", "Autopilot engaged"), said_in("fr", "Autopilot off")
    for target, autopilot in ((3.5, engaged), (5.2, off), (1.1, off)):
        now = seek(page, target)
        assert now == pytest.approx(target, abs=0.1)
        i = sample_at(series, now)
        expected = str(round(series["speed"][i] * 3.6))
        expect(strip.locator("[data-drive-speed]")).to_have_text(expected)
        expect(strip.locator("[data-drive-autopilot]")).to_have_text(autopilot)
    # At 1.1 s of 6 the left blinker is on (10-25 % of the drive), not the right one.
    expect(strip.locator("[data-drive-left]")).to_be_visible()
    expect(strip.locator("[data-drive-right]")).to_be_hidden()

    # The unit button switches to mph.
    strip.locator("[data-drive-unit]").click()
    i = sample_at(series, seek(page, 3.0))
    expect(strip.locator("[data-drive-speed]")).to_have_text(
        str(round(series["speed"][i] * 2.2369363))
    )
    expect(strip.locator("[data-drive-unit]")).to_have_text("mph")
    assert axe_violations(page) == []


AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": [
            "wcag2a",
            "wcag21a",
            "wcag2aa",
            "wcag21aa",
            "wcag22a",
            "wcag22aa",
            "best-practice",
        ],
    },
    "resultTypes": ["violations"],
}


def axe_violations(page):
    results = Axe(use_minified_file=True).run(
        page, options=AXE_OPTIONS, html_report_generated=False, json_report_generated=False
    )
    return [
        f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes'][:3]]}"
        for v in results["violations"]
    ]
