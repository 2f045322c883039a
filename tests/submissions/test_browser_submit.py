import re
import time

import pytest
from playwright.sync_api import expect

from gallery.models import Clip
from gallery.synth import synthesize

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    # Big enough that a throttled upload takes a few seconds.
    return synthesize(
        tmp_path_factory.mktemp("upload") / "sunset.mp4", seconds=8, width=640, height=360, seed=5
    )


def slow_upload(page, bytes_per_second):
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


def fill_form(page, clip_file):
    page.get_by_label("Title").fill("Sunset on the coast")
    page.get_by_label("Weekend").check()
    page.get_by_label("First name").fill("Lucía")
    page.get_by_label("Country").select_option("ES")
    page.get_by_label("E-mail").fill("lucia@example.org")
    page.get_by_label("I filmed this clip").check()
    page.get_by_label("Your clip").set_input_files(str(clip_file))


def test_submit_shows_progress_and_lands_on_thanks(page, live_server, clip_file):
    page.goto(f"{live_server.url}/en/submit/")
    # Nothing is uploading yet: no progress bar, no Cancel button.
    expect(page.locator("[data-progress]")).to_be_hidden()
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    fill_form(page, clip_file)
    slow_upload(page, clip_file.stat().st_size // 3)
    page.get_by_role("button", name="Send my clip").click()

    progress = page.locator("[data-progress]")
    expect(progress).to_be_visible()
    expect(page.locator("[data-progress-text]")).to_have_text(
        re.compile(r"Sending: \d+%, about .+ left")
    )
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()

    expect(page).to_have_url(f"{live_server.url}/en/submit/thanks/", timeout=30_000)
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    clip = Clip.objects.get()
    assert clip.title == "Sunset on the coast" and clip.status == Clip.Status.PROCESSING
    page.get_by_role("link", name="Follow my clip").click()
    expect(page.get_by_text("Sunset on the coast")).to_be_visible()


def test_cancel_stops_the_upload_and_sends_nothing(page, live_server, clip_file):
    ends = []  # how the upload's POST ended: "failed" (aborted) or "finished"
    page.on("requestfailed", lambda r: r.method == "POST" and ends.append(("failed", r.failure)))
    page.on("requestfinished", lambda r: r.method == "POST" and ends.append(("finished", r.url)))
    page.goto(f"{live_server.url}/en/submit/")
    fill_form(page, clip_file)
    slow_upload(page, clip_file.stat().st_size // 10)
    page.get_by_role("button", name="Send my clip").click()
    expect(page.locator("[data-progress]")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("Sending cancelled. Your clip was not sent.")).to_be_visible()
    expect(page.get_by_role("button", name="Send my clip")).to_be_enabled()
    # The upload itself must end aborted; uncancelled it would finish within about 10 s.
    deadline = time.monotonic() + 30
    while not ends and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert [end for end, _ in ends] == ["failed"], ends
    assert Clip.objects.count() == 0


def test_errors_come_back_beside_the_field(page, live_server, tmp_path):
    fake = tmp_path / "holiday.mp4"
    fake.write_text("not a video at all")
    page.goto(f"{live_server.url}/en/submit/")
    fill_form(page, fake)
    page.get_by_role("button", name="Send my clip").click()
    expect(page.locator(".field--error .errorlist")).to_have_text(
        "This file is not a video we can read."
    )
    assert Clip.objects.count() == 0
