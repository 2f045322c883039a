"""In Chromium: the submission form says at once what it cannot take, and shows what it will
make of the files picked."""

import re

import pytest
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from playwright.sync_api import expect

from gallery.models import Clip
from gallery.synth import synthesize
from submissions import tus
from submissions.forms import SubmissionForm
from submissions.models import Submission
from tests.factories import dashcam_event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CAMERAS = ("front", "back", "left_repeater", "right_repeater")
WORDS = ("front", "back", "left", "right")  # how the list names them


def said_in(language, text, context=None):
    """`text` as the catalogue says it in `language` (checked to be translated)."""
    with translation.override(language):
        said = translation.pgettext(context, text) if context else translation.gettext(text)
    assert language == "en" or said != text, f"no {language} translation of {text!r}"
    return said


def send_the_rest(page, language):
    """Fill in every field but the video, and send the form."""
    page.locator('[name="title"]').fill("Honk at the roundabout")
    page.locator('[name="themes"]').first.check()
    page.locator('[name="credit_name"]').fill("Lucía")
    page.locator('[name="credit_country"]').select_option("ES")
    page.locator('[name="email"]').fill("lucia@example.org")
    page.locator('[name="consent"]').check()
    page.get_by_role("button", name=said_in(language, "Send my clip")).click()


def test_a_pasted_title_longer_than_it_may_be_is_kept_and_counted(page, live_server):
    page.goto(f"{live_server.url}/en/submit/")
    title = page.get_by_label("Title")
    expect(page.locator("#id_title_count")).to_have_text("0 of 120 characters")
    title.focus()
    page.keyboard.insert_text("x" * 1600)  # what a paste does
    assert len(title.input_value()) == 1600  # nothing cut without a word
    message = "At most 120 characters, this one has 1600: please shorten it."
    expect(page.locator("#id_title_error")).to_have_text(message)
    expect(page.locator("#id_title_count")).to_have_text("1600 of 120 characters")
    expect(title).to_have_attribute("aria-invalid", "true")
    assert "id_title_count" in title.get_attribute("aria-describedby")

    # Sending stops in the browser, with the same message in the summary.
    page.get_by_role("button", name="Send my clip").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name=message)).to_have_count(1)

    title.fill("Sunset on the coast")
    expect(page.locator("#id_title_count")).to_have_text("19 of 120 characters")
    expect(page.locator("#id_title_error")).to_have_count(0)
    expect(title).not_to_have_attribute("aria-invalid", "true")


def test_back_to_the_form_counts_the_texts_the_browser_put_back(page, live_server):
    page.goto(f"{live_server.url}/en/submit/")
    page.get_by_label("Title").fill("Sunset on the coast")
    expect(page.locator("#id_title_count")).to_have_text("19 of 120 characters")
    page.goto(f"{live_server.url}/en/")
    page.go_back()
    expect(page.get_by_label("Title")).to_have_value("Sunset on the coast")
    expect(page.locator("#id_title_count")).to_have_text("19 of 120 characters")


def fill_details(page):
    page.get_by_label("Title").fill("Honk at the roundabout")
    page.get_by_label("Weekend").check()
    page.get_by_label("First name").fill("Lucía")
    page.get_by_label("Country").select_option("ES")
    page.get_by_label("E-mail").fill("lucia@example.org")
    page.get_by_label("I filmed this clip").check()


@pytest.mark.parametrize("language", ["en", "de"])
def test_an_events_camera_files_are_listed_as_the_one_clip_they_make(
    page, live_server, tmp_path, language
):
    files = dashcam_event(tmp_path, CAMERAS, seconds=1)
    other = synthesize(tmp_path / "sunset.mp4", seconds=1, width=320, height=180, seed=3)
    page.goto(f"{live_server.url}/{language}/submit/")
    # Picked in any order, with another clip among them.
    picked = [tmp_path / name for name in reversed(list(files)) if name.endswith(".mp4")]
    page.locator('input[type="file"]').set_input_files([picked[0], other, *picked[1:]])
    items = page.locator("[data-files] > li")
    expect(items).to_have_count(2)
    event = items.filter(has=page.locator(".upload__cameras"))
    names = ", ".join(said_in(language, word, context="camera") for word in WORDS)
    expect(event.locator(".upload__name")).to_have_text(
        # A template's string: its % doubled in the catalogue.
        said_in(language, "One event, %%(count)s cameras: %%(cameras)s").replace("%%", "%")
        % {"count": 4, "cameras": names}
    )
    expect(event.locator(".upload__cameras li")).to_have_count(4)
    received = said_in(language, "Received", context="a file, uploaded")
    expect(page.locator("[data-files] [data-state]")).to_have_text([received] * 5)
    if language == "en":
        fill_details(page)
        page.get_by_role("button", name="Send my clip").click()
        expect(page).to_have_url(re.compile(r"/en/submit/thanks/"))
        assert Submission.objects.count() == 1
        assert Clip.objects.count() == 2  # the event, and the other clip


def test_back_after_sending_then_sending_again_makes_no_second_submission(
    page, live_server, tmp_path
):
    clip = synthesize(tmp_path / "sunset.mp4", seconds=1, width=320, height=180, seed=4)
    page.goto(f"{live_server.url}/en/submit/")
    page.locator('input[type="file"]').set_input_files(clip)
    expect(page.locator("[data-files] [data-state]")).to_have_text(["Received"])
    fill_details(page)
    page.get_by_role("button", name="Send my clip").click()
    expect(page).to_have_url(re.compile(r"/en/submit/thanks/"))
    assert Submission.objects.count() == 1

    page.go_back()
    expect(page).to_have_url(re.compile(r"/en/submit/"))
    # The browser put the file back: it is listed and sent again, under a new token.
    expect(page.locator("[data-files] [data-state]")).to_have_text(["Received"])
    fill_details(page)
    page.get_by_role("button", name="Send my clip").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_contain_text("This file was already sent: its clip is with our team.")
    expect(summary).to_be_focused()
    assert Submission.objects.count() == 1 and Clip.objects.count() == 1
    # The way on: the page of the clip already sent, as the thanks page gave it.
    summary.get_by_role("link", name="its page").click()
    expect(page).to_have_url(live_server.url + Submission.objects.get().get_status_url())


@pytest.mark.parametrize("language", ["en", "nl"])
def test_a_file_that_is_no_video_is_refused_when_picked(page, live_server, tmp_path, language):
    notes = tmp_path / "notes.mp4"  # named and typed as a video, holding text
    notes.write_text("Shopping list: milk, bread, a charging cable.")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(200))
    before = set(tus.root().glob("*.part"))
    page.goto(f"{live_server.url}/{language}/submit/")
    problem = page.locator("[data-upload-error]")
    for fake in (notes, photo):
        page.locator('input[type="file"]').set_input_files(fake)
        message = said_in(
            language, "%%(name)s is not a video. Please choose a video file."
        ).replace("%%(name)s", fake.name)
        expect(problem).to_have_text(message)
        expect(problem).to_have_attribute("role", "alert")
        expect(page.locator("[data-files] li")).to_have_count(0)  # nothing is sent
        expect(page.locator("[data-progress]")).to_be_hidden()
        assert page.locator('input[type="file"]').evaluate("i => i.files.length") == 0
    assert set(tus.root().glob("*.part")) == before

    # Sent all the same: the summary at the top says why, as the field does, once.
    send_the_rest(page, language)
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.locator("li")).to_have_text([message])
    expect(summary.get_by_role("link", name=message)).to_have_attribute("href", "#id_video")
    field = page.locator("[data-upload-field]")
    expect(field.get_by_text(message, exact=True).locator("visible=true")).to_have_count(1)
    assert said_in(language, "Choose the video file to send.") not in field.inner_text()
    assert Submission.objects.count() == 0

    # A real video is taken at once, as before.
    clip = synthesize(tmp_path / "sunset.mp4", seconds=1, width=320, height=180, seed=4)
    page.locator('input[type="file"]').set_input_files(clip)
    expect(problem).to_be_hidden()
    expect(page.locator("#id_video_error")).to_have_count(0)
    received = said_in(language, "Received", context="a file, uploaded")
    expect(page.locator("[data-files] [data-state]")).to_have_text([received])


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_file_too_large_is_refused_and_left_out_when_picked(
    page, live_server, tmp_path, settings, language
):
    settings.MAX_UPLOAD_BYTES = 256 * 1024  # the page's cap comes from the setting
    big = tmp_path / "long-drive.mp4"
    # An MP4's first box: the page's check takes it for a video, only its size is refused.
    big.write_bytes(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(300 * 1024))
    before = set(tus.root().glob("*.part"))
    page.goto(f"{live_server.url}/{language}/submit/")
    file_input = page.locator('input[type="file"]')
    file_input.set_input_files(big)
    # Named, with the cap in the page's language: the words the server uses for it.
    with translation.override(language):
        message = str(SubmissionForm.too_large_message(big.name))
    cap = {"en": "256.0\xa0KB", "es": "256,0\xa0KB"}[language]
    assert message.startswith("long-drive.mp4 ") and cap in message
    problem = page.locator("[data-upload-error]")
    expect(problem).to_have_text(message)
    expect(problem).to_have_attribute("role", "alert")
    # Cleared as a file that is no video is: the form will not send it either.
    assert file_input.evaluate("i => i.files.length") == 0
    expect(page.locator("[data-files] li")).to_have_count(0)
    expect(page.locator("[data-progress]")).to_be_hidden()

    # Sent all the same: the summary names the same reason, and nothing reaches the site.
    send_the_rest(page, language)
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name=message)).to_have_attribute("href", "#id_video")
    assert Submission.objects.count() == 0
    assert set(tus.root().glob("*.part")) == before

    # A video within the cap is taken at once.
    clip = synthesize(tmp_path / "sunset.mp4", seconds=1, width=320, height=180, seed=4)
    assert clip.stat().st_size < settings.MAX_UPLOAD_BYTES
    file_input.set_input_files(clip)
    expect(problem).to_be_hidden()
    received = said_in(language, "Received", context="a file, uploaded")
    expect(page.locator("[data-files] [data-state]")).to_have_text([received])


def test_a_finished_upload_shows_its_size_and_state_in_french_once_then_can_be_removed(
    page, live_server, tmp_path
):
    clip = synthesize(tmp_path / "t.mp4", seconds=1, width=320, height=180, seed=4)
    page.goto(f"{live_server.url}/fr/submit/")
    page.locator('input[type="file"]').set_input_files(clip)
    received = said_in("fr", "Received", context="a file, uploaded")
    expect(page.locator("[data-files] [data-state]")).to_have_text([received])
    # The size as the server writes it in French (Django's filesizeformat): "22,5 Kio", not
    # "22.5 KB".
    with translation.override("fr"):
        size = filesizeformat(clip.stat().st_size)
    assert re.fullmatch(r"\d+,\d\xa0Kio", size), size
    expect(page.locator(".upload__name")).to_have_text(f"t.mp4, {size}")
    # Said once: no second "Reçu (100%)" under a full bar, and nothing left to cancel.
    field = page.locator("[data-upload-field]")
    assert field.inner_text().count(received) == 1, field.inner_text()
    expect(page.locator("[data-progress] progress")).to_be_hidden()
    expect(page.get_by_role("button", name=said_in("fr", "Cancel"))).to_have_count(0)
    remove = page.get_by_role("button", name=said_in("fr", "Remove", context="an uploaded file"))
    expect(remove).to_be_visible()
    expect(page.locator('input[name="upload_ticket"]')).to_have_count(1)

    # Removed: the file, its token and the button go; another file can be picked.
    remove.click()
    expect(page.locator("[data-files] li")).to_have_count(0)
    expect(page.locator('input[name="upload_ticket"]')).to_have_count(0)
    expect(page.locator("[data-progress]")).to_be_hidden()
    expect(page.locator("[data-upload-error]")).to_have_text(
        said_in("fr", "File removed. Choose another video to send.")
    )
    expect(page.locator('input[type="file"]')).to_be_focused()
    assert page.locator('input[type="file"]').evaluate("i => i.files.length") == 0
    # Picked again, it is sent again, with Cancel back while it goes.
    page.locator('input[type="file"]').set_input_files(clip)
    expect(page.locator("[data-files] [data-state]")).to_have_text([received])
    expect(remove).to_be_visible()


# The text of an element's shown parts (a visually hidden label is 1 px wide).
SHOWN_TEXT = """zone => {
    const walker = document.createTreeWalker(zone, NodeFilter.SHOW_TEXT);
    const parts = [];
    while (walker.nextNode()) {
        if (walker.currentNode.parentElement.getBoundingClientRect().width > 1) {
            parts.push(walker.currentNode.textContent.trim());
        }
    }
    return parts.join(" ");
}"""
DROP = "Drop your video here, or choose it on your phone or computer."
PROMISE = "Sending starts at once, while you fill in the rest."


@pytest.mark.parametrize("javascript", [True, False])
def test_the_drop_zone_says_what_to_do_apart_from_its_help_and_promises_only_what_holds(
    browser, live_server, javascript
):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{live_server.url}/fr/submit/")
    zone = page.locator("[data-drop-zone]")
    instruction = zone.locator(".upload__title")
    promise = zone.locator("[data-upload-promise]")
    expect(instruction).to_have_text(said_in("fr", DROP))
    # The step's heading is not shown again in the zone, yet the field keeps it as its name.
    heading = said_in("fr", "Your clip")
    shown = zone.evaluate(SHOWN_TEXT)
    assert heading not in shown and said_in("fr", DROP) in shown
    expect(page.get_by_label(heading)).to_have_attribute("type", "file")
    # Sending at once is promised only where the page's script sends at once.
    if javascript:
        expect(promise).to_have_text(said_in("fr", PROMISE))
        expect(promise).to_be_visible()
        # The promise is a line of its own below the instruction, in the help's lighter style.
        top, below = instruction.bounding_box(), promise.bounding_box()
        assert below["y"] >= top["y"] + top["height"] - 0.5
        weight = "e => Number(getComputedStyle(e).fontWeight)"
        assert promise.evaluate(weight) < instruction.evaluate(weight)
        assert promise.evaluate("e => getComputedStyle(e).fontSize") < instruction.evaluate(
            "e => getComputedStyle(e).fontSize"
        )
    else:
        expect(promise).to_be_hidden()
        assert said_in("fr", PROMISE) not in page.locator("[data-upload-field]").inner_text()
    context.close()
