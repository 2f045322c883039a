"""In Chromium: the files picked on the owner form, each removable on its own, their sizes
said in the page's language, the drop zone's short name; axe once files are in."""

import re
import shutil

import pytest
from django.utils import translation
from playwright.sync_api import expect
from pytest_playwright_axe import Axe

from gallery.models import Clip
from gallery.synth import synthesize
from submissions import tus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# pytest-playwright-axe's WCAG 2.2 AA rule set and axe's best practices, violations only.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag21a", "wcag2aa", "wcag21aa", "wcag22a", "wcag22aa"]
        + ["best-practice"],
    },
    "resultTypes": ["violations"],
    "reporter": "no-passes",
}
DROP = "Drop your video here, or choose it on your phone or computer."
PROMISE = "Sending starts at once, while you fill in the rest."
HELP = "A video from your phone or camera, up to 10 minutes."


@pytest.fixture(autouse=True)
def no_uploads_left():
    shutil.rmtree(tus.root(), ignore_errors=True)
    yield
    shutil.rmtree(tus.root(), ignore_errors=True)


@pytest.fixture(scope="module")
def three_clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("picked")
    return [
        synthesize(folder / f"{name}.mp4", seconds=1, width=320, height=180, seed=seed)
        for seed, name in enumerate(("beach", "bridge", "city"), start=3)
    ]


def said_in(language, text, context=None):
    with translation.override(language):
        return translation.pgettext(context, text) if context else translation.gettext(text)


def axe_violations(page):
    results = Axe(use_minified_file=True).run(
        page, options=AXE_OPTIONS, html_report_generated=False, json_report_generated=False
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in results["violations"]
    ]


def fill_details(page):
    page.get_by_label("Title").fill("Three places")
    page.get_by_label("Weekend").check()
    page.get_by_label("First name").fill("Lucía")
    page.get_by_label("Country").select_option("ES")
    page.get_by_label("E-mail").fill("lucia@example.org")
    page.get_by_label("I filmed this clip").check()


def test_each_picked_file_has_its_own_remove_and_the_others_are_sent(
    browser, live_server, three_clips
):
    # axe's runner evaluates strings, which the site's CSP forbids.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/en/submit/")
    picker = page.get_by_label("Your clip")
    picker.set_input_files([str(path) for path in three_clips])
    expect(page.locator("[data-files] [data-state]")).to_have_text(["Received"] * 3)
    assert axe_violations(page) == []

    # One Remove a file, each named after its file, reached from the file field by Tab.
    for path in three_clips:
        expect(page.get_by_role("button", name=f"Remove {path.name}", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()  # nothing left to cancel
    picker.focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Remove beach.mp4", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Remove bridge.mp4", exact=True)).to_be_focused()
    page.keyboard.press("Enter")

    # Only that one goes: its line, its token, its file in the field; the others stay.
    expect(page.locator("[data-files] .upload__name")).to_have_text(
        [re.compile(r"^beach\.mp4, "), re.compile(r"^city\.mp4, ")]
    )
    expect(page.locator('input[name="upload_ticket"]')).to_have_count(2)
    assert picker.evaluate("i => [...i.files].map(f => f.name)") == ["beach.mp4", "city.mp4"]
    expect(page.locator("[data-upload-error]")).to_have_text("bridge.mp4 removed.")
    expect(page.get_by_role("button", name="Remove city.mp4", exact=True)).to_be_focused()
    assert axe_violations(page) == []

    fill_details(page)
    page.get_by_role("button", name="Send my clip").click()
    expect(page).to_have_url(f"{live_server.url}/en/submit/thanks/", timeout=30_000)
    sent = sorted(clip.original.read() for clip in Clip.objects.all())
    assert sent == sorted(three_clips[k].read_bytes() for k in (0, 2))
    context.close()


def test_removing_the_last_file_leaves_the_field_empty_and_focused(page, live_server, three_clips):
    page.goto(f"{live_server.url}/en/submit/")
    page.get_by_label("Your clip").set_input_files(str(three_clips[0]))
    expect(page.locator("[data-files] [data-state]")).to_have_text(["Received"])
    page.get_by_role("button", name="Remove beach.mp4").click()
    expect(page.locator("[data-files] li")).to_have_count(0)
    expect(page.locator('input[name="upload_ticket"]')).to_have_count(0)
    expect(page.locator("[data-upload-error]")).to_have_text(
        "File removed. Choose another video to send."
    )
    expect(page.get_by_label("Your clip")).to_be_focused()


def test_without_javascript_each_kept_file_is_unticked_on_its_own(
    browser, live_server, three_clips
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/en/submit/")
    fill_details(page)
    page.get_by_label("E-mail").fill("not-an-address")
    page.get_by_label("Your clip").set_input_files([str(path) for path in three_clips])
    page.get_by_role("button", name="Send my clip").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    # Sent back with an error: each file kept is a box of its own, named after its file.
    expect(page.locator("[data-file-kept]")).to_have_count(3)
    page.get_by_role("checkbox", name=re.compile(r"bridge\.mp4")).uncheck()
    page.get_by_label("E-mail").fill("lucia@example.org")
    page.get_by_role("button", name="Send my clip").click()
    expect(page).to_have_url(f"{live_server.url}/en/submit/thanks/", timeout=30_000)
    sent = sorted(clip.original.read() for clip in Clip.objects.all())
    assert sent == sorted(three_clips[k].read_bytes() for k in (0, 2))
    context.close()


@pytest.mark.parametrize("language", ["fr", "en", "de", "nl", "it", "es"])
def test_a_size_of_one_byte_is_said_in_the_singular(page, live_server, tmp_path, language):
    # One byte 0x47 is how an MPEG-TS starts: the page takes each for a video and lists it.
    one, two = tmp_path / "one.ts", tmp_path / "two.ts"
    one.write_bytes(b"G")
    two.write_bytes(b"GG")
    page.goto(f"{live_server.url}/{language}/submit/")
    page.locator('input[type="file"]').set_input_files([str(one), str(two)])
    byte = said_in(language, "byte", context="file size")
    bytes_ = said_in(language, "bytes", context="file size")
    assert byte != bytes_
    expect(page.locator("[data-files] .upload__name")).to_have_text(
        [f"one.ts, 1\xa0{byte}", f"two.ts, 2\xa0{bytes_}"]
    )


@pytest.mark.parametrize("javascript", [True, False])
def test_the_file_field_has_a_short_name_and_the_zone_says_the_rest_as_its_description(
    browser, live_server, javascript
):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{live_server.url}/en/submit/")
    picker = page.locator('input[type="file"]')
    expect(picker).to_have_accessible_name("Your clip")
    description = DROP + (f" {PROMISE}" if javascript else "") + f" {HELP}"
    expect(picker).to_have_accessible_description(description)
    # Sent with an error, the error is part of the description too.
    page.get_by_role("button", name="Send my clip").click()
    if javascript:
        expect(page.locator("[data-error-summary]")).to_be_visible()
    else:
        expect(picker).to_have_accessible_description(
            re.compile(re.escape(description) + r" Choose the video file to send\.")
        )
    expect(picker).to_have_accessible_name("Your clip")
    context.close()


def test_files_kept_after_the_server_refused_the_form_pass_axe(browser, live_server, three_clips):
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/en/submit/")
    fill_details(page)
    page.get_by_label("E-mail").fill("not-an-address")
    page.get_by_label("Your clip").set_input_files([str(path) for path in three_clips[:2]])
    expect(page.locator("[data-files] [data-state]")).to_have_text(["Received"] * 2)
    # The server's own checks, not the browser's: the page comes back with the files kept.
    page.locator("[data-checked-form]").evaluate("f => f.removeAttribute('data-checked-form')")
    page.get_by_role("button", name="Send my clip").click()
    expect(page.locator("[data-file-kept]")).to_have_count(2)
    assert axe_violations(page) == []
    context.close()


@pytest.mark.parametrize(("scheme", "language"), [("light", "fr"), ("dark", "de")])
def test_the_form_passes_axe_while_files_are_sent_and_once_they_are_in(
    browser, live_server, three_clips, scheme, language
):
    context = browser.new_context(
        bypass_csp=True, color_scheme=scheme, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/{language}/submit/")
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 20_000},
    )
    page.locator('input[type="file"]').set_input_files([str(path) for path in three_clips])
    expect(page.locator("[data-progress] progress")).to_be_visible()
    assert axe_violations(page) == []
    session.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    received = said_in(language, "Received", context="a file, uploaded")
    expect(page.locator("[data-files] [data-state]")).to_have_text([received] * 3, timeout=30_000)
    assert axe_violations(page) == []
    # Each Remove is named in the page's language after its file.
    named = said_in(language, "Remove %%(name)s", context="an uploaded file")
    remove = named.replace("%%", "%") % {"name": "city.mp4"}
    page.get_by_role("button", name=remove, exact=True).click()
    expect(page.locator("[data-files] li")).to_have_count(2)
    assert axe_violations(page) == []
    context.close()
