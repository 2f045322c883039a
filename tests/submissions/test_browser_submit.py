import json
import os
import re
import shutil
import time

import pytest
from playwright.sync_api import expect

from gallery.models import Clip
from gallery.synth import synthesize
from submissions import tus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# How an MP4 file starts (its `ftyp` box): the page's check lets such a file through.
MP4_START = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    # Big enough that a throttled upload takes a few seconds.
    return synthesize(
        tmp_path_factory.mktemp("upload") / "sunset.mp4", seconds=8, width=640, height=360, seed=5
    )


@pytest.fixture
def big_file(tmp_path):
    """Bytes enough for a cut to land in the middle of a throttled upload."""
    path = tmp_path / "long-drive.mp4"
    # An MP4's first box, so that the page takes it for a video; the server will not.
    path.write_bytes(MP4_START + os.urandom(3 * 1024 * 1024))
    return path


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(tus, "CHUNK_BYTES", 128 * 1024)
    shutil.rmtree(tus.root())
    yield
    shutil.rmtree(tus.root(), ignore_errors=True)


@pytest.fixture
def slow_server(monkeypatch):
    """The server takes PATCH bodies at about 640 KB/s (the browser's own throttle would
    override the offline switch)."""
    append = tus.append

    def slow_append(partial, request, room):
        read = request.read

        def slowly(size=-1):
            time.sleep(0.05)
            return read(min(size, 32 * 1024))

        request.read = slowly
        return append(partial, request, room)

    monkeypatch.setattr(tus, "append", slow_append)


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


def partials():
    """The uploads the server holds: (offset, length, bytes received in all)."""
    found = []
    for info in tus.root().glob("*.json"):
        try:  # a cancel may remove an upload between its two files
            described = json.loads(info.read_text())
            offset = info.with_suffix(".part").stat().st_size
        except FileNotFoundError:
            continue
        found.append((offset, described["length"], described["received"]))
    return found


def wait_until(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def fill_details(page, *, first_name="Lucía"):
    page.get_by_label("Title").fill("Sunset on the coast")
    page.get_by_label("Weekend").check()
    page.get_by_label("First name").fill(first_name)
    page.get_by_label("Country").select_option("ES")
    page.get_by_label("E-mail").fill("lucia@example.org")
    page.get_by_label("I filmed this clip").check()


def test_picking_a_file_starts_the_upload_before_the_form_is_sent(page, live_server, clip_file):
    requests = []
    page.on("request", lambda r: requests.append((r.method, r.url, len(r.post_data_buffer or b""))))
    page.goto(f"{live_server.url}/en/submit/")
    # Nothing is uploading yet: no progress bar, no Cancel button.
    expect(page.locator("[data-progress]")).to_be_hidden()
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    slow_upload(page, clip_file.stat().st_size // 4)
    page.get_by_label("Your clip").set_input_files(str(clip_file))

    # Sending starts while the details are still empty.
    expect(page.locator("[data-progress]")).to_be_visible()
    expect(page.locator("[data-progress-text]")).to_have_text(
        re.compile(r"Sending: \d+%, about .+ left")
    )
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    wait_until(lambda: any(offset > 0 for offset, _, _ in partials()))
    assert not any(m == "POST" and u.endswith("/en/submit/") for m, u, _ in requests)
    # The picked clip is shown: its poster frame and duration, read in the browser.
    expect(page.locator("[data-poster]")).to_be_visible()
    expect(page.locator("[data-clip-duration]")).to_have_text("Duration: 0:08")

    fill_details(page)
    page.get_by_role("button", name="Send my clip").click()  # still sending: sent once in
    expect(page).to_have_url(f"{live_server.url}/en/submit/thanks/", timeout=30_000)
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    clip = Clip.objects.get()
    assert clip.title == "Sunset on the coast" and clip.status == Clip.Status.PROCESSING
    assert clip.original.read() == clip_file.read_bytes()
    # The form itself carried a token, not the file.
    form_posts = [size for m, u, size in requests if m == "POST" and u.endswith("/en/submit/")]
    assert form_posts and max(form_posts) < 10_000


def test_cancel_stops_the_upload_and_removes_it(page, live_server, big_file):
    page.goto(f"{live_server.url}/en/submit/")
    slow_upload(page, 200_000)
    page.get_by_label("Your clip").set_input_files(str(big_file))
    expect(page.locator("[data-progress]")).to_be_visible()
    wait_until(lambda: any(offset > 0 for offset, _, _ in partials()))
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("Sending cancelled. Your clip was not sent.")).to_be_visible()
    expect(page.locator("[data-progress]")).to_be_hidden()
    expect(page.get_by_role("button", name="Send my clip")).to_be_enabled()
    wait_until(lambda: partials() == [] and not list(tus.root().glob("*.part")))
    assert Clip.objects.count() == 0


def test_a_form_with_a_missing_field_keeps_the_file(page, live_server, clip_file):
    creations = []
    page.on(
        "request",
        lambda r: creations.append(r.url) if r.method == "POST" and "/submit/tus/" in r.url else 0,
    )
    # Only the server checks here (the page's own checks would stop the send first).
    page.route("**/js/submit-form*", lambda route: route.abort())
    page.goto(f"{live_server.url}/en/submit/")
    fill_details(page, first_name="")
    page.get_by_label("Your clip").set_input_files(str(clip_file))
    expect(page.locator("[data-state]")).to_have_text("Received")
    page.get_by_role("button", name="Send my clip").click()

    expect(page.locator("[data-error-summary]")).to_be_focused()
    expect(page.get_by_role("link", name="Enter your first name.")).to_be_visible()
    kept = page.get_by_label(re.compile(r"Kept: sunset\.mp4, \d"))
    expect(kept).to_be_checked()
    expect(page.locator("[data-progress]")).to_be_hidden()
    page.get_by_label("First name").fill("Lucía")
    page.get_by_role("button", name="Send my clip").click()
    expect(page).to_have_url(f"{live_server.url}/en/submit/thanks/", timeout=30_000)
    assert Clip.objects.get().original.read() == clip_file.read_bytes()
    assert len(creations) == 1  # uploaded once


def test_a_network_cut_mid_upload_resumes_without_starting_over(
    page, live_server, big_file, slow_server
):
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.method) if "/submit/tus/" in r.url else 0)
    size = big_file.stat().st_size
    page.goto(f"{live_server.url}/en/submit/")
    page.get_by_label("Your clip").set_input_files(str(big_file))
    wait_until(lambda: any(offset > size // 4 for offset, _, _ in partials()))
    page.context.set_offline(True)
    page.wait_for_timeout(1500)
    cut_at = partials()[0][0]
    assert cut_at < size
    page.context.set_offline(False)
    expect(page.locator("[data-state]")).to_have_text("Received", timeout=60_000)

    assert failed, "the cut did not break a request"
    [(offset, length, received)] = partials()  # one upload: not started over
    # Every byte arrived once: a restart or a resent chunk would count more.
    assert offset == length == size and received == size


def test_a_reload_mid_upload_resumes_when_the_file_is_picked_again(page, live_server, big_file):
    size = big_file.stat().st_size
    page.goto(f"{live_server.url}/en/submit/")
    slow_upload(page, 500_000)
    page.get_by_label("Your clip").set_input_files(str(big_file))
    wait_until(lambda: any(offset > size // 4 for offset, _, _ in partials()))
    page.reload()
    [(before, _, _)] = partials()
    assert before < size
    page.get_by_label("Your clip").set_input_files(str(big_file))
    expect(page.locator("[data-state]")).to_have_text("Received", timeout=60_000)
    [(offset, length, received)] = partials()
    assert offset == length == size and received == size


def test_a_file_over_the_cap_is_refused_before_sending(page, live_server, big_file, settings):
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    page.goto(f"{live_server.url}/en/submit/")
    page.get_by_label("Your clip").set_input_files(str(big_file))
    expect(page.get_by_text("long-drive.mp4 is too large: at most 1.0\xa0MB.")).to_be_visible()
    expect(page.locator("[data-progress]")).to_be_hidden()
    assert partials() == []


def test_errors_come_back_beside_the_field(page, live_server, tmp_path):
    fake = tmp_path / "holiday.mp4"
    # Starts like an MP4 (the page lets it through): only the server can tell.
    fake.write_bytes(MP4_START + b"not a video at all")
    page.goto(f"{live_server.url}/en/submit/")
    fill_details(page)
    page.get_by_label("Your clip").set_input_files(str(fake))
    page.get_by_role("button", name="Send my clip").click()
    expect(page.locator(".field--error .errorlist")).to_have_text(
        "This video is damaged or incomplete (was the upload cut short?)."
    )
    expect(page.locator("[data-progress]")).to_be_hidden()
    assert Clip.objects.count() == 0


def test_without_javascript_the_plain_form_sends_the_file(browser, live_server, clip_file):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    # Every request the page makes, with its address: the CSRF token must be in none.
    addresses = []
    page.on("request", lambda request: addresses.append(request.url))
    page.goto(f"{live_server.url}/en/submit/")
    fill_details(page)
    page.get_by_label("E-mail").fill("not-an-address")
    page.get_by_label("Your clip").set_input_files(str(clip_file))
    page.get_by_role("button", name="Send my clip").click()
    # Refused: the page shown again has the form's own address, nothing to bookmark or share.
    expect(page.locator("[data-error-summary]")).to_be_visible()
    assert page.url == f"{live_server.url}/en/submit/"
    page.get_by_label("E-mail").fill("lucia@example.org")  # the file was kept
    page.get_by_role("button", name="Send my clip").click()
    expect(page).to_have_url(f"{live_server.url}/en/submit/thanks/", timeout=30_000)
    assert Clip.objects.get().original.read() == clip_file.read_bytes()
    assert partials() == []
    token = context.cookies()[0]["value"] if context.cookies() else ""
    assert [a for a in addresses if "/submit/" in a] and not [
        a for a in addresses if "csrf" in a.lower() or (token and token in a)
    ]
    context.close()


def test_several_files_are_each_their_own_upload_and_clip(page, live_server, clip_file, tmp_path):
    second = synthesize(tmp_path / "harbour.mp4", seconds=2, width=320, height=240, seed=9)
    page.goto(f"{live_server.url}/en/submit/")
    picker = page.get_by_label("Your clip")
    # Phones offer the camera roll (no `capture`), and several files may be picked.
    assert picker.get_attribute("accept") == "video/*,.zip,application/zip"
    assert picker.get_attribute("multiple") is not None
    assert picker.get_attribute("capture") is None
    fill_details(page)
    picker.set_input_files([str(clip_file), str(second)])
    expect(page.locator("[data-state]")).to_have_text(["Received", "Received"])
    assert len(partials()) == 2
    page.get_by_role("button", name="Send my clip").click()
    expect(page).to_have_url(f"{live_server.url}/en/submit/thanks/", timeout=30_000)
    originals = sorted(clip.original.read() for clip in Clip.objects.all())
    assert originals == sorted([clip_file.read_bytes(), second.read_bytes()])


def test_a_file_dropped_on_the_zone_is_sent(page, live_server, tmp_path):
    small = synthesize(tmp_path / "dropped.mp4", seconds=1, width=320, height=240, seed=4)
    page.goto(f"{live_server.url}/en/submit/")
    dropped = page.evaluate_handle(
        """bytes => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], "dropped.mp4", {type: "video/mp4"}));
            return transfer;
        }""",
        list(small.read_bytes()),
    )
    page.dispatch_event("[data-drop-zone]", "drop", {"dataTransfer": dropped})
    expect(page.locator("[data-state]")).to_have_text("Received")
    expect(page.get_by_text(re.compile(r"dropped\.mp4, \d"))).to_be_visible()
    [(offset, length, received)] = partials()
    assert offset == length == received == small.stat().st_size


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
    # Starts like an MP4 (the page lets it through): only the server can tell.
    fake.write_bytes(MP4_START + b"not a video at all")
    page.goto(f"{live_server.url}/en/submit/")
    fill_details(page)
    page.get_by_label("Your clip").set_input_files(str(fake))
    page.get_by_role("button", name="Send my clip").click()
    summary = page.locator("[data-error-summary]")
    expect(summary.get_by_role("link")).to_have_text(
        ["This video is damaged or incomplete (was the upload cut short?)."]
    )
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
