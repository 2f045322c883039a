import re

import pytest
from playwright.sync_api import expect

from gallery.models import Clip
from tests.factories import make_clip

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def published(sample_video):
    return {
        "fast": make_clip(title="Fast lap", themes=["performance"], video=sample_video),
        "auto": make_clip(title="Hands off", themes=["autopilot"], video=sample_video),
        "design": make_clip(title="Glass roof", themes=["design"], video=sample_video),
    }


def test_filter_open_play_and_seek(page, live_server, published):
    page.goto(f"{live_server.url}/en/")
    expect(page.locator(".card")).to_have_count(3)

    page.get_by_label(re.compile(r"\bPerformance\b")).check()
    page.get_by_label(re.compile(r"\bAutopilot\b")).check()
    expect(page).to_have_url(re.compile(r"\?theme=performance&theme=autopilot$"))
    expect(page.locator(".card")).to_have_count(2)
    expect(page.locator(".card__title")).to_have_text(["Hands off", "Fast lap"], ignore_case=False)

    page.get_by_role("link", name="Fast lap").click()
    expect(page).to_have_url(re.compile(rf"/en/clips/{published['fast'].pk}-fast-lap/$"))
    video = page.locator("video")
    duration = video.evaluate(
        """v => new Promise((resolve, reject) => {
            v.muted = true;
            v.addEventListener('error', () => reject(new Error('media error ' + (v.error && v.error.code))));
            v.play().then(() => resolve(v.duration), reject);
        })"""
    )
    assert duration == pytest.approx(6, abs=0.3)
    played = video.evaluate(
        """v => new Promise(resolve => {
            const check = () => v.currentTime > 0.2 ? resolve(v.currentTime) : setTimeout(check, 50);
            check();
        })"""
    )
    assert played > 0.2

    middle = duration / 2
    state = video.evaluate(
        """(v, target) => new Promise(resolve => {
            v.pause();
            v.addEventListener('seeked', () => resolve({
                time: v.currentTime,
                seekableEnd: v.seekable.length ? v.seekable.end(0) : 0,
            }), {once: true});
            v.currentTime = target;
        })""",
        middle,
    )
    assert state["time"] == pytest.approx(middle, abs=0.1)
    assert state["seekableEnd"] == pytest.approx(duration, abs=0.3)


def test_without_javascript_the_form_still_filters(browser, live_server, published):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/fr/")
    page.get_by_label(re.compile(r"\bDesign\b")).check()
    page.get_by_role("button", name="Afficher les clips").click()
    expect(page).to_have_url(re.compile(r"/fr/\?theme=design$"))
    expect(page.locator(".card__title")).to_have_text(["Glass roof"])
    assert Clip.objects.published().count() == 3
    context.close()


def test_a_page_revalidated_by_the_browser_keeps_its_script_policy(page, live_server):
    """A reload revalidates the page (304): the stored page keeps the policy that names its
    own nonce, since a 304 carries none for the browser to merge in its place."""
    clip = make_clip(title="Kept policy")
    url = f"{live_server.url}{clip.get_absolute_url()}"
    answers = []
    page.on("response", lambda r: answers.append(r) if r.url == url else None)
    page.goto(url)
    page.reload()
    # Revalidated: the browser asked with the page's ETag and was answered 304 (which it
    # reports as the stored 200, with the 304's headers merged in).
    revalidation = answers[1].request.all_headers()
    assert revalidation["if-none-match"] == answers[0].all_headers()["etag"]
    assert answers[1].all_headers()["content-length"] == "0"
    nonce = page.evaluate("document.querySelector('script[nonce]').nonce")
    assert nonce
    page.evaluate(
        """nonce => {
            const script = document.createElement("script");
            script.nonce = nonce;
            script.textContent = "window.ranWithNonce = true";
            document.head.append(script);
        }""",
        nonce,
    )
    assert page.evaluate("window.ranWithNonce === true")
