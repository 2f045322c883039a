"""In Chromium: a dashcam event's player switches angle at the same moment, by pointer and by
keyboard, keeping its play state; without JavaScript each angle is a link."""

import re

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from gallery.models import Clip
from gallery.processing import process
from tests.factories import dashcam_event, form_data, post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CAMERAS = ("front", "back", "left_repeater", "right_repeater")


@pytest.fixture
def event_clip(client, tmp_path):
    files = dashcam_event(tmp_path, CAMERAS, seconds=4)
    uploads = [SimpleUploadedFile(name, data) for name, data in files.items()]
    assert post(client, form_data(uploads), lang="en").status_code == 302
    clip = Clip.objects.get()
    process(clip)
    clip.refresh_from_db()
    clip.approve(by=User.objects.create_superuser("staff", "s@example.org", "pw"))
    return clip


def angle_shown(video):
    return video.evaluate("v => v.currentSrc")


WAIT_READY = """v => new Promise(resolve => {
    const done = () => resolve({time: v.currentTime, paused: v.paused});
    if (v.readyState >= 1 && !v.seeking) done();
    else v.addEventListener('seeked', done, {once: true});
})"""


def test_switching_angle_keeps_the_moment(page, live_server, event_clip):
    page.goto(f"{live_server.url}{event_clip.get_absolute_url()}")
    video = page.locator("video[data-player-video]")
    group = page.get_by_role("group", name="Camera")
    expect(group.get_by_role("button")).to_have_count(4)
    front = group.get_by_role("button", name="Front")
    expect(front).to_have_attribute("aria-pressed", "true")

    page.locator("[data-player-start]").click()
    # Paused at a known moment, then another angle: the same moment, still paused.
    state = video.evaluate(
        """v => new Promise((resolve, reject) => {
            v.muted = true;
            v.addEventListener('error', () => reject(new Error('media error')));
            const seek = () => {
                v.pause();
                v.addEventListener('seeked', () => resolve(v.currentTime), {once: true});
                v.currentTime = 1.5;
            };
            if (v.readyState >= 1) seek(); else v.addEventListener('loadedmetadata', seek, {once: true});
        })"""
    )
    assert state == pytest.approx(1.5, abs=0.05)
    group.get_by_role("button", name="Rear").click()
    expect(group.get_by_role("button", name="Rear")).to_have_attribute("aria-pressed", "true")
    expect(front).to_have_attribute("aria-pressed", "false")
    # The address follows the camera: a reload or a bookmark opens the same one.
    expect(page).to_have_url(re.compile(r"\?angle=back$"))
    page.wait_for_function(
        "v => v.currentSrc.includes('angle-back') && v.readyState >= 1 && !v.seeking",
        arg=video.element_handle(),
    )
    after = video.evaluate(WAIT_READY)
    assert after["time"] == pytest.approx(1.5, abs=0.1)
    assert after["paused"]

    # By keyboard: the arrow moves to the next camera, at the same moment.
    group.get_by_role("button", name="Rear").focus()
    page.keyboard.press("ArrowRight")
    left = group.get_by_role("button", name="Left side, facing back")
    expect(left).to_have_attribute("aria-pressed", "true")
    expect(left).to_be_focused()
    page.wait_for_function(
        "v => v.currentSrc.includes('angle-left_repeater') && v.readyState >= 1 && !v.seeking",
        arg=video.element_handle(),
    )
    assert video.evaluate(WAIT_READY)["time"] == pytest.approx(1.5, abs=0.1)

    # Playing, a switch keeps playing from where it was.
    before = video.evaluate(
        "v => v.play().then(() => new Promise(r => setTimeout(() => { v.pause(); r(v.currentTime); }, 300)))"
    )
    video.evaluate("v => v.play()")
    group.get_by_role("button", name="Front").click()
    page.wait_for_function(
        "v => !v.currentSrc.includes('angle-') && !v.paused && v.currentTime > 0",
        arg=video.element_handle(),
    )
    now = video.evaluate("v => v.currentTime")
    assert now >= before - 0.1
    assert now < before + 1.5  # went on from the moment, not from the start or the end


def test_without_javascript_each_angle_is_a_link(browser, live_server, event_clip):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}{event_clip.get_absolute_url()}")
    page.get_by_role("link", name="Rear").click()
    expect(page).to_have_url(f"{live_server.url}{event_clip.get_absolute_url()}?angle=back")
    assert "angle-back" in page.locator("video source").last.get_attribute("src")
    expect(page.get_by_role("link", name="Rear")).to_have_attribute("aria-current", "true")
    context.close()


def test_axe_and_the_validator_find_nothing_on_an_event_page(
    browser, client, live_server, event_clip, tmp_path
):
    import json
    import subprocess
    from pathlib import Path

    from pytest_playwright_axe import Axe

    context = browser.new_context(bypass_csp=True)  # axe evaluates strings
    page = context.new_page()
    for query in ("", "?angle=back"):
        page.goto(f"{live_server.url}{event_clip.get_absolute_url()}{query}")
        expect(page.locator("[data-angle][aria-pressed=true]")).to_have_count(1)
        results = Axe(use_minified_file=True).run(
            page,
            options={
                "runOnly": {
                    "type": "tag",
                    "values": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa", "best-practice"],
                },
                "resultTypes": ["violations"],
            },
            html_report_generated=False,
            json_report_generated=False,
        )
        assert [v["id"] for v in results["violations"]] == [], query
    context.close()

    vnu = Path(__file__).resolve().parents[2] / "node_modules/vnu-jar/build/dist/vnu.jar"
    target = tmp_path / "event.html"
    target.write_bytes(client.get(event_clip.get_absolute_url() + "?angle=back").content)
    result = subprocess.run(
        ["java", "-jar", str(vnu), "--errors-only", "--format", "json", str(target)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    messages = json.loads(result.stderr or result.stdout)["messages"]
    assert [m["message"] for m in messages if m.get("type") == "error"] == []


def test_a_tap_switches_angle_on_a_phone(browser, live_server, event_clip):
    context = browser.new_context(
        has_touch=True, is_mobile=True, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.goto(f"{live_server.url}{event_clip.get_absolute_url()}")
    group = page.get_by_role("group", name="Camera")
    page.evaluate("window.stillThisPage = true")
    group.get_by_role("button", name="Right side, facing back").tap()
    expect(group.get_by_role("button", name="Right side, facing back")).to_have_attribute(
        "aria-pressed", "true"
    )
    url = f"{live_server.url}{event_clip.get_absolute_url()}?angle=right_repeater"
    expect(page).to_have_url(url)
    assert page.evaluate("window.stillThisPage")  # the address changed without a reload
    assert "angle-right_repeater" in page.locator("video").evaluate("v => v.src")
    box = group.get_by_role("button", name="Rear").bounding_box()
    assert box["height"] >= 44  # a finger's size
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_angles_stay_under_the_player_and_the_title_where_it_was(
    browser, live_server, event_clip, width
):
    """The camera chips belong to the player: on a wide screen the title keeps the right-hand
    column beside the video (as on a one-camera clip), on a phone it follows the chips."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}{event_clip.get_absolute_url()}")
    player = page.locator(".player").bounding_box()
    chips = page.get_by_role("group", name="Camera").bounding_box()
    title = page.get_by_role("heading", level=1).bounding_box()

    # The chips sit under the video, inside its column.
    assert chips["y"] >= player["y"] + player["height"] - 1
    assert chips["x"] >= player["x"] - 1
    assert chips["x"] + chips["width"] <= player["x"] + player["width"] + 1
    if width >= 1000:
        # Beside the player, level with its top: not pushed under the video by the chips.
        assert title["x"] >= player["x"] + player["width"]
        assert abs(title["y"] - player["y"]) < 40
    else:
        assert title["y"] >= chips["y"] + chips["height"]
    context.close()
