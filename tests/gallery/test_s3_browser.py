import os
import time
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from gallery import processing
from gallery.models import Clip
from submissions import direct

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_direct_upload_process_publish_play_and_seek_from_s3(
    page, live_server, s3_media, sample_video
):
    requests_to_site = []
    page.on(
        "request",
        lambda r: requests_to_site.append(r) if r.url.startswith(live_server.url) else None,
    )

    page.goto(f"{live_server.url}/en/submit/")
    page.get_by_label("Title").fill("Ferry to Corsica")
    page.get_by_label("Weekend").check()
    page.get_by_label("First name").fill("Émile")
    page.get_by_label("Country").select_option("BE")
    page.get_by_label("E-mail").fill("emile@example.org")
    page.get_by_label("I filmed this clip").check()
    page.get_by_label("Your clip").set_input_files(str(sample_video))
    page.get_by_role("button", name="Send my clip").click()
    expect(page).to_have_url(f"{live_server.url}/en/submit/thanks/", timeout=30_000)

    # The video went to the bucket, not through the site.
    size = sample_video.stat().st_size
    site_posts = [r for r in requests_to_site if r.method == "POST"]
    assert all(len(r.post_data_buffer or b"") < size / 2 for r in site_posts)

    clip = Clip.objects.get()
    assert clip.original.name.startswith("uploads/")
    processing.process(clip)
    clip.refresh_from_db()
    clip.approve(by=None)

    page.goto(f"{live_server.url}{clip.get_absolute_url()}")
    video = page.locator("video")
    assert video.evaluate("v => v.currentSrc").startswith(s3_media.endpoint)
    state = video.evaluate(
        """v => new Promise((resolve, reject) => {
            v.muted = true;
            v.addEventListener('error', () => reject(new Error('media error ' + (v.error && v.error.code))));
            v.play().then(() => {
                v.pause();
                v.addEventListener('seeked', () => resolve({
                    time: v.currentTime, duration: v.duration,
                    seekableEnd: v.seekable.length ? v.seekable.end(0) : 0,
                }), {once: true});
                v.currentTime = v.duration / 2;
            }, reject);
        })"""
    )
    assert state["time"] == pytest.approx(state["duration"] / 2, abs=0.1)
    assert state["seekableEnd"] == pytest.approx(state["duration"], abs=0.3)


def throttle(page, *, offline=False, bytes_per_second=2_000_000):
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {
            "offline": offline,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )
    return session


def cut(session, *, offline, bytes_per_second=2_000_000):
    session.send(
        "Network.emulateNetworkConditions",
        {
            "offline": offline,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


@pytest.fixture
def s3_parts(monkeypatch, tmp_path):
    """Parts of 5 MiB (the least S3 takes) and a file of three of them."""
    monkeypatch.setattr(direct, "part_size", lambda: 5 * 1024 * 1024)
    path = tmp_path / "long-drive.mp4"
    # Starts with an MP4's first box: the page checks that a picked file is a video.
    path.write_bytes(
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + os.urandom(11 * 1024 * 1024)
    )
    return path


def part_puts(page, s3_media):
    """(part number, "ok" | "failed") of every part sent to the bucket."""
    sent = []

    def seen(request, outcome):
        if request.method == "PUT" and request.url.startswith(s3_media.endpoint):
            number = int(parse_qs(urlparse(request.url).query)["partNumber"][0])
            if outcome == "finished" and request.response().status != 200:
                outcome = "failed"
            sent.append((number, outcome))

    page.on("requestfinished", lambda r: seen(r, "finished"))
    page.on("requestfailed", lambda r: seen(r, "failed"))
    return sent


def test_a_direct_upload_cut_by_the_network_resumes_from_its_parts(
    page, live_server, s3_media, s3_parts
):
    sent = part_puts(page, s3_media)
    page.goto(f"{live_server.url}/en/submit/")
    expect(page.locator("[data-progress]")).to_be_hidden()
    session = throttle(page)
    page.get_by_label("Your clip").set_input_files(str(s3_parts))
    expect(page.locator("[data-progress]")).to_be_visible()
    # Part 1 is in, the next is on its way: cut the network.
    deadline = time.monotonic() + 30
    while (1, "finished") not in sent and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    page.wait_for_timeout(800)
    cut(session, offline=True)
    page.wait_for_timeout(2000)
    cut(session, offline=False, bytes_per_second=-1)
    expect(page.locator("[data-state]")).to_have_text("Received", timeout=60_000)

    assert any(outcome == "failed" for _, outcome in sent), sent  # the cut broke a part
    finished = [number for number, outcome in sent if outcome == "finished"]
    assert sorted(finished) == [1, 2, 3]  # each part arrived once; part 1 was not sent again
    client = s3_media.client()
    objects = client.list_objects_v2(Bucket=s3_media.private_bucket)["Contents"]
    assert [o["Size"] for o in objects] == [s3_parts.stat().st_size]


def test_a_direct_upload_resumes_after_a_reload(page, live_server, s3_media, s3_parts):
    sent = part_puts(page, s3_media)
    page.goto(f"{live_server.url}/en/submit/")
    throttle(page)
    page.get_by_label("Your clip").set_input_files(str(s3_parts))
    deadline = time.monotonic() + 30
    while (1, "finished") not in sent and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    page.reload()
    page.get_by_label("Your clip").set_input_files(str(s3_parts))
    expect(page.locator("[data-state]")).to_have_text("Received", timeout=60_000)
    finished = [number for number, outcome in sent if outcome == "finished"]
    assert sorted(finished) == [1, 2, 3]  # the reload did not start over


def test_cancel_aborts_the_direct_upload(page, live_server, s3_media, s3_parts):
    client = s3_media.client()
    bucket = s3_media.private_bucket

    def unfinished():
        return len(client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))

    before = unfinished()
    sent = part_puts(page, s3_media)
    page.goto(f"{live_server.url}/en/submit/")
    throttle(page)
    page.get_by_label("Your clip").set_input_files(str(s3_parts))
    deadline = time.monotonic() + 30
    while (1, "finished") not in sent and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert unfinished() == before + 1
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("Sending cancelled. Your clip was not sent.")).to_be_visible()
    expect(page.locator("[data-progress]")).to_be_hidden()
    deadline = time.monotonic() + 10
    while unfinished() != before and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert unfinished() == before  # the parts sent are gone with it
