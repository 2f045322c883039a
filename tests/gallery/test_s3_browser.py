import pytest
from playwright.sync_api import expect

from gallery import processing
from gallery.models import Clip

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
