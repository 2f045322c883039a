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


def focused(page):
    return page.evaluate(
        "document.activeElement.id || document.activeElement.className || document.activeElement.tagName"
    )


def test_the_browser_checks_the_form_first_in_the_pages_language(page, live_server, clip_file):
    posts = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    page.goto(f"{live_server.url}/fr/submit/")
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_hidden()
    page.get_by_label("E-mail").fill("camille@")
    page.get_by_role("button", name="Envoyer mon clip").click()

    # Nothing was sent; a summary at the top lists each problem and has the focus.
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("Il y a un problème")
    assert focused(page) == "error-summary"
    links = summary.get_by_role("link")
    expect(links).to_have_text([
        "Choisissez le fichier vidéo à envoyer.",
        "Donnez un titre à votre clip.",
        "Choisissez au moins un thème.",
        "Indiquez votre prénom.",
        "Choisissez votre pays.",
        "Indiquez une adresse e-mail de la forme nom@example.org.",
        "Veuillez accepter les conditions de licence pour envoyer votre clip.",
    ])  # fmt: skip
    # Each message also stands beside its field, which a screen reader hears it with.
    title = page.get_by_label("Titre")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(title).to_have_accessible_description(re.compile("Donnez un titre à votre clip."))
    # A link in the summary takes the focus to its field.
    links.filter(has_text="prénom").click()
    assert focused(page) == "id_credit_name"
    assert posts == []

    # Put right, the form goes: its messages go away as each field is fixed.
    title.fill("Coucher de soleil")
    expect(page.locator("#id_title_error")).to_have_count(0)
    page.get_by_label("Week-end").check()
    page.get_by_label("Prénom").fill("Camille")
    page.get_by_label("Pays").select_option("FR")
    page.get_by_label("E-mail").fill("camille@example.org")
    page.get_by_label("J’ai filmé ce clip", exact=False).check()
    page.get_by_label("Votre clip").set_input_files(str(clip_file))
    page.get_by_role("button", name="Envoyer mon clip").click()
    expect(page).to_have_url(f"{live_server.url}/fr/submit/thanks/", timeout=30_000)
    assert Clip.objects.get().title == "Coucher de soleil"


def test_the_servers_summary_is_focused_with_javascript(page, live_server, tmp_path):
    fake = tmp_path / "holiday.mp4"
    fake.write_text("not a video at all")
    page.goto(f"{live_server.url}/en/submit/")
    fill_form(page, fake)
    page.get_by_role("button", name="Send my clip").click()
    summary = page.locator("[data-error-summary]")
    expect(summary.get_by_role("link")).to_have_text(["This file is not a video we can read."])
    expect(summary).to_be_focused()


def test_without_javascript_the_server_summary_shows_and_has_the_focus(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/de/submit/")
    page.get_by_label("Titel").fill("Sonnenuntergang")
    page.get_by_label("E-Mail").fill("nicht-eine-adresse")
    page.get_by_role("button", name="Meinen Clip senden").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link").first).to_have_attribute("href", "#id_video")
    expect(summary).to_contain_text("Geben Sie eine E-Mail-Adresse wie name@example.org ein.")
    expect(summary).not_to_contain_text("Geben Sie Ihrem Clip einen Titel.")  # it was given
    expect(page.get_by_label("Titel")).to_have_value("Sonnenuntergang")
    context.close()


def test_themes_are_pills_that_work_from_the_keyboard(page, live_server):
    page.goto(f"{live_server.url}/en/submit/")
    weekend = page.get_by_role("checkbox", name="Weekend")
    pill = page.locator("label.chip", has=weekend)
    unchecked = pill.locator("> span").evaluate("e => getComputedStyle(e).backgroundColor")
    assert pill.locator("> span").evaluate("e => getComputedStyle(e).borderRadius") == "999px"
    weekend.focus()
    page.keyboard.press("Space")
    expect(weekend).to_be_checked()
    checked = pill.locator("> span").evaluate("e => getComputedStyle(e).backgroundColor")
    assert checked != unchecked  # the chosen pill is filled, as in the gallery
    page.keyboard.press("Tab")
    expect(page.get_by_role("checkbox", name="Design")).to_be_focused()


@pytest.mark.parametrize(("width", "columns"), [(390, 1), (1280, 2)])
def test_the_form_uses_the_width_on_desktop_and_one_column_on_phones(
    browser, live_server, width, columns
):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/en/submit/")
    title = page.get_by_label("Title").bounding_box()
    themes = page.get_by_role("group", name="Themes").bounding_box()
    name = page.get_by_label("First name").bounding_box()
    country = page.get_by_label("Country").bounding_box()
    side_by_side = themes["y"] < title["y"] + title["height"] and themes["x"] > title["x"]
    assert side_by_side == (columns == 2)
    assert (abs(name["y"] - country["y"]) < 2) == (columns == 2)
    steps = page.locator(".step__title").all_inner_texts()
    assert steps == ["Your clip", "About the clip", "About you", "Your consent"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    assert not [
        t for t in page.locator("label, legend").all_inner_texts() if t.strip().endswith(":")
    ]
    context.close()
